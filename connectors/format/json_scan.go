package format

import (
	"bytes"
	"encoding/binary"
	"math/bits"

	"github.com/valyala/fastjson"
)

// scan is the JSON decoder's fast path: it reads a flat object into
// d.scanned in one pass over data, without copying it or building a parse
// tree, and reports whether it could. It takes only records on which it
// agrees with fastjson: keys without escapes; strings with at most the
// short escapes (not \u); numbers, true, false and null. Anything else
// (an escaped key, a \u escape, a nested value, NaN or Infinity as bare
// words, a syntax error) makes it return false, and the record goes to
// fastjson, which decides.
//
// Texts alias data (as fastjson's alias its copy of it) or, for a string
// with escapes, d.unescaped. Numbers are fastjson's raw number text (the
// characters 0-9 . - + e E), checked only when convert parses them.
func (d *jsonDecoder) scan(data []byte) bool {
	clear(d.scanned)
	i := skipJSONSpace(data, 0)
	if i >= len(data) || data[i] != '{' {
		return false
	}
	i = skipJSONSpace(data, i+1)
	if i < len(data) && data[i] == '}' {
		return skipJSONSpace(data, i+1) == len(data)
	}
	guess := 0 // records usually hold the columns in schema order
	for {
		if i >= len(data) || data[i] != '"' {
			return false
		}
		col := -1
		var next int
		if guess < len(d.keyEnds) && d.keyEnds[guess] != nil && bytes.HasPrefix(data[i+1:], d.keyEnds[guess]) {
			col, next = guess, i+1+len(d.keyEnds[guess])
		} else {
			key, n, ok := scanJSONString(data, i+1, nil)
			if !ok {
				return false
			}
			if c, found := d.index[string(key)]; found {
				col = c
			}
			next = n
		}
		if col >= 0 {
			guess = col + 1
		}
		i = skipJSONSpace(data, next)
		if i >= len(data) || data[i] != ':' {
			return false
		}
		i = skipJSONSpace(data, i+1)
		if i >= len(data) {
			return false
		}
		v := jsonValue{present: true}
		switch c := data[i]; {
		case c == '"':
			buf := &d.scratch
			if col >= 0 {
				buf = &d.unescaped[col]
			}
			var ok bool
			if v.text, i, ok = scanJSONString(data, i+1, buf); !ok {
				return false
			}
			v.t = fastjson.TypeString
		case c == 't':
			if !bytes.HasPrefix(data[i:], []byte("true")) {
				return false
			}
			v.t, i = fastjson.TypeTrue, i+len("true")
		case c == 'f':
			if !bytes.HasPrefix(data[i:], []byte("false")) {
				return false
			}
			v.t, i = fastjson.TypeFalse, i+len("false")
		case c == 'n':
			if !bytes.HasPrefix(data[i:], []byte("null")) {
				return false // or NaN, a number to fastjson
			}
			v.t, i = fastjson.TypeNull, i+len("null")
		default:
			j := i
			for j < len(data) && isJSONNumberByte(data[j]) {
				j++
			}
			if j == i {
				return false // an object, an array, Infinity, or not JSON
			}
			v.t, v.text, i = fastjson.TypeNumber, data[i:j], j
		}
		if col >= 0 {
			d.scanned[col] = v
		}
		i = skipJSONSpace(data, i)
		if i >= len(data) {
			return false
		}
		switch data[i] {
		case ',':
			i = skipJSONSpace(data, i+1)
			continue
		case '}':
			return skipJSONSpace(data, i+1) == len(data)
		}
		return false
	}
}

// scanJSONString returns the string whose text starts at data[i] (after
// the opening quote) and the index after its closing quote. A string with
// escapes is unescaped into *buf, and must then use only the short
// escapes (\" \\ \/ \b \f \n \r \t), which fastjson unescapes alike;
// ok is false for any other escape, for an escape when buf is nil, and
// for a string without its closing quote.
func scanJSONString(data []byte, i int, buf *[]byte) (s []byte, next int, ok bool) {
	j := indexQuoteOrBackslash(data, i)
	if j < len(data) && data[j] == '"' {
		return data[i:j], j + 1, true
	}
	if j == len(data) || buf == nil {
		return nil, 0, false
	}
	b := append((*buf)[:0], data[i:j]...)
	for {
		// data[j] is a backslash.
		if j+1 >= len(data) {
			return nil, 0, false
		}
		switch e := data[j+1]; e {
		case '"', '\\', '/':
			b = append(b, e)
		case 'b':
			b = append(b, '\b')
		case 'f':
			b = append(b, '\f')
		case 'n':
			b = append(b, '\n')
		case 'r':
			b = append(b, '\r')
		case 't':
			b = append(b, '\t')
		default:
			return nil, 0, false // \u and the escapes fastjson keeps as written
		}
		k := indexQuoteOrBackslash(data, j+2)
		b = append(b, data[j+2:k]...)
		if k == len(data) {
			return nil, 0, false
		}
		if data[k] == '"' {
			*buf = b
			return b, k + 1, true
		}
		j = k
	}
}

// indexQuoteOrBackslash returns the index of the first quote or backslash
// at or after i, or len(data) if there is none.
func indexQuoteOrBackslash(data []byte, i int) int {
	const (
		ones   = 0x0101010101010101
		highs  = 0x8080808080808080
		quotes = '"' * ones
		bslash = '\\' * ones
	)
	// Eight bytes at a time: a byte of w^quotes or w^bslash is zero
	// where w holds a quote or a backslash. The lowest flagged byte is
	// always a true match (borrows only flag bytes above one).
	for ; i+8 <= len(data); i += 8 {
		w := binary.LittleEndian.Uint64(data[i:])
		q, b := w^quotes, w^bslash
		if m := ((q-ones)&^q | (b-ones)&^b) & highs; m != 0 {
			return i + bits.TrailingZeros64(m)/8
		}
	}
	for ; i < len(data); i++ {
		if data[i] == '"' || data[i] == '\\' {
			return i
		}
	}
	return i
}

// skipJSONSpace returns the index of the first byte at or after i that
// is not JSON whitespace.
func skipJSONSpace(data []byte, i int) int {
	for i < len(data) {
		switch data[i] {
		case ' ', '\n', '\t', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// isJSONNumberByte reports whether c may be in a number as fastjson
// delimits numbers.
func isJSONNumberByte(c byte) bool {
	return c >= '0' && c <= '9' || c == '.' || c == '-' || c == '+' || c == 'e' || c == 'E'
}
