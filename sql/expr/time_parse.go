package expr

import (
	"time"
)

// Reading timestamps and dates from text, in UTC, without allocating:
// the forms of SQL literals and CAST (ParseTimestamp, ParseDate), and
// the Java patterns of TO_TIMESTAMP (parsePattern).

// ParseTimestamp reads the text of a TIMESTAMP literal or of a string
// CAST to TIMESTAMP: 'yyyy-M-d', optionally followed by a space or a 'T'
// and 'H:mm', then optionally ':ss' and a fraction of 1 to 9 digits;
// months, days and hours take one or two digits ('2024-01-02
// 03:04:05.5', '2024-1-2T03:04'). It returns the microseconds since the
// epoch (a finer fraction is truncated) and the number of fraction
// digits written; ok is false for any other text and for a date or time
// that does not exist (February 30, 24:00).
func ParseTimestamp(s []byte) (us int64, frac int, ok bool) {
	days, s, ok := parseDatePart(s)
	if !ok {
		return 0, 0, false
	}
	us = days * unitMicros[unitDay]
	if len(s) == 0 {
		return us, 0, true
	}
	if s[0] != ' ' && s[0] != 'T' {
		return 0, 0, false
	}
	h, s, ok := digits(s[1:], 1, 2)
	if !ok || h > 23 || len(s) == 0 || s[0] != ':' {
		return 0, 0, false
	}
	m, s, ok := digits(s[1:], 2, 2)
	if !ok || m > 59 {
		return 0, 0, false
	}
	us += int64(h)*unitMicros[unitHour] + int64(m)*unitMicros[unitMinute]
	if len(s) > 0 && s[0] == ':' {
		var sec int
		if sec, s, ok = digits(s[1:], 2, 2); !ok || sec > 59 {
			return 0, 0, false
		}
		us += int64(sec) * unitMicros[unitSecond]
		if len(s) > 0 && s[0] == '.' {
			var f int
			rest := s[1:]
			if f, s, ok = digits(rest, 1, 9); !ok {
				return 0, 0, false
			}
			frac = len(rest) - len(s)
			us += fracMicros(int64(f), frac)
		}
	}
	if len(s) != 0 {
		return 0, 0, false
	}
	return us, frac, true
}

// ParseDate reads the text of a DATE literal or of a string CAST to
// DATE, 'yyyy-M-d', as days since the epoch; ok is false for any other
// text and for a date that does not exist.
func ParseDate(s []byte) (days int64, ok bool) {
	days, s, ok = parseDatePart(s)
	return days, ok && len(s) == 0
}

// parseDatePart reads 'yyyy-M-d' at the start of s and returns its day
// since the epoch and the rest of s.
func parseDatePart(s []byte) (days int64, rest []byte, ok bool) {
	y, s, ok := digits(s, 4, 4)
	if !ok || len(s) == 0 || s[0] != '-' {
		return 0, nil, false
	}
	m, s, ok := digits(s[1:], 1, 2)
	if !ok || len(s) == 0 || s[0] != '-' {
		return 0, nil, false
	}
	d, s, ok := digits(s[1:], 1, 2)
	if !ok || !validDate(y, m, d) {
		return 0, nil, false
	}
	return floorDiv(time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC).Unix(), 86400), s, true
}

func validDate(y, m, d int) bool {
	return m >= 1 && m <= 12 && d >= 1 && d <= time.Date(y, time.Month(m)+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

// digits reads lo to hi ASCII digits (as many as there are, up to hi)
// at the start of s.
func digits(s []byte, lo, hi int) (x int, rest []byte, ok bool) {
	n := 0
	for n < len(s) && n < hi && s[n] >= '0' && s[n] <= '9' {
		x = x*10 + int(s[n]-'0')
		n++
	}
	return x, s[n:], n >= lo
}

// fracMicros converts a fraction of a second written with n digits to
// microseconds, truncating.
func fracMicros(f int64, n int) int64 {
	if n <= 6 {
		return f * pow10[6-n]
	}
	return f / pow10[n-6]
}

// parsePattern reads s as the Java pattern ops spells it (see
// compileTimePattern): yyyy is four digits, SSS three (milliseconds),
// every other field two, and literal text must match exactly. Fields
// the pattern lacks take their value at the epoch (1970, January, 1,
// midnight). ok is false when s does not match in full or names a date
// or time that does not exist.
func parsePattern(ops []timeOp, s []byte) (us int64, ok bool) {
	y, mo, d, h, mi, sec, ms := 1970, 1, 1, 0, 0, 0, 0
	for _, op := range ops {
		if op.field == 0 {
			if len(s) < len(op.lit) || string(s[:len(op.lit)]) != op.lit {
				return 0, false
			}
			s = s[len(op.lit):]
			continue
		}
		var x int
		if x, s, ok = digits(s, op.width, op.width); !ok {
			return 0, false
		}
		switch op.field {
		case 'y':
			y = x
		case 'M':
			mo = x
		case 'd':
			d = x
		case 'H':
			h = x
		case 'm':
			mi = x
		case 's':
			sec = x
		case 'S':
			ms = x
		}
	}
	if len(s) != 0 || !validDate(y, mo, d) || h > 23 || mi > 59 || sec > 59 {
		return 0, false
	}
	t := time.Date(y, time.Month(mo), d, h, mi, sec, 0, time.UTC)
	return t.UnixMicro() + int64(ms)*unitMicros[unitMillisecond], true
}
