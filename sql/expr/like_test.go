package expr

import (
	"errors"
	"testing"

	"github.com/sluice-sql/sluice/sql/types"
)

func TestLikeMatch(t *testing.T) {
	for _, c := range []struct {
		pat, s string
		esc    rune
		want   bool
	}{
		{"Goo%", "Google", -1, true},
		{"Goo%", "goo", -1, false}, // case-sensitive
		{"%gle", "Google", -1, true},
		{"%ogl%", "Google", -1, true},
		{"%", "", -1, true},
		{"", "", -1, true},
		{"", "a", -1, false},
		{"Google", "Google", -1, true},
		{"G_ogle", "Google", -1, true},
		{"h_llo", "héllo", -1, true}, // _ is one character, not one byte
		{"h__llo", "héllo", -1, false},
		{"%ö_d", "wörld wöld", -1, true},
		{"a%b%c", "aXbYbZc", -1, true},
		{"a%b%c", "aXbYbZ", -1, false},
		{"%a%a%a%b", "aaaaaaaaaaaaaaaaaaab", -1, true},
		{"_%_", "x", -1, false},
		{"_%_", "xy", -1, true},
		{"%channel_id%", "https://x.com/?channel_id=3&p=1", -1, true},
		{`100!%`, "100%", '!', true},
		{`100!%`, "1000", '!', false},
		{`a!_b`, "a_b", '!', true},
		{`a!_b`, "axb", '!', false},
		{`a!!%`, "a!xyz", '!', true},
		{`%é%%`, "x%", 'é', true},
		{`a\%`, `a\bc`, -1, true}, // no default escape character
	} {
		var m likeMatcher
		if err := m.parse([]byte(c.pat), c.esc); err != nil {
			t.Fatalf("%q: %v", c.pat, err)
		}
		if got := m.match([]byte(c.s)); got != c.want {
			t.Errorf("%q LIKE %q (escape %q) = %v, want %v (mode %c)", c.s, c.pat, c.esc, got, c.want, m.mode)
		}
	}
	for _, bad := range []string{"a!", "a!b"} {
		var m likeMatcher
		if err := m.parse([]byte(bad), '!'); !errors.Is(err, ErrBadPattern) {
			t.Errorf("%q ESCAPE '!': error %v, want ErrBadPattern", bad, err)
		}
	}
}

func TestLikeFunctions(t *testing.T) {
	s := types.String()
	x, p := col(0, s), col(1, s)
	b := newBatch(t, []types.Type{s, s},
		[]any{"Google", "G%"}, []any{"héllo", "h_llo"}, []any{nil, "%"}, []any{"abc", nil}, []any{"ab", "a_c"})
	str := func(v string) *Const { return lit(v, s) }
	null := &Const{T: types.NullType()}
	runCases(t, []evalCase{
		{name: "constant prefix", e: call(t, FnLike, x, str("Goo%")), b: b, want: []string{"TRUE", "FALSE", "NULL", "FALSE", "FALSE"}},
		{name: "constant general", e: call(t, FnLike, x, str("_%l%")), b: b, want: []string{"TRUE", "TRUE", "NULL", "FALSE", "FALSE"}},
		{name: "pattern per row", e: call(t, FnLike, x, p), b: b, want: []string{"TRUE", "TRUE", "NULL", "NULL", "FALSE"}},
		{name: "null pattern", e: call(t, FnLike, x, null), b: b, want: rep(5, "NULL")},
		{name: "escape", e: call(t, FnLike, str("50%"), str("50#%"), str("#")), b: b, want: rep(5, "TRUE")},
		{name: "bad escape", e: call(t, FnLike, x, str("a"), str("##")), b: b, wantErr: ErrBadPattern},
		{name: "bad pattern", e: call(t, FnLike, x, str("a#"), str("#")), b: b, wantErr: ErrBadPattern},
		{name: "bad pattern per row", e: call(t, FnLike, x, call(t, FnConcat, p, str("#"))), b: b, want: []string{"FALSE", "FALSE", "NULL", "NULL", "FALSE"}},
		{name: "bad escape per row", e: call(t, FnLike, x, call(t, FnConcat, p, str("#")), str("#")), b: b, wantErr: ErrBadPattern},
		{name: "regexp", e: call(t, FnRegexpLike, x, str("^h.l+o$")), b: b, want: []string{"FALSE", "TRUE", "NULL", "FALSE", "FALSE"}},
		{name: "regexp finds anywhere", e: call(t, FnRegexpLike, x, str("o+g")), b: b, want: []string{"TRUE", "FALSE", "NULL", "FALSE", "FALSE"}},
		{name: "regexp unicode class", e: call(t, FnRegexpLike, x, str(`^\p{Ll}é`)), b: b, want: []string{"FALSE", "TRUE", "NULL", "FALSE", "FALSE"}},
		{name: "regexp per row", e: call(t, FnRegexpLike, x, p), b: b, want: []string{"FALSE", "FALSE", "NULL", "NULL", "FALSE"}},
		{name: "regexp null", e: call(t, FnRegexpLike, null, str("a")), b: b, want: rep(5, "NULL")},
		{name: "bad regexp", e: call(t, FnRegexpLike, x, str("(a")), b: b, wantErr: ErrBadPattern},
		{name: "bad regexp per row", e: call(t, FnRegexpLike, x, call(t, FnConcat, p, str("("))), b: b, wantErr: ErrBadPattern},
	})
}

// A constant pattern's error names the argument, for the binder to
// point at.
func TestCheckCall(t *testing.T) {
	s := types.String()
	for _, c := range []struct {
		e   *Call
		arg int
	}{
		{call(t, FnRegexpLike, col(0, s), lit("a)", s)), 1},
		{call(t, FnLike, col(0, s), lit("a", s), lit("", s)), 2},
		{call(t, FnJSONValue, col(0, s), lit("a.b", s)), 1},
		{call(t, FnRegexpLike, col(0, s), lit("a", s)), -1},
		{call(t, FnRegexpLike, col(0, s), col(0, s)), -1},
	} {
		err := CheckCall(c.e)
		var ae *ArgError
		switch {
		case c.arg < 0 && err != nil:
			t.Errorf("%s: %v", c.e, err)
		case c.arg >= 0 && (!errors.As(err, &ae) || ae.Arg != c.arg):
			t.Errorf("%s: %v, want an ArgError for argument %d", c.e, err, c.arg)
		}
	}
}

// A constant LIKE or JSON path costs nothing per batch once compiled.
// (A document that is not JSON does: the parser builds its error.)
func TestPatternsDoNotAllocate(t *testing.T) {
	s := types.String()
	b := newBatch(t, []types.Type{s}, []any{`{"a":{"b":[1,"x"]}}`}, []any{`"héllo"`}, []any{nil})
	for _, e := range []Expr{
		call(t, FnLike, col(0, s), lit("%é_l%", s)),
		call(t, FnRegexpLike, col(0, s), lit("l+", s)),
		call(t, FnJSONValue, col(0, s), lit("$.a.b[1]", s)),
		call(t, FnJSONExtract, col(0, s), lit("$.a", s)),
	} {
		ev, err := Compile(e)
		if err != nil {
			t.Fatal(err)
		}
		var out types.Vector
		if n := testing.AllocsPerRun(20, func() {
			if err := ev.Eval(b, &out); err != nil {
				t.Fatal(err)
			}
		}); n > 0 {
			t.Errorf("%s: %v allocations per Eval", e, n)
		}
	}
}
