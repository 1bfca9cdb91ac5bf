package expr

import (
	"bytes"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/cockroachdb/apd/v3"

	"github.com/sluice-sql/sluice/sql/types"
)

// castEval converts between BIGINT (of any declared width), DOUBLE,
// DECIMAL, STRING and BOOLEAN, and between STRING, DATE and TIMESTAMP.
// A string converts to DATE or TIMESTAMP in the forms of their literals
// (ParseDate, ParseTimestamp); a TIMESTAMP converts to STRING as a user
// reads it, with as many fraction digits as its precision; a cast to a
// lower TIMESTAMP precision, or from TIMESTAMP to DATE, truncates.
// Conversions between int64-backed types have vector loops; the rest go
// row by row. Neither allocates per row, whether a row converts or not
// (but for numbers of more than 18 digits).
type castEval struct {
	a        *operand
	from, to types.Type
	// try makes a value that does not convert NULL (TRY_CAST) rather than
	// an error.
	try  bool
	mask []bool
	buf  []byte
	d    apd.Decimal
}

// compileCast compiles a conversion of arg to type to: CAST, or TRY_CAST
// when try is set.
func compileCast(arg Expr, to types.Type, try bool) (Evaluator, error) {
	from := arg.Type()
	if from.Kind == types.KindNull {
		return &constEval{s: &scalar{t: to, null: true}}, nil
	}
	if !castable(from, to) {
		return nil, fmt.Errorf("%w: cannot cast %s to %s", ErrArgumentType, from, to)
	}
	a, err := newOperand(arg)
	if err != nil {
		return nil, err
	}
	return &castEval{a: a, from: from, to: to, try: try}, nil
}

func castable(from, to types.Type) bool {
	basic := func(k types.Kind) bool {
		switch k {
		case types.KindInt, types.KindFloat, types.KindDecimal, types.KindString, types.KindBoolean:
			return true
		}
		return false
	}
	switch {
	case from.Kind == to.Kind:
		return true
	case basic(from.Kind) && basic(to.Kind):
		return true
	case to.Kind == types.KindString:
		return true // every value has a text form
	case from.Kind == types.KindString && to.Kind == types.KindBytes:
		return true
	case from.Kind == types.KindString && (to.Kind == types.KindTimestamp || to.Kind == types.KindDate):
		return true
	case isTimeArg(from) && isTimeArg(to):
		return true // DATE and TIMESTAMP
	}
	return false
}

var pow10 = func() (p [19]int64) {
	p[0] = 1
	for i := 1; i < len(p); i++ {
		p[i] = p[i-1] * 10
	}
	return p
}()

// intRange is the range of an integer type's declared width.
func intRange(t types.Type) (lo, hi int64) {
	switch t.Width {
	case 1:
		return math.MinInt8, math.MaxInt8
	case 2:
		return math.MinInt16, math.MaxInt16
	case 4:
		return math.MinInt32, math.MaxInt32
	}
	return math.MinInt64, math.MaxInt64
}

func (e *castEval) Eval(in *types.Batch, out *types.Vector) error {
	av, err := e.a.vec(in)
	if err != nil {
		return err
	}
	n := in.Len()
	out.Reset(e.to, n)
	if storageOf(e.to) == stVar {
		for i := range n {
			if av.IsNull(i) {
				out.AppendNull()
				continue
			}
			e.buf = e.format(e.buf[:0], av, i)
			out.AppendBytes(e.buf)
		}
		return nil
	}
	out.SetLen(n)
	if e.fast(av, out, n) {
		setNulls(out, av, nil, n)
		return nil
	}
	// Row by row: a failure is an error on a live row of a CAST, and
	// leaves the row null elsewhere.
	live := liveMask(in, &e.mask)
	for i := range n {
		if av.IsNull(i) {
			out.Nulls.Set(i)
			continue
		}
		if err := e.row(av, i, out); err != nil {
			if !e.try && (live == nil || live[i]) {
				if err == ErrInvalidCast || err == ErrOverflow {
					// A bare sentinel: name the target (storeDec names it itself).
					err = fmt.Errorf("%w to %s", err, e.to.Nullable())
				}
				return rowError("CAST", err, i, av)
			}
			out.Nulls.Set(i)
		}
	}
	zeroNulls(out)
	return nil
}

// fast converts whole vectors where no row can fail or a cheap check
// proves none does; it reports false to leave the batch to row.
func (e *castEval) fast(av, out *types.Vector, n int) bool {
	from, to := e.from, e.to
	switch {
	case from.Kind == types.KindInt && to.Kind == types.KindInt:
		lo, hi := intRange(to)
		x := av.Ints[:n]
		ok := true
		for i := range x {
			ok = ok && x[i] >= lo && x[i] <= hi
		}
		copy(out.Ints, x)
		return ok
	case intBacked(from) && to.Kind == types.KindFloat:
		x, o := av.Ints[:n], out.Floats[:n]
		s := int(from.Scale)
		if from.Kind == types.KindInt || s == 0 {
			for i := range o {
				o[i] = float64(x[i])
			}
			return true
		}
		// Exact when |x| < 2^53: both operands are exact doubles and the
		// quotient is correctly rounded.
		ok := true
		f := float64(pow10[s])
		for i := range o {
			ok = ok && x[i] > -1<<53 && x[i] < 1<<53
			o[i] = float64(x[i]) / f
		}
		return ok
	case intBacked(from) && to.Decimal64():
		s1, s2 := 0, int(to.Scale)
		if from.Kind == types.KindDecimal {
			s1 = int(from.Scale)
		}
		if s2 < s1 {
			return false
		}
		limit := pow10[int(to.Precision)-s2] // |x| must stay below, in from's units
		if from.Kind == types.KindDecimal {
			limit = pow10[min(18, int(to.Precision)-s2+s1)]
		}
		m := pow10[s2-s1]
		x, o := av.Ints[:n], out.Ints[:n]
		ok := true
		for i := range o {
			ok = ok && x[i] > -limit && x[i] < limit
			o[i] = x[i] * m
		}
		return ok
	case from.Kind == types.KindTimestamp && to.Kind == types.KindTimestamp && to.Precision < from.Precision:
		unit := pow10[types.MaxTimestampPrecision-int(to.Precision)]
		x, o := av.Ints[:n], out.Ints[:n]
		for i := range o {
			o[i] = floorDiv(x[i], unit) * unit
		}
		return true
	case from.Kind == types.KindTimestamp && to.Kind == types.KindDate:
		x, o := av.Ints[:n], out.Ints[:n]
		for i := range o {
			o[i] = floorDiv(x[i], unitMicros[unitDay])
		}
		return true
	case from.Kind == types.KindDate && to.Kind == types.KindTimestamp:
		// Days within years 0 to 9999 cannot overflow microseconds.
		x, o := av.Ints[:n], out.Ints[:n]
		for i := range o {
			o[i] = x[i] * unitMicros[unitDay]
		}
		return true
	case from.Kind == to.Kind && from.Kind != types.KindDecimal && from.Kind != types.KindInt:
		copyVector(out, av, n)
		out.Type = to
		return true
	case intBacked(from) && to.Kind == types.KindBoolean:
		x, o := av.Ints[:n], out.Bools[:n]
		for i := range o {
			o[i] = x[i] != 0
		}
		return true
	}
	return false
}

var truncCtx = func() *apd.Context {
	c := apd.BaseContext.WithPrecision(2*types.MaxDecimalPrecision + 4)
	c.Rounding = apd.RoundDown
	return c
}()

// row converts row i of av into out.
func (e *castEval) row(av *types.Vector, i int, out *types.Vector) error {
	to := e.to
	if av.Type.Kind == types.KindString {
		s := bytes.TrimSpace(av.Bytes(i))
		switch to.Kind {
		case types.KindInt:
			x, ok := parseInt(s)
			if !ok {
				return ErrInvalidCast
			}
			return storeInt(out, i, x)
		case types.KindFloat:
			f, ok := parseFloat(s)
			if !ok {
				return ErrInvalidCast
			}
			out.Floats[i] = f
			return nil
		case types.KindDecimal:
			if !setDecimal(&e.d, s) {
				return ErrInvalidCast
			}
			return storeDec(out, i, &e.d)
		case types.KindBoolean:
			b, ok := parseBool(s)
			if !ok {
				return ErrInvalidCast
			}
			out.Bools[i] = b
			return nil
		case types.KindTimestamp:
			us, _, ok := ParseTimestamp(s)
			if !ok {
				return ErrInvalidCast
			}
			unit := pow10[types.MaxTimestampPrecision-int(to.Precision)]
			out.Ints[i] = floorDiv(us, unit) * unit
			return nil
		case types.KindDate:
			days, ok := ParseDate(s)
			if !ok {
				return ErrInvalidCast
			}
			out.Ints[i] = days
			return nil
		}
		return ErrInvalidCast
	}
	// A numeric or boolean source.
	switch av.Type.Kind {
	case types.KindFloat:
		f := av.Floats[i]
		switch to.Kind {
		case types.KindInt:
			t := math.Trunc(f)
			if !(t >= -9.223372036854775808e18 && t < 9.223372036854775808e18) {
				return ErrOverflow
			}
			return storeInt(out, i, int64(t))
		case types.KindBoolean:
			out.Bools[i] = f != 0
			return nil
		case types.KindFloat:
			out.Floats[i] = f
			return nil
		}
		if _, err := e.d.SetFloat64(f); err != nil {
			return ErrOverflow
		}
	case types.KindBoolean:
		x := int64(b2i(av.Bools[i]))
		switch to.Kind {
		case types.KindFloat:
			out.Floats[i] = float64(x)
			return nil
		case types.KindInt:
			out.Ints[i] = x
			return nil
		}
		e.d.SetInt64(x)
	default:
		readDec(av, i, &e.d)
	}
	switch to.Kind {
	case types.KindInt:
		var r apd.Decimal
		if _, err := truncCtx.RoundToIntegralValue(&r, &e.d); err != nil {
			return ErrOverflow
		}
		x, err := r.Int64()
		if err != nil {
			return ErrOverflow
		}
		return storeInt(out, i, x)
	case types.KindFloat:
		f, err := e.d.Float64()
		if err != nil {
			return ErrOverflow
		}
		out.Floats[i] = f
		return nil
	case types.KindBoolean:
		out.Bools[i] = !e.d.IsZero()
		return nil
	case types.KindDecimal:
		return storeDec(out, i, &e.d)
	}
	return ErrInvalidCast
}

func storeInt(out *types.Vector, i int, x int64) error {
	lo, hi := intRange(out.Type)
	if x < lo || x > hi {
		return ErrOverflow
	}
	out.Ints[i] = x
	return nil
}

// parseBool reads true/false, t/f, yes/no, y/n or 1/0 in any case.
func parseBool(s []byte) (v, ok bool) {
	var low [5]byte
	if len(s) > len(low) {
		return false, false
	}
	for i, c := range s {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		low[i] = c
	}
	switch string(low[:len(s)]) {
	case "true", "t", "yes", "y", "1":
		return true, true
	case "false", "f", "no", "n", "0":
		return false, true
	}
	return false, false
}

// The readers of numbers below accept what strconv and apd accept, but
// reject text that is plainly not a number without allocating: their
// errors allocate, which a TRY_CAST over dirty data would pay per row.

// parseInt reads a decimal integer with an optional sign, as
// strconv.ParseInt(s, 10, 64).
func parseInt(s []byte) (int64, bool) {
	neg := len(s) > 0 && s[0] == '-'
	if len(s) > 0 && (s[0] == '-' || s[0] == '+') {
		s = s[1:]
	}
	if len(s) == 0 {
		return 0, false
	}
	var u uint64
	for _, c := range s {
		if c < '0' || c > '9' || u > (1<<63)/10 {
			return 0, false
		}
		u = u*10 + uint64(c-'0')
	}
	switch {
	case neg && u <= 1<<63:
		return int64(-u), true
	case !neg && u < 1<<63:
		return int64(u), true
	}
	return 0, false
}

// scanDecimal reads [+-]digits[.digits][(e|E)[+-]digits], with a digit
// before or after the point, as coef * 10^exp. ok is false for any other
// text; fits is false when coef would need more than 18 digits or exp is
// implausibly large, for a slower reader to decide.
func scanDecimal(s []byte) (coef int64, exp int32, ok, fits bool) {
	i, neg := 0, false
	if len(s) > 0 && (s[0] == '-' || s[0] == '+') {
		neg, i = s[0] == '-', 1
	}
	fits = true
	n, sig := 0, 0 // digits, significant digits
	digit := func(c byte) {
		n++
		if coef == 0 && c == '0' {
			return
		}
		if sig == 18 {
			fits = false
			return
		}
		coef, sig = coef*10+int64(c-'0'), sig+1
	}
	for ; i < len(s) && '0' <= s[i] && s[i] <= '9'; i++ {
		digit(s[i])
	}
	if i < len(s) && s[i] == '.' {
		for i++; i < len(s) && '0' <= s[i] && s[i] <= '9'; i++ {
			digit(s[i])
			exp--
		}
	}
	if n == 0 {
		return 0, 0, false, false
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		x, ok := parseInt(s[i+1:])
		if !ok {
			return 0, 0, false, false
		}
		if x < -1e6 || x > 1e6 {
			fits = false
		} else {
			exp += int32(x)
		}
		i = len(s)
	}
	if i != len(s) {
		return 0, 0, false, false
	}
	if neg {
		coef = -coef
	}
	return coef, exp, true, fits
}

// parseFloat reads s as strconv.ParseFloat(s, 64).
func parseFloat(s []byte) (float64, bool) {
	if _, _, ok, _ := scanDecimal(s); !ok && !floatSpelling(s) {
		return 0, false
	}
	f, err := strconv.ParseFloat(string(s), 64)
	return f, err == nil
}

// floatSpelling reports whether s may be one of the other spellings
// strconv.ParseFloat reads: Inf, Infinity, NaN, hexadecimal, or digits
// with underscores.
func floatSpelling(s []byte) bool {
	body := s
	if len(s) > 0 && (s[0] == '-' || s[0] == '+') {
		body = s[1:]
	}
	hex := len(body) > 1 && body[0] == '0' && body[1]|0x20 == 'x'
	return hex || bytes.IndexByte(body, '_') >= 0 ||
		bytes.EqualFold(body, []byte("inf")) || bytes.EqualFold(body, []byte("infinity")) || bytes.EqualFold(s, []byte("nan"))
}

// setDecimal sets d to the finite decimal number s, reporting false for
// any other text.
func setDecimal(d *apd.Decimal, s []byte) bool {
	coef, exp, ok, fits := scanDecimal(s)
	switch {
	case !ok:
		return false
	case fits:
		d.SetFinite(coef, exp)
		return true
	}
	_, _, err := d.SetString(string(s))
	return err == nil && d.Form == apd.Finite
}

// format appends the text form of row i.
func (e *castEval) format(b []byte, v *types.Vector, i int) []byte {
	t := v.Type
	switch t.Kind {
	case types.KindBoolean:
		if v.Bools[i] {
			return append(b, "TRUE"...)
		}
		return append(b, "FALSE"...)
	case types.KindInt:
		return strconv.AppendInt(b, v.Ints[i], 10)
	case types.KindFloat:
		return strconv.AppendFloat(b, v.Floats[i], 'g', -1, 64)
	case types.KindDecimal:
		if t.Decimal64() {
			return appendScaled(b, v.Ints[i], int(t.Scale))
		}
		return v.Decs[i].Append(b, 'f')
	case types.KindDate:
		return time.Unix(v.Ints[i]*86400, 0).UTC().AppendFormat(b, "2006-01-02")
	case types.KindTimestamp:
		layout := "2006-01-02 15:04:05"
		if p := int(min(t.Precision, types.MaxTimestampPrecision)); p > 0 {
			layout = "2006-01-02 15:04:05.000000"[:20+p]
		}
		return time.UnixMicro(v.Ints[i]).UTC().AppendFormat(b, layout)
	case types.KindString, types.KindBytes, types.KindJSON:
		return append(b, v.Bytes(i)...)
	}
	return fmt.Appendf(b, "%v", v.Value(i))
}

// appendScaled appends a DECIMAL(p<=18) value x with scale s: "-1.50".
func appendScaled(b []byte, x int64, s int) []byte {
	if s == 0 {
		return strconv.AppendInt(b, x, 10)
	}
	u := uint64(x)
	if x < 0 {
		b = append(b, '-')
		u = -u
	}
	var digits [24]byte
	d := strconv.AppendUint(digits[:0], u, 10)
	for len(d) <= s {
		d = append([]byte{'0'}, d...)
	}
	b = append(b, d[:len(d)-s]...)
	b = append(b, '.')
	return append(b, d[len(d)-s:]...)
}
