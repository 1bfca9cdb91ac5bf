package expr

import (
	"bytes"
	"fmt"
	"strconv"

	"github.com/sluice-sql/sluice/sql/types"
)

// The conversions between timestamps, epoch seconds and strings. All
// work in UTC and are NULL when an argument is NULL.
const (
	FnUnixTimestamp = "UNIX_TIMESTAMP" // ts: whole seconds since the epoch, BIGINT
	FnFromUnixtime  = "FROM_UNIXTIME"  // n: the TIMESTAMP(0) n seconds after the epoch
	FnDateFormat    = "DATE_FORMAT"    // ts, fmt: ts spelled by the Java pattern fmt, STRING
	FnToTimestamp   = "TO_TIMESTAMP"   // s [, fmt]: s read by the Java pattern fmt, TIMESTAMP(3); see compileToTimestamp
)

// fixedRule types a function of exactly the args of preds with result t,
// not null when every argument is not null.
func fixedRule(t types.Type, preds ...func(types.Type) bool) rule {
	return func(a []types.Type) (types.Type, error) {
		if err := argRange(a, len(preds), len(preds)); err != nil {
			return types.Type{}, err
		}
		if err := wantArgs(a, preds...); err != nil {
			return types.Type{}, err
		}
		return t.WithNotNull(allNotNull(a)), nil
	}
}

var timeConvBuiltins = map[string]builtin{
	FnUnixTimestamp: {fixedRule(types.BigInt(), isTimeArg), compileUnixTimestamp},
	FnFromUnixtime:  {fixedRule(types.Timestamp(0), isIntArg), compileFromUnixtime},
	FnDateFormat:    {fixedRule(types.String(), isTimeArg, isStringArg), compileDateFormat},
	FnToTimestamp: {func(a []types.Type) (types.Type, error) {
		if err := argRange(a, 1, 2); err != nil {
			return types.Type{}, err
		}
		// Always nullable: a string that does not parse is NULL.
		return types.Timestamp(3), wantArgs(a, isStringArg)
	}, compileToTimestamp},
}

func init() {
	for name, b := range timeConvBuiltins {
		registry[name] = b.rule
		builtins[name] = b
	}
}

func compileUnixTimestamp(c *Call, rt types.Type) (Evaluator, error) {
	return newRowFunc(c.Fn, rt, true, c.Args, argTypes(c, types.Timestamp(0)), func(out *types.Vector, a []*types.Vector, i int) error {
		out.AppendInt(floorDiv(micros(a[0], i), unitMicros[unitSecond]))
		return nil
	})
}

func compileFromUnixtime(c *Call, rt types.Type) (Evaluator, error) {
	return newRowFunc(c.Fn, rt, true, c.Args, argTypes(c, types.BigInt()), func(out *types.Vector, a []*types.Vector, i int) error {
		n := a[0].Ints[i]
		if n > maxTimestampMicros/unitMicros[unitSecond] || n < minTimestampMicros/unitMicros[unitSecond] {
			return ErrOverflow
		}
		out.AppendInt(n * unitMicros[unitSecond])
		return nil
	})
}

// A timeOp is one step of a compiled Java date pattern: a field of the
// given width, or literal text.
type timeOp struct {
	field byte // 'y', 'M', 'd', 'H', 'm', 's', 'S', or 0 for lit
	width int
	lit   string
}

// timeFields are the pattern letters supported, each with its one width
// (yyyy, MM, dd, HH, mm, ss, SSS).
var timeFields = map[byte]int{'y': 4, 'M': 2, 'd': 2, 'H': 2, 'm': 2, 's': 2, 'S': 3}

// compileTimePattern compiles a Java (Flink) date pattern: the fields of
// timeFields, text in single quotes (” is a quote), and any other
// non-letter as itself.
func compileTimePattern(p string) ([]timeOp, error) {
	var ops []timeOp
	addLit := func(s string) {
		if n := len(ops); n > 0 && ops[n-1].field == 0 {
			ops[n-1].lit += s
			return
		}
		ops = append(ops, timeOp{lit: s})
	}
	for i := 0; i < len(p); {
		c := p[i]
		switch {
		case c == '\'':
			if i+1 < len(p) && p[i+1] == '\'' {
				addLit("'")
				i += 2
				continue
			}
			j := i + 1
			var text []byte
			for ; ; j++ {
				if j >= len(p) {
					return nil, fmt.Errorf("%w: unterminated quote in date pattern %q", ErrArgumentType, p)
				}
				if p[j] == '\'' {
					if j+1 < len(p) && p[j+1] == '\'' {
						text = append(text, '\'')
						j++
						continue
					}
					break
				}
				text = append(text, p[j])
			}
			addLit(string(text))
			i = j + 1
		case (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'):
			j := i
			for j < len(p) && p[j] == c {
				j++
			}
			if w, ok := timeFields[c]; !ok || j-i != w {
				return nil, fmt.Errorf("%w: unsupported date pattern field %q in %q (want yyyy, MM, dd, HH, mm, ss, SSS or quoted text)",
					ErrArgumentType, p[i:j], p)
			}
			ops = append(ops, timeOp{field: c, width: j - i})
			i = j
		default:
			addLit(string(c))
			i++
		}
	}
	return ops, nil
}

// appendTime appends the timestamp us (microseconds, UTC) spelled by ops.
func appendTime(buf []byte, ops []timeOp, us int64) []byte {
	t := utc(us)
	for _, op := range ops {
		var x int
		switch op.field {
		case 0:
			buf = append(buf, op.lit...)
			continue
		case 'y':
			x = t.Year()
		case 'M':
			x = int(t.Month())
		case 'd':
			x = t.Day()
		case 'H':
			x = t.Hour()
		case 'm':
			x = t.Minute()
		case 's':
			x = t.Second()
		case 'S':
			x = t.Nanosecond() / 1e6
		}
		buf = appendPadded(buf, x, op.width)
	}
	return buf
}

func appendPadded(buf []byte, x, width int) []byte {
	if x < 0 {
		buf = append(buf, '-')
		x = -x
	}
	n := len(buf)
	buf = strconv.AppendInt(buf, int64(x), 10)
	for len(buf)-n < width {
		buf = append(buf[:n+1], buf[n:]...)
		buf[n] = '0'
	}
	return buf
}

// patternOps compiles argument k of c once when it is a constant, and
// otherwise returns a function compiling each row's pattern (reusing the
// last compilation while the pattern repeats).
func patternOps(c *Call, k int) (func(a []*types.Vector, i int) ([]timeOp, error), error) {
	if s, null, ok := constBytes(c.Args[k]); ok {
		if null {
			return func([]*types.Vector, int) ([]timeOp, error) { return nil, nil }, nil
		}
		ops, err := compileTimePattern(string(s))
		if err != nil {
			return nil, &ArgError{Fn: c.Fn, Arg: k, Err: err}
		}
		return func([]*types.Vector, int) ([]timeOp, error) { return ops, nil }, nil
	}
	var last string
	var lastOps []timeOp
	return func(a []*types.Vector, i int) ([]timeOp, error) {
		p := a[k].Bytes(i)
		if lastOps == nil || string(p) != last {
			ops, err := compileTimePattern(string(p))
			if err != nil {
				return nil, err
			}
			last, lastOps = string(p), ops
		}
		return lastOps, nil
	}, nil
}

func compileDateFormat(c *Call, rt types.Type) (Evaluator, error) {
	pattern, err := patternOps(c, 1)
	if err != nil {
		return nil, err
	}
	ts := argTypes(c, types.Timestamp(0))
	ts[1] = types.String()
	var buf []byte
	return newRowFunc(c.Fn, rt, true, c.Args, ts, func(out *types.Vector, a []*types.Vector, i int) error {
		ops, err := pattern(a, i)
		if err != nil {
			return err
		}
		buf = appendTime(buf[:0], ops, micros(a[0], i))
		out.AppendBytes(buf)
		return nil
	})
}

// compileToTimestamp compiles Flink's TO_TIMESTAMP(s [, fmt]): s read as
// a TIMESTAMP(3) in UTC, by the Java pattern fmt (compiled once when it
// is a constant) or by default 'yyyy-MM-dd HH:mm:ss' with an optional
// fraction, 'T' for the space, or the date alone (ParseTimestamp's
// forms). As in Flink, s that does not match fmt is read by the default
// forms before giving up (TO_TIMESTAMP('1999-9-10', 'yyyy-MM-dd') is
// 1999-09-10), and a string that does not parse at all, or names a date
// that does not exist, gives NULL rather than an error: a stream should
// not fail on one malformed row. A fraction finer than milliseconds is
// truncated. A malformed pattern is an error.
func compileToTimestamp(c *Call, rt types.Type) (Evaluator, error) {
	var pattern func(a []*types.Vector, i int) ([]timeOp, error)
	if len(c.Args) == 2 {
		p, err := patternOps(c, 1)
		if err != nil {
			return nil, err
		}
		pattern = p
	}
	ts := []types.Type{types.String(), types.String()}[:len(c.Args)]
	ms := unitMicros[unitMillisecond]
	return newRowFunc(c.Fn, rt, true, c.Args, ts, func(out *types.Vector, a []*types.Vector, i int) error {
		s := a[0].Bytes(i)
		var us int64
		ok := false
		if pattern != nil {
			ops, err := pattern(a, i)
			if err != nil {
				return err
			}
			us, ok = parsePattern(ops, s)
		}
		if !ok {
			us, _, ok = ParseTimestamp(bytes.TrimSpace(s))
		}
		if !ok {
			out.AppendNull()
			return nil
		}
		out.AppendInt(floorDiv(us, ms) * ms)
		return nil
	})
}
