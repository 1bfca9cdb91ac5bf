package sql

import (
	"strings"

	"github.com/sluice-sql/sluice/sql/expr"
	"github.com/sluice-sql/sluice/sql/types"
)

// call types fn over args with expr.ResultType, reporting a mismatch at
// pos (the operator or function name), and makes the implicit casts
// explicit.
func (b *binder) call(fn string, pos int, args ...expr.Expr) (expr.Expr, error) {
	ts := make([]types.Type, len(args))
	for i, a := range args {
		ts[i] = a.Type()
	}
	t, err := expr.ResultType(fn, ts)
	if err != nil {
		return nil, b.errorf(pos, "%s", mismatch(fn, ts))
	}
	switch fn {
	case expr.FnCase:
		n := len(args) - len(args)%2
		for i := 0; i < n; i += 2 {
			args[i] = typeNull(args[i], types.Boolean())
			args[i+1] = castTo(args[i+1], t)
		}
		if n < len(args) {
			args[n] = castTo(args[n], t)
		}
	case expr.FnIf:
		args[0] = typeNull(args[0], types.Boolean())
		args[1], args[2] = castTo(args[1], t), castTo(args[2], t)
	case expr.FnCoalesce:
		for i := range args {
			args[i] = castTo(args[i], t)
		}
	case expr.FnAnd, expr.FnOr, expr.FnNot:
		for i := range args {
			args[i] = typeNull(args[i], types.Boolean())
		}
	case expr.FnIsNull, expr.FnIsNotNull:
	default: // arithmetic, comparison, BETWEEN, IN, NULLIF, ABS
		promote(args)
	}
	return &expr.Call{Fn: fn, Args: args, T: t}, nil
}

// mismatch says why fn cannot take arguments of types ts.
func mismatch(fn string, ts []types.Type) string {
	names := make([]string, len(ts))
	for i, t := range ts {
		names[i] = t.Nullable().String()
	}
	switch fn {
	case expr.FnCase, expr.FnIf, expr.FnCoalesce:
		var vals []string
		switch fn {
		case expr.FnCase:
			for i := 1; i < len(names); i += 2 {
				vals = append(vals, names[i])
			}
			if len(names)%2 == 1 {
				vals = append(vals, names[len(names)-1])
			}
		case expr.FnIf:
			vals = names[1:]
		default:
			vals = names
		}
		return fn + " values have no common type: " + strings.Join(vals, ", ")
	case expr.FnBetween:
		return "cannot compare " + names[0] + " with " + names[1] + " and " + names[2]
	case expr.FnIn:
		return "cannot compare " + names[0] + " with a list of " + strings.Join(names[1:], ", ")
	}
	if len(names) == 2 {
		return "cannot apply " + fn + " to " + names[0] + " and " + names[1]
	}
	return "cannot apply " + fn + " to " + strings.Join(names, ", ")
}

// promote makes explicit the numeric widening of operands that are
// computed or compared together: to DOUBLE when one is a DOUBLE, else an
// integer to DECIMAL when one is a DECIMAL. It also gives an untyped NULL
// the type of the first typed operand.
func promote(args []expr.Expr) {
	var peer types.Type
	hasFloat, hasDecimal := false, false
	for _, a := range args {
		t := a.Type()
		if t.Kind != types.KindNull && peer.Kind == types.KindInvalid {
			peer = t.Nullable()
		}
		hasFloat = hasFloat || t.Kind == types.KindFloat
		hasDecimal = hasDecimal || t.Kind == types.KindDecimal
	}
	for i, a := range args {
		t := a.Type()
		switch {
		case t.Kind == types.KindNull && peer.Kind != types.KindInvalid:
			args[i] = typeNull(a, peer)
		case hasFloat && (t.Kind == types.KindInt || t.Kind == types.KindDecimal):
			args[i] = &expr.Cast{Arg: a, T: types.Double().WithNotNull(t.NotNull)}
		case !hasFloat && hasDecimal && t.Kind == types.KindInt:
			args[i] = &expr.Cast{Arg: a, T: intAsDecimal(t)}
		}
	}
}

// intAsDecimal is the DECIMAL an integer type widens to, by width (see
// package expr).
func intAsDecimal(t types.Type) types.Type {
	p := 19
	switch t.Width {
	case 1:
		p = 3
	case 2:
		p = 5
	case 4:
		p = 10
	}
	return types.Decimal(p, 0).WithNotNull(t.NotNull)
}

// castTo converts a branch value to the type t of its CASE, IF or
// COALESCE, when that changes its representation: an untyped NULL takes
// t, integers of another width are left alone.
func castTo(e expr.Expr, t types.Type) expr.Expr {
	u := e.Type()
	switch {
	case u.Kind == types.KindNull:
		return typeNull(e, t)
	case t.Kind == types.KindNull, u.Equal(t), u.Kind == types.KindInt && t.Kind == types.KindInt:
		return e
	}
	return &expr.Cast{Arg: e, T: t.WithNotNull(u.NotNull)}
}

// typeNull gives an untyped NULL literal the type t (nullable); any other
// expression is returned as is.
func typeNull(e expr.Expr, t types.Type) expr.Expr {
	if c, ok := e.(*expr.Const); ok && c.T.Kind == types.KindNull && t.Kind != types.KindNull {
		return &expr.Const{T: t.Nullable()}
	}
	return e
}
