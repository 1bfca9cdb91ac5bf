package sql

import (
	"errors"
	"fmt"
	"strings"

	"github.com/pingcap/tidb/pkg/parser/ast"

	"github.com/sluice-sql/sluice/sql/expr"
	"github.com/sluice-sql/sluice/sql/types"
)

// ViewQueryText returns the query of a CREATE VIEW as the user wrote it:
// the text after the AS that follows the view's name and column list.
func ViewQueryText(st Statement) (string, error) {
	if _, ok := st.Node.(*ast.CreateViewStmt); !ok {
		return "", st.errorf(st.Offset, "expected CREATE VIEW")
	}
	l := newLocator(st)
	depth := 0
	for i, t := range l.toks {
		switch {
		case t.isPunct("("):
			depth++
		case t.isPunct(")"):
			depth--
		case depth == 0 && t.is("AS") && i+1 < len(l.toks):
			start := l.toks[i+1].pos
			return strings.TrimSpace(st.src()[start : st.Offset+len(st.Text)]), nil
		}
	}
	return "", st.errorf(st.Offset, "CREATE VIEW needs AS and a query")
}

// ParseType reads a type as types.Type.String spells it, NOT NULL
// included: the form the catalog stores a view's columns in.
func ParseType(s string) (types.Type, error) {
	s = strings.TrimSpace(s)
	notNull := false
	if rest, ok := strings.CutSuffix(s, " NOT NULL"); ok {
		s, notNull = rest, true
	}
	if s == "INTERVAL" {
		return types.Interval().WithNotNull(notNull), nil
	}
	t, ok := declaredType(strings.ReplaceAll(s, " ", ""))
	if !ok {
		return types.Type{}, fmt.Errorf("unknown type %q", s)
	}
	return t.WithNotNull(notNull), nil
}

// BindWatermark binds t's `WATERMARK FOR col AS expr`: the expression,
// over t's columns, must be a TIMESTAMP. Nil when t declares none.
func BindWatermark(t *Table) (expr.Expr, error) {
	if t.Watermark == nil {
		return nil, nil
	}
	text := "SELECT " + t.Watermark.Expr + " FROM t"
	stmts, err := Parse(text)
	if err == nil && len(stmts) != 1 {
		err = fmt.Errorf("%d statements", len(stmts))
	}
	if err != nil {
		return nil, fmt.Errorf("table %s: watermark %s: %v", t.Name, t.Watermark.Expr, err)
	}
	cat := NewMemCatalog()
	only := *t
	only.Name, only.Watermark = "t", nil
	if err := cat.Add(&only); err != nil {
		return nil, err
	}
	q, err := Bind(stmts[0], cat)
	if err != nil {
		msg := err.Error()
		var e *Error
		if errors.As(err, &e) {
			msg = e.Msg
		}
		return nil, fmt.Errorf("table %s: watermark %s: %s", t.Name, t.Watermark.Expr, msg)
	}
	p, ok := q.Root.(*Project)
	if !ok || len(p.Exprs) != 1 {
		return nil, fmt.Errorf("table %s: watermark %s: not one expression", t.Name, t.Watermark.Expr)
	}
	e := p.Exprs[0]
	if e.Type().Kind != types.KindTimestamp {
		return nil, fmt.Errorf("table %s: watermark %s is %s, not a TIMESTAMP", t.Name, t.Watermark.Expr, e.Type().Nullable())
	}
	return e, nil
}
