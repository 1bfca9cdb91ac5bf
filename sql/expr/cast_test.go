package expr

import (
	"testing"

	"github.com/sluice-sql/sluice/sql/types"
)

func cast(e Expr, t types.Type) *Cast { return &Cast{Arg: e, T: t} }

func TestCast(t *testing.T) {
	bi, d, s, bo := types.BigInt(), types.Double(), types.String(), types.Boolean()
	d52, w := types.Decimal(5, 2), types.Decimal(25, 3)
	ints := newBatch(t, []types.Type{bi}, []any{1}, []any{-300}, []any{nil}, []any{0})
	dbls := newBatch(t, []types.Type{d}, []any{1.75}, []any{-2.5}, []any{nil}, []any{0.0})
	decs := newBatch(t, []types.Type{d52}, []any{"1.25"}, []any{"-2.50"}, []any{nil}, []any{"0.05"})
	strs := newBatch(t, []types.Type{s}, []any{" 42 "}, []any{"-7"}, []any{nil}, []any{"0"})
	bools := newBatch(t, []types.Type{bo}, []any{true}, []any{false}, []any{nil})
	runCases(t, []evalCase{
		{name: "bigint to double", e: cast(col(0, bi), d), b: ints, want: []string{"1", "-300", "NULL", "0"}},
		{name: "bigint to decimal", e: cast(col(0, bi), d52), b: ints, want: []string{"1.00", "-300.00", "NULL", "0.00"}},
		{name: "bigint to wide decimal", e: cast(col(0, bi), w), b: ints, want: []string{"1.000", "-300.000", "NULL", "0.000"}},
		{name: "bigint to string", e: cast(col(0, bi), s), b: ints, want: []string{"'1'", "'-300'", "NULL", "'0'"}},
		{name: "bigint to boolean", e: cast(col(0, bi), bo), b: ints, want: []string{"TRUE", "TRUE", "NULL", "FALSE"}},
		{name: "bigint to smallint", e: cast(col(0, bi), types.SmallInt()), b: ints, want: []string{"1", "-300", "NULL", "0"}},
		{name: "bigint to tinyint range", e: cast(col(0, bi), types.TinyInt()), b: ints, wantErr: ErrOverflow,
			errText: "CAST(-300): numeric value out of range to TINYINT (row 1)"},
		{name: "bigint to decimal range", e: cast(col(0, bi), types.Decimal(3, 1)), b: ints, wantErr: ErrOverflow},
		{name: "double to bigint truncates", e: cast(col(0, d), bi), b: dbls, want: []string{"1", "-2", "NULL", "0"}},
		{name: "double to decimal rounds half up", e: cast(col(0, d), types.Decimal(3, 0)), b: dbls, want: []string{"2", "-3", "NULL", "0"}},
		{name: "double to string", e: cast(col(0, d), s), b: dbls, want: []string{"'1.75'", "'-2.5'", "NULL", "'0'"}},
		{name: "double to boolean", e: cast(col(0, d), bo), b: dbls, want: []string{"TRUE", "TRUE", "NULL", "FALSE"}},
		{name: "double out of range", e: cast(lit(1e19, d), bi), b: ints, wantErr: ErrOverflow},
		{name: "decimal to bigint truncates", e: cast(col(0, d52), bi), b: decs, want: []string{"1", "-2", "NULL", "0"}},
		{name: "decimal to double", e: cast(col(0, d52), d), b: decs, want: []string{"1.25", "-2.5", "NULL", "0.05"}},
		{name: "decimal rescale up", e: cast(col(0, d52), types.Decimal(10, 4)), b: decs, want: []string{"1.2500", "-2.5000", "NULL", "0.0500"}},
		{name: "decimal rescale down rounds", e: cast(col(0, d52), types.Decimal(4, 1)), b: decs, want: []string{"1.3", "-2.5", "NULL", "0.1"}},
		{name: "decimal to wide", e: cast(col(0, d52), w), b: decs, want: []string{"1.250", "-2.500", "NULL", "0.050"}},
		{name: "decimal to string keeps scale", e: cast(col(0, d52), s), b: decs, want: []string{"'1.25'", "'-2.50'", "NULL", "'0.05'"}},
		{name: "decimal to narrower", e: cast(col(0, d52), types.Decimal(2, 1)), b: decs, want: []string{"1.3", "-2.5", "NULL", "0.1"}},
		{name: "decimal too wide for target", e: cast(lit(int64(100), bi), types.Decimal(2, 1)), b: decs, wantErr: ErrOverflow},
		{name: "string to bigint", e: cast(col(0, s), bi), b: strs, want: []string{"42", "-7", "NULL", "0"}},
		{name: "string to double", e: cast(col(0, s), d), b: strs, want: []string{"42", "-7", "NULL", "0"}},
		{name: "string to decimal", e: cast(col(0, s), d52), b: strs, want: []string{"42.00", "-7.00", "NULL", "0.00"}},
		{name: "string to boolean", e: cast(col(0, s), bo), b: newBatch(t, []types.Type{s}, []any{"TRUE"}, []any{"no"}, []any{"1"}),
			want: []string{"TRUE", "FALSE", "TRUE"}},
		{name: "unparsable string", e: cast(col(0, s), bi), b: newBatch(t, []types.Type{s}, []any{"12"}, []any{"abc"}),
			wantErr: ErrInvalidCast, errText: "CAST('abc'): invalid value for cast to BIGINT (row 1)"},
		{name: "unparsable decimal", e: cast(col(0, s), d52), b: newBatch(t, []types.Type{s}, []any{"1.2.3"}), wantErr: ErrInvalidCast},
		{name: "unparsable boolean", e: cast(col(0, s), bo), b: newBatch(t, []types.Type{s}, []any{"maybe"}), wantErr: ErrInvalidCast},
		{name: "string to int range", e: cast(col(0, s), types.Int()), b: newBatch(t, []types.Type{s}, []any{"3000000000"}), wantErr: ErrOverflow},
		{name: "boolean to bigint", e: cast(col(0, bo), bi), b: bools, want: []string{"1", "0", "NULL"}},
		{name: "boolean to string", e: cast(col(0, bo), s), b: bools, want: []string{"'TRUE'", "'FALSE'", "NULL"}},
		{name: "boolean to decimal", e: cast(col(0, bo), d52), b: bools, want: []string{"1.00", "0.00", "NULL"}},
		{name: "null to bigint", e: cast(lit(nil, types.NullType()), bi), b: bools, want: []string{"NULL", "NULL", "NULL"}},
	})
	// A bad value in a row outside the selection is not an error.
	b := newBatch(t, []types.Type{s}, []any{"abc"}, []any{"5"})
	b.Sel = []int32{1}
	if got, err := evalShow(t, cast(col(0, s), bi), b); err != nil || got[1] != "5" {
		t.Fatalf("cast with selection = %v, %v", got, err)
	}
	if _, err := Compile(cast(col(0, types.Date()), bi)); err == nil {
		t.Fatal("DATE to BIGINT compiled")
	}
}

func TestCastTimes(t *testing.T) {
	s, ts3, ts6, date := types.String(), types.Timestamp(3), types.Timestamp(6), types.Date()
	strs := newBatch(t, []types.Type{s},
		[]any{"2024-01-02 03:04:05.123456"}, []any{" 2024-02-29T23:59 "}, []any{nil}, []any{"1969-12-31 23:59:59.9999"})
	times := newBatch(t, []types.Type{ts6},
		[]any{tsMicros(t, "2024-01-02 03:04:05.123456")}, []any{tsMicros(t, "1969-12-31 23:59:59.9999")}, []any{nil})
	runCases(t, []evalCase{
		{name: "string to timestamp(6)", e: cast(col(0, s), ts6), b: strs, want: []string{
			tsShow(t, "2024-01-02 03:04:05.123456"), tsShow(t, "2024-02-29 23:59:00"), "NULL", tsShow(t, "1969-12-31 23:59:59.9999")}},
		{name: "string to timestamp(3) truncates", e: cast(col(0, s), ts3), b: strs, want: []string{
			tsShow(t, "2024-01-02 03:04:05.123"), tsShow(t, "2024-02-29 23:59:00"), "NULL", tsShow(t, "1969-12-31 23:59:59.999")}},
		{name: "string to date", e: cast(col(0, s), date), b: newBatch(t, []types.Type{s}, []any{"1970-01-03"}, []any{" 1969-12-31 "}, []any{nil}),
			want: []string{"2", "-1", "NULL"}},
		{name: "bad timestamp", e: cast(col(0, s), ts3), b: newBatch(t, []types.Type{s}, []any{"2024-01-02"}, []any{"2024-02-30"}),
			wantErr: ErrInvalidCast, errText: "CAST('2024-02-30'): invalid value for cast to TIMESTAMP(3) (row 1)"},
		{name: "timestamp for date", e: cast(col(0, s), date), b: newBatch(t, []types.Type{s}, []any{"2024-01-02 00:00:00"}), wantErr: ErrInvalidCast},
		{name: "timestamp(6) to string", e: cast(col(0, ts6), s), b: times, want: []string{
			"'2024-01-02 03:04:05.123456'", "'1969-12-31 23:59:59.999900'", "NULL"}},
		{name: "timestamp(3) to string pads", e: cast(lit(tsMicros(t, "2024-01-02 03:04:05"), ts3), s), b: times, want: rep(3, "'2024-01-02 03:04:05.000'")},
		{name: "timestamp(0) to string", e: cast(lit(tsMicros(t, "2024-01-02 03:04:05"), types.Timestamp(0)), s), b: times, want: rep(3, "'2024-01-02 03:04:05'")},
		{name: "lower precision truncates", e: cast(col(0, ts6), types.Timestamp(0)), b: times, want: []string{
			tsShow(t, "2024-01-02 03:04:05"), tsShow(t, "1969-12-31 23:59:59"), "NULL"}},
		{name: "timestamp to date floors", e: cast(col(0, ts6), date), b: times, want: []string{"19724", "-1", "NULL"}},
		{name: "date to timestamp", e: cast(col(0, date), ts3), b: newBatch(t, []types.Type{date}, []any{-1}, []any{nil}),
			want: []string{tsShow(t, "1969-12-31 00:00:00"), "NULL"}},
	})
	if _, err := Compile(cast(col(0, types.BigInt()), ts3)); err == nil {
		t.Fatal("BIGINT to TIMESTAMP compiled")
	}
}
