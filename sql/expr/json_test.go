package expr

import (
	"errors"
	"testing"

	"github.com/sluice-sql/sluice/sql/types"
)

func TestJSONFunctions(t *testing.T) {
	s, j := types.String(), types.JSON()
	doc, path := col(0, s), col(1, s)
	b := newBatch(t, []types.Type{s, s, j},
		[]any{`{"a":{"b":[1,2]},"s":"x\"y","k.ey":"dot","é":"ü","n":null,"f":1.50,"t":true}`, "$.a.b[1]", `{"a":"j"}`},
		[]any{`[10, {"a": "ünï"}]`, "$[1].a", `"quoted"`},
		[]any{`not json`, "$.a", nil},
		[]any{nil, "$", `[1]`},
		[]any{`{"a":1}`, nil, `{}`})
	str := func(v string) *Const { return lit(v, s) }
	jv := func(p string) *Call { return call(t, FnJSONValue, doc, str(p)) }
	jx := func(p string) *Call { return call(t, FnJSONExtract, doc, str(p)) }
	null := &Const{T: types.NullType()}
	runCases(t, []evalCase{
		{name: "value index", e: jv("$.a.b[1]"), b: b, want: []string{"'2'", "NULL", "NULL", "NULL", "NULL"}},
		{name: "value nested unicode", e: jv("$[1].a"), b: b, want: []string{"NULL", "'ünï'", "NULL", "NULL", "NULL"}},
		{name: "value unescapes", e: jv("$.s"), b: b, want: []string{`'x"y'`, "NULL", "NULL", "NULL", "NULL"}},
		{name: "value quoted key", e: jv(`$."k.ey"`), b: b, want: []string{"'dot'", "NULL", "NULL", "NULL", "NULL"}},
		{name: "value unicode key", e: jv(`$.é`), b: b, want: []string{"'ü'", "NULL", "NULL", "NULL", "NULL"}},
		{name: "value number as written", e: jv("$.f"), b: b, want: []string{"'1.50'", "NULL", "NULL", "NULL", "NULL"}},
		{name: "value boolean", e: jv("$.t"), b: b, want: []string{"'true'", "NULL", "NULL", "NULL", "NULL"}},
		{name: "value json null", e: jv("$.n"), b: b, want: rep(5, "NULL")},
		{name: "value object", e: jv("$.a"), b: b, want: []string{"NULL", "NULL", "NULL", "NULL", "'1'"}},
		{name: "value index of object", e: jv("$.a[0]"), b: b, want: rep(5, "NULL")},
		{name: "value key of array", e: jv("$.0"), b: b, want: rep(5, "NULL")},
		{name: "value path per row", e: call(t, FnJSONValue, doc, path), b: b, want: []string{"'2'", "'ünï'", "NULL", "NULL", "NULL"}},
		{name: "value of JSON", e: call(t, FnJSONValue, col(2, j), str("$.a")), b: b, want: []string{"'j'", "NULL", "NULL", "NULL", "NULL"}},
		{name: "value null path", e: call(t, FnJSONValue, doc, null), b: b, want: rep(5, "NULL")},
		{name: "extract object", e: jx("$.a"), b: b, want: []string{`'{"b":[1,2]}'`, "NULL", "NULL", "NULL", "'1'"}},
		{name: "extract string keeps quotes", e: jx("$.s"), b: b, want: []string{`'"x\"y"'`, "NULL", "NULL", "NULL", "NULL"}},
		{name: "extract root", e: jx("$"), b: b, want: []string{
			`'{"a":{"b":[1,2]},"s":"x\"y","k.ey":"dot","é":"ü","n":null,"f":1.50,"t":true}'`,
			`'[10,{"a":"ünï"}]'`, "NULL", "NULL", `'{"a":1}'`}},
		{name: "extract json null", e: jx("$.n"), b: b, want: []string{"'null'", "NULL", "NULL", "NULL", "NULL"}},
		{name: "unquote extract", e: call(t, FnJSONUnquote, jx("$.s")), b: b, want: []string{`'x"y'`, "NULL", "NULL", "NULL", "NULL"}},
		{name: "unquote extract object", e: call(t, FnJSONUnquote, jx("$.a.b")), b: b, want: []string{"'[1,2]'", "NULL", "NULL", "NULL", "NULL"}},
		{name: "unquote", e: call(t, FnJSONUnquote, col(2, j)), b: b, want: []string{`'{"a":"j"}'`, "'quoted'", "NULL", "'[1]'", "'{}'"}},
		{name: "unquote not json", e: call(t, FnJSONUnquote, str(`"a`)), b: b, want: rep(5, `'"a'`)},
		{name: "bad path", e: jv("a.b"), b: b, wantErr: ErrBadJSONPath},
		{name: "wildcard path", e: jx("$.a[*]"), b: b, wantErr: ErrBadJSONPath},
		{name: "bad path per row", e: call(t, FnJSONValue, doc, call(t, FnConcat, path, str("["))), b: b, wantErr: ErrBadJSONPath},
	})
}

func TestParseJSONPath(t *testing.T) {
	steps, err := parseJSONPath(nil, []byte(`$.a[3]."b c".d`))
	if err != nil {
		t.Fatal(err)
	}
	want := []jsonStep{{"a", -1}, {"", 3}, {"b c", -1}, {"d", -1}}
	if len(steps) != len(want) {
		t.Fatalf("steps %v, want %v", steps, want)
	}
	for i := range want {
		if steps[i] != want[i] {
			t.Fatalf("steps %v, want %v", steps, want)
		}
	}
	for _, bad := range []string{"", "a", "$.", "$..a", "$[", "$[-1]", "$[x]", `$."a`, "$.*", "$a"} {
		if _, err := parseJSONPath(nil, []byte(bad)); !errors.Is(err, ErrBadJSONPath) {
			t.Errorf("%q: error %v, want ErrBadJSONPath", bad, err)
		}
	}
}

func TestJSONTypes(t *testing.T) {
	s, j, bi := types.String(), types.JSON(), types.BigInt()
	for _, c := range []struct {
		fn   string
		args []types.Type
		want types.Type
		ok   bool
	}{
		{FnJSONValue, []types.Type{s.WithNotNull(true), s.WithNotNull(true)}, s, true},
		{FnJSONExtract, []types.Type{j, s}, j, true},
		{FnJSONUnquote, []types.Type{j.WithNotNull(true)}, s.WithNotNull(true), true},
		{FnJSONValue, []types.Type{bi, s}, types.Type{}, false},
		{FnJSONValue, []types.Type{s, j}, types.Type{}, false},
		{FnJSONExtract, []types.Type{s}, types.Type{}, false},
		{FnLike, []types.Type{s, bi}, types.Type{}, false},
		{FnLike, []types.Type{s, s, s, s}, types.Type{}, false},
	} {
		got, err := ResultType(c.fn, c.args)
		if (err == nil) != c.ok || (c.ok && !got.Equal(c.want)) {
			t.Errorf("%s%v = %v, %v", c.fn, c.args, got, err)
		}
		if err != nil && !errors.Is(err, ErrArgumentType) {
			t.Errorf("%s%v: error %v, want ErrArgumentType", c.fn, c.args, err)
		}
	}
}
