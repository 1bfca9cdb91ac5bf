package expr

import (
	"errors"
	"testing"

	"github.com/sluice-sql/sluice/sql/types"
)

func TestString(t *testing.T) {
	bi := types.BigInt()
	price := &ColumnRef{Index: 2, T: bi, Name: "price"}
	auction := &ColumnRef{Index: 0, T: bi}
	for _, c := range []struct {
		e    Expr
		want string
	}{
		{call(t, FnMul, decLit(t, "0.908", 4, 3), price), "(0.908 * price)"},
		{call(t, FnEq, call(t, FnMod, auction, lit(int64(123), bi)), lit(int64(0), bi)), "(MOD($0, 123) = 0)"},
		{call(t, FnAnd, call(t, FnIsNull, price), call(t, FnNot, lit(true, types.Boolean()))), "((price IS NULL) AND (NOT TRUE))"},
		{call(t, FnBetween, price, lit(int64(1), bi), lit(int64(9), bi)), "(price BETWEEN 1 AND 9)"},
		{call(t, FnIn, price, lit(int64(1), bi), lit(nil, bi)), "(price IN (1, NULL))"},
		{call(t, FnCase, call(t, FnGt, price, lit(0.5, types.Double())), lit("it's", types.String()), lit(nil, types.String())),
			"CASE WHEN (price > 0.5E0) THEN 'it''s' ELSE NULL END"},
		{call(t, FnCoalesce, price, call(t, FnNeg, auction)), "COALESCE(price, (- $0))"},
		{&Cast{Arg: price, T: types.Decimal(10, 2).WithNotNull(true)}, "CAST(price AS DECIMAL(10,2))"},
		{lit(int64(1_000_000), types.Timestamp(3)), "TIMESTAMP '1970-01-01 00:00:01'"},
	} {
		if got := c.e.String(); got != c.want {
			t.Errorf("String() = %q, want %q", got, c.want)
		}
	}
}

func TestResultType(t *testing.T) {
	bi, in, d := types.BigInt(), types.Int(), types.Double()
	for _, c := range []struct {
		fn   string
		args []types.Type
		want types.Type
	}{
		{FnAdd, []types.Type{in, in}, bi},
		{FnDiv, []types.Type{bi, bi}, bi},
		{FnIntDiv, []types.Type{d, bi}, bi},
		{FnAdd, []types.Type{bi, d}, d},
		{FnMul, []types.Type{types.Decimal(4, 3), bi}, types.Decimal(23, 3)},
		{FnAdd, []types.Type{types.Decimal(5, 2), types.Decimal(10, 4)}, types.Decimal(11, 4)},
		{FnAdd, []types.Type{types.Decimal(5, 2), in}, types.Decimal(13, 2)},
		{FnDiv, []types.Type{types.Decimal(5, 2), types.Decimal(10, 2)}, types.Decimal(18, 13)},
		{FnMod, []types.Type{types.Decimal(5, 2), types.Decimal(10, 4)}, types.Decimal(7, 4)},
		{FnMul, []types.Type{types.Decimal(38, 10), types.Decimal(38, 10)}, types.Decimal(38, 6)},
		{FnAdd, []types.Type{bi.WithNotNull(true), bi.WithNotNull(true)}, bi.WithNotNull(true)},
		{FnEq, []types.Type{types.String(), types.Varchar(3)}, types.Boolean()},
		{FnIsNull, []types.Type{bi}, types.Boolean().WithNotNull(true)},
		{FnCase, []types.Type{types.Boolean(), bi, types.Decimal(5, 2)}, types.Decimal(21, 2)},
		{FnCoalesce, []types.Type{in, bi.WithNotNull(true)}, bi.WithNotNull(true)},
		{FnIf, []types.Type{types.Boolean(), types.NullType(), d}, d},
		{FnNeg, []types.Type{types.Decimal(5, 2)}, types.Decimal(5, 2)},
	} {
		got, err := ResultType(c.fn, c.args)
		if err != nil || got != c.want {
			t.Errorf("ResultType(%s, %v) = %s, %v; want %s", c.fn, c.args, got, err, c.want)
		}
	}
	if _, err := ResultType("FROB", nil); !errors.Is(err, ErrUnknownFunction) {
		t.Errorf("unknown function: %v", err)
	}
	for _, args := range [][]types.Type{{types.String(), bi}, {bi}, {types.Boolean(), bi}} {
		if _, err := ResultType(FnAdd, args); !errors.Is(err, ErrArgumentType) {
			t.Errorf("+ %v: %v", args, err)
		}
	}
	if _, err := ResultType(FnAnd, []types.Type{bi, types.Boolean()}); !errors.Is(err, ErrArgumentType) {
		t.Errorf("AND over BIGINT: %v", err)
	}
}

// A call the binder typed wider than ResultType is converted.
func TestCallTypedWider(t *testing.T) {
	bi := types.BigInt()
	e := &Call{Fn: FnAdd, Args: []Expr{col(0, bi), lit(int64(1), bi)}, T: types.Decimal(20, 1)}
	got, err := evalShow(t, e, newBatch(t, []types.Type{bi}, []any{1}))
	if err != nil || got[0] != "2.0" {
		t.Fatalf("%s = %v, %v", e, got, err)
	}
}
