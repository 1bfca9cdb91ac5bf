package expr

import (
	"bytes"

	"github.com/sluice-sql/sluice/sql/types"
)

type cmpOp uint8

const (
	cmpEq cmpOp = iota
	cmpNe
	cmpLt
	cmpLe
	cmpGt
	cmpGe
)

var cmpOps = map[string]cmpOp{FnEq: cmpEq, FnNe: cmpNe, FnLt: cmpLt, FnLe: cmpLe, FnGt: cmpGt, FnGe: cmpGe}

// flip gives the operator with its operands swapped: c < x is x > c.
func (op cmpOp) flip() cmpOp {
	switch op {
	case cmpLt:
		return cmpGt
	case cmpLe:
		return cmpGe
	case cmpGt:
		return cmpLt
	case cmpGe:
		return cmpLe
	}
	return op
}

// holds reports whether a comparison result c (-1, 0, 1) satisfies op.
func (op cmpOp) holds(c int) bool {
	switch op {
	case cmpEq:
		return c == 0
	case cmpNe:
		return c != 0
	case cmpLt:
		return c < 0
	case cmpLe:
		return c <= 0
	case cmpGt:
		return c > 0
	}
	return c >= 0
}

// compare evaluates a comparison of two operands cast to a common type.
type compare struct {
	op   cmpOp
	a, b *operand // b is the constant when one side is
	st   storage
}

func compileCompare(fn string, a, b Expr) (Evaluator, error) {
	ct, err := compareType(a.Type(), b.Type())
	if err != nil {
		return nil, err
	}
	op := cmpOps[fn]
	e := &compare{op: op, st: storageOf(ct)}
	if e.a, e.b, err = newOperands(castTo(a, ct), castTo(b, ct)); err != nil {
		return nil, err
	}
	if e.a.isConst() && !e.b.isConst() {
		e.a, e.b, e.op = e.b, e.a, op.flip()
	}
	return e, nil
}

func (e *compare) Eval(in *types.Batch, out *types.Vector) error {
	av, bv, err := vecs(in, e.a, e.b)
	if err != nil {
		return err
	}
	n := in.Len()
	out.Reset(types.Boolean(), n)
	out.SetLen(n)
	o := out.Bools[:n]
	c := e.b.c
	switch e.st {
	case stInt:
		if c != nil {
			cmpVC(e.op, o, av.Ints[:n], c.i)
		} else {
			cmpVV(e.op, o, av.Ints[:n], bv.Ints[:n])
		}
	case stFloat:
		if c != nil {
			cmpVC(e.op, o, av.Floats[:n], c.f)
		} else {
			cmpVV(e.op, o, av.Floats[:n], bv.Floats[:n])
		}
	case stBool:
		for i := range o {
			o[i] = e.op.holds(b2i(av.Bools[i]) - b2i(bv.Bools[i]))
		}
	case stVar:
		if c != nil && (e.op == cmpEq || e.op == cmpNe) {
			want := e.op == cmpEq
			for i := range o {
				o[i] = bytes.Equal(av.Data[av.Offsets[i]:av.Offsets[i+1]], c.s) == want
			}
		} else {
			for i := range o {
				o[i] = e.op.holds(bytes.Compare(av.Data[av.Offsets[i]:av.Offsets[i+1]], bv.Data[bv.Offsets[i]:bv.Offsets[i+1]]))
			}
		}
	case stDec:
		for i := range o {
			o[i] = e.op.holds(av.Decs[i].Cmp(&bv.Decs[i]))
		}
	case stInterval:
		for i := range o {
			x, y := av.Intervals[i], bv.Intervals[i]
			c := cmpInt(int64(x.Months), int64(y.Months))
			if c == 0 {
				c = cmpInt(x.Micros, y.Micros)
			}
			o[i] = e.op.holds(c)
		}
	}
	setNulls(out, av, bv, n)
	return nil
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

func cmpInt(x, y int64) int {
	switch {
	case x < y:
		return -1
	case x > y:
		return 1
	}
	return 0
}

// cmpVV and cmpVC are stenciled per element type (int64 and float64 have
// different shapes), so the comparisons compile to direct instructions.
func cmpVV[T int64 | float64](op cmpOp, o []bool, x, y []T) {
	y = y[:len(o)]
	x = x[:len(o)]
	switch op {
	case cmpEq:
		for i := range o {
			o[i] = x[i] == y[i]
		}
	case cmpNe:
		for i := range o {
			o[i] = x[i] != y[i]
		}
	case cmpLt:
		for i := range o {
			o[i] = x[i] < y[i]
		}
	case cmpLe:
		for i := range o {
			o[i] = x[i] <= y[i]
		}
	case cmpGt:
		for i := range o {
			o[i] = x[i] > y[i]
		}
	case cmpGe:
		for i := range o {
			o[i] = x[i] >= y[i]
		}
	}
}

func cmpVC[T int64 | float64](op cmpOp, o []bool, x []T, c T) {
	x = x[:len(o)]
	switch op {
	case cmpEq:
		for i := range o {
			o[i] = x[i] == c
		}
	case cmpNe:
		for i := range o {
			o[i] = x[i] != c
		}
	case cmpLt:
		for i := range o {
			o[i] = x[i] < c
		}
	case cmpLe:
		for i := range o {
			o[i] = x[i] <= c
		}
	case cmpGt:
		for i := range o {
			o[i] = x[i] > c
		}
	case cmpGe:
		for i := range o {
			o[i] = x[i] >= c
		}
	}
}
