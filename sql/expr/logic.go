package expr

import (
	"fmt"

	"github.com/cockroachdb/apd/v3"

	"github.com/sluice-sql/sluice/sql/types"
)

// logic is AND or OR with SQL three-valued logic. The right side is
// evaluated only over the live rows the left side does not decide, so
// b <> 0 AND a / b > 1 never divides by zero.
type logic struct {
	or   bool
	a, b *operand
	sel  []int32
	sub  types.Batch
}

func compileLogic(fn string, args []Expr) (Evaluator, error) {
	for len(args) > 2 { // left-deep: a AND b AND c is (a AND b) AND c
		args = append([]Expr{&Call{Fn: fn, Args: args[:2:2], T: types.Boolean()}}, args[2:]...)
	}
	e := &logic{or: fn == FnOr}
	var err error
	if e.a, e.b, err = newOperands(castTo(args[0], types.Boolean()), castTo(args[1], types.Boolean())); err != nil {
		return nil, err
	}
	return e, nil
}

func (e *logic) Eval(in *types.Batch, out *types.Vector) error {
	av, err := e.a.vec(in)
	if err != nil {
		return err
	}
	// The rows the left side decides: FALSE for AND, TRUE for OR.
	decided := !e.or
	sel := e.sel[:0]
	narrowed := false
	err = forEachLive(in, func(i int) error {
		if !av.IsNull(i) && av.Bools[i] == !decided {
			narrowed = true
		} else {
			sel = append(sel, int32(i))
		}
		return nil
	})
	if err != nil {
		return err
	}
	e.sel = sel
	bin := in
	if narrowed {
		e.sub = *in
		e.sub.Sel = sel
		bin = &e.sub
	}
	bv, err := e.b.vec(bin)
	if err != nil {
		return err
	}
	n := in.Len()
	out.Reset(types.Boolean(), n)
	out.SetLen(n)
	o := out.Bools[:n]
	// A side "decides" the row when it is known (not null) and equals
	// the deciding value; a row neither side decides is null if either
	// side is null. Null slots hold false (the zero value).
	for i := range o {
		an, bn := av.IsNull(i), bv.IsNull(i)
		x, y := av.Bools[i], bv.Bools[i]
		var res, null bool
		if e.or {
			res = x || y
			null = !res && (an || bn)
		} else {
			dec := (!an && !x) || (!bn && !y)
			res = !dec && x && y
			null = !dec && (an || bn)
		}
		o[i] = res
		if null {
			out.Nulls.Set(i)
		}
	}
	return nil
}

// not is NOT.
type not struct {
	a *operand
}

func compileNot(a Expr) (Evaluator, error) {
	o, err := newOperand(castTo(a, types.Boolean()))
	if err != nil {
		return nil, err
	}
	return &not{a: o}, nil
}

func (e *not) Eval(in *types.Batch, out *types.Vector) error {
	av, err := e.a.vec(in)
	if err != nil {
		return err
	}
	n := in.Len()
	out.Reset(types.Boolean(), n)
	out.SetLen(n)
	o, x := out.Bools[:n], av.Bools[:n]
	for i := range o {
		o[i] = !x[i]
	}
	setNulls(out, av, nil, n)
	return nil
}

// nullTest is IS NULL and IS NOT NULL; its result is never null.
type nullTest struct {
	a   *operand
	not bool
}

func compileNullTest(not bool, a Expr) (Evaluator, error) {
	o, err := newOperand(a)
	if err != nil {
		return nil, err
	}
	return &nullTest{a: o, not: not}, nil
}

func (e *nullTest) Eval(in *types.Batch, out *types.Vector) error {
	av, err := e.a.vec(in)
	if err != nil {
		return err
	}
	n := in.Len()
	out.Reset(types.Boolean().WithNotNull(true), n)
	out.SetLen(n)
	o := out.Bools[:n]
	for i := range o {
		o[i] = av.IsNull(i) != e.not
	}
	return nil
}

// in is x IN (constants). It is TRUE when x equals one of them, NULL when
// x is NULL or, failing a match, when the list holds a NULL; else FALSE.
type in struct {
	x       *operand
	st      storage
	ints    []int64
	intSet  map[int64]struct{}
	floats  []float64
	bools   [2]bool
	strs    map[string]struct{}
	decs    []apd.Decimal
	hasNull bool
}

func compileIn(args []Expr) (Evaluator, error) {
	ct := args[0].Type()
	for _, a := range args[1:] {
		t, err := compareType(ct, a.Type())
		if err != nil {
			return nil, fmt.Errorf("IN: %w", err)
		}
		ct = t
	}
	if ct.Kind == types.KindNull {
		return &constEval{s: &scalar{t: types.Boolean(), null: true}}, nil
	}
	e := &in{st: storageOf(ct)}
	var err error
	if e.x, err = newOperand(castTo(args[0], ct)); err != nil {
		return nil, err
	}
	for _, a := range args[1:] {
		s, ok, err := fold(castTo(a, ct))
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, fmt.Errorf("%w: IN list item %s is not a constant", ErrArgumentType, a)
		}
		if s.null {
			e.hasNull = true
			continue
		}
		switch e.st {
		case stInt:
			e.ints = append(e.ints, s.i)
		case stFloat:
			e.floats = append(e.floats, s.f)
		case stBool:
			e.bools[b2i(s.b)] = true
		case stVar:
			if e.strs == nil {
				e.strs = map[string]struct{}{}
			}
			e.strs[string(s.s)] = struct{}{}
		case stDec:
			e.decs = append(e.decs, s.d)
		default:
			return nil, fmt.Errorf("%w: IN over %s", ErrArgumentType, ct)
		}
	}
	if len(e.ints) > 8 {
		e.intSet = make(map[int64]struct{}, len(e.ints))
		for _, x := range e.ints {
			e.intSet[x] = struct{}{}
		}
	}
	return e, nil
}

func (e *in) Eval(b *types.Batch, out *types.Vector) error {
	xv, err := e.x.vec(b)
	if err != nil {
		return err
	}
	n := b.Len()
	out.Reset(types.Boolean(), n)
	out.SetLen(n)
	o := out.Bools[:n]
	switch e.st {
	case stInt:
		x := xv.Ints[:n]
		if e.intSet != nil {
			for i := range o {
				_, o[i] = e.intSet[x[i]]
			}
		} else {
			for i := range o {
				hit := false
				for _, c := range e.ints {
					hit = hit || x[i] == c
				}
				o[i] = hit
			}
		}
	case stFloat:
		for i := range o {
			hit := false
			for _, c := range e.floats {
				hit = hit || xv.Floats[i] == c
			}
			o[i] = hit
		}
	case stBool:
		for i := range o {
			o[i] = e.bools[b2i(xv.Bools[i])]
		}
	case stVar:
		for i := range o {
			_, o[i] = e.strs[string(xv.Bytes(i))]
		}
	case stDec:
		for i := range o {
			hit := false
			for j := range e.decs {
				hit = hit || xv.Decs[i].Cmp(&e.decs[j]) == 0
			}
			o[i] = hit
		}
	}
	setNulls(out, xv, nil, n)
	if e.hasNull {
		for i := range o {
			if !o[i] {
				out.Nulls.Set(i)
			}
		}
	}
	return nil
}
