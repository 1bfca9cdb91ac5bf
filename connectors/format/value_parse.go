package format

import (
	"encoding/base64"
	"fmt"
	"math"
	"strconv"
	"unsafe"

	"github.com/cockroachdb/apd/v3"
	"github.com/valyala/fastjson"
)

// The parsers below read values from text without allocating on
// success. Their errors copy the text they quote, never alias it.

func parseBool(b []byte) (bool, bool) {
	switch len(b) {
	case 4:
		if (b[0]|0x20) == 't' && (b[1]|0x20) == 'r' && (b[2]|0x20) == 'u' && (b[3]|0x20) == 'e' {
			return true, true
		}
	case 5:
		if (b[0]|0x20) == 'f' && (b[1]|0x20) == 'a' && (b[2]|0x20) == 'l' && (b[3]|0x20) == 's' && (b[4]|0x20) == 'e' {
			return false, true
		}
	}
	return false, false
}

// parseInt parses a decimal integer: an optional sign and digits.
func parseInt(b []byte) (int64, error) {
	i, neg := 0, false
	if len(b) > 0 && (b[0] == '-' || b[0] == '+') {
		neg, i = b[0] == '-', 1
	}
	if i == len(b) {
		return 0, fmt.Errorf("%w: expected an integer, got %q", ErrWrongType, clip(b))
	}
	var u uint64
	for ; i < len(b); i++ {
		c := b[i] - '0'
		if c > 9 {
			return 0, fmt.Errorf("%w: expected an integer, got %q", ErrWrongType, clip(b))
		}
		if u > (math.MaxUint64-9)/10 {
			return 0, fmt.Errorf("%w: %s does not fit BIGINT", ErrOutOfRange, clip(b))
		}
		u = u*10 + uint64(c)
	}
	if neg {
		if u > 1<<63 {
			return 0, fmt.Errorf("%w: %s does not fit BIGINT", ErrOutOfRange, clip(b))
		}
		return -int64(u), nil
	}
	if u > math.MaxInt64 {
		return 0, fmt.Errorf("%w: %s does not fit BIGINT", ErrOutOfRange, clip(b))
	}
	return int64(u), nil
}

// transient views b as a string for a call that does not retain it.
func transient(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }

// parseFloat parses a number, NaN, Infinity or -Infinity.
func parseFloat(b []byte) (float64, error) {
	switch string(b) {
	case "NaN":
		return math.NaN(), nil
	case "Infinity", "+Infinity":
		return math.Inf(1), nil
	case "-Infinity":
		return math.Inf(-1), nil
	}
	// strconv accepts spellings JSON and SQL do not ("inf", "0x1p3",
	// "1_0"); only plain decimal numbers get this far.
	for _, c := range b {
		if !(c >= '0' && c <= '9' || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E') {
			return 0, fmt.Errorf("%w: expected a number, got %q", ErrWrongType, clip(b))
		}
	}
	f, err := strconv.ParseFloat(transient(b), 64)
	if err != nil {
		if ne, ok := err.(*strconv.NumError); ok && ne.Err == strconv.ErrRange {
			return 0, fmt.Errorf("%w: %s does not fit DOUBLE", ErrOutOfRange, clip(b))
		}
		return 0, fmt.Errorf("%w: expected a number, got %q", ErrWrongType, clip(b))
	}
	return f, nil
}

func isInf32(f float32) bool { return math.IsInf(float64(f), 0) }
func isInf64(f float64) bool { return math.IsInf(f, 0) }

// parseDecimal parses plain decimal text (digits, point, exponent) into
// d exactly; NaN and infinities are not decimals.
func parseDecimal(d *apd.Decimal, b []byte) error {
	for _, c := range b {
		if !(c >= '0' && c <= '9' || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E') {
			return fmt.Errorf("%w: expected a decimal number, got %q", ErrWrongType, clip(b))
		}
	}
	if _, _, err := d.SetString(transient(b)); err != nil || d.Form != apd.Finite {
		return fmt.Errorf("%w: expected a decimal number, got %q", ErrWrongType, clip(b))
	}
	return nil
}

func decodeBase64(dst, text []byte) ([]byte, error) {
	out, err := base64.StdEncoding.AppendDecode(dst, text)
	if err != nil {
		return dst, fmt.Errorf("%w: BYTES expects base64 text: %v", ErrWrongType, err)
	}
	return out, nil
}

func validateJSON(b []byte) error {
	if err := fastjson.ValidateBytes(b); err != nil {
		return fmt.Errorf("%w: JSON expects JSON text: %v", ErrWrongType, err)
	}
	return nil
}

// digits reads n decimal digits at b[i:]; ok is false if any is not one.
func digits(b []byte, i, n int) (int, bool) {
	if i+n > len(b) {
		return 0, false
	}
	v := 0
	for _, c := range b[i : i+n] {
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + int(c-'0')
	}
	return v, true
}

// parseYMD reads 'YYYY-MM-DD' at the start of b and returns days since
// the epoch.
func parseYMD(b []byte) (int64, bool) {
	y, ok1 := digits(b, 0, 4)
	m, ok2 := digits(b, 5, 2)
	d, ok3 := digits(b, 8, 2)
	if !ok1 || !ok2 || !ok3 || b[4] != '-' || b[7] != '-' || m < 1 || m > 12 || d < 1 || d > daysIn(y, m) {
		return 0, false
	}
	return daysFromCivil(int64(y), m, d), true
}

// parseDate parses 'YYYY-MM-DD'.
func parseDate(b []byte) (int64, bool) {
	if len(b) != 10 {
		return 0, false
	}
	return parseYMD(b)
}

// parseTimestamp parses 'YYYY-MM-DD HH:MM:SS[.f...]' (SQL) and
// 'YYYY-MM-DDTHH:MM:SS[.f...](Z|±HH:MM)' (RFC 3339) into UTC
// microseconds; fractional digits past the sixth are dropped. A zone is
// optional in either form and defaults to UTC.
func parseTimestamp(b []byte) (int64, bool) {
	if len(b) < 19 || (b[10] != ' ' && b[10] != 'T' && b[10] != 't') {
		return 0, false
	}
	days, ok := parseYMD(b)
	if !ok {
		return 0, false
	}
	hh, ok1 := digits(b, 11, 2)
	mm, ok2 := digits(b, 14, 2)
	ss, ok3 := digits(b, 17, 2)
	if !ok1 || !ok2 || !ok3 || b[13] != ':' || b[16] != ':' || hh > 23 || mm > 59 || ss > 59 {
		return 0, false
	}
	micros := int64(0)
	i := 19
	if i < len(b) && b[i] == '.' {
		i++
		n := 0
		for ; i < len(b) && b[i] >= '0' && b[i] <= '9'; i++ {
			if n < 6 {
				micros = micros*10 + int64(b[i]-'0')
			}
			n++
		}
		if n == 0 {
			return 0, false
		}
		for ; n < 6; n++ {
			micros *= 10
		}
	}
	offset := 0 // seconds east of UTC
	if i < len(b) {
		switch b[i] {
		case 'Z', 'z':
			i++
		case '+', '-':
			oh, ok1 := digits(b, i+1, 2)
			om, ok2 := digits(b, i+4, 2)
			if !ok1 || !ok2 || b[i+3] != ':' || oh > 23 || om > 59 {
				return 0, false
			}
			offset = oh*3600 + om*60
			if b[i] == '-' {
				offset = -offset
			}
			i += 6
		}
	}
	if i != len(b) {
		return 0, false
	}
	secs := days*86400 + int64(hh*3600+mm*60+ss-offset)
	us := secs*1_000_000 + micros
	// A zone offset may carry a year-0 or year-9999 time out of the
	// range the text form can write back.
	return us, inTimestampRange(us)
}

// The instants the text form covers: years 0000 to 9999, UTC.
const (
	minTimestampMicros = -719528 * 86400 * 1_000_000 // 0000-01-01 00:00:00
	maxTimestampMicros = 2932897*86400*1_000_000 - 1 // 9999-12-31 23:59:59.999999
)

func inTimestampRange(us int64) bool { return us >= minTimestampMicros && us <= maxTimestampMicros }

// epochMillisToMicros converts epoch milliseconds, reporting values
// outside the years 0000 to 9999.
func epochMillisToMicros(ms int64) (int64, bool) {
	if ms > math.MaxInt64/1000 || ms < math.MinInt64/1000 {
		return 0, false
	}
	return ms * 1000, inTimestampRange(ms * 1000)
}

var microsUnit = [...]int64{1_000_000, 100_000, 10_000, 1_000, 100, 10, 1}

// truncateMicros drops sub-precision digits, toward minus infinity so
// that truncation keeps the order of instants.
func truncateMicros(us int64, precision uint8) int64 {
	u := microsUnit[min(int(precision), 6)]
	r := us % u
	if r < 0 {
		r += u
	}
	return us - r
}

func isLeap(y int) bool { return y%4 == 0 && (y%100 != 0 || y%400 == 0) }

func daysIn(y, m int) int {
	switch m {
	case 2:
		if isLeap(y) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// daysFromCivil and civilFromDays are Howard Hinnant's algorithms for the
// proleptic Gregorian calendar.
func daysFromCivil(y int64, m, d int) int64 {
	if m <= 2 {
		y--
	}
	era := y
	if era < 0 {
		era -= 399
	}
	era /= 400
	yoe := y - era*400
	mp := int64(m + 9)
	if m > 2 {
		mp = int64(m - 3)
	}
	doy := (153*mp+2)/5 + int64(d) - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return era*146097 + doe - 719468
}

func civilFromDays(z int64) (y int64, m, d int) {
	z += 719468
	era := z
	if era < 0 {
		era -= 146096
	}
	era /= 146097
	doe := z - era*146097
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365
	y = yoe + era*400
	doy := doe - (365*yoe + yoe/4 - yoe/100)
	mp := (5*doy + 2) / 153
	d = int(doy - (153*mp+2)/5 + 1)
	if mp < 10 {
		m = int(mp + 3)
	} else {
		m = int(mp - 9)
	}
	if m <= 2 {
		y++
	}
	return y, m, d
}
