package agg

import "github.com/sluice-sql/sluice/sql/types"

// countStar is COUNT(*): the net number of rows per slot, which is also
// its Count.
type countStar struct {
	n []int64
}

func (a *countStar) Type() types.Type { return types.BigInt().WithNotNull(true) }
func (a *countStar) Grow(n int)       { a.n = growTo(a.n, n) }
func (a *countStar) Count(s int) int64 {
	return a.n[s]
}
func (a *countStar) Reset(s int) { a.n[s] = 0 }

func (a *countStar) Update(_ *types.Vector, rows, slots []int32, weights []int8) error {
	n := a.n
	if weights == nil {
		for _, s := range slots[:len(rows)] {
			n[s]++
		}
		return nil
	}
	weights = weights[:len(rows)]
	for k, s := range slots[:len(rows)] {
		n[s] += weight(weights[k])
	}
	return nil
}

// weight turns a weight into +1 or -1 by its sign.
func weight(w int8) int64 { return int64(w>>7) | 1 }

func (a *countStar) Merge(dst, src int) error {
	checkMerge(dst, src)
	a.n[dst] += a.n[src]
	return nil
}

func (a *countStar) Result(s int, out *types.Vector) error {
	out.AppendInt(a.n[s])
	return nil
}

func (a *countStar) AppendState(dst []byte, s int) []byte {
	return appendVarint(appendHeader(dst, tagCountStar), a.n[s])
}

func (a *countStar) LoadState(s int, src []byte) error {
	r := newReader(src, tagCountStar)
	n := r.varint()
	if err := r.done(); err != nil {
		return err
	}
	a.n[s] = n
	return nil
}

// count is COUNT(x): rows and non-NULL values per slot.
type count struct {
	arg types.Type
	st  []countSlot
}

type countSlot struct{ rows, nn int64 }

func (a *count) Type() types.Type  { return types.BigInt().WithNotNull(true) }
func (a *count) Grow(n int)        { a.st = growTo(a.st, n) }
func (a *count) Count(s int) int64 { return a.st[s].rows }
func (a *count) Reset(s int)       { a.st[s] = countSlot{} }

func (a *count) Update(arg *types.Vector, rows, slots []int32, weights []int8) error {
	checkArg(FnCount, a.arg, arg)
	st := a.st
	slots = slots[:len(rows)]
	allNull := arg.Type.Kind == types.KindNull
	nulls := arg.Nulls
	switch {
	case weights == nil && !allNull && !arg.HasNulls():
		for _, s := range slots {
			st[s].rows++
			st[s].nn++
		}
	case weights == nil:
		for k, s := range slots {
			st[s].rows++
			if !allNull && !isNull(nulls, rows[k]) {
				st[s].nn++
			}
		}
	default:
		weights = weights[:len(rows)]
		for k, s := range slots {
			w := weight(weights[k])
			st[s].rows += w
			if !allNull && !isNull(nulls, rows[k]) {
				st[s].nn += w
			}
		}
	}
	return nil
}

func (a *count) Merge(dst, src int) error {
	checkMerge(dst, src)
	d, s := &a.st[dst], a.st[src]
	d.rows += s.rows
	d.nn += s.nn
	return nil
}

func (a *count) Result(s int, out *types.Vector) error {
	out.AppendInt(a.st[s].nn)
	return nil
}

func (a *count) AppendState(dst []byte, s int) []byte {
	dst = appendHeader(dst, tagCount)
	dst = appendVarint(dst, a.st[s].rows)
	return appendVarint(dst, a.st[s].nn)
}

func (a *count) LoadState(s int, src []byte) error {
	r := newReader(src, tagCount)
	c := countSlot{rows: r.varint(), nn: r.varint()}
	if err := r.done(); err != nil {
		return err
	}
	a.st[s] = c
	return nil
}
