package expr

import (
	"bytes"
	"fmt"
	"math"

	"github.com/cockroachdb/apd/v3"

	"github.com/sluice-sql/sluice/sql/types"
)

// The math functions.
//
// ROUND(x [, d]) rounds half away from zero: exactly for DECIMAL and
// integers, on the binary value for DOUBLE. Its result type cannot depend
// on the value of d (a type rule sees types only), so
// ROUND(DECIMAL(p, s), d) is DECIMAL(p+1, s) holding the rounded value
// (ROUND(1.2345, 2) = 1.2300); ROUND(DECIMAL(p, s)) is DECIMAL(p-s+1, 0).
// FLOOR and CEIL of DECIMAL(p, s) are DECIMAL(p-s+1, 0); of integers,
// BIGINT.
//
// POWER, SQRT, LN and LOG10 compute in DOUBLE and, as Flink (Java's Math)
// does, return IEEE results outside their domain instead of failing:
// SQRT(-1) and LN(-1) are NaN, LN(0) is -Infinity.
//
// GREATEST and LEAST take arguments of a common type (as CASE branches)
// and are NULL when any argument is NULL (Flink).
const (
	FnRound    = "ROUND" // x [, d]
	FnFloor    = "FLOOR"
	FnCeil     = "CEIL"
	FnPower    = "POWER"
	FnSqrt     = "SQRT"
	FnLn       = "LN"
	FnLog10    = "LOG10"
	FnGreatest = "GREATEST"
	FnLeast    = "LEAST"
)

var mathBuiltins = map[string]builtin{
	FnRound:    {roundRule, compileRound},
	FnFloor:    {floorRule, compileFloorCeil},
	FnCeil:     {floorRule, compileFloorCeil},
	FnPower:    {doubleRule(2), floatFunc(nil, math.Pow)},
	FnSqrt:     {doubleRule(1), floatFunc(math.Sqrt, nil)},
	FnLn:       {doubleRule(1), floatFunc(math.Log, nil)},
	FnLog10:    {doubleRule(1), floatFunc(log10, nil)},
	FnGreatest: {extremeRule, compileExtreme(1)},
	FnLeast:    {extremeRule, compileExtreme(-1)},
}

func roundRule(a []types.Type) (types.Type, error) {
	if err := argRange(a, 1, 2); err != nil {
		return types.Type{}, err
	}
	// The binder widens numeric arguments together, so d may reach us as
	// a DECIMAL or DOUBLE; it is truncated to an integer.
	if err := wantArgs(a, isNumericArg); err != nil {
		return types.Type{}, err
	}
	t, nn := a[0], allNotNull(a)
	switch t.Kind {
	case types.KindNull, types.KindInt:
		return types.BigInt().WithNotNull(nn), nil
	case types.KindDecimal:
		if len(a) == 2 {
			return types.Decimal(min(int(t.Precision)+1, types.MaxDecimalPrecision), int(t.Scale)).WithNotNull(nn), nil
		}
		return floorRule(a)
	}
	return types.Double().WithNotNull(nn), nil
}

func floorRule(a []types.Type) (types.Type, error) {
	if err := argRange(a, 1, 1); err != nil {
		return types.Type{}, err
	}
	if err := wantArgs(a, isNumericArg); err != nil {
		return types.Type{}, err
	}
	t := a[0]
	switch t.Kind {
	case types.KindNull, types.KindInt:
		return types.BigInt().WithNotNull(t.NotNull), nil
	case types.KindDecimal:
		if t.Scale == 0 {
			return t, nil
		}
		return types.Decimal(min(int(t.Precision-t.Scale)+1, types.MaxDecimalPrecision), 0).WithNotNull(t.NotNull), nil
	}
	return types.Double().WithNotNull(t.NotNull), nil
}

func doubleRule(n int) rule {
	return func(a []types.Type) (types.Type, error) {
		if err := argRange(a, n, n); err != nil {
			return types.Type{}, err
		}
		if err := wantArgs(a, isNumericArg); err != nil {
			return types.Type{}, err
		}
		return types.Double().WithNotNull(allNotNull(a)), nil
	}
}

func extremeRule(a []types.Type) (types.Type, error) {
	if err := argRange(a, 1, -1); err != nil {
		return types.Type{}, err
	}
	t, err := commonType(a)
	if err != nil {
		return t, err
	}
	switch storageOf(t) {
	case stNone, stInterval:
		if t.Kind != types.KindNull {
			return types.Type{}, fmt.Errorf("%w: %s values cannot be compared", ErrArgumentType, t)
		}
	}
	return t, nil
}

// floatEval applies a float function to whole vectors.
type floatEval struct {
	a, b *operand // b nil for a unary function
	f1   func(float64) float64
	f2   func(x, y float64) float64
	rt   types.Type
}

func floatFunc(f1 func(float64) float64, f2 func(x, y float64) float64) func(*Call, types.Type) (Evaluator, error) {
	return func(c *Call, rt types.Type) (Evaluator, error) {
		e := &floatEval{f1: f1, f2: f2, rt: rt}
		var err error
		if e.a, err = newOperand(castTo(c.Args[0], types.Double())); err != nil {
			return nil, err
		}
		if f2 != nil {
			if e.b, err = newOperand(castTo(c.Args[1], types.Double())); err != nil {
				return nil, err
			}
		}
		return e, nil
	}
}

func (e *floatEval) Eval(in *types.Batch, out *types.Vector) error {
	av, err := e.a.vec(in)
	if err != nil {
		return err
	}
	n := in.Len()
	out.Reset(e.rt, n)
	out.SetLen(n)
	o, x := out.Floats[:n], av.Floats[:n]
	if e.b == nil {
		for i := range o {
			o[i] = e.f1(x[i])
		}
		setNulls(out, av, nil, n)
		return nil
	}
	bv, err := e.b.vec(in)
	if err != nil {
		return err
	}
	y := bv.Floats[:n]
	for i := range o {
		o[i] = e.f2(x[i], y[i])
	}
	setNulls(out, av, bv, n)
	return nil
}

// log10 is exact for powers of ten, as Java's Math.log10 (and so Flink)
// is; Go's math.Log10(1e15) is 14.999999999999998.
func log10(x float64) float64 {
	r := math.Log10(x)
	if n := math.Round(r); n != r && math.Abs(n) < 309 && math.Pow10(int(n)) == x {
		return n
	}
	return r
}

// decAt returns row i of a decimal vector, using tmp for int64 storage.
func decAt(v *types.Vector, i int, tmp *apd.Decimal) *apd.Decimal {
	if v.Type.Decimal64() {
		tmp.SetFinite(v.Ints[i], -int32(v.Type.Scale))
		return tmp
	}
	return &v.Decs[i]
}

var roundCtx = func() *apd.Context {
	c := apd.BaseContext.WithPrecision(2 * types.MaxDecimalPrecision)
	c.Rounding = apd.RoundHalfUp // on the magnitude: half away from zero
	return c
}()

func compileRound(c *Call, rt types.Type) (Evaluator, error) {
	x := c.Args[0]
	ts := []types.Type{x.Type(), types.BigInt()}
	if x.Type().Kind == types.KindNull {
		ts[0] = rt
	}
	digits := func(a []*types.Vector, i int) int64 {
		if len(a) == 2 {
			return a[1].Ints[i]
		}
		return 0
	}
	var row func(out *types.Vector, a []*types.Vector, i int) error
	switch storageOf(ts[0]) {
	case stFloat:
		ts[0] = types.Double()
		row = func(out *types.Vector, a []*types.Vector, i int) error {
			out.AppendFloat(roundFloat(a[0].Floats[i], digits(a, i)))
			return nil
		}
	case stInt, stDec:
		if ts[0].Kind == types.KindInt {
			ts[0] = types.BigInt()
			row = func(out *types.Vector, a []*types.Vector, i int) error {
				r, ok := roundInt(a[0].Ints[i], digits(a, i))
				if !ok {
					out.AppendNull()
					return ErrOverflow
				}
				out.AppendInt(r)
				return nil
			}
			break
		}
		var tmp, r apd.Decimal
		row = func(out *types.Vector, a []*types.Vector, i int) error {
			d := decAt(a[0], i, &tmp)
			k := min(max(digits(a, i), -2*types.MaxDecimalPrecision), int64(d.Exponent)*-1)
			if _, err := roundCtx.Quantize(&r, d, -int32(k)); err != nil || !out.AppendDecimal(&r) {
				return ErrOverflow
			}
			return nil
		}
	default:
		return nil, fmt.Errorf("%w: ROUND of %s", ErrArgumentType, x.Type())
	}
	return newRowFunc(c.Fn, rt, true, c.Args, ts[:len(c.Args)], row)
}

// roundFloat rounds x to d decimal digits, half away from zero.
func roundFloat(x float64, d int64) float64 {
	if math.IsInf(x, 0) || math.IsNaN(x) || d > 308 {
		return x
	}
	if d < -308 {
		return math.Copysign(0, x)
	}
	if d >= 0 {
		p := math.Pow10(int(d))
		if r := math.Round(x*p) / p; !math.IsInf(x*p, 0) {
			return r
		}
		return x
	}
	q := math.Pow10(int(-d))
	return math.Round(x/q) * q
}

// roundInt rounds x to a multiple of 10^-d when d < 0, half away from
// zero; it reports false on overflow.
func roundInt(x, d int64) (int64, bool) {
	if d >= 0 {
		return x, true
	}
	if d < -18 {
		return 0, true // |x| < 0.5 * 10^19
	}
	q := int64(1)
	for range -d {
		q *= 10
	}
	r := x % q
	x -= r
	if 2*r >= q {
		if x > math.MaxInt64-q {
			return 0, false
		}
		x += q
	} else if -2*r >= q {
		if x < math.MinInt64+q {
			return 0, false
		}
		x -= q
	}
	return x, true
}

func compileFloorCeil(c *Call, rt types.Type) (Evaluator, error) {
	ceil := c.Fn == FnCeil
	t := c.Args[0].Type()
	switch {
	case t.Kind == types.KindNull:
		return &constEval{s: &scalar{t: rt, null: true}}, nil
	case t.Kind == types.KindInt:
		return compile(castTo(c.Args[0], rt))
	case t.Kind == types.KindFloat:
		f := math.Floor
		if ceil {
			f = math.Ceil
		}
		return floatFunc(f, nil)(c, rt)
	}
	var tmp, r apd.Decimal
	return newRowFunc(c.Fn, rt, true, c.Args, []types.Type{t}, func(out *types.Vector, a []*types.Vector, i int) error {
		d := decAt(a[0], i, &tmp)
		var err error
		if ceil {
			_, err = roundCtx.Ceil(&r, d)
		} else {
			_, err = roundCtx.Floor(&r, d)
		}
		if err != nil || !out.AppendDecimal(&r) {
			return ErrOverflow
		}
		return nil
	})
}

// compileExtreme compiles GREATEST (sign 1) and LEAST (sign -1).
func compileExtreme(sign int) func(*Call, types.Type) (Evaluator, error) {
	return func(c *Call, rt types.Type) (Evaluator, error) {
		if rt.Kind == types.KindNull {
			return &constEval{s: &scalar{t: rt, null: true}}, nil
		}
		ts := make([]types.Type, len(c.Args))
		for i := range ts {
			ts[i] = rt
		}
		var tmp apd.Decimal
		// better reports whether row i of v beats row i of w.
		var better func(v, w *types.Vector, i int) bool
		switch storageOf(rt) {
		case stBool:
			better = func(v, w *types.Vector, i int) bool { return sign*(b2i(v.Bools[i])-b2i(w.Bools[i])) > 0 }
		case stInt:
			better = func(v, w *types.Vector, i int) bool { return sign*cmp64(v.Ints[i], w.Ints[i]) > 0 }
		case stFloat:
			better = func(v, w *types.Vector, i int) bool {
				x, y := v.Floats[i], w.Floats[i]
				return (sign > 0 && x > y) || (sign < 0 && x < y)
			}
		case stDec:
			better = func(v, w *types.Vector, i int) bool { return sign*v.Decs[i].Cmp(&w.Decs[i]) > 0 }
		case stVar:
			better = func(v, w *types.Vector, i int) bool { return sign*bytes.Compare(v.Bytes(i), w.Bytes(i)) > 0 }
		default:
			return nil, fmt.Errorf("%w: %s values cannot be compared", ErrArgumentType, rt)
		}
		return newRowFunc(c.Fn, rt, true, c.Args, ts, func(out *types.Vector, a []*types.Vector, i int) error {
			best := a[0]
			for _, v := range a[1:] {
				if better(v, best, i) {
					best = v
				}
			}
			switch storageOf(rt) {
			case stBool:
				out.AppendBool(best.Bools[i])
			case stInt:
				out.AppendInt(best.Ints[i])
			case stFloat:
				out.AppendFloat(best.Floats[i])
			case stDec:
				tmp.Set(&best.Decs[i])
				out.AppendDecimal(&tmp)
			case stVar:
				out.AppendBytes(best.Bytes(i))
			}
			return nil
		})
	}
}

func cmp64(x, y int64) int {
	switch {
	case x < y:
		return -1
	case x > y:
		return 1
	}
	return 0
}
