package agg

import (
	"github.com/sluice-sql/sluice/sql/types"
)

// extremeInt is MIN or MAX of an integer-backed type over an append-only
// input: one value per slot, compared inline.
type extremeInt struct {
	fn  string
	arg types.Type
	max bool
	st  []extremeIntSlot
}

type extremeIntSlot struct {
	rows int64
	has  bool
	v    int64
}

func (a *extremeInt) Type() types.Type  { return a.arg.Nullable() }
func (a *extremeInt) Grow(n int)        { a.st = growTo(a.st, n) }
func (a *extremeInt) Count(s int) int64 { return a.st[s].rows }
func (a *extremeInt) Reset(s int)       { a.st[s] = extremeIntSlot{} }

func (a *extremeInt) Update(arg *types.Vector, rows, slots []int32, weights []int8) error {
	checkArg(a.fn, a.arg, arg)
	for _, w := range weights {
		if w < 0 {
			return retraction(a.fn)
		}
	}
	st, xs, nulls := a.st, arg.Ints, arg.Nulls
	slots = slots[:len(rows)]
	hasNulls := arg.HasNulls()
	// Two loops rather than a flag tested per row.
	if a.max {
		for k, r := range rows {
			p := &st[slots[k]]
			p.rows++
			if hasNulls && isNull(nulls, r) {
				continue
			}
			if x := xs[r]; !p.has || x > p.v {
				p.v, p.has = x, true
			}
		}
		return nil
	}
	for k, r := range rows {
		p := &st[slots[k]]
		p.rows++
		if hasNulls && isNull(nulls, r) {
			continue
		}
		if x := xs[r]; !p.has || x < p.v {
			p.v, p.has = x, true
		}
	}
	return nil
}

func (a *extremeInt) Merge(dst, src int) error {
	checkMerge(dst, src)
	d, s := &a.st[dst], a.st[src]
	d.rows += s.rows
	if s.has && (!d.has || a.max && s.v > d.v || !a.max && s.v < d.v) {
		d.v, d.has = s.v, true
	}
	return nil
}

func (a *extremeInt) Result(s int, out *types.Vector) error {
	if p := a.st[s]; p.has {
		out.AppendInt(p.v)
	} else {
		out.AppendNull()
	}
	return nil
}

func (a *extremeInt) AppendState(dst []byte, s int) []byte {
	p := a.st[s]
	dst = appendHeader(dst, tagExtremeInt)
	dst = appendVarint(dst, p.rows)
	dst = appendBool(dst, p.has)
	return appendVarint(dst, p.v)
}

func (a *extremeInt) LoadState(s int, src []byte) error {
	r := newReader(src, tagExtremeInt)
	p := extremeIntSlot{rows: r.varint(), has: r.bool(), v: r.varint()}
	if err := r.done(); err != nil {
		return err
	}
	a.st[s] = p
	return nil
}

func newExtreme(spec Spec) (Agg, error) {
	ki, kw, ks := keysFor(spec.Arg)
	switch {
	case ki != nil:
		return newExtremeK(spec, ki), nil
	case kw != nil:
		return newExtremeK(spec, kw), nil
	}
	return newExtremeK(spec, ks), nil
}

func newExtremeK[K comparable](spec Spec, ops *keyOps[K]) Agg {
	if spec.Retract {
		return &extremeRetract[K]{fn: spec.Fn, arg: spec.Arg, max: spec.Fn == FnMax, ops: ops}
	}
	return &extreme[K]{fn: spec.Fn, arg: spec.Arg, max: spec.Fn == FnMax, ops: ops}
}

// extreme is MIN or MAX of any ordered type over an append-only input:
// one kept value per slot. A string is copied only when it becomes the
// slot's new extreme.
type extreme[K comparable] struct {
	fn  string
	arg types.Type
	max bool
	ops *keyOps[K]
	st  []extremeSlot[K]
}

type extremeSlot[K comparable] struct {
	rows int64
	has  bool
	v    K
}

func (a *extreme[K]) Type() types.Type  { return a.arg.Nullable() }
func (a *extreme[K]) Grow(n int)        { a.st = growTo(a.st, n) }
func (a *extreme[K]) Count(s int) int64 { return a.st[s].rows }
func (a *extreme[K]) Reset(s int)       { a.st[s] = extremeSlot[K]{} }

func (a *extreme[K]) Update(arg *types.Vector, rows, slots []int32, weights []int8) error {
	checkArg(a.fn, a.arg, arg)
	for _, w := range weights {
		if w < 0 {
			return retraction(a.fn)
		}
	}
	ops, nulls := a.ops, arg.Nulls
	want := -1
	if a.max {
		want = 1
	}
	for k, r := range rows {
		p := &a.st[slots[k]]
		p.rows++
		if isNull(nulls, r) {
			continue
		}
		x := ops.read(arg, r)
		if !p.has || ops.cmp(x, p.v) == want {
			p.v, p.has = ops.own(x), true
		}
	}
	return nil
}

// Merge shares src's kept value rather than copying it: a kept string is
// already owned, and strings are immutable.
func (a *extreme[K]) Merge(dst, src int) error {
	checkMerge(dst, src)
	d, s := &a.st[dst], &a.st[src]
	d.rows += s.rows
	if s.has && (!d.has || better(a.ops, a.max, s.v, d.v)) {
		d.v, d.has = s.v, true
	}
	return nil
}

// better reports whether x is strictly greater (max) or smaller than y.
func better[K comparable](ops *keyOps[K], max bool, x, y K) bool {
	c := ops.cmp(x, y)
	return max && c > 0 || !max && c < 0
}

func (a *extreme[K]) Result(s int, out *types.Vector) error {
	if p := &a.st[s]; p.has {
		a.ops.put(out, p.v)
	} else {
		out.AppendNull()
	}
	return nil
}

func (a *extreme[K]) AppendState(dst []byte, s int) []byte {
	p := &a.st[s]
	dst = appendHeader(dst, tagExtreme)
	dst = appendVarint(dst, p.rows)
	dst = appendBool(dst, p.has)
	if p.has {
		dst = a.ops.enc(dst, p.v)
	}
	return dst
}

func (a *extreme[K]) LoadState(s int, src []byte) error {
	r := newReader(src, tagExtreme)
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

// extremeRetract is MIN or MAX under retraction: a multiset of the slot's
// non-NULL values and a cached extreme, which a retraction of the extreme
// invalidates and the next Result recomputes by one scan.
type extremeRetract[K comparable] struct {
	fn  string
	arg types.Type
	max bool
	ops *keyOps[K]
	st  []extremeRetractSlot[K]
}

type extremeRetractSlot[K comparable] struct {
	rows  int64
	vals  multiset[K]
	stale bool // best must be recomputed from vals
	has   bool // best holds the extreme (when not stale)
	best  K
}

func (a *extremeRetract[K]) Type() types.Type  { return a.arg.Nullable() }
func (a *extremeRetract[K]) Grow(n int)        { a.st = growTo(a.st, n) }
func (a *extremeRetract[K]) Count(s int) int64 { return a.st[s].rows }
func (a *extremeRetract[K]) Reset(s int)       { a.st[s] = extremeRetractSlot[K]{} }

func (a *extremeRetract[K]) Update(arg *types.Vector, rows, slots []int32, weights []int8) error {
	checkArg(a.fn, a.arg, arg)
	ops, nulls := a.ops, arg.Nulls
	want := -1
	if a.max {
		want = 1
	}
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
		_, after, stored := p.vals.add(x, w, ops.own)
		switch {
		case p.stale:
		case w > 0:
			if after > 0 && (!p.has || ops.cmp(stored, p.best) == want) {
				p.best, p.has = stored, true
			}
		case p.has && after <= 0 && ops.cmp(x, p.best) == 0:
			// The extreme's last copy left.
			p.stale = true
		}
	}
	return nil
}

// Merge adds src's value counts to dst's multiset and keeps dst's cached
// extreme valid without a scan: a value whose count turns positive may
// become the extreme, and the extreme whose count stops being positive
// (src recorded retractions of rows dst received) makes it stale.
func (a *extremeRetract[K]) Merge(dst, src int) error {
	checkMerge(dst, src)
	d, s := &a.st[dst], &a.st[src]
	d.rows += s.rows
	ops := a.ops
	for i, k := range s.vals.keys {
		before, after, stored := d.vals.add(k, s.vals.cnts[i], keep[K])
		switch {
		case d.stale:
		case before <= 0 && after > 0:
			if !d.has || better(ops, a.max, stored, d.best) {
				d.best, d.has = stored, true
			}
		case before > 0 && after <= 0 && d.has && ops.cmp(k, d.best) == 0:
			d.stale = true
		}
	}
	return nil
}

func (a *extremeRetract[K]) Result(s int, out *types.Vector) error {
	p := &a.st[s]
	if p.stale {
		p.best, p.has = p.vals.best(a.ops.cmp, a.max)
		p.stale = false
	}
	if p.has {
		a.ops.put(out, p.best)
	} else {
		out.AppendNull()
	}
	return nil
}

func (a *extremeRetract[K]) AppendState(dst []byte, s int) []byte {
	p := &a.st[s]
	dst = appendHeader(dst, tagExtremeRetract)
	dst = appendVarint(dst, p.rows)
	return p.vals.appendState(dst, a.ops)
}

func (a *extremeRetract[K]) LoadState(s int, src []byte) error {
	r := newReader(src, tagExtremeRetract)
	var p extremeRetractSlot[K]
	p.rows = r.varint()
	p.vals.load(r, a.ops)
	if err := r.done(); err != nil {
		return err
	}
	p.stale = true
	a.st[s] = p
	return nil
}
