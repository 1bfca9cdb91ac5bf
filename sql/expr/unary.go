package expr

import (
	"math"

	"github.com/cockroachdb/apd/v3"

	"github.com/sluice-sql/sluice/sql/types"
)

// unary is unary minus and ABS.
type unary struct {
	fn  string
	a   *operand
	rt  types.Type
	abs bool
}

func compileUnary(c *Call, rt types.Type) (Evaluator, error) {
	a, err := newOperand(castTo(c.Args[0], rt))
	if err != nil {
		return nil, err
	}
	return &unary{fn: c.Fn, a: a, rt: rt, abs: c.Fn == FnAbs}, nil
}

func (e *unary) Eval(in *types.Batch, out *types.Vector) error {
	av, err := e.a.vec(in)
	if err != nil {
		return err
	}
	n := in.Len()
	out.Reset(e.rt, n)
	out.SetLen(n)
	switch storageOf(e.rt) {
	case stInt:
		o, x := out.Ints[:n], av.Ints[:n]
		bad := false
		for i := range o {
			v := x[i]
			bad = bad || v == math.MinInt64
			if !e.abs || v < 0 {
				v = -v
			}
			o[i] = v
		}
		setNulls(out, av, nil, n)
		if bad {
			return forEachLive(in, func(i int) error {
				if !av.IsNull(i) && av.Ints[i] == math.MinInt64 {
					return rowError(e.fn, ErrOverflow, i, av)
				}
				return nil
			})
		}
	case stFloat:
		o, x := out.Floats[:n], av.Floats[:n]
		for i := range o {
			if e.abs {
				o[i] = math.Abs(x[i])
			} else {
				o[i] = -x[i]
			}
		}
		setNulls(out, av, nil, n)
	case stDec:
		for i := range out.Decs {
			if e.abs {
				out.Decs[i].Abs(&av.Decs[i])
			} else {
				out.Decs[i].Neg(&av.Decs[i])
			}
		}
		setNulls(out, av, nil, n)
		// -0 and 0 compare equal; keep one zero.
		for i := range out.Decs {
			if out.Decs[i].IsZero() {
				out.Decs[i] = apd.Decimal{}
			}
		}
	}
	return nil
}
