package expr

import (
	"strings"
	"testing"

	"github.com/cockroachdb/apd/v3"

	"github.com/sluice-sql/sluice/sql/types"
)

// newBatch builds a batch with one column per type; rows hold Go values
// as Vector.Value returns them (decimals may be given as strings).
func newBatch(t testing.TB, ts []types.Type, rows ...[]any) *types.Batch {
	t.Helper()
	schema := make(types.Schema, len(ts))
	for i, ty := range ts {
		schema[i] = types.Field{Name: "c" + string(rune('0'+i)), Type: ty}
	}
	b := types.NewBatch(schema, len(rows))
	for _, r := range rows {
		for j, v := range r {
			appendValue(t, b.Cols[j], v)
		}
	}
	b.SetLen(len(rows))
	return b
}

func appendValue(t testing.TB, c *types.Vector, v any) {
	t.Helper()
	switch x := v.(type) {
	case nil:
		c.AppendNull()
	case bool:
		c.AppendBool(x)
	case int:
		c.AppendInt(int64(x))
	case int64:
		c.AppendInt(x)
	case float64:
		c.AppendFloat(x)
	case string:
		if c.Type.Kind == types.KindDecimal {
			d := dec(t, x)
			if !c.AppendDecimal(&d) {
				t.Fatalf("%s does not fit %s", x, c.Type)
			}
			return
		}
		c.AppendString(x)
	default:
		t.Fatalf("unsupported test value %T", v)
	}
}

func dec(t testing.TB, s string) apd.Decimal {
	t.Helper()
	d, _, err := apd.NewFromString(s)
	if err != nil {
		t.Fatal(err)
	}
	return *d
}

// show spells a result value for comparison: NULL, TRUE, 42, 0.30, 'x'.
func show(v any) string {
	switch x := v.(type) {
	case float64:
		return strings.TrimSuffix(formatValue(x, types.Type{}), "E0")
	}
	return formatValue(v, types.Type{})
}

// evalShow compiles e, evaluates it over b and returns every row shown.
func evalShow(t testing.TB, e Expr, b *types.Batch) ([]string, error) {
	t.Helper()
	ev, err := Compile(e)
	if err != nil {
		return nil, err
	}
	var out types.Vector
	if err := ev.Eval(b, &out); err != nil {
		return nil, err
	}
	if out.Len() != b.Len() {
		t.Fatalf("%s: %d rows out, %d in", e, out.Len(), b.Len())
	}
	if !out.Type.Equal(e.Type()) {
		t.Fatalf("%s: result type %s, want %s", e, out.Type, e.Type())
	}
	res := make([]string, out.Len())
	for i := range res {
		res[i] = show(out.Value(i))
	}
	return res, nil
}

// call builds a call typed by ResultType.
func call(t testing.TB, fn string, args ...Expr) *Call {
	t.Helper()
	ts := make([]types.Type, len(args))
	for i, a := range args {
		ts[i] = a.Type()
	}
	rt, err := ResultType(fn, ts)
	if err != nil {
		t.Fatal(err)
	}
	return &Call{Fn: fn, Args: args, T: rt}
}

func col(i int, t types.Type) *ColumnRef { return &ColumnRef{Index: i, T: t} }

func lit(v any, t types.Type) *Const { return &Const{Value: v, T: t} }

func decLit(t testing.TB, s string, p, sc int) *Const {
	return &Const{Value: dec(t, s), T: types.Decimal(p, sc)}
}
