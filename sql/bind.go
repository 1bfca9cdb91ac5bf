package sql

import (
	"strings"

	"github.com/pingcap/tidb/pkg/parser/ast"

	"github.com/sluice-sql/sluice/sql/expr"
	"github.com/sluice-sql/sluice/sql/types"
)

// BoundQuery is a SELECT over one table with every name resolved and every
// expression typed: the binder's answer to the planner.
type BoundQuery struct {
	// Source is the table read.
	Source *Table
	// Schema names and types the output columns: an alias, else the column
	// name, else the expression as written.
	Schema types.Schema
	// Filter is the WHERE condition (BOOLEAN), nil when there is none.
	Filter expr.Expr
	// Projections compute the output columns over the source's columns,
	// one per field of Schema.
	Projections []expr.Expr
}

// Bind resolves a SELECT statement against cat. Expressions are typed with
// expr.ResultType, and the implicit casts that change a value's
// representation (an integer joining a DECIMAL, anything joining a DOUBLE,
// a DECIMAL rescaled for comparison) are made explicit Cast nodes; integer
// widening is not, since every integer is stored as int64. Errors are
// *Error in the user's text.
func Bind(stmt Statement, cat Catalog) (*BoundQuery, error) {
	b := &binder{stmt: stmt, loc: newLocator(stmt), d: stmt.Dialect}
	switch n := stmt.Node.(type) {
	case *ast.SelectStmt:
		return b.selectStmt(n, cat)
	case *ast.SetOprStmt:
		pos := b.loc.topLevel(stmt.Offset, "UNION")
		if pos < 0 {
			pos = stmt.Offset
		}
		return nil, stmt.errorf(pos, "UNION and other set operations are not supported yet")
	case nil:
		return nil, stmt.errorf(stmt.Offset, "expected a query")
	}
	return nil, stmt.errorf(stmt.Offset, "expected a query")
}

type binder struct {
	stmt Statement
	loc  locator
	d    *Dialect
	// The one table in scope and the name that qualifies its columns (its
	// alias, else its name).
	table *Table
	qual  string
}

func (b *binder) errorf(pos int, format string, args ...any) *Error {
	return b.stmt.errorf(pos, format, args...)
}

// notSupported reports the clause starting with keyword w as not supported
// yet.
func (b *binder) notSupported(w, what string) error {
	pos := b.loc.topLevel(b.stmt.Offset, w)
	if pos < 0 {
		pos = b.stmt.Offset
	}
	return b.errorf(pos, "%s is not supported yet", what)
}

func (b *binder) selectStmt(sel *ast.SelectStmt, cat Catalog) (*BoundQuery, error) {
	switch {
	case sel.With != nil:
		return nil, b.notSupported("WITH", "WITH (common table expressions)")
	case sel.Distinct:
		return nil, b.notSupported("DISTINCT", "SELECT DISTINCT")
	case sel.GroupBy != nil:
		return nil, b.notSupported("GROUP", "GROUP BY")
	case sel.Having != nil:
		return nil, b.notSupported("HAVING", "HAVING")
	case sel.WindowSpecs != nil:
		return nil, b.notSupported("WINDOW", "WINDOW")
	case sel.OrderBy != nil:
		return nil, b.notSupported("ORDER", "ORDER BY")
	case sel.Limit != nil:
		return nil, b.notSupported("LIMIT", "LIMIT")
	case sel.From == nil:
		return nil, b.errorf(b.stmt.Offset, "a query without FROM is not supported yet")
	}
	if err := b.from(sel.From.TableRefs, cat); err != nil {
		return nil, err
	}
	q := &BoundQuery{Source: b.table}
	for _, f := range sel.Fields.Fields {
		start := b.stmt.Offset + f.Offset
		b.loc.seek(start)
		if f.WildCard != nil {
			if tq := f.WildCard.Table.O; tq != "" && !strings.EqualFold(tq, b.qual) {
				return nil, b.errorf(b.loc.name(tq), "unknown table %q", tq).WithHint(DidYouMean(tq, []string{b.qual}))
			}
			for i, c := range b.table.Schema {
				q.Schema = append(q.Schema, c)
				q.Projections = append(q.Projections, &expr.ColumnRef{Index: i, T: c.Type, Name: c.Name})
			}
			continue
		}
		e, err := b.expr(f.Expr)
		if err != nil {
			return nil, err
		}
		name := f.AsName.O
		switch {
		case name != "":
		case isColumn(f.Expr):
			name = f.Expr.(*ast.ColumnNameExpr).Name.Name.O
			if c, ok := e.(*expr.ColumnRef); ok {
				name = c.Name
			}
		default:
			// The field's text is in the parser's (rewritten) text; the
			// same span of the user's text is what they wrote.
			name = b.stmt.src()[start : start+len(f.Text())]
		}
		q.Schema = append(q.Schema, types.Field{Name: name, Type: e.Type()})
		q.Projections = append(q.Projections, e)
	}
	if sel.Where != nil {
		pos := b.loc.topLevel(b.stmt.Offset, "WHERE")
		b.loc.seek(pos)
		b.loc.skip("WHERE")
		start := b.loc.pos()
		e, err := b.expr(sel.Where)
		if err != nil {
			return nil, err
		}
		e = typeNull(e, types.Boolean())
		if k := e.Type().Kind; k != types.KindBoolean {
			return nil, b.errorf(start, "WHERE must be BOOLEAN, not %s", e.Type().Nullable())
		}
		q.Filter = e
	}
	return q, nil
}

func isColumn(n ast.ExprNode) bool {
	_, ok := n.(*ast.ColumnNameExpr)
	return ok
}

// from resolves the FROM clause: one table, for now.
func (b *binder) from(j *ast.Join, cat Catalog) error {
	if j.Right != nil {
		for _, w := range []string{"JOIN", ","} {
			b.loc.seek(b.stmt.Offset)
			if pos := b.loc.word(w); pos != b.loc.end {
				return b.errorf(pos, "joins are not supported yet")
			}
		}
		return b.errorf(b.stmt.Offset, "joins are not supported yet")
	}
	var ts *ast.TableSource
	switch n := j.Left.(type) {
	case *ast.TableSource:
		ts = n
	case *ast.Join:
		return b.from(n, cat)
	default:
		return b.notSupported("FROM", "this FROM clause")
	}
	b.loc.seek(b.loc.topLevel(b.stmt.Offset, "FROM"))
	b.loc.skip("FROM")
	switch src := ts.Source.(type) {
	case *ast.TableName:
		name := src.Name.O
		if b.d != nil {
			for _, f := range b.d.TableFunctions {
				if strings.EqualFold(f.Placeholder, name) {
					return b.errorf(f.Pos, "window table function %s is not supported yet", f.Name)
				}
			}
		}
		pos := b.loc.name(name)
		if src.Schema.O != "" {
			return b.errorf(pos, "qualified table names are not supported yet")
		}
		t, ok := cat.Lookup(name)
		if !ok {
			return b.errorf(pos, "unknown table %q", name).WithHint(DidYouMean(name, cat.Names()))
		}
		b.table, b.qual = t, t.Name
		if ts.AsName.O != "" {
			b.qual = ts.AsName.O
		}
		return nil
	case *ast.SelectStmt, *ast.SetOprStmt:
		return b.errorf(b.loc.pos(), "subqueries in FROM are not supported yet")
	}
	return b.errorf(b.loc.pos(), "this FROM clause is not supported yet")
}
