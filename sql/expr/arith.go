package expr

import (
	"fmt"
	"math"
	"math/bits"

	"github.com/cockroachdb/apd/v3"

	"github.com/sluice-sql/sluice/sql/types"
)

type arithOp uint8

const (
	opAdd arithOp = iota
	opSub
	opMul
	opQuo // / on floats and decimals; truncating on integers
	opRem
	opIntDiv // DIV
)

var arithOps = map[string]arithOp{
	FnAdd: opAdd, FnSub: opSub, FnMul: opMul, FnDiv: opQuo, FnRem: opRem, FnMod: opRem, FnIntDiv: opIntDiv,
}

func compileArith(c *Call, rt types.Type) (Evaluator, error) {
	op := arithOps[c.Fn]
	a, b := c.Args[0], c.Args[1]
	ta, tb := a.Type(), b.Type()
	var err error
	switch {
	case rt.Kind == types.KindFloat || (op == opIntDiv && (ta.Kind == types.KindFloat || tb.Kind == types.KindFloat)):
		return newFloatArith(c.Fn, op, castTo(a, types.Double()), castTo(b, types.Double()), rt)
	case ta.Kind == types.KindInt && tb.Kind == types.KindInt:
		if op == opIntDiv {
			op = opQuo
		}
		return newIntArith(c.Fn, op, a, b, rt)
	case rt.Kind == types.KindDecimal && (op == opAdd || op == opSub || op == opRem):
		s := int(rt.Scale)
		p1, s1 := asDecimal(ta)
		p2, s2 := asDecimal(tb)
		if rt.Decimal64() && p1-s1+s <= types.MaxDecimal64Precision && p2-s2+s <= types.MaxDecimal64Precision {
			return newIntArith(c.Fn, op, castTo(a, types.Decimal(p1-s1+s, s)), castTo(b, types.Decimal(p2-s2+s, s)), rt)
		}
	case rt.Kind == types.KindDecimal && op == opMul && intBacked(ta) && intBacked(tb):
		p1, s1 := asDecimal(ta)
		p2, s2 := asDecimal(tb)
		if int(rt.Precision) == p1+p2 && int(rt.Scale) == s1+s2 {
			if rt.Decimal64() {
				return newIntArith(c.Fn, op, a, b, rt)
			}
			e := &mulWide{fn: c.Fn, rt: rt}
			if e.a, e.b, err = newOperands(a, b); err != nil {
				return nil, err
			}
			return e, nil
		}
	}
	e := &decArith{fn: c.Fn, op: op, rt: rt}
	if e.a, e.b, err = newOperands(a, b); err != nil {
		return nil, err
	}
	return e, nil
}

// intBacked reports whether values of t are int64s with scale 0 or a
// decimal scale.
func intBacked(t types.Type) bool { return t.Kind == types.KindInt || t.Decimal64() }

// intArith is + - * / % over int64 storage of equal scale: BIGINT, or
// DECIMAL(p<=18) already cast to the result's scale (or, for *, scales
// that add up to it).
type intArith struct {
	fn   string
	op   arithOp
	a, b *operand
	rt   types.Type
}

func newIntArith(fn string, op arithOp, a, b Expr, rt types.Type) (Evaluator, error) {
	e := &intArith{fn: fn, op: op, rt: rt}
	var err error
	if e.a, e.b, err = newOperands(a, b); err != nil {
		return nil, err
	}
	return e, nil
}

func (e *intArith) Eval(in *types.Batch, out *types.Vector) error {
	av, bv, err := vecs(in, e.a, e.b)
	if err != nil {
		return err
	}
	n := in.Len()
	out.Reset(e.rt, n)
	out.SetLen(n)
	o, x, y := out.Ints[:n], av.Ints[:n], bv.Ints[:n]
	var bad bool
	switch {
	case e.b.isConst():
		bad = intKernelVC(e.op, o, x, e.b.c.i)
	case e.a.isConst():
		bad = intKernelCV(e.op, o, e.a.c.i, y)
	default:
		bad = intKernelVV(e.op, o, x, y)
	}
	setNulls(out, av, bv, n)
	if bad {
		return forEachLive(in, func(i int) error {
			if av.IsNull(i) || bv.IsNull(i) {
				return nil
			}
			if err := intCheck(e.op, av.Ints[i], bv.Ints[i]); err != nil {
				return rowError(e.fn, err, i, av, bv)
			}
			return nil
		})
	}
	return nil
}

// intCheck reports why op cannot be applied to x and y.
func intCheck(op arithOp, x, y int64) error {
	switch op {
	case opAdd:
		if s := x + y; (x^s)&(y^s) < 0 {
			return ErrOverflow
		}
	case opSub:
		if d := x - y; (x^y)&(x^d) < 0 {
			return ErrOverflow
		}
	case opMul:
		if mulOverflows(x, y) {
			return ErrOverflow
		}
	case opQuo, opRem, opIntDiv:
		if y == 0 {
			return ErrDivisionByZero
		}
		if op != opRem && x == math.MinInt64 && y == -1 {
			return ErrOverflow
		}
	}
	return nil
}

// mul128 returns the high word of the signed 128-bit product and the low.
func mul128(x, y int64) (hi int64, lo uint64) {
	h, l := bits.Mul64(uint64(x), uint64(y))
	h -= uint64(y) & uint64(x>>63)
	h -= uint64(x) & uint64(y>>63)
	return int64(h), l
}

func mulOverflows(x, y int64) bool {
	hi, lo := mul128(x, y)
	return hi != int64(lo)>>63
}

// The kernels compute every row and report whether some row may be in
// error; the caller then finds the live culprit. Null slots hold zeros,
// so a divisor of zero there raises the flag harmlessly.

func intKernelVV(op arithOp, o, x, y []int64) (bad bool) {
	switch op {
	case opAdd:
		var ov int64
		for i := range o {
			s := x[i] + y[i]
			ov |= (x[i] ^ s) & (y[i] ^ s)
			o[i] = s
		}
		return ov < 0
	case opSub:
		var ov int64
		for i := range o {
			d := x[i] - y[i]
			ov |= (x[i] ^ y[i]) & (x[i] ^ d)
			o[i] = d
		}
		return ov < 0
	case opMul:
		var ov int64
		for i := range o {
			hi, lo := mul128(x[i], y[i])
			ov |= hi ^ (int64(lo) >> 63)
			o[i] = int64(lo)
		}
		return ov != 0
	case opQuo, opIntDiv:
		for i := range o {
			d := y[i]
			if d == 0 || d == -1 {
				bad = bad || d == 0 || x[i] == math.MinInt64
				d = 1 - 2*(d&1) // -1 stays -1, 0 becomes 1
			}
			o[i] = x[i] / d
		}
	case opRem:
		for i := range o {
			d := y[i]
			if d == 0 {
				bad, d = true, 1
			}
			o[i] = x[i] % d
		}
	}
	return bad
}

func intKernelVC(op arithOp, o, x []int64, c int64) (bad bool) {
	switch op {
	case opAdd:
		var ov int64
		for i := range o {
			s := x[i] + c
			ov |= (x[i] ^ s) & (c ^ s)
			o[i] = s
		}
		return ov < 0
	case opSub:
		var ov int64
		for i := range o {
			d := x[i] - c
			ov |= (x[i] ^ c) & (x[i] ^ d)
			o[i] = d
		}
		return ov < 0
	case opMul:
		var ov int64
		for i := range o {
			hi, lo := mul128(x[i], c)
			ov |= hi ^ (int64(lo) >> 63)
			o[i] = int64(lo)
		}
		return ov != 0
	case opQuo, opIntDiv:
		if c == 0 {
			return true
		}
		if c == -1 {
			for i := range o {
				bad = bad || x[i] == math.MinInt64
				o[i] = -x[i]
			}
			return bad
		}
		for i := range o {
			o[i] = x[i] / c
		}
	case opRem:
		if c == 0 {
			return true
		}
		for i := range o {
			o[i] = x[i] % c
		}
	}
	return false
}

func intKernelCV(op arithOp, o []int64, c int64, y []int64) (bad bool) {
	switch op {
	case opAdd, opMul:
		return intKernelVC(op, o, y, c)
	case opSub:
		var ov int64
		for i := range o {
			d := c - y[i]
			ov |= (c ^ y[i]) & (c ^ d)
			o[i] = d
		}
		return ov < 0
	case opQuo, opIntDiv:
		for i := range o {
			d := y[i]
			if d == 0 || d == -1 {
				bad = bad || d == 0 || c == math.MinInt64
				d = 1 - 2*(d&1)
			}
			o[i] = c / d
		}
	case opRem:
		for i := range o {
			d := y[i]
			if d == 0 {
				bad, d = true, 1
			}
			o[i] = c % d
		}
	}
	return bad
}

// floatArith is arithmetic over DOUBLE; DIV truncates to BIGINT.
type floatArith struct {
	fn   string
	op   arithOp
	a, b *operand
	rt   types.Type
}

func newFloatArith(fn string, op arithOp, a, b Expr, rt types.Type) (Evaluator, error) {
	e := &floatArith{fn: fn, op: op, rt: rt}
	var err error
	if e.a, e.b, err = newOperands(a, b); err != nil {
		return nil, err
	}
	return e, nil
}

func (e *floatArith) Eval(in *types.Batch, out *types.Vector) error {
	av, bv, err := vecs(in, e.a, e.b)
	if err != nil {
		return err
	}
	n := in.Len()
	out.Reset(e.rt, n)
	out.SetLen(n)
	x, y := av.Floats[:n], bv.Floats[:n]
	bad := false
	if e.op == opIntDiv {
		o := out.Ints[:n]
		for i := range o {
			q := math.Trunc(x[i] / y[i])
			bad = bad || y[i] == 0 || !(q >= -9.223372036854775808e18 && q < 9.223372036854775808e18)
			o[i] = int64(q)
		}
	} else {
		o := out.Floats[:n]
		switch e.op {
		case opAdd:
			for i := range o {
				o[i] = x[i] + y[i]
			}
		case opSub:
			for i := range o {
				o[i] = x[i] - y[i]
			}
		case opMul:
			for i := range o {
				o[i] = x[i] * y[i]
			}
		case opQuo:
			for i := range o {
				bad = bad || y[i] == 0
				o[i] = x[i] / y[i]
			}
		case opRem:
			for i := range o {
				bad = bad || y[i] == 0
				o[i] = math.Mod(x[i], y[i])
			}
		}
	}
	setNulls(out, av, bv, n)
	if bad {
		return forEachLive(in, func(i int) error {
			if av.IsNull(i) || bv.IsNull(i) {
				return nil
			}
			if bv.Floats[i] == 0 {
				return rowError(e.fn, ErrDivisionByZero, i, av, bv)
			}
			if q := math.Trunc(av.Floats[i] / bv.Floats[i]); e.op == opIntDiv && !(q >= -9.223372036854775808e18 && q < 9.223372036854775808e18) {
				return rowError(e.fn, ErrOverflow, i, av, bv)
			}
			return nil
		})
	}
	return nil
}

// mulWide multiplies int64-backed operands into a DECIMAL(p>18) whose
// precision and scale are the sums of theirs, so the product always fits
// (q1's 0.908 * price). Products that fit an int64 skip apd arithmetic.
type mulWide struct {
	fn   string
	a, b *operand
	rt   types.Type
	tmp  [2]apd.Decimal
}

func (e *mulWide) Eval(in *types.Batch, out *types.Vector) error {
	av, bv, err := vecs(in, e.a, e.b)
	if err != nil {
		return err
	}
	n := in.Len()
	out.Reset(e.rt, n)
	out.SetLen(n)
	exp := -int32(e.rt.Scale)
	o, x, y := out.Decs[:n], av.Ints[:n], bv.Ints[:n]
	for i := range o {
		hi, lo := mul128(x[i], y[i])
		if hi == int64(lo)>>63 {
			o[i].SetFinite(int64(lo), exp)
			continue
		}
		e.tmp[0].SetInt64(x[i])
		e.tmp[1].SetInt64(y[i])
		if _, err := decCtx.Mul(&o[i], &e.tmp[0], &e.tmp[1]); err != nil {
			return rowError(e.fn, err, i, av, bv)
		}
		o[i].Exponent = exp
	}
	setNulls(out, av, bv, n)
	return nil
}

// decCtx is wide enough for every exact product and sum of DECIMAL(38)
// values; quotients are rounded to its precision before the result scale.
var decCtx = func() *apd.Context {
	c := apd.BaseContext.WithPrecision(2*types.MaxDecimalPrecision + 4)
	c.Rounding = apd.RoundHalfUp
	return c
}()

// readDec reads row i of an integer or decimal vector into d.
func readDec(v *types.Vector, i int, d *apd.Decimal) {
	switch {
	case v.Type.Kind == types.KindInt:
		d.SetFinite(v.Ints[i], 0)
	case v.Type.Decimal64():
		d.SetFinite(v.Ints[i], -int32(v.Type.Scale))
	default:
		d.Set(&v.Decs[i])
	}
}

// decArith is decimal arithmetic through apd, row by row: the general
// path for wide decimals, division and mixed scales.
type decArith struct {
	fn   string
	op   arithOp
	a, b *operand
	rt   types.Type
	x, y apd.Decimal
	r    apd.Decimal
	mask []bool
}

func (e *decArith) Eval(in *types.Batch, out *types.Vector) error {
	av, bv, err := vecs(in, e.a, e.b)
	if err != nil {
		return err
	}
	n := in.Len()
	out.Reset(e.rt, n)
	extend(out, n) // decArith leaves skipped rows as they are: they must hold zeros
	live := liveMask(in, &e.mask)
	for i := range n {
		if av.IsNull(i) || bv.IsNull(i) {
			out.Nulls.Set(i)
			continue
		}
		if live != nil && !live[i] {
			continue
		}
		if err := e.row(av, bv, i, out); err != nil {
			return rowError(e.fn, err, i, av, bv)
		}
	}
	return nil
}

func (e *decArith) row(av, bv *types.Vector, i int, out *types.Vector) error {
	readDec(av, i, &e.x)
	readDec(bv, i, &e.y)
	var err error
	switch e.op {
	case opAdd:
		_, err = decCtx.Add(&e.r, &e.x, &e.y)
	case opSub:
		_, err = decCtx.Sub(&e.r, &e.x, &e.y)
	case opMul:
		_, err = decCtx.Mul(&e.r, &e.x, &e.y)
	case opQuo, opRem, opIntDiv:
		if e.y.IsZero() {
			return ErrDivisionByZero
		}
		switch e.op {
		case opQuo:
			_, err = decCtx.Quo(&e.r, &e.x, &e.y)
		case opRem:
			_, err = decCtx.Rem(&e.r, &e.x, &e.y)
		default:
			_, err = decCtx.QuoInteger(&e.r, &e.x, &e.y)
		}
	}
	if err != nil {
		return err
	}
	return storeDec(out, i, &e.r)
}

// storeDec writes d, rounded half away from zero to out's scale, into row
// i of a decimal or BIGINT vector, or reports ErrOverflow.
func storeDec(out *types.Vector, i int, d *apd.Decimal) error {
	t := out.Type
	if t.Kind == types.KindInt {
		var r apd.Decimal
		if _, err := decCtx.RoundToIntegralValue(&r, d); err != nil {
			return err
		}
		x, err := r.Int64()
		if err != nil {
			return ErrOverflow
		}
		out.Ints[i] = x
		return nil
	}
	var r apd.Decimal
	if _, err := decCtx.Quantize(&r, d, -int32(t.Scale)); err != nil {
		return fmt.Errorf("%w: %v", ErrOverflow, err)
	}
	if r.NumDigits() > int64(t.Precision) && !r.IsZero() {
		return fmt.Errorf("%w for %s", ErrOverflow, t)
	}
	if t.Decimal64() {
		// At most 18 digits, and Quantize fixed the exponent to -scale.
		c := r.Coeff.Int64()
		if r.Negative {
			c = -c
		}
		out.Ints[i] = c
		return nil
	}
	out.Decs[i].Set(&r)
	return nil
}
