package agg

import (
	"github.com/sluice-sql/sluice/sql/types"
)

func newFirstLast(spec Spec) (Agg, error) {
	ki, kw, ks := keysFor(spec.Arg)
	switch {
	case ki != nil:
		return newFirstLastK(spec, ki), nil
	case kw != nil:
		return newFirstLastK(spec, kw), nil
	}
	return newFirstLastK(spec, ks), nil
}

func newFirstLastK[K comparable](spec Spec, ops *keyOps[K]) Agg {
	if spec.Retract {
		return &firstLastRetract[K]{fn: spec.Fn, arg: spec.Arg, last: spec.Fn == FnLastValue, ops: ops}
	}
	return &firstLast[K]{fn: spec.Fn, arg: spec.Arg, last: spec.Fn == FnLastValue, ops: ops}
}

// firstLast is FIRST_VALUE or LAST_VALUE over an append-only input: one
// kept value per slot. LAST_VALUE of a string copies every non-NULL row's
// value.
type firstLast[K comparable] struct {
	fn   string
	arg  types.Type
	last bool
	ops  *keyOps[K]
	st   []extremeSlot[K]
}

func (a *firstLast[K]) Type() types.Type  { return a.arg.Nullable() }
func (a *firstLast[K]) Grow(n int)        { a.st = growTo(a.st, n) }
func (a *firstLast[K]) Count(s int) int64 { return a.st[s].rows }
func (a *firstLast[K]) Reset(s int)       { a.st[s] = extremeSlot[K]{} }

func (a *firstLast[K]) Update(arg *types.Vector, rows, slots []int32, weights []int8) error {
	checkArg(a.fn, a.arg, arg)
	for _, w := range weights {
		if w < 0 {
			return retraction(a.fn)
		}
	}
	ops, nulls := a.ops, arg.Nulls
	for k, r := range rows {
		p := &a.st[slots[k]]
		p.rows++
		if isNull(nulls, r) || p.has && !a.last {
			continue
		}
		p.v, p.has = ops.own(ops.read(arg, r)), true
	}
	return nil
}

// Merge takes dst's rows as the earlier: FIRST_VALUE keeps dst's value
// unless dst has none, LAST_VALUE takes src's unless src has none.
func (a *firstLast[K]) Merge(dst, src int) error {
	checkMerge(dst, src)
	d, s := &a.st[dst], &a.st[src]
	d.rows += s.rows
	if s.has && (a.last || !d.has) {
		d.v, d.has = s.v, true
	}
	return nil
}

func (a *firstLast[K]) Result(s int, out *types.Vector) error {
	if p := &a.st[s]; p.has {
		a.ops.put(out, p.v)
	} else {
		out.AppendNull()
	}
	return nil
}

func (a *firstLast[K]) AppendState(dst []byte, s int) []byte {
	p := &a.st[s]
	dst = appendHeader(dst, tagFirstLast)
	dst = appendVarint(dst, p.rows)
	dst = appendBool(dst, p.has)
	if p.has {
		dst = a.ops.enc(dst, p.v)
	}
	return dst
}

func (a *firstLast[K]) LoadState(s int, src []byte) error {
	r := newReader(src, tagFirstLast)
	var p extremeSlot[K]
	p.rows, p.has = r.varint(), r.bool()
	if p.has {
		p.v = a.ops.dec(r)
	}
	if err := r.done(); err != nil {
		return err
	}
	a.st[s] = p
	return nil
}

// firstLastRetract is FIRST_VALUE or LAST_VALUE under retraction: every
// live non-NULL value of the slot in arrival order. Appending is O(1);
// a retraction removes the earliest equal value, O(1) when it is the
// first and O(live values) otherwise. A retraction of a value not present
// is ignored.
type firstLastRetract[K comparable] struct {
	fn   string
	arg  types.Type
	last bool
	ops  *keyOps[K]
	st   []firstLastSlot[K]
}

type firstLastSlot[K comparable] struct {
	rows int64
	vals []K
}

func (a *firstLastRetract[K]) Type() types.Type  { return a.arg.Nullable() }
func (a *firstLastRetract[K]) Grow(n int)        { a.st = growTo(a.st, n) }
func (a *firstLastRetract[K]) Count(s int) int64 { return a.st[s].rows }
func (a *firstLastRetract[K]) Reset(s int)       { a.st[s] = firstLastSlot[K]{} }

func (a *firstLastRetract[K]) Update(arg *types.Vector, rows, slots []int32, weights []int8) error {
	checkArg(a.fn, a.arg, arg)
	ops, nulls := a.ops, arg.Nulls
	for k, r := range rows {
		p := &a.st[slots[k]]
		w := int64(1)
		if weights != nil {
			w = weight(weights[k])
		}
		p.rows += w
		if isNull(nulls, r) {
			continue
		}
		x := ops.read(arg, r)
		if w > 0 {
			p.vals = append(p.vals, ops.own(x))
			continue
		}
		for i, v := range p.vals {
			if v != x {
				continue
			}
			var zero K
			if i == 0 {
				p.vals[0] = zero
				p.vals = p.vals[1:]
			} else {
				n := copy(p.vals[i:], p.vals[i+1:])
				p.vals[i+n] = zero
				p.vals = p.vals[:i+n]
			}
			break
		}
	}
	return nil
}

// Merge appends a copy of src's live values after dst's. A retraction
// that src took before the merge removed one of src's values, the row it
// took back; one slot that had received every row would have removed the
// earliest equal value, possibly one of dst's. The two differ only in
// which of equal values goes, which FIRST_VALUE and LAST_VALUE can see.
func (a *firstLastRetract[K]) Merge(dst, src int) error {
	checkMerge(dst, src)
	d, s := &a.st[dst], &a.st[src]
	d.rows += s.rows
	// append copies: dst never shares src's array, even when dst is
	// empty (appending to a nil slice allocates).
	d.vals = append(d.vals, s.vals...)
	return nil
}

func (a *firstLastRetract[K]) Result(s int, out *types.Vector) error {
	p := &a.st[s]
	switch {
	case len(p.vals) == 0:
		out.AppendNull()
	case a.last:
		a.ops.put(out, p.vals[len(p.vals)-1])
	default:
		a.ops.put(out, p.vals[0])
	}
	return nil
}

func (a *firstLastRetract[K]) AppendState(dst []byte, s int) []byte {
	p := &a.st[s]
	dst = appendHeader(dst, tagFirstLastRetract)
	dst = appendVarint(dst, p.rows)
	dst = appendUvarint(dst, uint64(len(p.vals)))
	for _, v := range p.vals {
		dst = a.ops.enc(dst, v)
	}
	return dst
}

func (a *firstLastRetract[K]) LoadState(s int, src []byte) error {
	r := newReader(src, tagFirstLastRetract)
	var p firstLastSlot[K]
	p.rows = r.varint()
	n := r.uvarint()
	if n > uint64(len(r.b)) {
		r.fail()
	}
	for i := uint64(0); i < n && r.err == nil; i++ {
		p.vals = append(p.vals, a.ops.dec(r))
	}
	if err := r.done(); err != nil {
		return err
	}
	a.st[s] = p
	return nil
}
