package types

import (
	"fmt"
	"math/bits"

	"github.com/cockroachdb/apd/v3"
)

// Bitmap is a set of row positions, one bit each. The zero value is empty.
type Bitmap []uint64

// Get reports whether bit i is set; bits past the end are clear.
func (b Bitmap) Get(i int) bool {
	w := i >> 6
	return w < len(b) && b[w]&(1<<(uint(i)&63)) != 0
}

// Set sets bit i, growing the bitmap as needed.
func (b *Bitmap) Set(i int) {
	w := i >> 6
	for len(*b) <= w {
		*b = append(*b, 0)
	}
	(*b)[w] |= 1 << (uint(i) & 63)
}

// Clear clears bit i.
func (b Bitmap) Clear(i int) {
	if w := i >> 6; w < len(b) {
		b[w] &^= 1 << (uint(i) & 63)
	}
}

// Any reports whether any bit is set.
func (b Bitmap) Any() bool {
	for _, w := range b {
		if w != 0 {
			return true
		}
	}
	return false
}

// Count returns the number of bits set.
func (b Bitmap) Count() int {
	n := 0
	for _, w := range b {
		n += bits.OnesCount64(w)
	}
	return n
}

// IntervalValue is an INTERVAL: months (for YEAR and MONTH units, whose
// length in time varies) and microseconds (DAY to SECOND units).
type IntervalValue struct {
	Months int32
	Micros int64
}

// Vector is one column of a batch. Exactly one storage slice is used,
// chosen by Type.Kind:
//
//	KindBoolean                        Bools
//	KindInt, KindDate, KindTimestamp   Ints
//	KindDecimal, precision <= 18       Ints (scaled by 10^Scale)
//	KindDecimal, precision > 18        Decs
//	KindFloat                          Floats
//	KindInterval                       Intervals
//	KindString, KindBytes, KindJSON    Offsets and Data: value i is
//	                                   Data[Offsets[i]:Offsets[i+1]]
//	KindNull                           none: every row is null
//
// Nulls has bit i set when row i is null; it may be shorter than the
// vector (missing bits are not null).
type Vector struct {
	Type      Type
	Nulls     Bitmap
	Bools     []bool
	Ints      []int64
	Floats    []float64
	Decs      []apd.Decimal
	Intervals []IntervalValue
	Offsets   []int32
	Data      []byte

	n int
}

// NewVector returns an empty vector of type t with room for capacity rows.
func NewVector(t Type, capacity int) *Vector {
	v := &Vector{}
	v.Reset(t, capacity)
	return v
}

// Reset empties the vector and sets its type, keeping storage it can reuse.
func (v *Vector) Reset(t Type, capacity int) {
	v.Type = t
	v.n = 0
	v.Nulls = v.Nulls[:0]
	switch {
	case t.Kind == KindBoolean:
		v.Bools = grow(v.Bools[:0], capacity)
	case t.Kind == KindInt || t.Kind == KindDate || t.Kind == KindTimestamp || t.Decimal64():
		v.Ints = grow(v.Ints[:0], capacity)
	case t.Kind == KindDecimal:
		v.Decs = grow(v.Decs[:0], capacity)
	case t.Kind == KindFloat:
		v.Floats = grow(v.Floats[:0], capacity)
	case t.Kind == KindInterval:
		v.Intervals = grow(v.Intervals[:0], capacity)
	case t.varWidth():
		v.Offsets = append(grow(v.Offsets[:0], capacity+1), 0)
		v.Data = v.Data[:0]
	}
}

func grow[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, 0, n)
	}
	return s
}

func (t Type) varWidth() bool {
	return t.Kind == KindString || t.Kind == KindBytes || t.Kind == KindJSON
}

// Len is the number of rows.
func (v *Vector) Len() int { return v.n }

// SetLen makes a fixed-width vector n rows long, for a kernel that writes
// its storage slice by index, and clears its null bitmap. The slots'
// contents are unspecified: the kernel writes every one (and zero for a
// null row, to keep the package invariant). Variable-width vectors grow
// through AppendBytes and AppendString only.
func (v *Vector) SetLen(n int) {
	t := v.Type
	switch {
	case t.Kind == KindBoolean:
		v.Bools = resized(v.Bools, n)
	case t.Kind == KindInt || t.Kind == KindDate || t.Kind == KindTimestamp || t.Decimal64():
		v.Ints = resized(v.Ints, n)
	case t.Kind == KindDecimal:
		v.Decs = resized(v.Decs, n)
	case t.Kind == KindFloat:
		v.Floats = resized(v.Floats, n)
	case t.Kind == KindInterval:
		v.Intervals = resized(v.Intervals, n)
	case t.varWidth():
		panic(fmt.Sprintf("types: SetLen on a %s vector", t))
	}
	v.Nulls = v.Nulls[:0]
	v.n = n
}

func resized[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	return s[:n]
}

// IsNull reports whether row i is null.
func (v *Vector) IsNull(i int) bool { return v.Type.Kind == KindNull || v.Nulls.Get(i) }

// HasNulls reports whether any row may be null.
func (v *Vector) HasNulls() bool { return v.Type.Kind == KindNull || v.Nulls.Any() }

func (v *Vector) mustBe(ok bool, what string) {
	if !ok {
		panic(fmt.Sprintf("types: append %s to a %s vector", what, v.Type))
	}
}

// AppendNull appends a null row, with the zero value in its storage slot.
func (v *Vector) AppendNull() {
	v.Nulls.Set(v.n)
	switch {
	case v.Type.Kind == KindBoolean:
		v.Bools = append(v.Bools, false)
	case v.Type.Kind == KindInt || v.Type.Kind == KindDate || v.Type.Kind == KindTimestamp || v.Type.Decimal64():
		v.Ints = append(v.Ints, 0)
	case v.Type.Kind == KindDecimal:
		v.Decs = append(v.Decs, apd.Decimal{})
	case v.Type.Kind == KindFloat:
		v.Floats = append(v.Floats, 0)
	case v.Type.Kind == KindInterval:
		v.Intervals = append(v.Intervals, IntervalValue{})
	case v.Type.varWidth():
		v.Offsets = append(v.Offsets, int32(len(v.Data)))
	}
	v.n++
}

// AppendBool appends a BOOLEAN value.
func (v *Vector) AppendBool(b bool) {
	v.mustBe(v.Type.Kind == KindBoolean, "a bool")
	v.Bools = append(v.Bools, b)
	v.n++
}

// AppendInt appends an integer, a DATE (days), a TIMESTAMP (microseconds)
// or a DECIMAL(p<=18) already scaled.
func (v *Vector) AppendInt(x int64) {
	k := v.Type.Kind
	v.mustBe(k == KindInt || k == KindDate || k == KindTimestamp || v.Type.Decimal64(), "an int64")
	v.Ints = append(v.Ints, x)
	v.n++
}

// AppendFloat appends a FLOAT or DOUBLE value.
func (v *Vector) AppendFloat(x float64) {
	v.mustBe(v.Type.Kind == KindFloat, "a float64")
	v.Floats = append(v.Floats, x)
	v.n++
}

// AppendDecimal appends a decimal value, rounding it to the type's scale
// half away from zero (as Flink, MySQL and PostgreSQL do). It reports
// false when the value does not fit the type's precision; the row is then
// appended as null.
func (v *Vector) AppendDecimal(d *apd.Decimal) bool {
	v.mustBe(v.Type.Kind == KindDecimal, "a decimal")
	var r apd.Decimal
	ctx := apd.BaseContext.WithPrecision(MaxDecimalPrecision + 2)
	ctx.Rounding = apd.RoundHalfUp
	if _, err := ctx.Quantize(&r, d, -int32(v.Type.Scale)); err != nil || r.NumDigits() > int64(v.Type.Precision) {
		v.AppendNull()
		return false
	}
	if v.Type.Decimal64() {
		// At most 18 digits: always fits.
		i := r.Coeff.Int64()
		if r.Negative {
			i = -i
		}
		v.Ints = append(v.Ints, i)
	} else {
		v.Decs = append(v.Decs, r)
	}
	v.n++
	return true
}

// Decimal returns row i of a decimal vector as an apd.Decimal.
func (v *Vector) Decimal(i int) apd.Decimal {
	if v.Type.Decimal64() {
		var d apd.Decimal
		d.SetFinite(v.Ints[i], -int32(v.Type.Scale))
		return d
	}
	return v.Decs[i]
}

// AppendInterval appends an INTERVAL value.
func (v *Vector) AppendInterval(x IntervalValue) {
	v.mustBe(v.Type.Kind == KindInterval, "an interval")
	v.Intervals = append(v.Intervals, x)
	v.n++
}

// AppendBytes appends a STRING, BYTES or JSON value, copying b.
func (v *Vector) AppendBytes(b []byte) {
	v.mustBe(v.Type.varWidth(), "bytes")
	v.Data = append(v.Data, b...)
	v.Offsets = append(v.Offsets, int32(len(v.Data)))
	v.n++
}

// AppendString appends a STRING, BYTES or JSON value, copying s.
func (v *Vector) AppendString(s string) {
	v.mustBe(v.Type.varWidth(), "a string")
	v.Data = append(v.Data, s...)
	v.Offsets = append(v.Offsets, int32(len(v.Data)))
	v.n++
}

// Bytes returns row i of a variable-width vector; it aliases the vector.
func (v *Vector) Bytes(i int) []byte { return v.Data[v.Offsets[i]:v.Offsets[i+1]] }

// Value returns row i as a Go value, for tests, printing and other slow
// paths: nil for NULL, bool, int64 (integers, DATE days, TIMESTAMP
// microseconds), float64, apd.Decimal, string (STRING and JSON), []byte
// (BYTES, copied) or IntervalValue.
func (v *Vector) Value(i int) any {
	if v.IsNull(i) {
		return nil
	}
	switch k := v.Type.Kind; {
	case k == KindBoolean:
		return v.Bools[i]
	case k == KindDecimal:
		return v.Decimal(i)
	case k == KindInt || k == KindDate || k == KindTimestamp:
		return v.Ints[i]
	case k == KindFloat:
		return v.Floats[i]
	case k == KindInterval:
		return v.Intervals[i]
	case k == KindBytes:
		return append([]byte(nil), v.Bytes(i)...)
	case k == KindString || k == KindJSON:
		return string(v.Bytes(i))
	}
	return nil
}
