package expr

import (
	"errors"
	"testing"

	"github.com/sluice-sql/sluice/sql/types"
)

// The nine combinations of TRUE, FALSE and NULL, left major.
func truthBatch(t *testing.T) *types.Batch {
	vals := []any{true, false, nil}
	var rows [][]any
	for _, a := range vals {
		for _, b := range vals {
			rows = append(rows, []any{a, b})
		}
	}
	return newBatch(t, []types.Type{types.Boolean(), types.Boolean()}, rows...)
}

func TestThreeValuedLogic(t *testing.T) {
	bo := types.Boolean()
	b := truthBatch(t)
	x, y := col(0, bo), col(1, bo)
	runCases(t, []evalCase{
		// a:     T T T  F F F  N N N
		// b:     T F N  T F N  T F N
		{name: "AND", e: call(t, FnAnd, x, y), b: b,
			want: []string{"TRUE", "FALSE", "NULL", "FALSE", "FALSE", "FALSE", "NULL", "FALSE", "NULL"}},
		{name: "OR", e: call(t, FnOr, x, y), b: b,
			want: []string{"TRUE", "TRUE", "TRUE", "TRUE", "FALSE", "NULL", "TRUE", "NULL", "NULL"}},
		{name: "NOT", e: call(t, FnNot, x), b: b,
			want: []string{"FALSE", "FALSE", "FALSE", "TRUE", "TRUE", "TRUE", "NULL", "NULL", "NULL"}},
		{name: "IS NULL", e: call(t, FnIsNull, y), b: b,
			want: []string{"FALSE", "FALSE", "TRUE", "FALSE", "FALSE", "TRUE", "FALSE", "FALSE", "TRUE"}},
		{name: "IS NOT NULL", e: call(t, FnIsNotNull, x), b: b,
			want: []string{"TRUE", "TRUE", "TRUE", "TRUE", "TRUE", "TRUE", "FALSE", "FALSE", "FALSE"}},
		{name: "AND NULL literal", e: call(t, FnAnd, x, lit(nil, types.NullType())), b: b,
			want: []string{"NULL", "NULL", "NULL", "FALSE", "FALSE", "FALSE", "NULL", "NULL", "NULL"}},
		{name: "OR TRUE literal", e: call(t, FnOr, lit(true, bo), y), b: b,
			want: []string{"TRUE", "TRUE", "TRUE", "TRUE", "TRUE", "TRUE", "TRUE", "TRUE", "TRUE"}},
		{name: "AND three", e: call(t, FnAnd, x, y, lit(true, bo)), b: b,
			want: []string{"TRUE", "FALSE", "NULL", "FALSE", "FALSE", "FALSE", "NULL", "FALSE", "NULL"}},
	})
}

// AND and OR evaluate their right side only where the left does not
// decide, so a guard protects a division.
func TestLogicShortCircuits(t *testing.T) {
	bi := types.BigInt()
	b := newBatch(t, []types.Type{bi, bi}, []any{6, 2}, []any{6, 0}, []any{nil, 0})
	x, y := col(0, bi), col(1, bi)
	zero := lit(int64(0), bi)
	quotientBig := call(t, FnGt, call(t, FnDiv, x, y), lit(int64(1), bi))
	runCases(t, []evalCase{
		{name: "AND guard", e: call(t, FnAnd, call(t, FnNe, y, zero), quotientBig), b: b, want: []string{"TRUE", "FALSE", "FALSE"}},
		{name: "OR guard", e: call(t, FnOr, call(t, FnEq, y, zero), quotientBig), b: b, want: []string{"TRUE", "TRUE", "TRUE"}},
		{name: "unguarded", e: call(t, FnAnd, quotientBig, call(t, FnNe, y, zero)), b: b, wantErr: ErrDivisionByZero},
	})
}

func TestBetweenIn(t *testing.T) {
	bi, s := types.BigInt(), types.String()
	b := newBatch(t, []types.Type{bi, s}, []any{1, "a"}, []any{5, "b"}, []any{10, "zz"}, []any{11, "c"}, []any{nil, nil})
	x, str := col(0, bi), col(1, s)
	one, ten := lit(int64(1), bi), lit(int64(10), bi)
	var many []Expr
	many = append(many, x)
	for i := int64(0); i < 20; i += 2 {
		many = append(many, lit(i, bi))
	}
	runCases(t, []evalCase{
		{name: "between", e: call(t, FnBetween, x, one, ten), b: b, want: []string{"TRUE", "TRUE", "TRUE", "FALSE", "NULL"}},
		{name: "between decimal bounds", e: call(t, FnBetween, x, decLit(t, "1.5", 2, 1), decLit(t, "10.0", 3, 1)), b: b,
			want: []string{"FALSE", "TRUE", "TRUE", "FALSE", "NULL"}},
		{name: "in", e: call(t, FnIn, x, one, ten), b: b, want: []string{"TRUE", "FALSE", "TRUE", "FALSE", "NULL"}},
		{name: "in with null", e: call(t, FnIn, x, one, lit(nil, bi)), b: b, want: []string{"TRUE", "NULL", "NULL", "NULL", "NULL"}},
		{name: "in many", e: call(t, FnIn, many...), b: b, want: []string{"FALSE", "FALSE", "TRUE", "FALSE", "NULL"}},
		{name: "in strings", e: call(t, FnIn, str, lit("b", s), lit("zz", s)), b: b, want: []string{"FALSE", "TRUE", "TRUE", "FALSE", "NULL"}},
		{name: "in decimal list", e: call(t, FnIn, x, decLit(t, "5.0", 2, 1), decLit(t, "1.5", 2, 1)), b: b,
			want: []string{"FALSE", "TRUE", "FALSE", "FALSE", "NULL"}},
	})
	if _, err := Compile(call(t, FnIn, x, col(0, bi))); !errors.Is(err, ErrArgumentType) {
		t.Fatalf("IN over a column: %v", err)
	}
}

func TestConditionals(t *testing.T) {
	bi, s := types.BigInt(), types.String()
	b := newBatch(t, []types.Type{bi, bi, s}, []any{6, 2, "a"}, []any{6, 0, nil}, []any{nil, 3, "c"}, []any{nil, nil, nil})
	x, y, str := col(0, bi), col(1, bi), col(2, s)
	zero := lit(int64(0), bi)
	nul := lit(nil, types.NullType())
	runCases(t, []evalCase{
		{name: "case lazy", e: call(t, FnCase, call(t, FnNe, y, zero), call(t, FnDiv, x, y), lit(int64(-1), bi)), b: b,
			want: []string{"3", "-1", "NULL", "-1"}},
		{name: "case no else", e: call(t, FnCase, call(t, FnGt, y, lit(int64(1), bi)), str), b: b,
			want: []string{"'a'", "NULL", "'c'", "NULL"}},
		{name: "case first match wins", e: call(t, FnCase, call(t, FnIsNotNull, x), lit("x", s), call(t, FnIsNotNull, y), lit("y", s), lit("none", s)), b: b,
			want: []string{"'x'", "'x'", "'y'", "'none'"}},
		{name: "case widens", e: call(t, FnCase, call(t, FnIsNull, x), decLit(t, "0.5", 2, 1), x), b: b,
			want: []string{"6.0", "6.0", "0.5", "0.5"}},
		{name: "coalesce", e: call(t, FnCoalesce, x, y, lit(int64(9), bi)), b: b, want: []string{"6", "6", "3", "9"}},
		{name: "coalesce strings", e: call(t, FnCoalesce, str, lit("-", s)), b: b, want: []string{"'a'", "'-'", "'c'", "'-'"}},
		{name: "coalesce lazy", e: call(t, FnCoalesce, x, call(t, FnDiv, lit(int64(1), bi), zero)), b: newBatch(t, []types.Type{bi}, []any{1}),
			want: []string{"1"}},
		{name: "nullif", e: call(t, FnNullIf, x, lit(int64(6), bi)), b: b, want: []string{"NULL", "NULL", "NULL", "NULL"}},
		{name: "nullif other", e: call(t, FnNullIf, y, lit(int64(0), bi)), b: b, want: []string{"2", "NULL", "3", "NULL"}},
		{name: "if", e: call(t, FnIf, call(t, FnGt, y, lit(int64(1), bi)), y, nul), b: b, want: []string{"2", "NULL", "3", "NULL"}},
		{name: "if lazy", e: call(t, FnIf, call(t, FnEq, y, zero), zero, call(t, FnDiv, x, y)), b: b, want: []string{"3", "0", "NULL", "NULL"}},
	})
}

// Rows outside the selection take no branch and raise no error.
func TestCaseWithSelection(t *testing.T) {
	bi := types.BigInt()
	b := newBatch(t, []types.Type{bi, bi}, []any{6, 0}, []any{6, 3})
	b.Sel = []int32{1}
	e := call(t, FnCase, call(t, FnIsNotNull, col(0, bi)), call(t, FnDiv, col(0, bi), col(1, bi)))
	got, err := evalShow(t, e, b)
	if err != nil || got[1] != "2" {
		t.Fatalf("%s = %v, %v", e, got, err)
	}
}
