package agg

import (
	"math"

	"github.com/sluice-sql/sluice/sql/types"
)

// variance is VAR_POP, VAR_SAMP, STDDEV_POP and STDDEV_SAMP: Welford's
// running mean and sum of squared deviations (m2), which also takes a
// value back. NaN and infinities are counted apart and not folded in, so
// that retracting them restores the finite statistics.
type variance struct {
	fn   string
	arg  types.Type
	samp bool
	sqrt bool
	st   []varianceSlot
}

type varianceSlot struct {
	rows, n   int64 // n: finite values folded into mean and m2
	nonFinite int64
	mean, m2  float64
}

func newVariance(fn string, arg types.Type) *variance {
	return &variance{
		fn:   fn,
		arg:  arg,
		samp: fn == FnVarSamp || fn == FnStddevSamp,
		sqrt: fn == FnStddevPop || fn == FnStddevSamp,
	}
}

func (a *variance) Type() types.Type  { return types.Double() }
func (a *variance) Grow(n int)        { a.st = growTo(a.st, n) }
func (a *variance) Count(s int) int64 { return a.st[s].rows }
func (a *variance) Reset(s int)       { a.st[s] = varianceSlot{} }

func (a *variance) Update(arg *types.Vector, rows, slots []int32, weights []int8) error {
	checkArg(a.fn, a.arg, arg)
	nulls := arg.Nulls
	var div float64
	if a.arg.Kind == types.KindDecimal {
		div = math.Pow10(int(a.arg.Scale))
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
		var x float64
		switch {
		case a.arg.Kind == types.KindFloat:
			x = arg.Floats[r]
		case a.arg.Kind == types.KindInt:
			x = float64(arg.Ints[r])
		case a.arg.Decimal64():
			x = float64(arg.Ints[r]) / div
		default:
			x, _ = arg.Decs[r].Float64()
		}
		if x-x != 0 {
			p.nonFinite += w
			continue
		}
		if w > 0 {
			p.n++
			d := x - p.mean
			p.mean += d / float64(p.n)
			p.m2 += d * (x - p.mean)
			continue
		}
		p.n--
		if p.n <= 0 {
			// Empty (or below, after a retraction that came first): start
			// over rather than carry drift.
			p.mean, p.m2 = 0, 0
			if p.n < 0 {
				p.n = 0
			}
			continue
		}
		d := x - p.mean
		p.mean -= d / float64(p.n)
		p.m2 -= d * (x - p.mean)
		if p.n == 1 || p.m2 < 0 {
			// One value has no spread; below zero is rounding.
			p.m2 = 0
		}
	}
	return nil
}

// Merge combines the two slots' statistics by Chan et al.'s parallel
// formula: with d the difference of the means, the merged m2 is
// m2a + m2b + d^2*na*nb/n. Non-finite counts add.
func (a *variance) Merge(dst, src int) error {
	checkMerge(dst, src)
	d, s := &a.st[dst], a.st[src]
	d.rows += s.rows
	d.nonFinite += s.nonFinite
	switch {
	case s.n == 0:
	case d.n == 0:
		d.n, d.mean, d.m2 = s.n, s.mean, s.m2
	default:
		n := d.n + s.n
		na, nb, fn := float64(d.n), float64(s.n), float64(n)
		delta := s.mean - d.mean
		d.mean += delta * nb / fn
		d.m2 += s.m2 + delta*delta*na*nb/fn
		d.n = n
	}
	return nil
}

func (a *variance) Result(s int, out *types.Vector) error {
	p := &a.st[s]
	n := p.n + p.nonFinite
	if n <= 0 || a.samp && n < 2 {
		out.AppendNull()
		return nil
	}
	if p.nonFinite > 0 {
		out.AppendFloat(math.NaN())
		return nil
	}
	v := p.m2 / float64(n)
	if a.samp {
		v = p.m2 / float64(n-1)
	}
	if a.sqrt {
		v = math.Sqrt(v)
	}
	out.AppendFloat(v)
	return nil
}

func (a *variance) AppendState(dst []byte, s int) []byte {
	p := &a.st[s]
	dst = appendHeader(dst, tagVariance)
	dst = appendVarint(dst, p.rows)
	dst = appendVarint(dst, p.n)
	dst = appendVarint(dst, p.nonFinite)
	dst = appendFloat(dst, p.mean)
	return appendFloat(dst, p.m2)
}

func (a *variance) LoadState(s int, src []byte) error {
	r := newReader(src, tagVariance)
	p := varianceSlot{rows: r.varint(), n: r.varint(), nonFinite: r.varint(), mean: r.float(), m2: r.float()}
	if err := r.done(); err != nil {
		return err
	}
	a.st[s] = p
	return nil
}
