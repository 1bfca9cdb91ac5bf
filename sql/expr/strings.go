package expr

import (
	"bytes"
	"unicode"
	"unicode/utf8"

	"github.com/sluice-sql/sluice/sql/types"
)

// The string functions. Positions and lengths count characters (UTF-8
// code points), never bytes. Every one is NULL when an argument is NULL,
// except CONCAT_WS, which skips NULL strings.
const (
	FnConcat     = "CONCAT"      // NULL if any argument is NULL (Flink)
	FnConcatWs   = "CONCAT_WS"   // sep, s...: NULL only if sep is
	FnUpper      = "UPPER"       // Unicode simple case mapping
	FnLower      = "LOWER"       //
	FnTrim       = "TRIM"        // s [, chars]: strips chars (spaces by default) at both ends; see trim
	FnLTrim      = "LTRIM"       // s [, chars]: at the start
	FnRTrim      = "RTRIM"       // s [, chars]: at the end
	FnCharLength = "CHAR_LENGTH" // characters; LENGTH is the same
	FnSubstring  = "SUBSTRING"   // s, pos [, len]; see substring
	FnReplace    = "REPLACE"     // s, from, to; from '' leaves s as is
	FnPosition   = "POSITION"    // sub, s: 1-based, 0 if absent, 1 for ''
	FnLocate     = "LOCATE"      // sub, s [, from]
	FnLPad       = "LPAD"        // s, len, pad; see pad
	FnRPad       = "RPAD"        //
	FnSplitPart  = "SPLIT_PART"  // s, delim, n; see splitPart
)

func stringRule(lo, hi int, rt types.Type, preds ...func(types.Type) bool) rule {
	return func(a []types.Type) (types.Type, error) {
		if err := argRange(a, lo, hi); err != nil {
			return types.Type{}, err
		}
		if err := wantArgs(a, preds...); err != nil {
			return types.Type{}, err
		}
		return rt.WithNotNull(allNotNull(a)), nil
	}
}

// strTypes is the cast target of each argument: STRING, or BIGINT for
// positions and counts.
func strTypes(c *Call) []types.Type {
	ts := make([]types.Type, len(c.Args))
	for i, a := range c.Args {
		if a.Type().Kind == types.KindInt {
			ts[i] = types.BigInt()
		} else {
			ts[i] = types.String()
		}
	}
	return ts
}

// strFunc compiles a strict function computing a string from row i into
// buf, which it returns extended (ok false: NULL).
func strFunc(f func(buf []byte, a []*types.Vector, i int) ([]byte, bool)) func(*Call, types.Type) (Evaluator, error) {
	return func(c *Call, rt types.Type) (Evaluator, error) {
		var buf []byte
		return newRowFunc(c.Fn, rt, true, c.Args, strTypes(c), func(out *types.Vector, a []*types.Vector, i int) error {
			var ok bool
			buf, ok = f(buf[:0], a, i)
			if ok {
				out.AppendBytes(buf)
			} else {
				out.AppendNull()
			}
			return nil
		})
	}
}

// intFunc compiles a strict function computing an integer from row i.
func intFunc(f func(a []*types.Vector, i int) int64) func(*Call, types.Type) (Evaluator, error) {
	return func(c *Call, rt types.Type) (Evaluator, error) {
		return newRowFunc(c.Fn, rt, true, c.Args, strTypes(c), func(out *types.Vector, a []*types.Vector, i int) error {
			out.AppendInt(f(a, i))
			return nil
		})
	}
}

var stringBuiltins = func() map[string]builtin {
	str, num := isStringArg, isIntArg
	s := types.String()
	m := map[string]builtin{
		FnConcat: {stringRule(1, -1, s, str), strFunc(func(buf []byte, a []*types.Vector, i int) ([]byte, bool) {
			for _, v := range a {
				buf = append(buf, v.Bytes(i)...)
			}
			return buf, true
		})},
		FnConcatWs: {func(a []types.Type) (types.Type, error) {
			if err := argRange(a, 2, -1); err != nil {
				return types.Type{}, err
			}
			if err := wantArgs(a, str); err != nil {
				return types.Type{}, err
			}
			return s.WithNotNull(a[0].NotNull), nil
		}, compileConcatWs},
		FnUpper: {stringRule(1, 1, s, str), strFunc(func(buf []byte, a []*types.Vector, i int) ([]byte, bool) {
			return mapRunes(buf, a[0].Bytes(i), unicode.ToUpper), true
		})},
		FnLower: {stringRule(1, 1, s, str), strFunc(func(buf []byte, a []*types.Vector, i int) ([]byte, bool) {
			return mapRunes(buf, a[0].Bytes(i), unicode.ToLower), true
		})},
		FnTrim:  {stringRule(1, 2, s, str), strFunc(trimFunc(true, true))},
		FnLTrim: {stringRule(1, 2, s, str), strFunc(trimFunc(true, false))},
		FnRTrim: {stringRule(1, 2, s, str), strFunc(trimFunc(false, true))},
		FnCharLength: {stringRule(1, 1, types.Int(), str), intFunc(func(a []*types.Vector, i int) int64 {
			return int64(utf8.RuneCount(a[0].Bytes(i)))
		})},
		FnSubstring: {stringRule(2, 3, s, str, num), strFunc(func(buf []byte, a []*types.Vector, i int) ([]byte, bool) {
			n := int64(-1)
			if len(a) == 3 {
				n = max(a[2].Ints[i], 0)
			}
			return append(buf, substring(a[0].Bytes(i), a[1].Ints[i], n)...), true
		})},
		FnReplace: {stringRule(3, 3, s, str), strFunc(func(buf []byte, a []*types.Vector, i int) ([]byte, bool) {
			return replace(buf, a[0].Bytes(i), a[1].Bytes(i), a[2].Bytes(i)), true
		})},
		FnPosition: {stringRule(2, 2, types.Int(), str), intFunc(func(a []*types.Vector, i int) int64 {
			return locate(a[0].Bytes(i), a[1].Bytes(i), 1)
		})},
		FnLocate: {stringRule(2, 3, types.Int(), str, str, num), intFunc(func(a []*types.Vector, i int) int64 {
			from := int64(1)
			if len(a) == 3 {
				from = a[2].Ints[i]
			}
			return locate(a[0].Bytes(i), a[1].Bytes(i), from)
		})},
		FnLPad: {padRule, strFunc(func(buf []byte, a []*types.Vector, i int) ([]byte, bool) {
			return pad(buf, a[0].Bytes(i), a[1].Ints[i], a[2].Bytes(i), true)
		})},
		FnRPad: {padRule, strFunc(func(buf []byte, a []*types.Vector, i int) ([]byte, bool) {
			return pad(buf, a[0].Bytes(i), a[1].Ints[i], a[2].Bytes(i), false)
		})},
		FnSplitPart: {func(a []types.Type) (types.Type, error) {
			if err := argRange(a, 3, 3); err != nil {
				return types.Type{}, err
			}
			return s, wantArgs(a, str, str, num)
		}, strFunc(func(buf []byte, a []*types.Vector, i int) ([]byte, bool) {
			p, ok := splitPart(a[0].Bytes(i), a[1].Bytes(i), a[2].Ints[i])
			return append(buf, p...), ok
		})},
	}
	return m
}()

// padRule types LPAD and RPAD: NULL for a negative length or an empty
// pad, so always nullable.
func padRule(a []types.Type) (types.Type, error) {
	if err := argRange(a, 3, 3); err != nil {
		return types.Type{}, err
	}
	return types.String(), wantArgs(a, isStringArg, isIntArg, isStringArg)
}

func compileConcatWs(c *Call, rt types.Type) (Evaluator, error) {
	var buf []byte
	return newRowFunc(c.Fn, rt, false, c.Args, strTypes(c), func(out *types.Vector, a []*types.Vector, i int) error {
		if a[0].IsNull(i) {
			out.AppendNull()
			return nil
		}
		sep := a[0].Bytes(i)
		buf = buf[:0]
		first := true
		for _, v := range a[1:] {
			if v.IsNull(i) {
				continue
			}
			if !first {
				buf = append(buf, sep...)
			}
			first = false
			buf = append(buf, v.Bytes(i)...)
		}
		out.AppendBytes(buf)
		return nil
	})
}

// trimFunc is TRIM (both ends), LTRIM (left) or RTRIM (right) of
// row i: see trim.
func trimFunc(left, right bool) func(buf []byte, a []*types.Vector, i int) ([]byte, bool) {
	space := []byte(" ")
	return func(buf []byte, a []*types.Vector, i int) ([]byte, bool) {
		chars := space
		if len(a) == 2 {
			chars = a[1].Bytes(i)
		}
		return append(buf, trim(a[0].Bytes(i), chars, left, right)...), true
	}
}

// trim strips from the start (left) and the end (right) of s every
// character that is one of chars, as Flink (Calcite) does:
// TRIM(BOTH 'ab' FROM 'abcba') is 'c'. MySQL would strip 'ab' only as
// a whole string.
func trim(s, chars []byte, left, right bool) []byte {
	if len(chars) == 0 {
		return s
	}
	if right {
		for len(s) > 0 {
			r, n := utf8.DecodeLastRune(s)
			if !containsChar(chars, s[len(s)-n:], r) {
				break
			}
			s = s[:len(s)-n]
		}
	}
	if left {
		for len(s) > 0 {
			r, n := utf8.DecodeRune(s)
			if !containsChar(chars, s[:n], r) {
				break
			}
			s = s[n:]
		}
	}
	return s
}

// containsChar reports whether chars holds the character c (r decoded,
// or utf8.RuneError for an invalid byte, which is matched as a byte).
func containsChar(chars, c []byte, r rune) bool {
	if r == utf8.RuneError && len(c) == 1 {
		return bytes.IndexByte(chars, c[0]) >= 0
	}
	return bytes.Contains(chars, c)
}

// mapRunes appends s with f applied to every character; bytes that are
// not valid UTF-8 are kept as they are.
func mapRunes(buf, s []byte, f func(rune) rune) []byte {
	for len(s) > 0 {
		if c := s[0]; c < utf8.RuneSelf {
			buf = append(buf, byte(f(rune(c))))
			s = s[1:]
			continue
		}
		r, n := utf8.DecodeRune(s)
		if r == utf8.RuneError && n <= 1 {
			buf = append(buf, s[0])
			s = s[1:]
			continue
		}
		buf = utf8.AppendRune(buf, f(r))
		s = s[n:]
	}
	return buf
}

// byteOffset returns the byte offset of character k (0-based) of s, or
// len(s) when s has k characters or fewer.
func byteOffset(s []byte, k int64) int {
	off := 0
	for ; k > 0 && off < len(s); k-- {
		if s[off] < utf8.RuneSelf {
			off++
			continue
		}
		_, n := utf8.DecodeRune(s[off:])
		off += n
	}
	return off
}

// substring is Flink's SUBSTRING (Spark's substringSQL): pos is 1-based,
// 0 acts as 1, a negative pos counts from the end; n < 0 means to the
// end. Characters before the start of s are cut, not padded.
func substring(s []byte, pos, n int64) []byte {
	start := int64(0)
	switch {
	case pos > 0:
		start = pos - 1
	case pos < 0:
		start = int64(utf8.RuneCount(s)) + pos
	}
	end := int64(-1)
	if n >= 0 {
		end = start + n
	}
	start = max(start, 0)
	if end >= 0 && start >= end {
		return nil
	}
	b := byteOffset(s, start)
	if end < 0 {
		return s[b:]
	}
	return s[b : b+byteOffset(s[b:], end-start)]
}

// replace appends s with every from replaced by to.
func replace(buf, s, from, to []byte) []byte {
	if len(from) == 0 {
		return append(buf, s...)
	}
	for {
		j := bytes.Index(s, from)
		if j < 0 {
			return append(buf, s...)
		}
		buf = append(buf, s[:j]...)
		buf = append(buf, to...)
		s = s[j+len(from):]
	}
}

// locate is the 1-based character position of the first sub in s at or
// after character from, or 0. An empty sub is found at from when from is
// within s (or one past its end).
func locate(sub, s []byte, from int64) int64 {
	if from < 1 {
		return 0
	}
	b := byteOffset(s, from-1)
	if b == len(s) && int64(utf8.RuneCount(s)) < from-1 {
		return 0
	}
	j := bytes.Index(s[b:], sub)
	if j < 0 {
		return 0
	}
	return from + int64(utf8.RuneCount(s[b:b+j]))
}

// pad is Flink's LPAD and RPAD: NULL for n < 0 or an empty pad; s is
// cut to n characters when longer, else padded with pad repeated (and
// cut) to n characters.
func pad(buf, s []byte, n int64, p []byte, left bool) ([]byte, bool) {
	if n < 0 || len(p) == 0 {
		return buf, false
	}
	sl := int64(utf8.RuneCount(s))
	if sl >= n {
		return append(buf, s[:byteOffset(s, n)]...), true
	}
	if !left {
		buf = append(buf, s...)
	}
	for need := n - sl; need > 0; {
		pl := int64(utf8.RuneCount(p))
		if pl <= need {
			buf = append(buf, p...)
			need -= pl
			continue
		}
		buf = append(buf, p[:byteOffset(p, need)]...)
		break
	}
	if left {
		buf = append(buf, s...)
	}
	return buf, true
}

// splitPart is PostgreSQL's split_part: field n (1-based; negative counts
// from the end) of s split on delim, ” when there is no such field. An
// empty delim makes s its only field. Field 0 is NULL (PostgreSQL raises
// an error; a stream should not fail on one bad row).
func splitPart(s, delim []byte, n int64) ([]byte, bool) {
	if n == 0 {
		return nil, false
	}
	if len(delim) == 0 {
		if n == 1 || n == -1 {
			return s, true
		}
		return nil, true
	}
	if n < 0 {
		n = int64(bytes.Count(s, delim)) + 1 + n + 1
		if n < 1 {
			return nil, true
		}
	}
	for ; n > 1; n-- {
		j := bytes.Index(s, delim)
		if j < 0 {
			return nil, true
		}
		s = s[j+len(delim):]
	}
	if j := bytes.Index(s, delim); j >= 0 {
		s = s[:j]
	}
	return s, true
}
