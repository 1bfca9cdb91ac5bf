package expr

import (
	"errors"
	"math"
	"slices"
	"testing"

	"github.com/sluice-sql/sluice/sql/types"
)

type evalCase struct {
	name    string
	e       Expr
	b       *types.Batch
	want    []string
	wantErr error
	errText string // expected message when set
}

func runCases(t *testing.T, cases []evalCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := evalShow(t, c.e, c.b)
			if c.wantErr != nil || c.errText != "" {
				if err == nil {
					t.Fatalf("%s = %v, want error %v", c.e, got, c.wantErr)
				}
				if c.wantErr != nil && !errors.Is(err, c.wantErr) {
					t.Fatalf("%s: error %v, want %v", c.e, err, c.wantErr)
				}
				if c.errText != "" && err.Error() != c.errText {
					t.Fatalf("%s: error %q, want %q", c.e, err, c.errText)
				}
				return
			}
			if err != nil {
				t.Fatalf("%s: %v", c.e, err)
			}
			if !slices.Equal(got, c.want) {
				t.Fatalf("%s = %v, want %v", c.e, got, c.want)
			}
		})
	}
}

func TestArithBigInt(t *testing.T) {
	bi := types.BigInt()
	x, y := col(0, bi), col(1, bi)
	b := newBatch(t, []types.Type{bi, bi},
		[]any{7, 2}, []any{-7, 2}, []any{nil, 3}, []any{4, nil}, []any{0, -5})
	five := lit(int64(5), bi)
	runCases(t, []evalCase{
		{name: "add", e: call(t, FnAdd, x, y), b: b, want: []string{"9", "-5", "NULL", "NULL", "-5"}},
		{name: "add const", e: call(t, FnAdd, x, five), b: b, want: []string{"12", "-2", "NULL", "9", "5"}},
		{name: "const sub", e: call(t, FnSub, five, x), b: b, want: []string{"-2", "12", "NULL", "1", "5"}},
		{name: "sub", e: call(t, FnSub, x, y), b: b, want: []string{"5", "-9", "NULL", "NULL", "5"}},
		{name: "mul", e: call(t, FnMul, x, y), b: b, want: []string{"14", "-14", "NULL", "NULL", "0"}},
		{name: "div truncates", e: call(t, FnDiv, x, y), b: newBatch(t, []types.Type{bi, bi}, []any{7, 2}, []any{-7, 2}, []any{nil, 0}, []any{7, -1}),
			want: []string{"3", "-3", "NULL", "-7"}},
		{name: "div const", e: call(t, FnDiv, x, lit(int64(2), bi)), b: b, want: []string{"3", "-3", "NULL", "2", "0"}},
		{name: "rem sign of dividend", e: call(t, FnRem, x, lit(int64(3), bi)), b: b, want: []string{"1", "-1", "NULL", "1", "0"}},
		{name: "mod", e: call(t, FnMod, x, y), b: newBatch(t, []types.Type{bi, bi}, []any{7, -3}, []any{-7, 3}),
			want: []string{"1", "-1"}},
		{name: "DIV", e: call(t, FnIntDiv, x, y), b: newBatch(t, []types.Type{bi, bi}, []any{7, 2}, []any{-9, 4}), want: []string{"3", "-2"}},
		{name: "neg", e: call(t, FnNeg, x), b: b, want: []string{"-7", "7", "NULL", "-4", "0"}},
		{name: "abs", e: call(t, FnAbs, x), b: b, want: []string{"7", "7", "NULL", "4", "0"}},
		{name: "null literal", e: call(t, FnAdd, x, lit(nil, types.NullType())), b: b, want: []string{"NULL", "NULL", "NULL", "NULL", "NULL"}},
		{name: "div by zero", e: call(t, FnDiv, x, y), b: newBatch(t, []types.Type{bi, bi}, []any{1, 1}, []any{7, 0}),
			wantErr: ErrDivisionByZero, errText: "7 / 0: division by zero (row 1)"},
		{name: "mod by zero const", e: call(t, FnMod, x, lit(int64(0), bi)), b: b, wantErr: ErrDivisionByZero},
		{name: "add overflow", e: call(t, FnAdd, x, lit(int64(1), bi)), b: newBatch(t, []types.Type{bi}, []any{int64(math.MaxInt64)}),
			wantErr: ErrOverflow, errText: "9223372036854775807 + 1: numeric value out of range (row 0)"},
		{name: "sub overflow", e: call(t, FnSub, x, y), b: newBatch(t, []types.Type{bi, bi}, []any{int64(math.MinInt64), 1}), wantErr: ErrOverflow},
		{name: "mul overflow", e: call(t, FnMul, x, y), b: newBatch(t, []types.Type{bi, bi}, []any{int64(1) << 32, int64(1) << 31}), wantErr: ErrOverflow},
		{name: "div overflow", e: call(t, FnDiv, x, y), b: newBatch(t, []types.Type{bi, bi}, []any{int64(math.MinInt64), -1}), wantErr: ErrOverflow},
		{name: "neg overflow", e: call(t, FnNeg, x), b: newBatch(t, []types.Type{bi}, []any{int64(math.MinInt64)}), wantErr: ErrOverflow},
		{name: "mul near limit", e: call(t, FnMul, x, y), b: newBatch(t, []types.Type{bi, bi}, []any{int64(1) << 31, int64(1) << 31}, []any{-3037000499, 3037000499}),
			want: []string{"4611686018427387904", "-9223372030926249001"}},
	})
}

// A row outside the selection or null never raises an error.
func TestArithErrorsOnlyForLiveRows(t *testing.T) {
	bi := types.BigInt()
	b := newBatch(t, []types.Type{bi, bi}, []any{1, 1}, []any{7, 0}, []any{3, nil}, []any{int64(math.MaxInt64), 1})
	b.Sel = []int32{0, 2}
	for _, fn := range []string{FnDiv, FnRem, FnIntDiv, FnAdd} {
		e := call(t, fn, col(0, bi), col(1, bi))
		got, err := evalShow(t, e, b)
		if err != nil {
			t.Fatalf("%s: %v", e, err)
		}
		if got[0] == "NULL" || got[2] != "NULL" {
			t.Fatalf("%s = %v", e, got)
		}
	}
	b.Sel = []int32{0, 1}
	if _, err := evalShow(t, call(t, FnDiv, col(0, bi), col(1, bi)), b); !errors.Is(err, ErrDivisionByZero) {
		t.Fatalf("live row 1 divides by zero: got %v", err)
	}
}

func TestArithDouble(t *testing.T) {
	d, bi := types.Double(), types.BigInt()
	x, y := col(0, d), col(1, bi)
	b := newBatch(t, []types.Type{d, bi}, []any{1.5, 2}, []any{-4.0, 3}, []any{nil, 1}, []any{2.0, nil})
	runCases(t, []evalCase{
		{name: "add widens bigint", e: call(t, FnAdd, x, y), b: b, want: []string{"3.5", "-1", "NULL", "NULL"}},
		{name: "mul", e: call(t, FnMul, x, y), b: b, want: []string{"3", "-12", "NULL", "NULL"}},
		{name: "div", e: call(t, FnDiv, x, y), b: b, want: []string{"0.75", "-1.3333333333333333", "NULL", "NULL"}},
		{name: "rem", e: call(t, FnRem, x, y), b: b, want: []string{"1.5", "-1", "NULL", "NULL"}},
		{name: "DIV gives bigint", e: call(t, FnIntDiv, x, y), b: b, want: []string{"0", "-1", "NULL", "NULL"}},
		{name: "neg", e: call(t, FnNeg, x), b: b, want: []string{"-1.5", "4", "NULL", "-2"}},
		{name: "abs", e: call(t, FnAbs, x), b: b, want: []string{"1.5", "4", "NULL", "2"}},
		{name: "div by zero", e: call(t, FnDiv, x, lit(0.0, d)), b: b, wantErr: ErrDivisionByZero},
	})
}

func TestArithDecimal(t *testing.T) {
	d52, d102, bi := types.Decimal(5, 2), types.Decimal(10, 2), types.BigInt()
	x, y := col(0, d52), col(1, d102)
	b := newBatch(t, []types.Type{d52, d102, bi},
		[]any{"0.10", "0.20", 3}, []any{"-1.25", "3.00", 100}, []any{nil, "1.00", 1}, []any{"999.99", "0.01", nil})
	price := col(2, bi)
	runCases(t, []evalCase{
		{name: "0.1 + 0.2 = 0.3", e: call(t, FnAdd, decLit(t, "0.1", 1, 1), decLit(t, "0.2", 1, 1)), b: b, want: []string{"0.3", "0.3", "0.3", "0.3"}},
		{name: "add", e: call(t, FnAdd, x, y), b: b, want: []string{"0.30", "1.75", "NULL", "1000.00"}},
		{name: "sub", e: call(t, FnSub, x, y), b: b, want: []string{"-0.10", "-4.25", "NULL", "999.98"}},
		{name: "mul", e: call(t, FnMul, x, y), b: b, want: []string{"0.0200", "-3.7500", "NULL", "9.9999"}},
		{name: "0.908 * price", e: call(t, FnMul, decLit(t, "0.908", 4, 3), price), b: b, want: []string{"2.724", "90.800", "0.908", "NULL"}},
		{name: "price * 0.908", e: call(t, FnMul, price, decLit(t, "0.908", 4, 3)), b: b, want: []string{"2.724", "90.800", "0.908", "NULL"}},
		{name: "decimal + bigint", e: call(t, FnAdd, x, price), b: b, want: []string{"3.10", "98.75", "NULL", "NULL"}},
		// DECIMAL(5,2) / DECIMAL(10,2) is DECIMAL(18,13) by Flink's rule.
		{name: "div", e: call(t, FnDiv, x, y), b: b, want: []string{"0.5000000000000", "-0.4166666666667", "NULL", "99999.0000000000000"}},
		{name: "mod", e: call(t, FnMod, x, y), b: b, want: []string{"0.10", "-1.25", "NULL", "0.00"}},
		{name: "DIV", e: call(t, FnIntDiv, y, x), b: b, want: []string{"2", "-2", "NULL", "0"}},
		{name: "decimal * double is double", e: call(t, FnMul, x, lit(2.0, types.Double())), b: b, want: []string{"0.2", "-2.5", "NULL", "1999.98"}},
		{name: "neg", e: call(t, FnNeg, x), b: b, want: []string{"-0.10", "1.25", "NULL", "-999.99"}},
		{name: "abs", e: call(t, FnAbs, x), b: b, want: []string{"0.10", "1.25", "NULL", "999.99"}},
		{name: "div by zero", e: call(t, FnDiv, x, decLit(t, "0", 1, 0)), b: b, wantErr: ErrDivisionByZero},
		{name: "wide mul overflow is exact", e: call(t, FnMul, price, decLit(t, "1000.5", 5, 1)),
			b: newBatch(t, []types.Type{bi, bi, bi}, []any{0, 0, int64(math.MaxInt64)}), want: []string{"9227983722873203194903.5"}},
	})
	// Wide decimals (p > 18) go through apd.
	w := types.Decimal(30, 4)
	wb := newBatch(t, []types.Type{w, w}, []any{"12345678901234567890.1234", "0.0001"}, []any{nil, "1"})
	runCases(t, []evalCase{
		{name: "wide add", e: call(t, FnAdd, col(0, w), col(1, w)), b: wb, want: []string{"12345678901234567890.1235", "NULL"}},
		{name: "wide mul cut to 38", e: call(t, FnMul, col(0, w), col(1, w)), b: wb, want: []string{"1234567890123456.789012", "NULL"}},
	})
	// DECIMAL(38,0) + DECIMAL(38,0) does not fit.
	big := types.Decimal(38, 0)
	nines := "99999999999999999999999999999999999999"
	runCases(t, []evalCase{{name: "decimal overflow", e: call(t, FnAdd, col(0, big), col(1, big)),
		b: newBatch(t, []types.Type{big, big}, []any{nines, "1"}), wantErr: ErrOverflow}})
}
