package expr

import (
	"testing"

	"github.com/sluice-sql/sluice/sql/types"
)

func TestCompare(t *testing.T) {
	bi, d, s, ts := types.BigInt(), types.Double(), types.String(), types.Timestamp(3)
	d52, w := types.Decimal(5, 2), types.Decimal(30, 2)
	// Each pair: less, equal, greater, left null, right null.
	type kind struct {
		name string
		t    types.Type
		rows [][]any
		c    Expr // constant equal to row 1's values
	}
	kinds := []kind{
		{"bigint", bi, [][]any{{1, 2}, {2, 2}, {3, 2}, {nil, 2}, {2, nil}}, lit(int64(2), bi)},
		{"double", d, [][]any{{1.5, 2.5}, {2.5, 2.5}, {3.5, 2.5}, {nil, 2.5}, {2.5, nil}}, lit(2.5, d)},
		{"string bytewise", s, [][]any{{"B", "a"}, {"ab", "ab"}, {"b", "ab"}, {nil, "x"}, {"x", nil}}, lit("ab", s)},
		{"timestamp", ts, [][]any{{1000, 2000}, {2000, 2000}, {3000, 2000}, {nil, 1}, {2000, nil}}, lit(int64(2000), ts)},
		{"decimal", d52, [][]any{{"1.10", "1.20"}, {"1.20", "1.20"}, {"-1.00", "-2.00"}, {nil, "1"}, {"1", nil}}, decLit(t, "1.2", 2, 1)},
		{"wide decimal", w, [][]any{{"1.10", "1.20"}, {"1.20", "1.20"}, {"-1.00", "-2.00"}, {nil, "1"}, {"1", nil}}, decLit(t, "1.20", 3, 2)},
		{"boolean", types.Boolean(), [][]any{{false, true}, {true, true}, {true, false}, {nil, true}, {true, nil}}, lit(true, types.Boolean())},
	}
	want := map[string][]string{
		FnEq: {"FALSE", "TRUE", "FALSE", "NULL", "NULL"},
		FnNe: {"TRUE", "FALSE", "TRUE", "NULL", "NULL"},
		FnLt: {"TRUE", "FALSE", "FALSE", "NULL", "NULL"},
		FnLe: {"TRUE", "TRUE", "FALSE", "NULL", "NULL"},
		FnGt: {"FALSE", "FALSE", "TRUE", "NULL", "NULL"},
		FnGe: {"FALSE", "TRUE", "TRUE", "NULL", "NULL"},
	}
	var cases []evalCase
	for _, k := range kinds {
		b := newBatch(t, []types.Type{k.t, k.t}, k.rows...)
		for fn, w := range want {
			cases = append(cases, evalCase{name: k.name + " " + fn, e: call(t, fn, col(0, k.t), col(1, k.t)), b: b, want: w})
		}
		// Column against a constant equal to row 1's right value, both ways.
		eq := []string{"FALSE", "TRUE", "FALSE", "NULL", "TRUE"}
		lt := []string{"TRUE", "FALSE", "FALSE", "NULL", "FALSE"}
		gt := []string{"FALSE", "FALSE", "TRUE", "NULL", "FALSE"}
		if k.name == "string bytewise" || k.name == "decimal" || k.name == "wide decimal" || k.name == "boolean" {
			continue // their rows 3 and 4 differ; covered above
		}
		cases = append(cases,
			evalCase{name: k.name + " = const", e: call(t, FnEq, col(0, k.t), k.c), b: b, want: eq},
			evalCase{name: k.name + " < const", e: call(t, FnLt, col(0, k.t), k.c), b: b, want: lt},
			evalCase{name: k.name + " const > col", e: call(t, FnGt, k.c, col(0, k.t)), b: b, want: lt},
			evalCase{name: k.name + " const < col", e: call(t, FnLt, k.c, col(0, k.t)), b: b, want: gt},
		)
	}
	runCases(t, cases)
}

func TestCompareMixedTypes(t *testing.T) {
	bi, d52 := types.BigInt(), types.Decimal(5, 2)
	b := newBatch(t, []types.Type{bi, d52, types.String()}, []any{1, "1.00", "abc"}, []any{2, "1.50", "abd"}, []any{nil, nil, nil})
	runCases(t, []evalCase{
		{name: "bigint = decimal", e: call(t, FnEq, col(0, bi), col(1, d52)), b: b, want: []string{"TRUE", "FALSE", "NULL"}},
		{name: "decimal < bigint", e: call(t, FnLt, col(1, d52), col(0, bi)), b: b, want: []string{"FALSE", "TRUE", "NULL"}},
		{name: "bigint = double", e: call(t, FnEq, col(0, bi), lit(2.0, types.Double())), b: b, want: []string{"FALSE", "TRUE", "NULL"}},
		{name: "decimal = 1.5 of other scale", e: call(t, FnEq, col(1, d52), decLit(t, "1.5", 2, 1)), b: b, want: []string{"FALSE", "TRUE", "NULL"}},
		{name: "string = const", e: call(t, FnEq, col(2, types.String()), lit("abd", types.String())), b: b, want: []string{"FALSE", "TRUE", "NULL"}},
		{name: "string >= const", e: call(t, FnGe, col(2, types.String()), lit("abd", types.String())), b: b, want: []string{"FALSE", "TRUE", "NULL"}},
	})
	if _, err := ResultType(FnEq, []types.Type{bi, types.String()}); err == nil {
		t.Fatal("BIGINT = STRING typed")
	}
}
