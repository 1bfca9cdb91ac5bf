package sql

import (
	"fmt"
	"strings"

	"github.com/pingcap/tidb/pkg/parser/ast"

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
