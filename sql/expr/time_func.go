package expr

import (
	"fmt"
	"strings"
	"time"

	"github.com/sluice-sql/sluice/sql/types"
)

// The time functions. Every one works in UTC on TIMESTAMP values
// (microseconds since the epoch) or DATE values (days), and is NULL when
// an argument is NULL. The unit is the first argument, a constant STRING
// naming one of the units below (the binder turns EXTRACT(YEAR FROM ts)
// into EXTRACT('YEAR', ts)); CheckTimeUnit validates it.
const (
	FnExtract       = "EXTRACT"       // unit, ts: BIGINT
	FnDateTrunc     = "DATE_TRUNC"    // unit, ts: ts truncated, of ts's type
	FnTimestampDiff = "TIMESTAMPDIFF" // unit, a, b: whole units from a to b, BIGINT
	FnTimestampAdd  = "TIMESTAMPADD"  // unit, n, ts: ts + n units, of ts's type
)

type timeUnit int

const (
	unitMicrosecond timeUnit = iota
	unitMillisecond
	unitSecond
	unitMinute
	unitHour
	unitDay
	unitWeek
	unitMonth
	unitQuarter
	unitYear
)

var timeUnits = map[string]timeUnit{
	"MICROSECOND": unitMicrosecond, "MILLISECOND": unitMillisecond,
	"SECOND": unitSecond, "MINUTE": unitMinute, "HOUR": unitHour, "DAY": unitDay,
	"WEEK": unitWeek, "MONTH": unitMonth, "QUARTER": unitQuarter, "YEAR": unitYear,
}

// unitMicros is the length of each fixed unit; months, quarters and
// years have none.
var unitMicros = [...]int64{
	unitMicrosecond: 1, unitMillisecond: 1e3, unitSecond: 1e6, unitMinute: 60e6,
	unitHour: 3600e6, unitDay: 86400e6, unitWeek: 7 * 86400e6,
}

// CheckTimeUnit returns an error wrapping ErrArgumentType unless unit (in
// any case) is a unit the time function fn takes.
func CheckTimeUnit(fn, unit string) error {
	if _, ok := timeUnits[strings.ToUpper(unit)]; !ok {
		return fmt.Errorf("%w: %s does not take the unit %q (want one of MICROSECOND, MILLISECOND, SECOND, MINUTE, HOUR, DAY, WEEK, MONTH, QUARTER, YEAR)",
			ErrArgumentType, fn, unit)
	}
	return nil
}

func isTimeArg(t types.Type) bool {
	return t.Kind == types.KindTimestamp || t.Kind == types.KindDate || t.Kind == types.KindNull
}

// timeRule types a time function: the unit, then args of the given
// predicates. res gives the result type from the argument types.
func timeRule(res func(a []types.Type) types.Type, preds ...func(types.Type) bool) rule {
	return func(a []types.Type) (types.Type, error) {
		if err := argRange(a, len(preds)+1, len(preds)+1); err != nil {
			return types.Type{}, err
		}
		if err := wantArgs(a, append([]func(types.Type) bool{isStringArg}, preds...)...); err != nil {
			return types.Type{}, err
		}
		return res(a).WithNotNull(allNotNull(a)), nil
	}
}

func bigIntResult([]types.Type) types.Type { return types.BigInt() }

// timeResult is the type of the last argument, TIMESTAMP for a DATE or a
// NULL (adding hours to a date gives a timestamp).
func timeResult(a []types.Type) types.Type {
	t := a[len(a)-1]
	if t.Kind != types.KindTimestamp {
		return types.Timestamp(0)
	}
	return t.Nullable()
}

// argTypes keeps each argument's own type, with a NULL typed as t.
func argTypes(c *Call, t types.Type) []types.Type {
	ts := make([]types.Type, len(c.Args))
	for i, a := range c.Args {
		ts[i] = a.Type().Nullable()
		if ts[i].Kind == types.KindNull {
			ts[i] = t
		}
	}
	return ts
}

// micros reads row i of a TIMESTAMP or DATE vector as microseconds.
func micros(v *types.Vector, i int) int64 {
	if v.Type.Kind == types.KindDate {
		return v.Ints[i] * unitMicros[unitDay]
	}
	return v.Ints[i]
}

func utc(us int64) time.Time { return time.UnixMicro(us).UTC() }

// constUnit reads the constant unit argument of c.
func constUnit(c *Call) (timeUnit, error) {
	s, null, ok := constBytes(c.Args[0])
	if !ok || null {
		return 0, &ArgError{Fn: c.Fn, Arg: 0, Err: fmt.Errorf("%w: the unit of %s must be a constant", ErrArgumentType, c.Fn)}
	}
	if err := CheckTimeUnit(c.Fn, string(s)); err != nil {
		return 0, &ArgError{Fn: c.Fn, Arg: 0, Err: err}
	}
	return timeUnits[strings.ToUpper(string(s))], nil
}

// timeFunc compiles a strict time function computing an int64 from the
// unit and row i.
func timeFunc(f func(u timeUnit, a []*types.Vector, i int) (int64, error)) func(*Call, types.Type) (Evaluator, error) {
	return func(c *Call, rt types.Type) (Evaluator, error) {
		u, err := constUnit(c)
		if err != nil {
			return nil, err
		}
		return newRowFunc(c.Fn, rt, true, c.Args, argTypes(c, types.Timestamp(0)), func(out *types.Vector, a []*types.Vector, i int) error {
			x, err := f(u, a, i)
			if err != nil {
				return err
			}
			out.AppendInt(x)
			return nil
		})
	}
}

var timeBuiltins = map[string]builtin{
	FnExtract:       {timeRule(bigIntResult, isTimeArg), timeFunc(extract)},
	FnDateTrunc:     {timeRule(timeResult, isTimeArg), timeFunc(dateTrunc)},
	FnTimestampDiff: {timeRule(bigIntResult, isTimeArg, isTimeArg), timeFunc(timestampDiff)},
	FnTimestampAdd:  {timeRule(timeResult, isIntArg, isTimeArg), timeFunc(timestampAdd)},
}

func init() {
	for name, b := range timeBuiltins {
		registry[name] = b.rule
		builtins[name] = b
	}
}

// extract gives a field of the timestamp: SECOND is the whole seconds of
// the minute; MILLISECOND and MICROSECOND count within the minute,
// seconds included (Flink); WEEK is the ISO week number.
func extract(u timeUnit, a []*types.Vector, i int) (int64, error) {
	us := micros(a[1], i)
	t := utc(us)
	subMinute := int64(t.Second())*1e6 + int64(t.Nanosecond()/1e3)
	switch u {
	case unitMicrosecond:
		return subMinute, nil
	case unitMillisecond:
		return subMinute / 1e3, nil
	case unitSecond:
		return int64(t.Second()), nil
	case unitMinute:
		return int64(t.Minute()), nil
	case unitHour:
		return int64(t.Hour()), nil
	case unitDay:
		return int64(t.Day()), nil
	case unitWeek:
		_, w := t.ISOWeek()
		return int64(w), nil
	case unitMonth:
		return int64(t.Month()), nil
	case unitQuarter:
		return int64(t.Month()+2) / 3, nil
	}
	return int64(t.Year()), nil
}

// dateTrunc truncates to the start of the unit; WEEK starts on Monday.
func dateTrunc(u timeUnit, a []*types.Vector, i int) (int64, error) {
	us := micros(a[1], i)
	if u <= unitDay {
		return floorDiv(us, unitMicros[u]) * unitMicros[u], nil
	}
	t := utc(us)
	y, m, d := t.Date()
	switch u {
	case unitWeek:
		d -= (int(t.Weekday()) + 6) % 7
	case unitMonth:
		d = 1
	case unitQuarter:
		m, d = (m-1)/3*3+1, 1
	case unitYear:
		m, d = 1, 1
	}
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC).UnixMicro(), nil
}

func floorDiv(x, y int64) int64 {
	q := x / y
	if (x%y != 0) && ((x < 0) != (y < 0)) {
		q--
	}
	return q
}

// timestampDiff counts whole units from a to b, truncated toward zero.
// Months, quarters and years count as MySQL does: a month is complete
// when b's day and time of month reach a's.
func timestampDiff(u timeUnit, a []*types.Vector, i int) (int64, error) {
	x, y := micros(a[1], i), micros(a[2], i)
	if u < unitMonth {
		d := y - x
		if (y > x) != (d > 0) && d != 0 {
			return 0, ErrOverflow
		}
		return d / unitMicros[u], nil
	}
	tx, ty := utc(x), utc(y)
	months := int64(ty.Year()-tx.Year())*12 + int64(ty.Month()-tx.Month())
	rest := func(t time.Time) int64 { // microseconds into the month
		return int64(t.Day())*unitMicros[unitDay] + floorMod(t.UnixMicro(), unitMicros[unitDay])
	}
	switch {
	case months > 0 && rest(ty) < rest(tx):
		months--
	case months < 0 && rest(ty) > rest(tx):
		months++
	}
	switch u {
	case unitQuarter:
		return months / 3, nil
	case unitYear:
		return months / 12, nil
	}
	return months, nil
}

func floorMod(x, y int64) int64 { return x - floorDiv(x, y)*y }

// The range TIMESTAMPADD produces: years 0 to 9999, the range of SQL
// timestamps.
const (
	minTimestampMicros = -62167219200000000 // 0000-01-01
	maxTimestampMicros = 253402300799999999 // 9999-12-31 23:59:59.999999
)

// timestampAdd adds n units to ts. Adding months keeps the day of the
// month, or takes the month's last day when it has fewer (Jan 31 plus
// one month is Feb 28 or 29).
func timestampAdd(u timeUnit, a []*types.Vector, i int) (int64, error) {
	n, us := a[1].Ints[i], micros(a[2], i)
	var r int64
	if u < unitMonth {
		step := unitMicros[u]
		if n > maxTimestampMicros/step || n < minTimestampMicros/step {
			return 0, ErrOverflow
		}
		r = us + n*step
	} else {
		switch u {
		case unitQuarter:
			n *= 3
		case unitYear:
			n *= 12
		}
		if n > 12*10000 || n < -12*10000 {
			return 0, ErrOverflow
		}
		r = addMonths(us, n)
	}
	if r < minTimestampMicros || r > maxTimestampMicros {
		return 0, ErrOverflow
	}
	return r, nil
}

func addMonths(us int64, n int64) int64 {
	t := utc(us)
	y, m, d := t.Date()
	total := int64(y)*12 + int64(m-1) + n
	ny, nm := int(floorDiv(total, 12)), time.Month(floorMod(total, 12)+1)
	last := time.Date(ny, nm+1, 0, 0, 0, 0, 0, time.UTC).Day()
	day := time.Date(ny, nm, min(d, last), 0, 0, 0, 0, time.UTC).UnixMicro()
	return day + floorMod(us, unitMicros[unitDay])
}
