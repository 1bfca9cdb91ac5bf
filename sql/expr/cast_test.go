package expr

import (
	"errors"
	"math"
	"strconv"
	"testing"

	"github.com/cockroachdb/apd/v3"

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

func tryCast(e Expr, t types.Type) *Call {
	return &Call{Fn: FnTryCast, Args: []Expr{e}, T: t.Nullable()}
}

func TestTryCast(t *testing.T) {
	bi, d, s, bo := types.BigInt(), types.Double(), types.String(), types.Boolean()
	d52 := types.Decimal(5, 2)
	dirty := newBatch(t, []types.Type{s}, []any{" 42 "}, []any{"abc"}, []any{nil}, []any{"1.5"}, []any{""}, []any{"99999999999999999999"})
	runCases(t, []evalCase{
		{name: "string to bigint", e: tryCast(col(0, s), bi), b: dirty, want: []string{"42", "NULL", "NULL", "NULL", "NULL", "NULL"}},
		{name: "string to int range", e: tryCast(col(0, s), types.TinyInt()), b: newBatch(t, []types.Type{s}, []any{"127"}, []any{"128"}, []any{"-128"}),
			want: []string{"127", "NULL", "-128"}},
		{name: "string to double", e: tryCast(col(0, s), d), b: dirty, want: []string{"42", "NULL", "NULL", "1.5", "NULL", "1e+20"}},
		{name: "string to decimal", e: tryCast(col(0, s), d52), b: dirty, want: []string{"42.00", "NULL", "NULL", "1.50", "NULL", "NULL"}},
		{name: "string to boolean", e: tryCast(col(0, s), bo), b: newBatch(t, []types.Type{s}, []any{"Yes"}, []any{"maybe"}, []any{"F"}),
			want: []string{"TRUE", "NULL", "FALSE"}},
		{name: "string to date", e: tryCast(col(0, s), types.Date()), b: newBatch(t, []types.Type{s}, []any{"1970-01-03"}, []any{"2024-02-30"}),
			want: []string{"2", "NULL"}},
		{name: "string to timestamp", e: tryCast(col(0, s), types.Timestamp(3)), b: newBatch(t, []types.Type{s}, []any{"soon"}, []any{"2024-01-02 03:04:05.1234"}),
			want: []string{"NULL", tsShow(t, "2024-01-02 03:04:05.123")}},
		{name: "bigint to tinyint overflow", e: tryCast(col(0, bi), types.TinyInt()), b: newBatch(t, []types.Type{bi}, []any{1}, []any{-300}, []any{nil}),
			want: []string{"1", "NULL", "NULL"}},
		{name: "bigint to decimal overflow", e: tryCast(col(0, bi), types.Decimal(3, 1)), b: newBatch(t, []types.Type{bi}, []any{12}, []any{100}),
			want: []string{"12.0", "NULL"}},
		{name: "double to bigint overflow", e: tryCast(col(0, d), bi), b: newBatch(t, []types.Type{d}, []any{1e19}, []any{-2.5}),
			want: []string{"NULL", "-2"}},
		{name: "constant", e: tryCast(lit("x", s), bi), b: dirty, want: rep(6, "NULL")},
		{name: "to string never fails", e: tryCast(col(0, bi), s), b: newBatch(t, []types.Type{bi}, []any{7}, []any{nil}), want: []string{"'7'", "NULL"}},
	})
	// A CAST inside a TRY_CAST fails for itself: TRY_CAST only covers its
	// own conversion.
	inner := tryCast(cast(col(0, s), bi), d)
	if _, err := evalShow(t, inner, dirty); !errors.Is(err, ErrInvalidCast) {
		t.Fatalf("%s: error %v, want %v", inner, err, ErrInvalidCast)
	}
	if got, want := tryCast(col(0, s), d52).String(), "TRY_CAST($0 AS DECIMAL(5,2))"; got != want {
		t.Fatalf("String() = %q, want %q", got, want)
	}
	if _, err := Compile(tryCast(col(0, types.Date()), bi)); !errors.Is(err, ErrArgumentType) {
		t.Fatalf("DATE to BIGINT: %v, want %v", err, ErrArgumentType)
	}
}

// TRY_CAST over text where half the rows do not convert allocates
// nothing per Eval, whatever the target.
func TestTryCastZeroAllocs(t *testing.T) {
	s := types.String()
	words := []string{"12", "x", "-3.25", "1e3", "", "yes", "2024-01-02", "2024-01-02 03:04:05", "1.2.3", "nan?"}
	b := types.NewBatch(types.Schema{{Name: "s", Type: s}}, benchRows)
	for i := range benchRows {
		b.Cols[0].AppendString(words[i%len(words)])
	}
	b.SetLen(benchRows)
	targets := []types.Type{types.BigInt(), types.Int(), types.Double(), types.Decimal(10, 2), types.Decimal(30, 4),
		types.Boolean(), types.Date(), types.Timestamp(3)}
	for _, to := range targets {
		e := tryCast(col(0, s), to)
		out := checkZeroAllocs(t, e, b)
		nulls := 0
		for i := range out.Len() {
			if out.IsNull(i) {
				nulls++
			}
		}
		if nulls == 0 || nulls == out.Len() {
			t.Errorf("%s: %d of %d rows NULL, want some", e, nulls, out.Len())
		}
	}
}

// The readers of numbers agree with strconv and apd on what is a number
// and on its value.
func TestNumberReaders(t *testing.T) {
	inputs := []string{
		"0", "-0", "+7", "42", "-42", "9223372036854775807", "-9223372036854775808", "9223372036854775808",
		"-9223372036854775809", "18446744073709551616", "", "+", "-", "1.", ".5", "-.5", ".", "1.2.3", "1e3", "1E-3",
		"1e+3", "1e", "e3", "1e3.5", "0.000", "00012.3400", "123456789012345678901234.5", "1e400", "1e-400",
		"0x1p-2", "0xZZ", "1_000", "1_", "inf", "-Infinity", "infx", "NaN", "+nan", "abc", "12a", " 1", "1 ", "--1", "1e99999999999",
	}
	for _, in := range inputs {
		x, ok := parseInt([]byte(in))
		wx, err := strconv.ParseInt(in, 10, 64)
		if ok != (err == nil) || x != wx && ok {
			t.Errorf("parseInt(%q) = %d, %v; strconv: %d, %v", in, x, ok, wx, err)
		}
		f, ok := parseFloat([]byte(in))
		wf, err := strconv.ParseFloat(in, 64)
		if ok != (err == nil) || ok && f != wf && !(math.IsNaN(f) && math.IsNaN(wf)) {
			t.Errorf("parseFloat(%q) = %v, %v; strconv: %v, %v", in, f, ok, wf, err)
		}
		var d, wd apd.Decimal
		ok = setDecimal(&d, []byte(in))
		_, _, err = wd.SetString(in)
		wok := err == nil && wd.Form == apd.Finite
		if ok != wok || ok && d.Cmp(&wd) != 0 {
			t.Errorf("setDecimal(%q) = %s, %v; apd: %s, %v", in, d.String(), ok, wd.String(), err)
		}
	}
}
