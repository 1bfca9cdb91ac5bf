package sql

import (
	"strconv"
	"strings"
)

// rewriter turns one piece into same-length text for the TiDB parser. All
// positions are offsets into src, the whole input; buf[i] holds the byte at
// src offset base+i.
type rewriter struct {
	src  string
	base int
	buf  []byte
	toks []token // significant tokens of the piece
	d    *Dialect
}

// rewrite applies the dialect to piece p of src.
func rewrite(src string, p Piece) (*Dialect, error) {
	all, err := tokenize(src, p.Offset, p.End())
	if err != nil {
		return nil, err
	}
	r := &rewriter{src: src, base: p.Offset, buf: []byte(p.Text), toks: significant(all), d: &Dialect{}}
	// Comments are blanked so that MySQL's own comment rules (a space
	// needed after --, executable /*! */ comments, optimizer hints) never
	// apply to a Sluice script.
	for _, t := range all {
		if t.kind == tokComment {
			r.blank(RewriteComment, t.pos, t.end)
		}
	}
	steps := []func() error{r.casts, r.tableFunctions, r.filters, r.aggregates, r.createStatement}
	for _, step := range steps {
		if err := step(); err != nil {
			return nil, err
		}
	}
	r.d.Rewritten = string(r.buf)
	sortRewrites(r.d.Rewrites)
	return r.d, nil
}

// write puts s at src offset pos and pads with spaces up to end; s must fit.
func (r *rewriter) write(kind RewriteKind, pos, end int, s string) {
	if kind != "" {
		r.d.Rewrites = append(r.d.Rewrites, Rewrite{Kind: kind, Pos: pos, End: end})
	}
	for i := pos; i < end; i++ {
		j := i - pos
		switch {
		case j < len(s):
			r.buf[i-r.base] = s[j]
		case r.buf[i-r.base] != '\n':
			r.buf[i-r.base] = ' '
		}
	}
}

// blank replaces src[pos:end] with spaces, keeping line breaks.
func (r *rewriter) blank(kind RewriteKind, pos, end int) { r.write(kind, pos, end, "") }

func (r *rewriter) errorf(pos int, format string, args ...any) *Error {
	return Errorf(r.src, pos, format, args...)
}

// tok returns the i-th significant token, or a zero token past the end
// (which matches no word and no punctuation).
func (r *rewriter) tok(i int) token {
	if i < 0 || i >= len(r.toks) {
		return token{kind: tokPunct, pos: r.base + len(r.buf), end: r.base + len(r.buf)}
	}
	return r.toks[i]
}

// closing returns the index of the parenthesis closing the one at open, or
// -1.
func (r *rewriter) closing(open int) int {
	depth := 0
	for i := open; i < len(r.toks); i++ {
		switch {
		case r.toks[i].isPunct("("):
			depth++
		case r.toks[i].isPunct(")"):
			depth--
			if depth == 0 {
				return i
			}
		}
	}
	return -1
}

// splitArgs splits the tokens strictly between parentheses open and close
// at their top-level commas into [from, to) index ranges.
func (r *rewriter) splitArgs(open, close int) [][2]int {
	var args [][2]int
	depth, from := 0, open+1
	for i := open + 1; i < close; i++ {
		switch t := r.toks[i]; {
		case t.isPunct("("):
			depth++
		case t.isPunct(")"):
			depth--
		case t.isPunct(",") && depth == 0:
			args = append(args, [2]int{from, i})
			from = i + 1
		}
	}
	return append(args, [2]int{from, close})
}

// casts rewrites every CAST(x AS T) into `__cx(x ,N    )` and every
// TRY_CAST(x AS T) into `    __cx(x ,N    )`: MySQL's CAST takes only a
// few target types and MySQL has no TRY_CAST, so all casts take one path
// to the binder, which reads the type and the kind from Casts[N].
func (r *rewriter) casts() error {
	for i := 0; i+1 < len(r.toks); i++ {
		try := r.toks[i].is("TRY_CAST")
		if !(try || r.toks[i].is("CAST")) || !r.toks[i+1].isPunct("(") {
			continue
		}
		cl := r.closing(i + 1)
		if cl < 0 {
			return r.errorf(r.toks[i+1].pos, "unbalanced parenthesis")
		}
		as, depth := -1, 0
		for j := i + 2; j < cl; j++ {
			switch t := r.toks[j]; {
			case t.isPunct("("):
				depth++
			case t.isPunct(")"):
				depth--
			case depth == 0 && t.is("AS"):
				as = j
			}
		}
		if as < 0 || as+1 == cl {
			return r.errorf(r.toks[cl].pos, "expected AS and a type in %s", strings.ToUpper(r.toks[i].text))
		}
		arg := "," + strconv.Itoa(len(r.d.Casts))
		end := r.toks[cl].pos
		if pos := r.toks[as].pos; end-pos < len(arg) {
			return r.errorf(pos, "too many CASTs in one statement")
		}
		r.d.Casts = append(r.d.Casts, Cast{
			Try: try, Pos: r.toks[i].pos, End: r.toks[cl].end,
			Type: typeText(r.toks[as+1 : cl]), TypePos: r.toks[as+1].pos,
		})
		// The name ends where the user's did, just before the parenthesis.
		name := "__cx"
		if try {
			name = "    __cx"
		}
		r.write(RewriteCast, r.toks[i].pos, r.toks[i].end, name)
		r.write("", r.toks[as].pos, end, arg)
	}
	return nil
}

// filters rewrites every `FILTER (WHERE cond)` after an operand into
// `^__fN(          cond)`, leaving the condition where it is. The binder
// folds cond, which Filters[N] locates, into the aggregate call before
// the `^`; an operand that is no aggregate call is its error, not the
// parser's.
func (r *rewriter) filters() error {
	for i := 1; i+2 < len(r.toks); i++ {
		kw := r.toks[i]
		if !kw.is("FILTER") || !r.toks[i+1].isPunct("(") || !r.toks[i+2].is("WHERE") || !endsOperand(r.toks[i-1]) {
			continue
		}
		cl := r.closing(i + 1)
		if cl < 0 {
			return r.errorf(r.toks[i+1].pos, "unbalanced parenthesis")
		}
		if cl == i+3 {
			return r.errorf(r.toks[cl].pos, "expected a condition after FILTER (WHERE")
		}
		s := "^" + filterPrefix + strconv.Itoa(len(r.d.Filters)) + "("
		if end := r.toks[i+2].end; end-kw.pos < len(s) {
			return r.errorf(kw.pos, "too many FILTERs in one statement")
		}
		r.d.Filters = append(r.d.Filters, FilterClause{Pos: kw.pos, End: r.toks[cl].end, CondPos: r.toks[i+3].pos})
		r.write(RewriteFilter, kw.pos, r.toks[i+2].end, s)
	}
	return nil
}

// aggregates rewrites the name of every FIRST_VALUE(x) and LAST_VALUE(x)
// that no OVER (or IGNORE or RESPECT NULLS) follows into `__agN`, N
// zero-padded to the name's length: the TiDB parser knows these
// functions only as window functions, and fails without OVER. The
// placeholder starts where the name did, so the parser's offset of a
// SELECT field holding the call is where the user's field starts. A
// window function stays as written, for the binder to refuse.
func (r *rewriter) aggregates() error {
	for i := 0; i+1 < len(r.toks); i++ {
		t := r.toks[i]
		if !(t.is("FIRST_VALUE") || t.is("LAST_VALUE")) || !r.toks[i+1].isPunct("(") || r.tok(i-1).isPunct(".") {
			continue
		}
		cl := r.closing(i + 1)
		if cl < 0 {
			return r.errorf(r.toks[i+1].pos, "unbalanced parenthesis")
		}
		if next := r.tok(cl + 1); next.is("OVER") || next.is("IGNORE") || next.is("RESPECT") {
			continue
		}
		n := strconv.Itoa(len(r.d.Aggregates))
		width := t.end - t.pos - len(aggregatePrefix)
		if len(n) > width {
			return r.errorf(t.pos, "too many calls of FIRST_VALUE and LAST_VALUE in one statement")
		}
		r.d.Aggregates = append(r.d.Aggregates, AggregateCall{Fn: strings.ToUpper(t.text), Pos: t.pos})
		r.write(RewriteAggregate, t.pos, t.end, aggregatePrefix+strings.Repeat("0", width-len(n))+n)
	}
	return nil
}

// sortRewrites orders rewrites by position (insertion sort: they are few
// and mostly in order already).
func sortRewrites(rs []Rewrite) {
	for i := 1; i < len(rs); i++ {
		for j := i; j > 0 && rs[j].Pos < rs[j-1].Pos; j-- {
			rs[j], rs[j-1] = rs[j-1], rs[j]
		}
	}
}

// createStatement handles the clauses of CREATE TABLE and CREATE
// MATERIALIZED VIEW: MATERIALIZED, the column list (types, WATERMARK FOR,
// NOT ENFORCED) and WITH options; and the MATERIALIZED of DROP
// MATERIALIZED VIEW.
func (r *rewriter) createStatement() error {
	if r.tok(0).is("DROP") && r.tok(1).is("MATERIALIZED") && r.tok(2).is("VIEW") {
		// DROP MATERIALIZED VIEW: DROP VIEW to the parser.
		t := r.tok(1)
		r.d.Materialized = true
		r.blank(RewriteMaterialized, t.pos, t.end)
		return nil
	}
	if !r.tok(0).is("CREATE") {
		return nil
	}
	i := 1
	if r.tok(i).is("OR") && r.tok(i+1).is("REPLACE") {
		i += 2
	}
	if t := r.tok(i); t.is("MATERIALIZED") && r.tok(i+1).is("VIEW") {
		r.d.Materialized = true
		r.blank(RewriteMaterialized, t.pos, t.end)
		return r.options(i + 2)
	}
	if r.tok(i).is("TEMPORARY") {
		i++
	}
	if !r.tok(i).is("TABLE") {
		return nil
	}
	for i < len(r.toks) && !r.toks[i].isPunct("(") {
		i++
	}
	if i == len(r.toks) {
		return nil
	}
	cl := r.closing(i)
	if cl < 0 {
		return r.errorf(r.toks[i].pos, "unbalanced parenthesis")
	}
	if err := r.columnList(i, cl); err != nil {
		return err
	}
	return r.options(cl + 1)
}

// columnList records column types, pads the types TiDB rejects, and blanks
// WATERMARK FOR and NOT ENFORCED in the list between parentheses open and
// close.
func (r *rewriter) columnList(open, close int) error {
	args := r.splitArgs(open, close)
	for k, a := range args {
		if a[0] == a[1] {
			continue
		}
		first := r.toks[a[0]]
		for j := a[0]; j+1 < a[1]; j++ {
			if r.toks[j].is("NOT") && r.toks[j+1].is("ENFORCED") {
				r.d.PrimaryKeyNotEnforced = true
				r.blank(RewriteNotEnforced, r.toks[j].pos, r.toks[j+1].end)
			}
		}
		switch {
		case first.is("WATERMARK") && r.tok(a[0]+1).is("FOR"):
			if err := r.watermark(a); err != nil {
				return err
			}
			// Blank the separating comma too so the list stays valid.
			from, to := first.pos, r.toks[a[1]-1].end
			if k > 0 {
				from = r.toks[a[0]-1].pos
			} else if len(args) > 1 {
				to = r.toks[a[1]].end
			}
			r.blank(RewriteWatermark, from, to)
		case first.kind == tokIdent && isConstraintWord(first.text):
			if r.namesColumn(a) && isReserved(first.text) {
				// The TiDB parser would read an index and fail further on.
				return r.errorf(first.pos, "syntax error at or near %q", first.text).WithHint(reservedWordHint(first.text))
			}
		case first.kind == tokIdent || first.kind == tokQuotedIdent:
			r.column(a)
		}
	}
	return nil
}

// namesColumn reports whether definition a, which starts with a
// constraint word, rather declares a column named by that word (`key
// STRING`): a type follows the word, not an index name and its column
// list.
func (r *rewriter) namesColumn(a [2]int) bool {
	t := r.tok(a[0] + 1)
	if a[0]+1 >= a[1] || t.kind != tokIdent {
		return false
	}
	if _, ok := declaredType(strings.ToUpper(t.text)); !ok {
		return false
	}
	return !r.tok(a[0]+2).isPunct("(") || r.tok(a[0]+3).kind == tokNumber
}

func isConstraintWord(w string) bool {
	switch strings.ToUpper(w) {
	case "PRIMARY", "CONSTRAINT", "UNIQUE", "KEY", "INDEX", "CHECK", "FOREIGN", "FULLTEXT", "LIKE":
		return true
	}
	return false
}

// column records one column definition's declared type and pads STRING,
// VARCHAR without a length and BYTES to same-length MySQL types.
func (r *rewriter) column(a [2]int) {
	name := r.toks[a[0]]
	ti := a[0] + 1
	if ti >= a[1] || r.toks[ti].kind != tokIdent {
		return // leave the error to the TiDB parser
	}
	te := ti + 1
	if te < a[1] && r.toks[te].isPunct("(") {
		if cl := r.closing(te); cl > 0 && cl < a[1] {
			te = cl + 1
		}
	}
	typ := r.toks[ti]
	r.d.Columns = append(r.d.Columns, ColumnType{
		Name: name.name(), NamePos: name.pos,
		Type: typeText(r.toks[ti:te]), TypePos: typ.pos,
	})
	if sub := standIn(typ, te == ti+1); sub != "" {
		r.write(RewriteType, typ.pos, typ.end, sub)
	}
}

// standIn returns the same-length MySQL type the TiDB parser gets instead
// of t, or "" when t needs none. bare is set when no (...) follows t.
func standIn(t token, bare bool) string {
	switch {
	case t.is("STRING"):
		return "TEXT"
	case t.is("VARCHAR") && bare:
		return "TEXT"
	case t.is("BYTES"):
		return "BLOB"
	}
	return ""
}

// watermark records `WATERMARK FOR col AS expr` spanning tokens a.
func (r *rewriter) watermark(a [2]int) error {
	kw, col, as := r.toks[a[0]], r.tok(a[0]+2), r.tok(a[0]+3)
	if a[0]+2 >= a[1] || (col.kind != tokIdent && col.kind != tokQuotedIdent) {
		return r.errorf(col.pos, "expected a column name after WATERMARK FOR")
	}
	if a[0]+3 >= a[1] || !as.is("AS") {
		return r.errorf(as.pos, "expected AS after WATERMARK FOR %s", col.text)
	}
	if a[0]+4 >= a[1] {
		return r.errorf(r.tok(a[1]).pos, "expected an expression after AS")
	}
	from, to := r.toks[a[0]+4].pos, r.toks[a[1]-1].end
	r.d.Watermark = &Watermark{
		Pos: kw.pos, Column: col.name(), ColumnPos: col.pos,
		ExprText: r.src[from:to], ExprPos: from,
		// Taken from buf, not src, so that CASTs inside stay rewritten.
		rewritten: string(r.buf[from-r.base : to-r.base]),
	}
	return nil
}

// options records and blanks `WITH ('k' = 'v', ...)` starting at token i
// or later at the top level.
func (r *rewriter) options(i int) error {
	for ; i+2 < len(r.toks); i++ {
		if r.toks[i].isPunct("(") {
			if cl := r.closing(i); cl > 0 {
				i = cl
				continue
			}
		}
		if r.toks[i].is("WITH") && r.toks[i+1].isPunct("(") && r.toks[i+2].kind == tokString {
			break
		}
	}
	if i+2 >= len(r.toks) {
		return nil
	}
	open := i + 1
	cl := r.closing(open)
	if cl < 0 {
		return r.errorf(r.toks[open].pos, "unbalanced parenthesis in WITH options")
	}
	for _, a := range r.splitArgs(open, cl) {
		k, eq, v := r.tok(a[0]), r.tok(a[0]+1), r.tok(a[0]+2)
		switch {
		case a[0] >= a[1] || k.kind != tokString:
			return r.errorf(r.tok(a[0]).pos, "expected a quoted option key in WITH")
		case a[0]+1 >= a[1] || !eq.isPunct("="):
			return r.errorf(r.tok(a[0]+1).pos, "expected = after option key %s", k.text)
		case a[0]+2 >= a[1] || v.kind != tokString:
			return r.errorf(r.tok(a[0]+2).pos, "expected a quoted value for option %s", k.text)
		case a[0]+3 < a[1]:
			return r.errorf(r.toks[a[0]+3].pos, "expected , or ) after the value of option %s", k.text)
		}
		r.d.Options = append(r.d.Options, Option{
			Key: k.stringValue(), Value: v.stringValue(), KeyPos: k.pos, ValuePos: v.pos,
		})
	}
	r.blank(RewriteOptions, r.toks[i].pos, r.toks[cl].end)
	return nil
}
