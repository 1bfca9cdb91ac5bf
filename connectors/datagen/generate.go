package datagen

import (
	"math"
	"math/bits"
	"strconv"

	"github.com/cockroachdb/apd/v3"
	"github.com/sluice-sql/sluice/sql/types"
)

// mix is splitmix64's finalizer: a bijection of uint64 whose outputs
// look independent for consecutive inputs.
func mix(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

const golden = 0x9e3779b97f4a7c15

// rng is splitmix64: tiny, fast and good enough for test data. It is
// seeded afresh for every value, which is what makes row r's content
// independent of everything generated before it.
type rng struct{ s uint64 }

func (r *rng) next() uint64 {
	r.s += golden
	return mix(r.s)
}

// float returns a uniform value in [0, 1).
func (r *rng) float() float64 { return float64(r.next()>>11) * 0x1p-53 }

// between returns a uniform value in [lo, hi].
func (r *rng) between(lo, hi int64) int64 {
	span := uint64(hi) - uint64(lo)
	if span == math.MaxUint64 {
		return int64(r.next())
	}
	h, _ := bits.Mul64(r.next(), span+1)
	return int64(uint64(lo) + h)
}

// column generates the values of one column.
type column struct {
	t    types.Type
	f    Field
	seed uint64 // the column's share of the value seeds
	unit int64  // a TIMESTAMP's precision in microseconds
}

func newColumn(seed int64, c int, t types.Type, f Field) column {
	col := column{t: t, f: f, seed: mix(uint64(seed) ^ mix(uint64(c)+golden)), unit: 1}
	if t.Kind == types.KindTimestamp {
		col.unit = pow10(types.MaxTimestampPrecision - int(min(t.Precision, types.MaxTimestampPrecision)))
	}
	return col
}

// rng returns the generator of row r's value.
func (c *column) rng(r int64) rng { return rng{s: c.seed ^ mix(uint64(r)*golden)} }

// fill appends the column's values of rows first, first+stride, ... (n
// of them) to v. now is the clock's time in microseconds, for timestamps
// drawn back from it; scratch is reusable room for variable-width values.
func (c *column) fill(v *types.Vector, first, stride int64, n int, now int64, scratch []byte, dec *apd.Decimal) []byte {
	f := &c.f
	for j := range n {
		r := first + int64(j)*stride
		g := c.rng(r)
		if f.NullRate > 0 && g.float() < f.NullRate {
			v.AppendNull()
			continue
		}
		switch k := c.t.Kind; {
		case k == types.KindBoolean:
			v.AppendBool(g.next()&1 == 1)
		case k == types.KindFloat:
			if f.Gen == Sequence {
				v.AppendFloat(f.FStart + float64(r))
			} else {
				u := g.float()
				x := f.FMin*(1-u) + f.FMax*u
				if c.t.Width == 4 {
					x = float64(float32(x))
				}
				v.AppendFloat(x)
			}
		case k == types.KindString && f.Gen == Sequence:
			scratch = strconv.AppendInt(scratch[:0], f.Start+r*f.Step, 10)
			v.AppendBytes(scratch)
		case k == types.KindString || k == types.KindBytes:
			scratch = c.randomBytes(&g, scratch[:0], k == types.KindBytes)
			v.AppendBytes(scratch)
		case k == types.KindJSON:
			scratch = append(scratch[:0], `{"n":`...)
			scratch = strconv.AppendInt(scratch, g.between(f.Min, f.Max), 10)
			scratch = append(scratch, `,"s":"`...)
			scratch = c.randomBytes(&g, scratch, false)
			scratch = append(scratch, `"}`...)
			v.AppendBytes(scratch)
		case k == types.KindInterval:
			v.AppendInterval(types.IntervalValue{Micros: g.between(f.Min, f.Max)})
		default: // integers, decimals, dates, timestamps
			x := c.int(&g, r, now)
			if k == types.KindDecimal && !c.t.Decimal64() {
				dec.SetFinite(x, -int32(c.t.Scale))
				v.AppendDecimal(dec)
			} else {
				v.AppendInt(x)
			}
		}
	}
	return scratch
}

// int returns row r's value of a column stored as an int64.
func (c *column) int(g *rng, r, now int64) int64 {
	f := &c.f
	var x int64
	switch {
	case f.Gen == Sequence:
		x = f.Start + r*f.Step
	case c.t.Kind == types.KindTimestamp && !f.Bounded:
		x = now - g.between(0, f.MaxPast.Microseconds())
	default:
		x = g.between(f.Min, f.Max)
	}
	if c.unit > 1 {
		// Floor to the type's precision, also for negative times.
		x -= ((x % c.unit) + c.unit) % c.unit
	}
	return x
}

const hexDigits = "0123456789abcdef"

// randomBytes appends f.Length random bytes (raw) or lowercase hex
// digits (as Flink's random strings are) to dst.
func (c *column) randomBytes(g *rng, dst []byte, raw bool) []byte {
	n := c.f.Length
	var w uint64
	for i := range n {
		if raw {
			if i%8 == 0 {
				w = g.next()
			}
			dst = append(dst, byte(w))
			w >>= 8
			continue
		}
		if i%16 == 0 {
			w = g.next()
		}
		dst = append(dst, hexDigits[w&15])
		w >>= 4
	}
	return dst
}
