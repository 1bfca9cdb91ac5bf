package datagen

import (
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/sluice-sql/sluice/sql/types"
)

// Clock tells the time to a paced source and to clock-relative random
// timestamps, and wakes a waiting source. Tests inject one.
type Clock interface {
	Now() time.Time
	// After returns a channel that receives once d has passed.
	After(d time.Duration) <-chan time.Time
}

type systemClock struct{}

func (systemClock) Now() time.Time                         { return time.Now() }
func (systemClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

// Generation says how a column's values are made.
type Generation uint8

// The generations.
const (
	// Random draws each value independently, within the field's bounds.
	Random Generation = iota
	// Sequence counts from Start to End, one Step a row.
	Sequence
)

func (g Generation) String() string {
	if g == Sequence {
		return "sequence"
	}
	return "random"
}

// Field says how one column is generated. Bounds are in the column's
// storage unit (see types.Vector): integers, DECIMAL scaled by 10^scale,
// DATE days, TIMESTAMP and INTERVAL microseconds.
type Field struct {
	Gen Generation

	// Start, End (inclusive) and Step describe a sequence: row r holds
	// Start + r*Step. Step 0 means 1. For FLOAT and DOUBLE, FStart and
	// FEnd are used instead, with a step of 1. A STRING sequence holds
	// the decimal text of the integers Start to End, as Flink's does.
	Start, End, Step int64
	FStart, FEnd     float64

	// Min and Max (inclusive) bound random integers, decimals, dates,
	// timestamps, intervals and the number in a random JSON value; FMin
	// and FMax ([FMin, FMax)) random floats. Unset bounds are filled in
	// by EnsureDefaults: see DefaultBounds.
	Min, Max   int64
	FMin, FMax float64
	// Bounded marks Min/Max (or FMin/FMax) as set. A random TIMESTAMP
	// without bounds is drawn from [now - MaxPast, now].
	Bounded bool
	MaxPast time.Duration

	// Length is the length of a random STRING (characters), BYTES
	// (bytes) or of the string in a random JSON value. 0 means 100, or
	// a VARCHAR's length when that is shorter (16 for JSON).
	Length int

	// NullRate is the probability, 0 to 1, that a value is NULL.
	NullRate float64
}

// Config says what a Source generates.
type Config struct {
	Schema types.Schema
	// Fields has one entry per column of Schema; nil means every column
	// random with default bounds.
	Fields []Field
	// Rows bounds the table to rows 0 to Rows-1, summed over all splits.
	// 0 is unbounded (unless a sequence ends).
	Rows int64
	// Rate paces the table at this many rows per second of wall-clock
	// time, summed over all splits. 0 generates as fast as asked.
	Rate int64
	// Seed decides every random value.
	Seed int64
	// Clock is the wall clock; nil is the system clock.
	Clock Clock
}

// ErrInvalidConfig classifies every error Validate returns.
var ErrInvalidConfig = errors.New("datagen: invalid config")

// EnsureDefaults fills the unset fields and bounds.
func (c *Config) EnsureDefaults() {
	if c.Clock == nil {
		c.Clock = systemClock{}
	}
	if c.Fields == nil {
		c.Fields = make([]Field, len(c.Schema))
	}
	for i := range c.Fields {
		if i < len(c.Schema) {
			c.Fields[i].ensureDefaults(c.Schema[i].Type)
		}
	}
}

func (f *Field) ensureDefaults(t types.Type) {
	if f.Step == 0 {
		f.Step = 1
	}
	if f.Length == 0 {
		f.Length = 100
		if t.Kind == types.KindJSON {
			f.Length = 16
		}
		if t.Kind == types.KindString && t.Length > 0 {
			f.Length = min(f.Length, int(t.Length))
		}
	}
	if !f.Bounded {
		f.Min, f.Max, f.FMin, f.FMax = DefaultBounds(t)
	}
}

// DefaultBounds returns the bounds of random values of type t when none
// are given: the type's whole range for integers; for a DECIMAL(p,s) with
// p <= 18 its whole range, wider decimals ±(2^63-1) in units of the scale;
// ±FLOAT's largest value for FLOAT and DOUBLE (so sums stay finite);
// 1970-01-01 to 2099-12-31 for DATE; 0 to 1 day for INTERVAL; INT's range
// for the number in a JSON value. TIMESTAMP has none: it is drawn back
// from now.
func DefaultBounds(t types.Type) (lo, hi int64, flo, fhi float64) {
	switch t.Kind {
	case types.KindInt:
		switch t.Width {
		case 1:
			return math.MinInt8, math.MaxInt8, 0, 0
		case 2:
			return math.MinInt16, math.MaxInt16, 0, 0
		case 4:
			return math.MinInt32, math.MaxInt32, 0, 0
		}
		return math.MinInt64, math.MaxInt64, 0, 0
	case types.KindDecimal:
		if t.Decimal64() {
			m := pow10(int(t.Precision)) - 1
			return -m, m, 0, 0
		}
		return -math.MaxInt64, math.MaxInt64, 0, 0
	case types.KindFloat:
		return 0, 0, -math.MaxFloat32, math.MaxFloat32
	case types.KindDate:
		return 0, 47481, 0, 0 // 2099-12-31
	case types.KindInterval:
		return 0, int64(24 * time.Hour / time.Microsecond), 0, 0
	case types.KindJSON:
		return math.MinInt32, math.MaxInt32, 0, 0
	}
	return 0, 0, 0, 0
}

func pow10(n int) int64 {
	p := int64(1)
	for range n {
		p *= 10
	}
	return p
}

// Validate reports the first setting that cannot be generated.
func (c *Config) Validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: "+format, append([]any{ErrInvalidConfig}, args...)...)
	}
	if len(c.Fields) != len(c.Schema) {
		return bad("%d fields for %d columns", len(c.Fields), len(c.Schema))
	}
	if c.Rows < 0 || c.Rate < 0 {
		return bad("rows %d and rate %d must not be negative", c.Rows, c.Rate)
	}
	for i, f := range c.Fields {
		col := c.Schema[i]
		if err := f.validate(col.Type); err != nil {
			return bad("column %s: %v", col.Name, err)
		}
	}
	return nil
}

func (f *Field) validate(t types.Type) error {
	if f.NullRate < 0 || f.NullRate > 1 || math.IsNaN(f.NullRate) {
		return fmt.Errorf("null rate %v is not between 0 and 1", f.NullRate)
	}
	if f.NullRate > 0 && t.NotNull {
		return fmt.Errorf("a NOT NULL column cannot have a null rate")
	}
	if f.Length < 0 || f.Length > 1<<20 {
		return fmt.Errorf("length %d is not between 0 and %d", f.Length, 1<<20)
	}
	if t.Kind == types.KindString && t.Length > 0 && f.Length > int(t.Length) {
		return fmt.Errorf("length %d is longer than %s", f.Length, t)
	}
	if f.MaxPast < 0 {
		return fmt.Errorf("max-past %v is negative", f.MaxPast)
	}
	if f.Gen == Sequence {
		if !Sequenceable(t) {
			return fmt.Errorf("a %s column cannot be a sequence", t)
		}
		if f.Step <= 0 {
			return fmt.Errorf("step %d is not positive", f.Step)
		}
		if t.Kind == types.KindFloat {
			if !(f.FStart <= f.FEnd) || math.IsInf(f.FEnd-f.FStart, 0) {
				return fmt.Errorf("sequence start %v is after end %v", f.FStart, f.FEnd)
			}
			return nil
		}
		if f.Start > f.End {
			return fmt.Errorf("sequence start %d is after end %d", f.Start, f.End)
		}
		if t.Kind == types.KindInt || t.Decimal64() {
			lo, hi, _, _ := DefaultBounds(t)
			if f.Start < lo || f.End > hi {
				return fmt.Errorf("sequence %d to %d is out of the range of %s", f.Start, f.End, t)
			}
		}
		return nil
	}
	if t.Kind == types.KindFloat {
		if !(f.FMin <= f.FMax) {
			return fmt.Errorf("min %v is greater than max %v", f.FMin, f.FMax)
		}
		return nil
	}
	if f.Min > f.Max {
		return fmt.Errorf("min %d is greater than max %d", f.Min, f.Max)
	}
	if f.Bounded && (t.Kind == types.KindInt || t.Decimal64()) {
		lo, hi, _, _ := DefaultBounds(t)
		if f.Min < lo || f.Max > hi {
			return fmt.Errorf("min %d and max %d are out of the range of %s", f.Min, f.Max, t)
		}
	}
	switch t.Kind {
	case types.KindInvalid, types.KindNull:
		return fmt.Errorf("cannot generate values of type %s", t)
	}
	return nil
}

// Sequenceable reports whether a column of type t can be a sequence:
// integers, floats, decimals, strings, dates and timestamps.
func Sequenceable(t types.Type) bool {
	switch t.Kind {
	case types.KindInt, types.KindFloat, types.KindDecimal, types.KindString, types.KindDate, types.KindTimestamp:
		return true
	}
	return false
}

// count returns how many values a sequence field holds (MaxInt64 when
// more), or -1 for a random field.
func (f *Field) count(t types.Type) int64 {
	if f.Gen != Sequence {
		return -1
	}
	if t.Kind == types.KindFloat {
		n := math.Floor(f.FEnd-f.FStart) + 1
		if n >= math.MaxInt64 {
			return math.MaxInt64
		}
		return int64(n)
	}
	span := uint64(f.End) - uint64(f.Start) // End >= Start: no wrap
	n := span/uint64(f.Step) + 1
	if n > math.MaxInt64 || n == 0 {
		return math.MaxInt64
	}
	return int64(n)
}

// Total returns the number of rows the table holds, or -1 when it is
// unbounded: Rows when set, at most the length of the shortest sequence.
// The Config must have been completed with EnsureDefaults.
func (c *Config) Total() int64 {
	total := int64(-1)
	if c.Rows > 0 {
		total = c.Rows
	}
	for i := range c.Fields {
		if n := c.Fields[i].count(c.Schema[i].Type); n >= 0 && (total < 0 || n < total) {
			total = n
		}
	}
	return total
}
