package expr

import (
	"bytes"
	"errors"
	"fmt"
	"regexp"
	"regexp/syntax"
	"unicode/utf8"

	"github.com/sluice-sql/sluice/sql/types"
)

// The pattern-matching functions. Both are strict: NULL when an argument
// is NULL. A constant pattern is compiled once, with Compile; a pattern
// computed per row is compiled when it differs from the previous row's.
const (
	// FnLike is s LIKE pattern [ESCAPE e], case-sensitive. % matches any
	// run of characters and _ exactly one character (a UTF-8 code point).
	// There is no escape character unless ESCAPE names one (Flink and
	// the SQL standard, not MySQL's default backslash); it must be one
	// character and may only precede %, _ or itself.
	FnLike = "LIKE"
	// FnRegexpLike is REGEXP_LIKE(s, pattern): whether the RE2 pattern
	// (Go's regexp syntax) matches anywhere in s.
	FnRegexpLike = "REGEXP_LIKE"
)

// ErrBadPattern classifies (errors.Is) the errors for a malformed LIKE pattern,
// ESCAPE character or regular expression.
var ErrBadPattern = errors.New("bad pattern")

// sentinelError is an error whose message stands alone yet which
// errors.Is classifies as its sentinel.
type sentinelError struct {
	sentinel error
	msg      string
}

func (e *sentinelError) Error() string { return e.msg }

func (e *sentinelError) Is(target error) bool { return target == e.sentinel }

func badPattern(format string, args ...any) error {
	return &sentinelError{ErrBadPattern, fmt.Sprintf(format, args...)}
}

// ArgError is the error of a constant argument that a function rejects
// when compiled: a bad pattern or JSON path. Arg is its index in
// Call.Args, so that the binder can point at it.
type ArgError struct {
	Fn  string
	Arg int
	Err error
}

func (e *ArgError) Error() string { return e.Err.Error() }

func (e *ArgError) Unwrap() error { return e.Err }

// CheckCall compiles the constant arguments of c that its function
// parses once (patterns, JSON paths) and returns the first rejection as
// an *ArgError, or nil. Other problems are left to Compile.
func CheckCall(c *Call) error {
	switch c.Fn {
	case FnLike, FnRegexpLike, FnJSONValue, FnJSONExtract, FnDateFormat, FnToTimestamp:
	default:
		return nil
	}
	_, err := Compile(c)
	var ae *ArgError
	if errors.As(err, &ae) {
		return ae
	}
	return nil
}

// constBytes returns the value of e when it is a constant string (null
// set for NULL).
func constBytes(e Expr) (s []byte, null, ok bool) {
	if varies(e) {
		return nil, false, false
	}
	sc, ok, err := fold(e)
	if err != nil || !ok {
		return nil, false, false
	}
	return sc.s, sc.null, true
}

var likeBuiltins = map[string]builtin{
	FnLike:       {stringRule(2, 3, types.Boolean(), isStringArg), compileLike},
	FnRegexpLike: {stringRule(2, 2, types.Boolean(), isStringArg), compileRegexpLike},
}

// likeElem is one element of a parsed LIKE pattern.
type likeElem struct {
	kind byte   // 'c' one literal character, '_' any character, '%' any run
	lit  []byte // the character, for 'c'
}

// likeMatcher matches strings against one parsed LIKE pattern. Patterns
// of literal text with % only at the ends take a fast path.
type likeMatcher struct {
	mode  byte // '=' exact, '<' prefix, '>' suffix, '~' contains, '*' anything, 'g' general
	lit   []byte
	elems []likeElem
}

// likeEscape checks an ESCAPE argument: one character, or none.
func likeEscape(esc []byte) (rune, error) {
	r, n := utf8.DecodeRune(esc)
	if n == 0 || n != len(esc) || r == utf8.RuneError {
		return 0, badPattern("ESCAPE must be one character, not %q", esc)
	}
	return r, nil
}

// parse compiles pattern into m, reusing m's storage. escape < 0 means
// there is no escape character.
func (m *likeMatcher) parse(pattern []byte, escape rune) error {
	m.elems = m.elems[:0]
	m.lit = m.lit[:0]
	for i := 0; i < len(pattern); {
		r, n := utf8.DecodeRune(pattern[i:])
		switch {
		case escape >= 0 && r == escape:
			if i+n >= len(pattern) {
				return badPattern("LIKE pattern %q ends with its escape character", pattern)
			}
			r2, n2 := utf8.DecodeRune(pattern[i+n:])
			if r2 != '%' && r2 != '_' && r2 != escape {
				return badPattern("in LIKE pattern %q the escape character precedes %q, not %%, _ or itself", pattern, r2)
			}
			m.elems = append(m.elems, likeElem{kind: 'c', lit: pattern[i+n : i+n+n2]})
			n += n2
		case r == '%':
			if k := len(m.elems); k == 0 || m.elems[k-1].kind != '%' {
				m.elems = append(m.elems, likeElem{kind: '%'})
			}
		case r == '_':
			m.elems = append(m.elems, likeElem{kind: '_'})
		default:
			m.elems = append(m.elems, likeElem{kind: 'c', lit: pattern[i : i+n]})
		}
		i += n
	}
	m.classify()
	return nil
}

// classify picks the fast path of the parsed pattern, if any.
func (m *likeMatcher) classify() {
	e := m.elems
	lead := len(e) > 0 && e[0].kind == '%'
	trail := len(e) > 1 && e[len(e)-1].kind == '%'
	inner := e
	if lead {
		inner = inner[1:]
	}
	if trail {
		inner = inner[:len(inner)-1]
	}
	for _, x := range inner {
		if x.kind != 'c' {
			m.mode = 'g'
			return
		}
		m.lit = append(m.lit, x.lit...)
	}
	switch {
	case lead && len(inner) == 0:
		m.mode = '*'
	case lead && trail:
		m.mode = '~'
	case lead:
		m.mode = '>'
	case trail:
		m.mode = '<'
	default:
		m.mode = '='
	}
}

func (m *likeMatcher) match(s []byte) bool {
	switch m.mode {
	case '=':
		return bytes.Equal(s, m.lit)
	case '<':
		return bytes.HasPrefix(s, m.lit)
	case '>':
		return bytes.HasSuffix(s, m.lit)
	case '~':
		return bytes.Contains(s, m.lit)
	case '*':
		return true
	}
	return likeMatch(m.elems, s)
}

// likeMatch is the greedy wildcard match with backtracking to the last
// %, linear in practice and O(len(p)·len(s)) at worst.
func likeMatch(p []likeElem, s []byte) bool {
	pi, si := 0, 0
	star, starS := -1, 0
	for si < len(s) {
		if pi < len(p) {
			switch e := p[pi]; e.kind {
			case '%':
				star, starS = pi, si
				pi++
				continue
			case '_':
				_, n := utf8.DecodeRune(s[si:])
				pi, si = pi+1, si+n
				continue
			default:
				if bytes.HasPrefix(s[si:], e.lit) {
					pi, si = pi+1, si+len(e.lit)
					continue
				}
			}
		}
		if star < 0 {
			return false
		}
		_, n := utf8.DecodeRune(s[starS:])
		starS += n
		pi, si = star+1, starS
	}
	for pi < len(p) && p[pi].kind == '%' {
		pi++
	}
	return pi == len(p)
}

func compileLike(c *Call, rt types.Type) (Evaluator, error) {
	escape := rune(-1)
	if len(c.Args) == 3 {
		esc, null, ok := constBytes(c.Args[2])
		if !ok {
			return nil, fmt.Errorf("%w: ESCAPE must be a constant", ErrArgumentType)
		}
		if null {
			return &constEval{s: &scalar{t: rt, null: true}}, nil
		}
		r, err := likeEscape(esc)
		if err != nil {
			return nil, &ArgError{Fn: c.Fn, Arg: 2, Err: err}
		}
		escape = r
	}
	args := c.Args[:2]
	m := &likeMatcher{}
	if pat, null, ok := constBytes(args[1]); ok {
		if null {
			return &constEval{s: &scalar{t: rt, null: true}}, nil
		}
		if err := m.parse(pat, escape); err != nil {
			return nil, &ArgError{Fn: c.Fn, Arg: 1, Err: err}
		}
		return newRowFunc(c.Fn, rt, true, args[:1], strTypes(c)[:1], func(out *types.Vector, a []*types.Vector, i int) error {
			out.AppendBool(m.match(a[0].Bytes(i)))
			return nil
		})
	}
	var last []byte // the pattern m holds, owned
	parsed := false
	return newRowFunc(c.Fn, rt, true, args, strTypes(c)[:2], func(out *types.Vector, a []*types.Vector, i int) error {
		if p := a[1].Bytes(i); !parsed || !bytes.Equal(p, last) {
			last = append(last[:0], p...)
			parsed = false
			if err := m.parse(last, escape); err != nil {
				return err
			}
			parsed = true
		}
		out.AppendBool(m.match(a[0].Bytes(i)))
		return nil
	})
}

// compileRegexp compiles a REGEXP_LIKE pattern.
func compileRegexp(p []byte) (*regexp.Regexp, error) {
	re, err := regexp.Compile(string(p))
	if err != nil {
		msg := err.Error()
		var se *syntax.Error
		if errors.As(err, &se) {
			msg = se.Code.String()
			if se.Expr != "" && se.Expr != string(p) {
				msg += ": " + se.Expr
			}
		}
		return nil, badPattern("invalid regular expression %q: %s", p, msg)
	}
	return re, nil
}

func compileRegexpLike(c *Call, rt types.Type) (Evaluator, error) {
	ts := strTypes(c)
	if pat, null, ok := constBytes(c.Args[1]); ok {
		if null {
			return &constEval{s: &scalar{t: rt, null: true}}, nil
		}
		re, err := compileRegexp(pat)
		if err != nil {
			return nil, &ArgError{Fn: c.Fn, Arg: 1, Err: err}
		}
		return newRowFunc(c.Fn, rt, true, c.Args[:1], ts[:1], func(out *types.Vector, a []*types.Vector, i int) error {
			out.AppendBool(re.Match(a[0].Bytes(i)))
			return nil
		})
	}
	var re *regexp.Regexp
	var last []byte
	return newRowFunc(c.Fn, rt, true, c.Args, ts, func(out *types.Vector, a []*types.Vector, i int) error {
		if p := a[1].Bytes(i); re == nil || !bytes.Equal(p, last) {
			r, err := compileRegexp(p)
			if err != nil {
				re = nil
				return err
			}
			re, last = r, append(last[:0], p...)
		}
		out.AppendBool(re.Match(a[0].Bytes(i)))
		return nil
	})
}
