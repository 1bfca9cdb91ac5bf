package runtime

import (
	"slices"
	"testing"

	"github.com/sluice-sql/sluice/sql/expr"
	"github.com/sluice-sql/sluice/sql/types"
)

// Filter keeps TRUE rows only (NULL is not true), within the input's Sel;
// Project keeps Sel and change kinds.
func TestFilterProject(t *testing.T) {
	schema := types.Schema{{Name: "x", Type: types.BigInt()}}
	b := types.NewBatch(schema, 6)
	for _, v := range []any{int64(1), nil, int64(3), int64(4), int64(5), int64(6)} {
		if v == nil {
			b.Cols[0].AppendNull()
		} else {
			b.Cols[0].AppendInt(v.(int64))
		}
	}
	b.SetLen(6)
	b.SetKind(4, types.Delete)
	b.Sel = []int32{0, 1, 2, 3, 4} // row 5 is already filtered out
	x := &expr.ColumnRef{Index: 0, T: types.BigInt(), Name: "x"}
	f, err := NewFilter(mustCall(t, expr.FnGt, x, bigint(2)), expr.Options{})
	if err != nil {
		t.Fatal(err)
	}
	p, err := NewProject([]string{"y"}, []expr.Expr{mustCall(t, expr.FnMul, x, bigint(10))}, expr.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var got []any
	var kinds []types.ChangeKind
	err = f.Process(b, func(fb *types.Batch) error {
		return p.Process(fb, func(pb *types.Batch) error {
			pb.ForEach(func(i int) {
				got = append(got, pb.Cols[0].Value(i))
				kinds = append(kinds, pb.Kind(i))
			})
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := []any{int64(30), int64(40), int64(50)}; !slices.Equal(got, want) {
		t.Errorf("rows %v, want %v", got, want)
	}
	if want := []types.ChangeKind{types.Insert, types.Insert, types.Delete}; !slices.Equal(kinds, want) {
		t.Errorf("kinds %v, want %v", kinds, want)
	}
	if _, err := NewFilter(x, expr.Options{}); err == nil {
		t.Error("a BIGINT predicate was accepted")
	}
}
