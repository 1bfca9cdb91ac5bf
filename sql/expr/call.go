package expr

import (
	"fmt"

	"github.com/sluice-sql/sluice/sql/types"
)

// strict functions are NULL when any argument is NULL.
var strict = map[string]bool{
	FnAdd: true, FnSub: true, FnMul: true, FnDiv: true, FnRem: true, FnMod: true, FnIntDiv: true,
	FnNeg: true, FnAbs: true, FnNot: true,
	FnEq: true, FnNe: true, FnLt: true, FnLe: true, FnGt: true, FnGe: true,
}

func compileCall(c *Call) (Evaluator, error) {
	if c.Fn == FnTryCast {
		if len(c.Args) != 1 || c.Args[0] == nil {
			return nil, fmt.Errorf("%s: %w", c.Fn, argCount(1, len(c.Args)))
		}
		return compileCast(c.Args[0], c.T, true)
	}
	ts := make([]types.Type, len(c.Args))
	for i, a := range c.Args {
		if a == nil {
			return nil, fmt.Errorf("%s: nil argument", c.Fn)
		}
		ts[i] = a.Type()
	}
	rt, err := ResultType(c.Fn, ts)
	if err != nil {
		return nil, err
	}
	if !rt.Equal(c.T) && !(rt.Kind == types.KindNull) {
		// The binder typed the call otherwise: compute, then convert.
		return compile(&Cast{Arg: &Call{Fn: c.Fn, Args: c.Args, T: rt}, T: c.T})
	}
	rt = c.T
	if strict[c.Fn] {
		for _, t := range ts {
			if t.Kind == types.KindNull {
				return &constEval{s: &scalar{t: rt, null: true}}, nil
			}
		}
	}
	switch c.Fn {
	case FnAdd, FnSub, FnMul, FnDiv, FnRem, FnMod, FnIntDiv:
		return compileArith(c, rt)
	case FnNeg, FnAbs:
		return compileUnary(c, rt)
	case FnEq, FnNe, FnLt, FnLe, FnGt, FnGe:
		return compileCompare(c.Fn, c.Args[0], c.Args[1])
	case FnBetween:
		x, lo, hi := c.Args[0], c.Args[1], c.Args[2]
		return compile(&Call{Fn: FnAnd, T: rt, Args: []Expr{
			&Call{Fn: FnGe, Args: []Expr{x, lo}, T: types.Boolean()},
			&Call{Fn: FnLe, Args: []Expr{x, hi}, T: types.Boolean()},
		}})
	case FnAnd, FnOr:
		return compileLogic(c.Fn, c.Args)
	case FnNot:
		return compileNot(c.Args[0])
	case FnIsNull, FnIsNotNull:
		return compileNullTest(c.Fn == FnIsNotNull, c.Args[0])
	case FnIn:
		return compileIn(c.Args)
	case FnCase:
		var conds, vals []Expr
		i := 0
		for ; i+1 < len(c.Args); i += 2 {
			conds = append(conds, c.Args[i])
			vals = append(vals, c.Args[i+1])
		}
		var els Expr = &Const{T: rt.Nullable()}
		if i < len(c.Args) {
			els = c.Args[i]
		}
		return compileCase(conds, vals, els, false, rt)
	case FnIf:
		return compileCase(c.Args[:1], c.Args[1:2], c.Args[2], false, rt)
	case FnNullIf:
		eq := &Call{Fn: FnEq, Args: c.Args, T: types.Boolean()}
		return compileCase([]Expr{eq}, []Expr{&Const{T: rt}}, c.Args[0], false, rt)
	case FnCoalesce:
		return compileCase(nil, c.Args[:len(c.Args)-1], c.Args[len(c.Args)-1], true, rt)
	}
	if b, ok := builtins[c.Fn]; ok {
		return b.compile(c, rt)
	}
	return nil, fmt.Errorf("%w %s", ErrUnknownFunction, c.Fn)
}
