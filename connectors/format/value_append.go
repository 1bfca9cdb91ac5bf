package format

import (
	"encoding/binary"
	"math"
	"strconv"
	"unicode/utf8"

	"github.com/sluice-sql/sluice/sql/types"
)

const hexDigits = "0123456789abcdef"

// appendJSONString appends s as a JSON string: quotes, backslash and
// control characters escaped, invalid UTF-8 replaced by U+FFFD so the
// output is always valid JSON.
func appendJSONString(dst, s []byte) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		if i+8 <= len(s) && plainJSONWord(binary.LittleEndian.Uint64(s[i:])) {
			i += 8
			continue
		}
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			i++
			continue
		}
		if c >= utf8.RuneSelf {
			r, size := utf8.DecodeRune(s[i:])
			if r == utf8.RuneError && size == 1 {
				dst = append(dst, s[start:i]...)
				dst = append(dst, `\ufffd`...)
				i++
				start = i
				continue
			}
			i += size
			continue
		}
		dst = append(dst, s[start:i]...)
		switch c {
		case '"', '\\':
			dst = append(dst, '\\', c)
		case '\n':
			dst = append(dst, '\\', 'n')
		case '\r':
			dst = append(dst, '\\', 'r')
		case '\t':
			dst = append(dst, '\\', 't')
		case '\b':
			dst = append(dst, '\\', 'b')
		case '\f':
			dst = append(dst, '\\', 'f')
		default:
			dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
		}
		i++
		start = i
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// plainJSONWord reports whether the eight bytes of w are all ASCII that
// a JSON string holds as is: none below 0x20, none a quote or backslash.
func plainJSONWord(w uint64) bool {
	const (
		ones   = 0x0101010101010101
		highs  = 0x8080808080808080
		quotes = '"' * ones
		bslash = '\\' * ones
	)
	q, b := w^quotes, w^bslash
	// (x-ones)&^x flags a zero byte of x, (w-0x20*ones)&^w a byte below
	// 0x20 (exact as to whether any is flagged); w itself flags non-ASCII.
	return (w|(w-0x20*ones)&^w|(q-ones)&^q|(b-ones)&^b)&highs == 0
}

// dateCache remembers the text of the last date appended: the rows of a
// batch mostly share a day, and civil dates cost divisions.
type dateCache struct {
	days  int64
	valid bool
	n     int
	text  [32]byte
}

// appendDate is appendDate with the cache.
func (c *dateCache) appendDate(dst []byte, days int64) []byte {
	if !c.valid || c.days != days {
		t := appendDate(c.text[:0], days)
		if len(t) > len(c.text) {
			return append(dst, t...) // longer than any int64 day makes; stay correct anyway
		}
		c.days, c.valid, c.n = days, true, len(t)
	}
	return append(dst, c.text[:c.n]...)
}

func append2(dst []byte, v int) []byte { return append(dst, byte('0'+v/10), byte('0'+v%10)) }

// appendDate appends days since the epoch as 'YYYY-MM-DD'. Years outside
// 0..9999 are written with as many digits (and sign) as they need.
func appendDate(dst []byte, days int64) []byte {
	y, m, d := civilFromDays(days)
	if y >= 0 && y <= 9999 {
		dst = append(dst, byte('0'+y/1000), byte('0'+y/100%10), byte('0'+y/10%10), byte('0'+y%10))
	} else {
		dst = strconv.AppendInt(dst, y, 10)
	}
	dst = append(dst, '-')
	dst = append2(dst, m)
	dst = append(dst, '-')
	return append2(dst, d)
}

// appendTimestamp appends UTC microseconds as 'YYYY-MM-DD HH:MM:SS' and,
// for precision p > 0, '.' and p fractional digits, taking the date from
// dc.
func appendTimestamp(dst []byte, us int64, p uint8, dc *dateCache) []byte {
	secs := us / 1_000_000
	frac := us % 1_000_000
	if frac < 0 {
		frac += 1_000_000
		secs--
	}
	days := secs / 86400
	sod := secs % 86400
	if sod < 0 {
		sod += 86400
		days--
	}
	dst = dc.appendDate(dst, days)
	dst = append(dst, ' ')
	dst = append2(dst, int(sod/3600))
	dst = append(dst, ':')
	dst = append2(dst, int(sod/60%60))
	dst = append(dst, ':')
	dst = append2(dst, int(sod%60))
	if p > 0 {
		dst = append(dst, '.')
		div := int64(100_000)
		for range min(int(p), 6) {
			dst = append(dst, byte('0'+frac/div%10))
			div /= 10
		}
	}
	return dst
}

// appendDecimal appends row i of a decimal vector as plain decimal text
// with exactly the type's scale digits after the point.
func appendDecimal(dst []byte, v *types.Vector, i int) []byte {
	t := v.Type
	if !t.Decimal64() {
		d := v.Decs[i]
		return d.Append(dst, 'f')
	}
	n := v.Ints[i]
	var u uint64
	if n < 0 {
		dst = append(dst, '-')
		u = uint64(-n) // n is at most 18 digits: no overflow
	} else {
		u = uint64(n)
	}
	var buf [24]byte
	digs := strconv.AppendUint(buf[:0], u, 10)
	scale := int(t.Scale)
	if scale == 0 {
		return append(dst, digs...)
	}
	if len(digs) <= scale {
		dst = append(dst, '0', '.')
		for range scale - len(digs) {
			dst = append(dst, '0')
		}
		return append(dst, digs...)
	}
	dst = append(dst, digs[:len(digs)-scale]...)
	dst = append(dst, '.')
	return append(dst, digs[len(digs)-scale:]...)
}

// appendFloat appends f in the shortest form that reads back as the same
// value (for FLOAT, as the same float32): plain notation between 1e-6
// and 1e21, exponent notation outside, as encoding/json does. NaN and
// the infinities are written as NaN, Infinity and -Infinity; the JSON
// encoder quotes them.
func appendFloat(dst []byte, f float64, width uint8) []byte {
	switch {
	case math.IsNaN(f):
		return append(dst, "NaN"...)
	case math.IsInf(f, 1):
		return append(dst, "Infinity"...)
	case math.IsInf(f, -1):
		return append(dst, "-Infinity"...)
	}
	bits := 64
	if width == 4 {
		bits = 32
	}
	abs := math.Abs(f)
	fmtc := byte('f')
	if abs != 0 && (bits == 64 && (abs < 1e-6 || abs >= 1e21) || bits == 32 && (float32(abs) < 1e-6 || float32(abs) >= 1e21)) {
		fmtc = 'e'
	}
	dst = strconv.AppendFloat(dst, f, fmtc, -1, bits)
	if fmtc == 'e' {
		// clean up e-09 to e-9
		n := len(dst)
		if n >= 4 && dst[n-4] == 'e' && dst[n-3] == '-' && dst[n-2] == '0' {
			dst[n-2] = dst[n-1]
			dst = dst[:n-1]
		}
	}
	return dst
}

func appendInt(dst []byte, n int64) []byte { return strconv.AppendInt(dst, n, 10) }
