package expr

import (
	"testing"

	"github.com/sluice-sql/sluice/sql/types"
)

func TestStringFunctions(t *testing.T) {
	s, bi := types.String(), types.BigInt()
	x, y, n := col(0, s), col(1, s), col(2, bi)
	b := newBatch(t, []types.Type{s, s, bi},
		[]any{"Google", "o", 2}, []any{"héllo wörld", "ö", -3}, []any{nil, "x", 1}, []any{"", nil, nil}, []any{"a,b,,c", ",", 3})
	str := func(v string) *Const { return lit(v, s) }
	num := func(v int64) *Const { return lit(v, bi) }
	null := &Const{T: types.NullType()}
	runCases(t, []evalCase{
		{name: "upper", e: call(t, FnUpper, x), b: b, want: []string{"'GOOGLE'", "'HÉLLO WÖRLD'", "NULL", "''", "'A,B,,C'"}},
		{name: "lower", e: call(t, FnLower, str("ÀÉÎ Σ")), b: b, want: rep(5, "'àéî σ'")},
		{name: "lower keeps invalid utf8", e: call(t, FnLower, str("A\xffB")), b: b, want: rep(5, "'a\xffb'")},
		{name: "concat strict", e: call(t, FnConcat, x, str("-"), y), b: b, want: []string{"'Google-o'", "'héllo wörld-ö'", "NULL", "NULL", "'a,b,,c-,'"}},
		{name: "concat_ws skips nulls", e: call(t, FnConcatWs, str("|"), x, y), b: b, want: []string{"'Google|o'", "'héllo wörld|ö'", "'x'", "''", "'a,b,,c|,'"}},
		{name: "concat_ws null sep", e: call(t, FnConcatWs, null, x), b: b, want: rep(5, "NULL")},
		{name: "char_length", e: call(t, FnCharLength, x), b: b, want: []string{"6", "11", "NULL", "0", "6"}},
		{name: "trim", e: call(t, FnTrim, str("  a b \t ")), b: b, want: rep(5, "'a b \t'")},
		{name: "ltrim rtrim", e: call(t, FnConcat, call(t, FnLTrim, str(" a ")), call(t, FnRTrim, str(" b "))), b: b, want: rep(5, "'a  b'")},
		{name: "substring", e: call(t, FnSubstring, x, n), b: b, want: []string{"'oogle'", "'rld'", "NULL", "NULL", "'b,,c'"}},
		{name: "substring len", e: call(t, FnSubstring, x, n, num(2)), b: b, want: []string{"'oo'", "'rl'", "NULL", "NULL", "'b,'"}},
		{name: "substring before start", e: call(t, FnSubstring, str("abc"), num(-5), num(3)), b: b, want: rep(5, "'a'")},
		{name: "substring past end", e: call(t, FnSubstring, str("ü"), num(2)), b: b, want: rep(5, "''")},
		{name: "replace", e: call(t, FnReplace, x, y, str("ØØ")), b: b, want: []string{"'GØØØØgle'", "'héllo wØØrld'", "NULL", "NULL", "'aØØbØØØØc'"}},
		{name: "replace empty", e: call(t, FnReplace, str("ab"), str(""), str("x")), b: b, want: rep(5, "'ab'")},
		{name: "position", e: call(t, FnPosition, y, x), b: b, want: []string{"2", "8", "NULL", "NULL", "2"}},
		{name: "position empty", e: call(t, FnPosition, str(""), str("")), b: b, want: rep(5, "1")},
		{name: "locate from", e: call(t, FnLocate, str("o"), x, num(3)), b: b, want: []string{"3", "5", "NULL", "0", "0"}},
		{name: "lpad", e: call(t, FnLPad, x, num(8), str("é*")), b: b, want: []string{"'é*Google'", "'héllo wö'", "NULL", "'é*é*é*é*'", "'é*a,b,,c'"}},
		{name: "rpad odd", e: call(t, FnRPad, str("ab"), num(5), str("xy")), b: b, want: rep(5, "'abxyx'")},
		{name: "pad negative or empty", e: call(t, FnConcat, call(t, FnLPad, x, num(-1), str("x")), call(t, FnRPad, x, num(9), str(""))), b: b, want: rep(5, "NULL")},
		{name: "split_part", e: call(t, FnSplitPart, x, y, n), b: b, want: []string{"''", "''", "NULL", "NULL", "''"}},
		{name: "split_part third", e: call(t, FnSplitPart, x, y, num(3)), b: b, want: []string{"'gle'", "''", "NULL", "NULL", "''"}},
		{name: "split_part last", e: call(t, FnSplitPart, x, y, num(-1)), b: b, want: []string{"'gle'", "'rld'", "NULL", "NULL", "'c'"}},
		{name: "split_part from end", e: call(t, FnSplitPart, str("a,b,c"), str(","), num(-3)), b: b, want: rep(5, "'a'")},
		{name: "split_part zero", e: call(t, FnSplitPart, str("a,b"), str(","), num(0)), b: b, want: rep(5, "NULL")},
		{name: "split_part empty delim", e: call(t, FnSplitPart, str("ab"), str(""), num(1)), b: b, want: rep(5, "'ab'")},
	})
}

func TestStringFunctionTypes(t *testing.T) {
	s, bi := types.String(), types.BigInt()
	for _, c := range []struct {
		fn   string
		args []types.Type
		ok   bool
	}{
		{FnUpper, []types.Type{bi}, false},
		{FnSubstring, []types.Type{s}, false},
		{FnSubstring, []types.Type{s, s}, false},
		{FnSubstring, []types.Type{s, bi, bi, bi}, false},
		{FnConcatWs, []types.Type{s}, false},
		{FnConcat, []types.Type{s, types.NullType()}, true},
		{FnLPad, []types.Type{s, bi, s}, true},
	} {
		_, err := ResultType(c.fn, c.args)
		if (err == nil) != c.ok {
			t.Errorf("%s%v: error %v, want ok=%v", c.fn, c.args, err, c.ok)
		}
	}
	if rt, _ := ResultType(FnCharLength, []types.Type{s.WithNotNull(true)}); !rt.NotNull || rt.Width != 4 {
		t.Errorf("CHAR_LENGTH(STRING NOT NULL) is %s, want INT NOT NULL", rt)
	}
}

// TestStringReuse checks that a string kernel does not allocate per row
// once its buffers have grown.
func TestStringReuse(t *testing.T) {
	s := types.String()
	b := newBatch(t, []types.Type{s}, []any{"héllo"}, []any{"wörld"}, []any{nil})
	ev, err := Compile(call(t, FnUpper, call(t, FnConcat, col(0, s), lit("!", s))))
	if err != nil {
		t.Fatal(err)
	}
	var out types.Vector
	allocs := testing.AllocsPerRun(20, func() {
		if err := ev.Eval(b, &out); err != nil {
			t.Fatal(err)
		}
	})
	if allocs > 0 {
		t.Errorf("%v allocations per Eval, want 0", allocs)
	}
}

func rep(n int, s string) []string {
	r := make([]string, n)
	for i := range r {
		r[i] = s
	}
	return r
}

func TestTrimChars(t *testing.T) {
	s := types.String()
	b := newBatch(t, []types.Type{s, s}, []any{"xyaxbyx", "xy"}, []any{"ééaé", "é"}, []any{"  a  ", ""}, []any{nil, "x"}, []any{"abc", nil})
	x, chars := col(0, s), col(1, s)
	runCases(t, []evalCase{
		{name: "both", e: call(t, FnTrim, x, chars), b: b, want: []string{"'axb'", "'a'", "'  a  '", "NULL", "NULL"}},
		{name: "leading", e: call(t, FnLTrim, x, chars), b: b, want: []string{"'axbyx'", "'aé'", "'  a  '", "NULL", "NULL"}},
		{name: "trailing", e: call(t, FnRTrim, x, chars), b: b, want: []string{"'xyaxb'", "'ééa'", "'  a  '", "NULL", "NULL"}},
		{name: "all trimmed", e: call(t, FnTrim, lit("xxx", s), lit("x", s)), b: b, want: rep(5, "''")},
		{name: "default spaces", e: call(t, FnTrim, x), b: b, want: []string{"'xyaxbyx'", "'ééaé'", "'a'", "NULL", "'abc'"}},
	})
}
