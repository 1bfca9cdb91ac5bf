package agg

import (
	"math"

	"github.com/cockroachdb/apd/v3"
	"github.com/sluice-sql/sluice/sql/types"
)

// sumInt is SUM of integers: BIGINT, overflow an error.
type sumInt struct {
	arg types.Type
	st  []sumIntSlot
}

type sumIntSlot struct{ rows, nn, sum int64 }

func (a *sumInt) Type() types.Type  { return types.BigInt() }
func (a *sumInt) Grow(n int)        { a.st = growTo(a.st, n) }
func (a *sumInt) Count(s int) int64 { return a.st[s].rows }
func (a *sumInt) Reset(s int)       { a.st[s] = sumIntSlot{} }

func (a *sumInt) Update(arg *types.Vector, rows, slots []int32, weights []int8) error {
	checkArg(FnSum, a.arg, arg)
	st, xs := a.st, arg.Ints
	slots = slots[:len(rows)]
	if weights == nil && !arg.HasNulls() {
		for k, r := range rows {
			p := &st[slots[k]]
			x := xs[r]
			t := p.sum + x
			if (p.sum^t)&(x^t) < 0 {
				return overflow(FnSum)
			}
			p.sum = t
			p.nn++
			p.rows++
		}
		return nil
	}
	nulls := arg.Nulls
	for k, r := range rows {
		p := &st[slots[k]]
		w := int64(1)
		if weights != nil {
			w = weight(weights[k])
		}
		p.rows += w
		if isNull(nulls, r) {
			continue
		}
		x := xs[r]
		var t int64
		if w > 0 {
			t = p.sum + x
			if (p.sum^t)&(x^t) < 0 {
				return overflow(FnSum)
			}
		} else {
			t = p.sum - x
			if (p.sum^x)&(p.sum^t) < 0 {
				return overflow(FnSum)
			}
		}
		p.sum = t
		p.nn += w
	}
	return nil
}

// Merge fails when the sum of the two sums leaves int64, which is when
// one slot that had received every row would hold an overflowed sum too.
func (a *sumInt) Merge(dst, src int) error {
	checkMerge(dst, src)
	d, s := &a.st[dst], a.st[src]
	t := d.sum + s.sum
	if (d.sum^t)&(s.sum^t) < 0 {
		return overflow(FnSum)
	}
	d.sum = t
	d.rows += s.rows
	d.nn += s.nn
	return nil
}

func (a *sumInt) Result(s int, out *types.Vector) error {
	if p := a.st[s]; p.nn > 0 {
		out.AppendInt(p.sum)
	} else {
		out.AppendNull()
	}
	return nil
}

func (a *sumInt) AppendState(dst []byte, s int) []byte {
	p := a.st[s]
	dst = appendHeader(dst, tagSumInt)
	dst = appendVarint(dst, p.rows)
	dst = appendVarint(dst, p.nn)
	return appendVarint(dst, p.sum)
}

func (a *sumInt) LoadState(s int, src []byte) error {
	r := newReader(src, tagSumInt)
	p := sumIntSlot{rows: r.varint(), nn: r.varint(), sum: r.varint()}
	if err := r.done(); err != nil {
		return err
	}
	a.st[s] = p
	return nil
}

// wideSlot is the state of AVG of integers and of SUM and AVG of
// decimals: a 128-bit sum of int64s or of decimal coefficients.
type wideSlot struct {
	rows, nn int64
	sum      i128
}

func appendWideSlot(dst []byte, tag byte, p wideSlot) []byte {
	dst = appendHeader(dst, tag)
	dst = appendVarint(dst, p.rows)
	dst = appendVarint(dst, p.nn)
	return appendI128(dst, p.sum)
}

func loadWideSlot(src []byte, tag byte) (wideSlot, error) {
	r := newReader(src, tag)
	p := wideSlot{rows: r.varint(), nn: r.varint(), sum: r.i128()}
	return p, r.done()
}

// mergeWide adds src's 128-bit sum and counts to dst's. check says
// whether to keep the sum within DECIMAL(38); a 128-bit overflow, which
// takes 2^64 rows, is reported whatever check says.
func mergeWide(dst *wideSlot, src wideSlot, check bool, fn string) error {
	sum, ovf := dst.sum.add(src.sum)
	if ovf || check && !sum.fitsDecimal38() {
		return overflow(fn)
	}
	dst.sum = sum
	dst.rows += src.rows
	dst.nn += src.nn
	return nil
}

// updateWide folds int64 values (integers, or DECIMAL(p<=18)
// coefficients) into 128-bit sums. check says whether to keep each sum
// within DECIMAL(38).
func updateWide(st []wideSlot, arg *types.Vector, rows, slots []int32, weights []int8, check bool, fn string) error {
	xs := arg.Ints
	slots = slots[:len(rows)]
	if weights == nil && !arg.HasNulls() {
		for k, r := range rows {
			p := &st[slots[k]]
			p.sum = p.sum.add64(xs[r])
			p.nn++
			p.rows++
			if check && !p.sum.fitsDecimal38() {
				return overflow(fn)
			}
		}
		return nil
	}
	nulls := arg.Nulls
	for k, r := range rows {
		p := &st[slots[k]]
		w := int64(1)
		if weights != nil {
			w = weight(weights[k])
		}
		p.rows += w
		if isNull(nulls, r) {
			continue
		}
		if w > 0 {
			p.sum = p.sum.add64(xs[r])
		} else {
			p.sum = p.sum.sub64(xs[r])
		}
		p.nn += w
		if check && !p.sum.fitsDecimal38() {
			return overflow(fn)
		}
	}
	return nil
}

// avgInt is AVG of integers, a DOUBLE from an exact 128-bit sum.
type avgInt struct {
	arg types.Type
	st  []wideSlot
}

func (a *avgInt) Type() types.Type  { return types.Double() }
func (a *avgInt) Grow(n int)        { a.st = growTo(a.st, n) }
func (a *avgInt) Count(s int) int64 { return a.st[s].rows }
func (a *avgInt) Reset(s int)       { a.st[s] = wideSlot{} }

func (a *avgInt) Update(arg *types.Vector, rows, slots []int32, weights []int8) error {
	checkArg(FnAvg, a.arg, arg)
	return updateWide(a.st, arg, rows, slots, weights, false, FnAvg)
}

func (a *avgInt) Merge(dst, src int) error {
	checkMerge(dst, src)
	return mergeWide(&a.st[dst], a.st[src], false, FnAvg)
}

func (a *avgInt) Result(s int, out *types.Vector) error {
	if p := a.st[s]; p.nn > 0 {
		out.AppendFloat(p.sum.float64() / float64(p.nn))
	} else {
		out.AppendNull()
	}
	return nil
}

func (a *avgInt) AppendState(dst []byte, s int) []byte {
	return appendWideSlot(dst, tagAvgInt, a.st[s])
}

func (a *avgInt) LoadState(s int, src []byte) error {
	p, err := loadWideSlot(src, tagAvgInt)
	if err == nil {
		a.st[s] = p
	}
	return err
}

// sumDec is SUM and AVG of DECIMAL(p,s): an exact sum of coefficients at
// scale s, which a DECIMAL(38,s) result always holds while it fits 38
// digits.
type sumDec struct {
	fn  string
	arg types.Type
	rt  types.Type
	avg bool
	st  []wideSlot
}

func (a *sumDec) Type() types.Type  { return a.rt }
func (a *sumDec) Grow(n int)        { a.st = growTo(a.st, n) }
func (a *sumDec) Count(s int) int64 { return a.st[s].rows }
func (a *sumDec) Reset(s int)       { a.st[s] = wideSlot{} }

func (a *sumDec) Update(arg *types.Vector, rows, slots []int32, weights []int8) error {
	checkArg(a.fn, a.arg, arg)
	if a.arg.Decimal64() {
		return updateWide(a.st, arg, rows, slots, weights, true, a.fn)
	}
	nulls := arg.Nulls
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
		x, err := wideAt(arg, r)
		if err != nil {
			return overflow(a.fn)
		}
		if w < 0 {
			x = x.neg()
		}
		sum, ovf := p.sum.add(x)
		if ovf || !sum.fitsDecimal38() {
			return overflow(a.fn)
		}
		p.sum = sum
		p.nn += w
	}
	return nil
}

func (a *sumDec) Merge(dst, src int) error {
	checkMerge(dst, src)
	return mergeWide(&a.st[dst], a.st[src], true, a.fn)
}

// wideAt reads row r of a DECIMAL(p>18,s) vector as its coefficient at
// scale s.
func wideAt(v *types.Vector, r int32) (i128, error) {
	d := &v.Decs[r]
	if x, ok := i128FromDecimal(d, v.Type.Scale); ok {
		return x, nil
	}
	// Not at the type's scale (a producer that did not quantize): slow
	// path.
	var q apd.Decimal
	if _, err := decCtx.Quantize(&q, d, -int32(v.Type.Scale)); err != nil {
		return i128{}, err
	}
	if x, ok := i128FromDecimal(&q, v.Type.Scale); ok {
		return x, nil
	}
	return i128{}, errNotDecimal38
}

func (a *sumDec) Result(s int, out *types.Vector) error {
	p := a.st[s]
	if p.nn <= 0 {
		out.AppendNull()
		return nil
	}
	var d apd.Decimal
	if !a.avg {
		p.sum.decimal(&d, a.arg.Scale)
	} else {
		avgDecimal(&d, p.sum, p.nn, a.arg.Scale, a.rt.Scale)
	}
	if !out.AppendDecimal(&d) {
		return overflow(a.fn)
	}
	return nil
}

// avgDecimal sets d to sum*10^-scale / n at scale rs >= scale, rounded
// half away from zero, exactly.
func avgDecimal(d *apd.Decimal, sum i128, n int64, scale, rs uint8) {
	var num, den, q, r apd.BigInt
	neg := sum.setBig(&num)
	if rs > scale {
		var f apd.BigInt
		f.SetInt64(pow10[rs-scale])
		num.Mul(&num, &f)
	}
	den.SetInt64(n)
	q.QuoRem(&num, &den, &r)
	r.Add(&r, &r)
	if r.Cmp(&den) >= 0 {
		var one apd.BigInt
		one.SetInt64(1)
		q.Add(&q, &one)
	}
	d.Coeff.Set(&q)
	d.Exponent = -int32(rs)
	d.Negative = neg && q.Sign() != 0
	d.Form = apd.Finite
}

func (a *sumDec) AppendState(dst []byte, s int) []byte {
	return appendWideSlot(dst, tagSumDec, a.st[s])
}

func (a *sumDec) LoadState(s int, src []byte) error {
	p, err := loadWideSlot(src, tagSumDec)
	if err == nil {
		a.st[s] = p
	}
	return err
}

// sumFloat is SUM and AVG of FLOAT and DOUBLE: a Neumaier-compensated sum
// of the finite values, with infinities and NaN counted apart so that
// retracting one restores the finite sum.
type sumFloat struct {
	arg types.Type
	avg bool
	st  []floatSlot
}

type floatSlot struct {
	rows, nn       int64
	sum, comp      float64
	posInf, negInf int64
	nan            int64
}

func (a *sumFloat) Type() types.Type  { return types.Double() }
func (a *sumFloat) Grow(n int)        { a.st = growTo(a.st, n) }
func (a *sumFloat) Count(s int) int64 { return a.st[s].rows }
func (a *sumFloat) Reset(s int)       { a.st[s] = floatSlot{} }

func (a *sumFloat) fn() string {
	if a.avg {
		return FnAvg
	}
	return FnSum
}

func (a *sumFloat) Update(arg *types.Vector, rows, slots []int32, weights []int8) error {
	checkArg(a.fn(), a.arg, arg)
	st, xs, nulls := a.st, arg.Floats, arg.Nulls
	slots = slots[:len(rows)]
	for k, r := range rows {
		p := &st[slots[k]]
		w := int64(1)
		if weights != nil {
			w = weight(weights[k])
		}
		p.rows += w
		if isNull(nulls, r) {
			continue
		}
		p.nn += w
		x := xs[r]
		if x-x != 0 { // infinite or NaN
			switch {
			case x != x:
				p.nan += w
			case x > 0:
				p.posInf += w
			default:
				p.negInf += w
			}
			continue
		}
		if w < 0 {
			x = -x
		}
		t := p.sum + x
		if math.Abs(p.sum) >= math.Abs(x) {
			p.comp += (p.sum - t) + x
		} else {
			p.comp += (x - t) + p.sum
		}
		p.sum = t
		if p.nn == 0 {
			// Back to no values: drop the drift.
			p.sum, p.comp = 0, 0
		}
	}
	return nil
}

// Merge adds src's compensated sum to dst's as one more Neumaier step
// (src's sum as the addend, both compensations carried), so the merged
// sum is as accurate as one slot's; the non-finite counts add.
func (a *sumFloat) Merge(dst, src int) error {
	checkMerge(dst, src)
	d, s := &a.st[dst], a.st[src]
	d.rows += s.rows
	d.nn += s.nn
	d.posInf += s.posInf
	d.negInf += s.negInf
	d.nan += s.nan
	t := d.sum + s.sum
	if math.Abs(d.sum) >= math.Abs(s.sum) {
		d.comp += (d.sum - t) + s.sum
	} else {
		d.comp += (s.sum - t) + d.sum
	}
	d.comp += s.comp
	d.sum = t
	if d.nn == 0 && d.posInf == 0 && d.negInf == 0 && d.nan == 0 {
		// No values left (retractions in one slot of rows the other
		// received): drop the drift, as Update does.
		d.sum, d.comp = 0, 0
	}
	return nil
}

func (p *floatSlot) value() float64 {
	switch {
	case p.nan > 0 || p.posInf > 0 && p.negInf > 0:
		return math.NaN()
	case p.posInf > 0:
		return math.Inf(1)
	case p.negInf > 0:
		return math.Inf(-1)
	}
	return p.sum + p.comp
}

func (a *sumFloat) Result(s int, out *types.Vector) error {
	p := &a.st[s]
	if p.nn <= 0 {
		out.AppendNull()
		return nil
	}
	v := p.value()
	if a.avg {
		v /= float64(p.nn)
	}
	out.AppendFloat(v)
	return nil
}

func (a *sumFloat) AppendState(dst []byte, s int) []byte {
	p := &a.st[s]
	dst = appendHeader(dst, tagSumFloat)
	dst = appendVarint(dst, p.rows)
	dst = appendVarint(dst, p.nn)
	dst = appendFloat(dst, p.sum)
	dst = appendFloat(dst, p.comp)
	dst = appendVarint(dst, p.posInf)
	dst = appendVarint(dst, p.negInf)
	return appendVarint(dst, p.nan)
}

func (a *sumFloat) LoadState(s int, src []byte) error {
	r := newReader(src, tagSumFloat)
	p := floatSlot{rows: r.varint(), nn: r.varint(), sum: r.float(), comp: r.float(),
		posInf: r.varint(), negInf: r.varint(), nan: r.varint()}
	if err := r.done(); err != nil {
		return err
	}
	a.st[s] = p
	return nil
}
