package agg

import (
	"github.com/sluice-sql/sluice/sql/types"
)

func newDistinct(spec Spec, rt types.Type) (Agg, error) {
	plain := spec
	plain.Distinct = false
	inner, err := newPlain(plain, rt)
	if err != nil {
		return nil, err
	}
	ki, kw, ks := keysFor(spec.Arg)
	switch {
	case ki != nil:
		return &distinct[int64]{fn: spec.Fn, arg: spec.Arg, ops: ki, inner: inner}, nil
	case kw != nil:
		return &distinct[i128]{fn: spec.Fn, arg: spec.Arg, ops: kw, inner: inner}, nil
	}
	return &distinct[string]{fn: spec.Fn, arg: spec.Arg, ops: ks, inner: inner}, nil
}

// distinct is FN(DISTINCT x): a multiset of each slot's non-NULL values,
// and the plain accumulator of FN, which sees a value with weight +1 when
// its count goes from zero to positive and -1 when it goes back.
type distinct[K comparable] struct {
	fn    string
	arg   types.Type
	ops   *keyOps[K]
	inner Agg
	st    []distinctSlot[K]
	// The transitions of one Update, passed to inner in one call.
	tRows, tSlots []int32
	tWeights      []int8
	// The values whose count a Merge moved across zero, as a vector of
	// the argument type for inner.
	tVals *types.Vector
}

type distinctSlot[K comparable] struct {
	rows int64
	vals multiset[K]
}

func (a *distinct[K]) Type() types.Type  { return a.inner.Type() }
func (a *distinct[K]) Count(s int) int64 { return a.st[s].rows }

func (a *distinct[K]) Grow(n int) {
	a.st = growTo(a.st, n)
	a.inner.Grow(n)
}

func (a *distinct[K]) Reset(s int) {
	a.st[s] = distinctSlot[K]{}
	a.inner.Reset(s)
}

func (a *distinct[K]) Update(arg *types.Vector, rows, slots []int32, weights []int8) error {
	checkArg(a.fn, a.arg, arg)
	ops, nulls := a.ops, arg.Nulls
	tRows, tSlots, tWeights := a.tRows[:0], a.tSlots[:0], a.tWeights[:0]
	retracts := false
	for k, r := range rows {
		s := slots[k]
		p := &a.st[s]
		w := int64(1)
		if weights != nil {
			w = weight(weights[k])
		}
		p.rows += w
		if isNull(nulls, r) {
			continue
		}
		before, after, _ := p.vals.add(ops.read(arg, r), w, ops.own)
		switch {
		case before <= 0 && after > 0:
			tRows, tSlots, tWeights = append(tRows, r), append(tSlots, s), append(tWeights, 1)
		case before > 0 && after <= 0:
			tRows, tSlots, tWeights = append(tRows, r), append(tSlots, s), append(tWeights, -1)
			retracts = true
		}
	}
	a.tRows, a.tSlots, a.tWeights = tRows, tSlots, tWeights
	if len(tRows) == 0 {
		return nil
	}
	if !retracts {
		tWeights = nil
	}
	return a.inner.Update(arg, tRows, tSlots, tWeights)
}

// Merge adds src's value counts to dst's multiset and feeds dst's inner
// accumulator only the values whose count there moved across zero: +1
// for a value new to dst, -1 for one that src's recorded retractions
// took out. src's inner accumulator is not read; dst's then holds what
// one slot that had received every row would.
func (a *distinct[K]) Merge(dst, src int) error {
	checkMerge(dst, src)
	d, s := &a.st[dst], &a.st[src]
	d.rows += s.rows
	if len(s.vals.keys) == 0 {
		return nil
	}
	if a.tVals == nil {
		a.tVals = types.NewVector(a.arg, len(s.vals.keys))
	} else {
		a.tVals.Reset(a.arg, len(s.vals.keys))
	}
	tRows, tSlots, tWeights := a.tRows[:0], a.tSlots[:0], a.tWeights[:0]
	retracts := false
	for i, k := range s.vals.keys {
		before, after, _ := d.vals.add(k, s.vals.cnts[i], keep[K])
		var w int8
		switch {
		case before <= 0 && after > 0:
			w = 1
		case before > 0 && after <= 0:
			w, retracts = -1, true
		default:
			continue
		}
		tRows = append(tRows, int32(a.tVals.Len()))
		tSlots, tWeights = append(tSlots, int32(dst)), append(tWeights, w)
		a.ops.put(a.tVals, k)
	}
	a.tRows, a.tSlots, a.tWeights = tRows, tSlots, tWeights
	if len(tRows) == 0 {
		return nil
	}
	if !retracts {
		tWeights = nil
	}
	return a.inner.Update(a.tVals, tRows, tSlots, tWeights)
}

func (a *distinct[K]) Result(s int, out *types.Vector) error { return a.inner.Result(s, out) }

func (a *distinct[K]) AppendState(dst []byte, s int) []byte {
	p := &a.st[s]
	dst = appendHeader(dst, tagDistinct)
	dst = appendVarint(dst, p.rows)
	dst = p.vals.appendState(dst, a.ops)
	return a.inner.AppendState(dst, s)
}

func (a *distinct[K]) LoadState(s int, src []byte) error {
	r := newReader(src, tagDistinct)
	var p distinctSlot[K]
	p.rows = r.varint()
	p.vals.load(r, a.ops)
	if r.err != nil {
		return r.err
	}
	if err := a.inner.LoadState(s, r.rest()); err != nil {
		return err
	}
	a.st[s] = p
	return nil
}
