package sql

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/pingcap/tidb/pkg/parser"
	"github.com/pingcap/tidb/pkg/parser/ast"
	"github.com/pingcap/tidb/pkg/parser/mysql"
	// The parser needs a driver for literal values; test_driver is the
	// self-contained one (the real one pulls in all of TiDB).
	_ "github.com/pingcap/tidb/pkg/parser/test_driver"
)

// sqlMode makes MySQL's grammar read like Flink SQL: "x" is an
// identifier, || concatenates, and a backslash in a string is itself.
const sqlMode = mysql.ModeANSIQuotes | mysql.ModePipesAsConcat | mysql.ModeNoBackslashEscapes

// Parse splits text into statements and parses each. On the first bad
// statement it returns an *Error pointing into text.
func Parse(text string) ([]Statement, error) {
	pieces, err := Split(text)
	if err != nil {
		return nil, err
	}
	p := parser.New()
	p.SetSQLMode(sqlMode)
	stmts := make([]Statement, 0, len(pieces))
	for _, pc := range pieces {
		s, err := parsePiece(p, text, pc)
		if err != nil {
			return nil, err
		}
		stmts = append(stmts, s)
	}
	return stmts, nil
}

func parsePiece(p *parser.Parser, src string, pc Piece) (Statement, error) {
	s := Statement{Text: pc.Text, Offset: pc.Offset, source: src}
	cmd, err := command(src, pc)
	if err != nil || cmd != nil {
		s.Command = cmd
		return s, err
	}
	d, err := rewrite(src, pc)
	if err != nil {
		return s, err
	}
	nodes, err := tidbParse(p, src, pc.Offset, d.Rewritten)
	if err != nil {
		return s, err
	}
	if len(nodes) != 1 {
		return s, Errorf(src, pc.Offset, "expected one statement, found %d", len(nodes))
	}
	// The parser reuses its result slice, so take the node before parsing
	// again, and parse expressions with a parser of their own.
	node := nodes[0]
	if w := d.Watermark; w != nil {
		ep := parser.New()
		ep.SetSQLMode(sqlMode)
		if w.Expr, err = parseExpr(ep, src, pc.Offset, w.ExprPos, w.rewritten); err != nil {
			return s, err
		}
	}
	s.Node, s.Dialect = node, d
	return s, nil
}

// parseExpr parses expr, which starts at offset pos of src, by handing the
// TiDB parser `SELECT` followed by spaces and expr at the same offset, so
// its errors point into src. pos-base must leave room for SELECT, which it
// does for every caller (an expression never starts a statement).
func parseExpr(p *parser.Parser, src string, base, pos int, expr string) (ast.ExprNode, error) {
	const kw = "SELECT "
	if pos-base < len(kw) {
		return nil, Errorf(src, pos, "expression at the start of a statement")
	}
	text := kw + strings.Repeat(" ", pos-base-len(kw)) + expr
	nodes, err := tidbParse(p, src, base, text)
	if err != nil {
		return nil, err
	}
	sel, ok := nodes[0].(*ast.SelectStmt)
	if len(nodes) != 1 || !ok || sel.From != nil || len(sel.Fields.Fields) != 1 || sel.Fields.Fields[0].AsName.L != "" {
		return nil, Errorf(src, pos, "expected one expression")
	}
	return sel.Fields.Fields[0].Expr, nil
}

// tidbParse runs the TiDB parser on text, which stands at offset base of
// src and has the length of the user's text there, and turns its error
// into an *Error in src.
func tidbParse(p *parser.Parser, src string, base int, text string) ([]ast.StmtNode, error) {
	nodes, _, err := p.Parse(text, "", "")
	if err == nil {
		return nodes, nil
	}
	off, ok := tidbErrorOffset(err.Error(), text)
	if !ok {
		return nil, NewError(src, base, err.Error())
	}
	e := NewError(src, base+off, "")
	if rest := src[base+off : base+len(text)]; strings.TrimSpace(rest) == "" {
		e.Msg = "syntax error at end of input"
	} else {
		e.Msg = fmt.Sprintf("syntax error at or near %q", firstWord(src, base+off, base+len(text)))
		e.Hint = reservedHint(p, src, base, text, off)
	}
	return nil, e
}

// reservedHint explains a syntax error at offset off of text (which
// stands at base in src, and does not end there) when its cause is a
// MySQL reserved word used as a name: the word at off, or the one just
// before it (`SELECT rank FROM t` fails at FROM). A word is blamed only
// when, quoted, it lets the parser get past the token after it, so that a
// keyword in its place (`WHERE GROUP BY a`) is not; and not right after
// an operand, where quoted it would only become an alias (`FROM t WHERE
// ORDER BY a` parses with "WHERE" quoted). It returns "" for any other
// error.
func reservedHint(p *parser.Parser, src string, base int, text string, off int) string {
	all, err := tokenize(src, base, base+len(text))
	if err != nil {
		return ""
	}
	toks := significant(all)
	at := 0
	for at < len(toks) && toks[at].pos < base+off {
		at++
	}
	for _, i := range []int{at, at - 1} {
		if i < 0 || i >= len(toks) {
			continue
		}
		t := toks[i]
		from, to := t.pos-base, t.end-base
		if t.kind != tokIdent || text[from:to] != t.text || !isReserved(t.text) {
			continue // not a reserved word, or one the dialect rewrote
		}
		if i > 0 && endsOperand(toks[i-1]) {
			continue
		}
		next := len(text) // where the token after the word starts
		if i+1 < len(toks) {
			next = toks[i+1].pos - base
		}
		quoted := text[:from] + `"` + t.text + `"` + text[to:]
		_, _, err := p.Parse(quoted, "", "")
		if err != nil {
			// Offsets after the word are 2 further on in quoted.
			if o, ok := tidbErrorOffset(err.Error(), quoted); !ok || o-2 <= next {
				continue
			}
		}
		return reservedWordHint(t.text)
	}
	return ""
}

// reservedWordHint is the hint for reserved word w used as a name.
func reservedWordHint(w string) string {
	return fmt.Sprintf(`%s is a reserved word: quote it as "%s" to use it as a name`, strings.ToUpper(w), w)
}

// endsOperand reports whether t can end an operand: a name, a literal or
// a closing parenthesis.
func endsOperand(t token) bool {
	switch t.kind {
	case tokIdent:
		return !isReserved(t.text)
	case tokQuotedIdent, tokString, tokNumber:
		return true
	}
	return t.isPunct(")")
}

// isReserved reports whether w is a reserved word of the TiDB parser,
// which it reads as a keyword wherever it stands. Only errors ask, so a
// scan of the parser's list will do.
func isReserved(w string) bool {
	for _, k := range parser.Keywords {
		if k.Reserved && strings.EqualFold(k.Word, w) {
			return true
		}
	}
	return false
}

// tidbErrorOffset finds where in text a TiDB syntax error is. The parser
// offers no structured position, only its message
//
//	line L column C near "REST"...
//
// where (L, C) is where its scanner stopped (C counts bytes, and on lines
// after the first it is one more than the bytes before it on the line) and
// REST is text from the start of the offending token, cut at 2048 bytes.
// The offset is the last one at or before the scanner's position from which
// text reads as REST. TestTiDBErrorFormat pins this format.
func tidbErrorOffset(msg, text string) (int, bool) {
	var line, col int
	if _, err := fmt.Sscanf(msg, "line %d column %d near", &line, &col); err != nil || line < 1 {
		return 0, false
	}
	head := "line " + strconv.Itoa(line) + " column " + strconv.Itoa(col) + " near \""
	if !strings.HasPrefix(msg, head) {
		return 0, false
	}
	near := msg[len(head):]
	stop := 0
	for l := 1; l < line; l++ {
		i := strings.IndexByte(text[stop:], '\n')
		if i < 0 {
			return 0, false
		}
		stop += i + 1
	}
	stop += col
	if line > 1 {
		stop--
	}
	stop = max(0, min(stop, len(text)))
	for o := stop; o >= 0; o-- {
		if strings.HasPrefix(near, text[o:min(len(text), o+2048)]+"\"") {
			return o, true
		}
	}
	return 0, false
}

// firstWord returns the token of src at offset off (before end), for an
// error message.
func firstWord(src string, off, end int) string {
	toks, err := tokenize(src, off, end)
	if err != nil || len(toks) == 0 {
		return strings.TrimSpace(src[off:end])
	}
	return toks[0].text
}
