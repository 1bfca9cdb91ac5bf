package expr

import (
	"slices"
	"testing"

	"github.com/sluice-sql/sluice/sql/types"
)

// One output vector serves expressions of different types, and one
// evaluator serves batches of different lengths: no stale slot or
// length leaks from one Eval into the next.
func TestReuseAcrossTypesAndLengths(t *testing.T) {
	bi, s := types.BigInt(), types.String()
	b5 := newBatch(t, []types.Type{bi, s}, []any{1, "a"}, []any{nil, "b"}, []any{3, nil}, []any{4, "d"}, []any{5, "e"})
	b3 := newBatch(t, []types.Type{bi, s}, []any{nil, "x"}, []any{8, nil}, []any{9, "z"})
	exprs := []Expr{
		call(t, FnAdd, col(0, bi), lit(int64(1), bi)),
		call(t, FnEq, col(1, s), lit("b", s)),
		&Cast{Arg: col(0, bi), T: types.Decimal(25, 2)},
		&Cast{Arg: col(0, bi), T: s},
		col(1, s),
		col(0, bi),
		call(t, FnCoalesce, col(1, s), lit("-", s)),
		lit(int64(7), bi),
	}
	var evs []Evaluator
	for _, e := range exprs {
		ev, err := Compile(e)
		if err != nil {
			t.Fatal(err)
		}
		evs = append(evs, ev)
	}
	var shared types.Vector
	for round := range 3 {
		for _, b := range []*types.Batch{b5, b3, b5} {
			for i, ev := range evs {
				want, err := evalShow(t, exprs[i], b) // a fresh output vector
				if err != nil {
					t.Fatal(err)
				}
				if err := ev.Eval(b, &shared); err != nil {
					t.Fatal(err)
				}
				got := make([]string, shared.Len())
				for r := range got {
					got[r] = show(shared.Value(r))
				}
				if !slices.Equal(got, want) {
					t.Fatalf("round %d, %s over %d rows = %v, want %v", round, exprs[i], b.Len(), got, want)
				}
				for r := range shared.Len() {
					if shared.IsNull(r) && shared.Type.Kind == types.KindInt && shared.Ints[r] != 0 {
						t.Fatalf("%s: null row %d holds %d", exprs[i], r, shared.Ints[r])
					}
				}
			}
		}
	}
}

// A constant subexpression that would fail is not evaluated at compile
// time, nor at run time on rows that do not reach it.
func TestConstantErrorDeferred(t *testing.T) {
	bi := types.BigInt()
	bad := call(t, FnDiv, lit(int64(1), bi), lit(int64(0), bi))
	e := call(t, FnCase, call(t, FnIsNull, col(0, bi)), bad, col(0, bi))
	got, err := evalShow(t, e, newBatch(t, []types.Type{bi}, []any{4}))
	if err != nil || got[0] != "4" {
		t.Fatalf("%s = %v, %v", e, got, err)
	}
	if _, err := evalShow(t, e, newBatch(t, []types.Type{bi}, []any{nil})); err == nil {
		t.Fatalf("%s over NULL: no error", e)
	}
}
