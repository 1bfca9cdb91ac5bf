package expr

import (
	"testing"

	"github.com/sluice-sql/sluice/sql/types"
)

const benchRows = 1024

func bigintBatch(tb testing.TB) *types.Batch {
	bi := types.BigInt()
	b := types.NewBatch(types.Schema{{Name: "auction", Type: bi}, {Name: "price", Type: bi}}, benchRows)
	for i := range benchRows {
		b.Cols[0].AppendInt(int64(1000 + i*7))
		if i%10 == 3 {
			b.Cols[1].AppendNull()
		} else {
			b.Cols[1].AppendInt(int64(i*13 + 1))
		}
	}
	b.SetLen(benchRows)
	return b
}

// Steady-state Eval allocates nothing for arithmetic and comparison over
// BIGINT, in every layout, with nulls and a selection.
func TestZeroAllocsBigInt(t *testing.T) {
	bi := types.BigInt()
	b := bigintBatch(t)
	x, y, c := col(0, bi), col(1, bi), lit(int64(123), bi)
	var exprs []Expr
	for _, fn := range []string{FnAdd, FnSub, FnMul, FnDiv, FnMod, FnIntDiv} {
		exprs = append(exprs, call(t, fn, x, y), call(t, fn, x, c), call(t, fn, c, x))
	}
	for _, fn := range []string{FnEq, FnNe, FnLt, FnLe, FnGt, FnGe} {
		exprs = append(exprs, call(t, fn, x, y), call(t, fn, x, c), call(t, fn, c, y))
	}
	exprs = append(exprs,
		call(t, FnEq, call(t, FnMod, x, c), lit(int64(0), bi)),
		call(t, FnAnd, call(t, FnGt, x, c), call(t, FnLt, y, c)),
		call(t, FnNeg, y), call(t, FnAbs, y), call(t, FnIn, x, c, lit(int64(5), bi)),
	)
	for _, sel := range [][]int32{nil, {1, 5, 9, 700}} {
		b.Sel = sel
		for _, e := range exprs {
			checkZeroAllocs(t, e, b)
		}
	}
}

// checkZeroAllocs reports an error when Eval of e over b allocates once
// warm, and returns the result.
func checkZeroAllocs(t *testing.T, e Expr, b *types.Batch) *types.Vector {
	t.Helper()
	ev, err := Compile(e)
	if err != nil {
		t.Fatal(err)
	}
	var out types.Vector
	if err := ev.Eval(b, &out); err != nil {
		t.Fatalf("%s: %v", e, err)
	}
	if n := testing.AllocsPerRun(20, func() { _ = ev.Eval(b, &out) }); n != 0 {
		t.Errorf("%s: %v allocations per Eval", e, n)
	}
	return &out
}

func benchEval(b *testing.B, e Expr, in *types.Batch) {
	ev, err := Compile(e)
	if err != nil {
		b.Fatal(err)
	}
	var out types.Vector
	if err := ev.Eval(in, &out); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if err := ev.Eval(in, &out); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)*benchRows/b.Elapsed().Seconds(), "rows/s")
}

// Nexmark q1: 0.908 * price, price BIGINT, giving DECIMAL(23,3).
func BenchmarkMulDecimalConst(b *testing.B) {
	in := bigintBatch(b)
	benchEval(b, call(b, FnMul, decLit(b, "0.908", 4, 3), col(1, types.BigInt())), in)
}

// Nexmark q2: MOD(auction, 123) = 0.
func BenchmarkModEqConst(b *testing.B) {
	bi := types.BigInt()
	in := bigintBatch(b)
	benchEval(b, call(b, FnEq, call(b, FnMod, col(0, bi), lit(int64(123), bi)), lit(int64(0), bi)), in)
}
