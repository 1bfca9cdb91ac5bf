package sql

import (
	"fmt"
	"strings"
)

// windowArity is the number of interval arguments each window table
// function takes, as [min, max].
var windowArity = map[string][2]int{
	"TUMBLE":   {1, 2},
	"HOP":      {2, 3},
	"CUMULATE": {2, 3},
	"SESSION":  {1, 1},
}

// tableFunctions replaces every window table function in FROM with a
// placeholder table name padded with spaces.
func (r *rewriter) tableFunctions() error {
	for i := 0; i < len(r.toks); i++ {
		start, call := -1, -1
		switch {
		case r.toks[i].is("TABLE") && r.tok(i+1).isPunct("(") && isWindow(r.tok(i+2)) && r.tok(i+3).isPunct("("):
			start, call = i, i+2
		case isWindow(r.toks[i]) && r.tok(i+1).isPunct("(") && r.inFrom(i):
			start, call = i, i
		default:
			continue
		}
		end, err := r.tableFunction(start, call)
		if err != nil {
			return err
		}
		i = end
	}
	return nil
}

func isWindow(t token) bool {
	_, ok := windowArity[strings.ToUpper(t.text)]
	return t.kind == tokIdent && ok
}

// inFrom reports whether token i stands where a table may: right after
// FROM or JOIN, or after a comma of a FROM list.
func (r *rewriter) inFrom(i int) bool {
	prev := r.tok(i - 1)
	if prev.is("FROM") || prev.is("JOIN") {
		return true
	}
	if !prev.isPunct(",") {
		return false
	}
	depth := 0
	for j := i - 1; j >= 0; j-- {
		t := r.toks[j]
		switch {
		case t.isPunct(")"):
			depth++
		case t.isPunct("("):
			if depth == 0 {
				return false
			}
			depth--
		case depth > 0 || t.kind != tokIdent:
		case t.is("FROM"):
			return true
		case isClauseWord(t.text):
			return false
		}
	}
	return false
}

func isClauseWord(w string) bool {
	switch strings.ToUpper(w) {
	case "SELECT", "WHERE", "GROUP", "HAVING", "ORDER", "LIMIT", "ON", "USING", "WINDOW", "UNION", "BY", "SET", "VALUES":
		return true
	}
	return false
}

// tableFunction parses the call whose name is token call, starting at token
// start (TABLE in the Flink form), records it and replaces it. It returns
// the index of the last token of the call.
func (r *rewriter) tableFunction(start, call int) (int, error) {
	name := strings.ToUpper(r.toks[call].text)
	flink := start != call
	cl := r.closing(call + 1)
	if cl < 0 {
		return 0, r.errorf(r.toks[call+1].pos, "unbalanced parenthesis")
	}
	last := cl
	if flink {
		if !r.tok(cl + 1).isPunct(")") {
			return 0, r.errorf(r.tok(cl+1).pos, "expected ) to close TABLE(%s(...))", name)
		}
		last = cl + 1
	}
	args := r.splitArgs(call+1, cl)
	arity := windowArity[name]
	if n := len(args) - 2; n < arity[0] || n > arity[1] {
		return 0, r.errorf(r.toks[call].pos, "%s takes a table, a time column and %s", name, arityText(arity))
	}
	tf := TableFunction{Name: name, Pos: r.toks[start].pos, End: r.toks[last].end}
	var err error
	if tf.Table, tf.TablePos, err = r.tableArg(args[0], flink); err != nil {
		return 0, err
	}
	if tf.TimeColumn, tf.TimeColumnPos, err = r.timeColumnArg(args[1], flink); err != nil {
		return 0, err
	}
	for _, a := range args[2:] {
		iv, err := r.interval(a)
		if err != nil {
			return 0, err
		}
		tf.Intervals = append(tf.Intervals, iv)
	}
	tf.Placeholder = fmt.Sprintf("__tvf%d", len(r.d.TableFunctions))
	if len(tf.Placeholder) > tf.End-tf.Pos {
		return 0, r.errorf(tf.Pos, "too many window table functions in one statement")
	}
	r.d.TableFunctions = append(r.d.TableFunctions, tf)
	r.write(RewriteTableFunction, tf.Pos, tf.End, tf.Placeholder)
	return last, nil
}

func arityText(a [2]int) string {
	plural := func(n int) string {
		if n == 1 {
			return "1 interval"
		}
		return fmt.Sprintf("%d intervals", n)
	}
	if a[0] == a[1] {
		return plural(a[0])
	}
	return fmt.Sprintf("%s or %s", plural(a[0]), plural(a[1]))
}

// tableArg reads `TABLE t` (Flink form) or `t`, where t may be qualified.
func (r *rewriter) tableArg(a [2]int, flink bool) (string, int, error) {
	i := a[0]
	if flink {
		if !r.tok(i).is("TABLE") || i >= a[1] {
			return "", 0, r.errorf(r.tok(i).pos, "expected TABLE followed by a table name")
		}
		i++
	}
	var parts []string
	pos := r.tok(i).pos
	for {
		t := r.tok(i)
		if i >= a[1] || (t.kind != tokIdent && t.kind != tokQuotedIdent) {
			return "", 0, r.errorf(t.pos, "expected a table name")
		}
		parts = append(parts, t.name())
		i++
		if i == a[1] {
			return strings.Join(parts, "."), pos, nil
		}
		if !r.tok(i).isPunct(".") {
			return "", 0, r.errorf(r.tok(i).pos, "expected , after the table name")
		}
		i++
	}
}

// timeColumnArg reads `DESCRIPTOR(col)` (Flink form) or `col`.
func (r *rewriter) timeColumnArg(a [2]int, flink bool) (string, int, error) {
	i, want := a[0], a[0]+1
	if flink {
		if !r.tok(i).is("DESCRIPTOR") || !r.tok(i+1).isPunct("(") || !r.tok(i+3).isPunct(")") {
			return "", 0, r.errorf(r.tok(i).pos, "expected DESCRIPTOR(time column)")
		}
		i, want = i+2, a[0]+4
	}
	t := r.tok(i)
	if t.kind != tokIdent && t.kind != tokQuotedIdent {
		return "", 0, r.errorf(t.pos, "expected a time column")
	}
	if want != a[1] {
		return "", 0, r.errorf(r.tok(want).pos, "expected , after the time column")
	}
	return t.name(), t.pos, nil
}

// interval reads `INTERVAL '10' SECOND` or `INTERVAL 10 SECOND`.
func (r *rewriter) interval(a [2]int) (Interval, error) {
	kw, v, unit := r.tok(a[0]), r.tok(a[0]+1), r.tok(a[0]+2)
	if !kw.is("INTERVAL") || a[0] >= a[1] {
		return Interval{}, r.errorf(kw.pos, "expected an INTERVAL literal")
	}
	if a[0]+1 >= a[1] || (v.kind != tokString && v.kind != tokNumber) {
		return Interval{}, r.errorf(v.pos, "expected the quantity of the INTERVAL")
	}
	if a[0]+2 >= a[1] || unit.kind != tokIdent {
		return Interval{}, r.errorf(unit.pos, "expected the unit of the INTERVAL, for example SECOND")
	}
	if a[0]+3 != a[1] {
		return Interval{}, r.errorf(r.toks[a[0]+3].pos, "expected , or ) after the INTERVAL")
	}
	val := v.text
	if v.kind == tokString {
		val = v.stringValue()
	}
	return Interval{Value: val, Unit: strings.ToUpper(unit.text), Pos: kw.pos, End: unit.end}, nil
}
