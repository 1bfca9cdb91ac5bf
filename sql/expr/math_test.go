package expr

import (
	"errors"
	"math"
	"testing"

	"github.com/sluice-sql/sluice/sql/types"
)

func TestMathFunctions(t *testing.T) {
	bi, dbl, d := types.BigInt(), types.Double(), types.Decimal(6, 3)
	x, f, m := col(0, bi), col(1, dbl), col(2, d)
	b := newBatch(t, []types.Type{bi, dbl, d},
		[]any{1050, 2.5, "-1.235"}, []any{-1049, -0.5, "2.500"}, []any{nil, nil, nil}, []any{0, 16.0, "0.004"})
	num := func(v int64) *Const { return lit(v, bi) }
	runCases(t, []evalCase{
		{name: "round int", e: call(t, FnRound, x, num(-2)), b: b, want: []string{"1100", "-1000", "NULL", "0"}},
		{name: "round int no digits", e: call(t, FnRound, x), b: b, want: []string{"1050", "-1049", "NULL", "0"}},
		{name: "round double", e: call(t, FnRound, f), b: b, want: []string{"3", "-1", "NULL", "16"}},
		{name: "round decimal", e: call(t, FnRound, m), b: b, want: []string{"-1", "3", "NULL", "0"}},
		{name: "round decimal digits", e: call(t, FnRound, m, num(2)), b: b, want: []string{"-1.240", "2.500", "NULL", "0.000"}},
		{name: "round decimal tens", e: call(t, FnRound, m, num(-1)), b: b, want: []string{"0.000", "0.000", "NULL", "0.000"}},
		{name: "floor", e: call(t, FnFloor, m), b: b, want: []string{"-2", "2", "NULL", "0"}},
		{name: "ceil", e: call(t, FnCeil, m), b: b, want: []string{"-1", "3", "NULL", "1"}},
		{name: "ceil double", e: call(t, FnCeil, f), b: b, want: []string{"3", "-0", "NULL", "16"}},
		{name: "floor int", e: call(t, FnFloor, x), b: b, want: []string{"1050", "-1049", "NULL", "0"}},
		{name: "sqrt", e: call(t, FnSqrt, f), b: b, want: []string{"1.5811388300841898", "NaN", "NULL", "4"}},
		{name: "power", e: call(t, FnPower, f, num(2)), b: b, want: []string{"6.25", "0.25", "NULL", "256"}},
		{name: "ln", e: call(t, FnLn, x), b: b, want: []string{"6.956545443151569", "NaN", "NULL", "-Inf"}},
		{name: "log10 exact", e: call(t, FnLog10, num(1000000000000000)), b: b, want: rep(4, "15")},
		{name: "greatest", e: call(t, FnGreatest, x, m, num(1)), b: b, want: []string{"1050.000", "2.500", "NULL", "1.000"}},
		{name: "least", e: call(t, FnLeast, x, f), b: b, want: []string{"2.5", "-1049", "NULL", "0"}},
		{name: "greatest strings", e: call(t, FnGreatest, lit("b", types.String()), lit("äa", types.String())), b: b, want: rep(4, "'äa'")},
		{name: "least null", e: call(t, FnLeast, x, &Const{T: types.NullType()}), b: b, want: rep(4, "NULL")},
		{name: "round overflow", e: call(t, FnRound, num(math.MaxInt64), num(-1)), b: b, wantErr: ErrOverflow},
	})
}

// TestRoundErrorDeadRow checks that a failing row outside the selection
// does not fail the batch.
func TestRoundErrorDeadRow(t *testing.T) {
	bi := types.BigInt()
	b := newBatch(t, []types.Type{bi}, []any{math.MaxInt64}, []any{14})
	b.Sel = []int32{1}
	ev, err := Compile(call(t, FnRound, col(0, bi), lit(int64(-1), bi)))
	if err != nil {
		t.Fatal(err)
	}
	var out types.Vector
	if err := ev.Eval(b, &out); err != nil {
		t.Fatalf("dead row raised %v", err)
	}
	if got := out.Value(1); got != int64(10) {
		t.Fatalf("ROUND(14, -1) = %v, want 10", got)
	}
	b.Sel = nil
	if err := ev.Eval(b, &out); !errors.Is(err, ErrOverflow) {
		t.Fatalf("live overflow gave %v", err)
	}
}

func TestRoundInt(t *testing.T) {
	for _, c := range []struct{ x, d, want int64 }{
		{15, -1, 20}, {-15, -1, -20}, {14, -1, 10}, {-14, -1, -10}, {5, 0, 5},
		{math.MaxInt64, -19, 0}, {math.MinInt64, -18, -9000000000000000000},
	} {
		if got, ok := roundInt(c.x, c.d); !ok || got != c.want {
			t.Errorf("roundInt(%d, %d) = %d, %v; want %d", c.x, c.d, got, ok, c.want)
		}
	}
}
