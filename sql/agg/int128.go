package agg

import (
	"math"
	"math/bits"

	"github.com/cockroachdb/apd/v3"
)

// i128 is a two's complement 128-bit integer: the exact sum behind SUM and
// AVG of integers and decimals, and the key of a wide decimal (whose
// coefficient at the type's scale is below 10^38 < 2^127).
type i128 struct {
	hi int64
	lo uint64
}

func i128From(x int64) i128 { return i128{hi: x >> 63, lo: uint64(x)} }

// add64 adds x; it cannot overflow before 2^63 additions.
func (a i128) add64(x int64) i128 {
	lo, c := bits.Add64(a.lo, uint64(x), 0)
	return i128{hi: a.hi + x>>63 + int64(c), lo: lo}
}

// sub64 subtracts x.
func (a i128) sub64(x int64) i128 {
	lo, b := bits.Sub64(a.lo, uint64(x), 0)
	return i128{hi: a.hi - x>>63 - int64(b), lo: lo}
}

// add adds b and reports a signed overflow.
func (a i128) add(b i128) (i128, bool) {
	lo, c := bits.Add64(a.lo, b.lo, 0)
	hi := a.hi + b.hi + int64(c)
	// Overflow when both operands have the sign the result lacks.
	return i128{hi: hi, lo: lo}, (a.hi^hi)&(b.hi^hi) < 0
}

func (a i128) neg() i128 {
	lo, b := bits.Sub64(0, a.lo, 0)
	return i128{hi: -a.hi - int64(b), lo: lo}
}

func (a i128) isNeg() bool { return a.hi < 0 }

func (a i128) cmp(b i128) int {
	switch {
	case a.hi < b.hi:
		return -1
	case a.hi > b.hi:
		return 1
	case a.lo < b.lo:
		return -1
	case a.lo > b.lo:
		return 1
	}
	return 0
}

// abs returns |a| as an unsigned pair; |MinInt128| is exact there.
func (a i128) abs() (hi, lo uint64) {
	if a.isNeg() {
		a = a.neg()
	}
	return uint64(a.hi), a.lo
}

// pow10x38 is 10^38, the first value a DECIMAL(38) cannot hold.
var pow10x38 = i128{hi: 0x4b3b4ca85a86c47a, lo: 0x098a224000000000}

// fitsDecimal38 reports whether |a| < 10^38. The cheap test settles every
// value below 2^126.
func (a i128) fitsDecimal38() bool {
	if a.hi < 1<<62 && a.hi >= -(1<<62) {
		return true
	}
	hi, lo := a.abs()
	return hi < uint64(pow10x38.hi) || hi == uint64(pow10x38.hi) && lo < pow10x38.lo
}

func (a i128) float64() float64 {
	if a.hi == int64(a.lo)>>63 {
		return float64(int64(a.lo))
	}
	return float64(a.hi)*(1<<64) + float64(a.lo)
}

// setBig sets z to |a| and returns whether a is negative. z stays inline
// (no allocation): apd.BigInt holds 128 bits without a heap value.
func (a i128) setBig(z *apd.BigInt) bool {
	hi, lo := a.abs()
	if hi == 0 {
		z.SetUint64(lo)
		return a.isNeg()
	}
	var t apd.BigInt
	z.SetUint64(hi)
	z.Lsh(z, 64)
	t.SetUint64(lo)
	z.Add(z, &t)
	return a.isNeg()
}

// decimal sets d to a scaled by 10^-scale.
func (a i128) decimal(d *apd.Decimal, scale uint8) {
	if a.hi == int64(a.lo)>>63 {
		d.SetFinite(int64(a.lo), -int32(scale))
		return
	}
	d.Negative = a.setBig(&d.Coeff)
	d.Exponent = -int32(scale)
	d.Form = apd.Finite
}

// mask64 is 2^64-1, to take the low word of a coefficient.
var mask64 = func() *apd.BigInt { return new(apd.BigInt).SetUint64(math.MaxUint64) }()

// i128FromDecimal returns d's coefficient at scale (d must already have
// that scale, as every value of a DECIMAL(p,s) vector does), or false
// when it does not have that exponent or does not fit.
func i128FromDecimal(d *apd.Decimal, scale uint8) (i128, bool) {
	if d.Form != apd.Finite || d.Exponent != -int32(scale) {
		return i128{}, false
	}
	var x i128
	if d.Coeff.IsInt64() {
		x = i128From(d.Coeff.Int64())
	} else {
		if d.Coeff.BitLen() > 127 {
			return i128{}, false
		}
		var h, l apd.BigInt
		h.Rsh(&d.Coeff, 64)
		l.And(&d.Coeff, mask64)
		// Both are non-negative and below 2^64; Int64 returns their low
		// 64 bits.
		x = i128{hi: h.Int64(), lo: uint64(l.Int64())}
	}
	if d.Negative {
		x = x.neg()
	}
	return x, true
}
