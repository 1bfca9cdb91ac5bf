package sql

import (
	"errors"
	"fmt"
	"strings"

	"github.com/pingcap/tidb/pkg/parser/ast"

	"github.com/sluice-sql/sluice/sql/expr"
	"github.com/sluice-sql/sluice/sql/types"
)

// BoundQuery is a query with every name resolved and every expression
// typed: the binder's answer to the planner.
type BoundQuery struct {
	// Root is the relational tree computing the query.
	Root Rel
	// Schema names and types the output columns (Root's schema): an
	// alias, else the column name, else the expression as written.
	Schema types.Schema
}

// Bind resolves a query (SELECT, UNION ALL, WITH) against cat into a
// relational tree. Views are expanded in place; subqueries in FROM and
// common table expressions become subtrees. Expressions are typed with
// expr.ResultType, and the implicit casts that change a value's
// representation (an integer joining a DECIMAL, anything joining a DOUBLE,
// a DECIMAL rescaled for comparison) are made explicit Cast nodes; integer
// widening is not, since every integer is stored as int64. Errors are
// *Error in the user's text.
func Bind(stmt Statement, cat Catalog) (*BoundQuery, error) {
	b := &binder{stmt: stmt, loc: newLocator(stmt), d: stmt.Dialect, cat: cat}
	switch stmt.Node.(type) {
	case *ast.SelectStmt, *ast.SetOprStmt:
	default:
		return nil, stmt.errorf(stmt.Offset, "expected a query")
	}
	r, err := b.query(stmt.Node)
	if err != nil {
		return nil, err
	}
	return &BoundQuery{Root: r, Schema: r.Schema()}, nil
}

type binder struct {
	stmt Statement
	loc  locator
	d    *Dialect
	cat  Catalog
	// ctes are the common table expressions in scope, innermost first.
	ctes *cte
	// views are the views being expanded, outermost first, to refuse a
	// view defined through itself.
	views []string
	// The SELECT being bound: its span of the user's text, the one
	// relation in scope and the name that qualifies its columns (its
	// alias, else its name).
	sp    span
	table *Table
	qual  string
	// agg is set while a grouped query's SELECT list and HAVING are bound.
	agg *aggScope
}

// cte is a common table expression in scope.
type cte struct {
	name  string
	rel   Rel
	outer *cte
}

func (b *binder) lookupCTE(name string) (Rel, bool) {
	for c := b.ctes; c != nil; c = c.outer {
		if strings.EqualFold(c.name, name) {
			return c.rel, true
		}
	}
	return nil, false
}

func (b *binder) errorf(pos int, format string, args ...any) *Error {
	return b.stmt.errorf(pos, format, args...)
}

// notSupported reports the clause of the current SELECT starting with
// keyword w as not supported yet.
func (b *binder) notSupported(w, what string) error {
	pos := b.loc.topLevelIn(b.sp, w)
	if pos < 0 {
		pos = b.sp.lo
	}
	return b.errorf(pos, "%s is not supported yet", what)
}

// query binds a SELECT, a set operation or a parenthesized list of them.
func (b *binder) query(n ast.Node) (Rel, error) {
	switch n := n.(type) {
	case *ast.SelectStmt:
		return b.selectStmt(n)
	case *ast.SetOprStmt:
		c := *b
		c.sp = b.start(n)
		if n.With != nil {
			if err := c.with(n.With); err != nil {
				return nil, err
			}
		}
		if n.OrderBy != nil || n.Limit != nil {
			w, what := "ORDER", "ORDER BY"
			if n.OrderBy == nil {
				w, what = "LIMIT", "LIMIT"
			}
			return nil, c.errorf(c.loc.lastBefore(c.loc.end, w), "%s is not supported yet", what)
		}
		return c.setOpr(n.SelectList)
	case *ast.SetOprSelectList:
		if n.OrderBy != nil || n.Limit != nil {
			return nil, b.errorf(b.start(n).lo, "ORDER BY and LIMIT are not supported yet")
		}
		c := *b
		if n.With != nil {
			if err := c.with(n.With); err != nil {
				return nil, err
			}
		}
		return c.setOpr(n)
	}
	return nil, b.errorf(b.sp.lo, "this query is not supported yet")
}

// start is the span of the first SELECT of n.
func (b *binder) start(n ast.Node) span {
	switch n := n.(type) {
	case *ast.SelectStmt:
		return b.selectSpan(n)
	case *ast.SetOprStmt:
		if n.SelectList != nil {
			return b.start(n.SelectList)
		}
	case *ast.SetOprSelectList:
		if len(n.Selects) > 0 {
			return b.start(n.Selects[0])
		}
	}
	return b.sp
}

// selectSpan finds the user's text of sel: from its SELECT keyword (the
// last one before its first field) to the end of its query, where the
// parenthesis around it closes, a set operator follows it or the
// statement ends.
func (b *binder) selectSpan(sel *ast.SelectStmt) span {
	if sel.Fields == nil || len(sel.Fields.Fields) == 0 {
		return b.sp
	}
	lo := b.loc.lastBefore(b.stmt.Offset+sel.Fields.Fields[0].Offset+1, "SELECT")
	if lo < 0 {
		return b.sp
	}
	return span{lo: lo, hi: b.loc.spanEnd(lo)}
}

// with brings the common table expressions of w into scope, each seeing
// those before it.
func (b *binder) with(w *ast.WithClause) error {
	at := b.loc.lastBefore(b.sp.lo, "WITH")
	if w.IsRecursive {
		return b.errorf(at, "WITH RECURSIVE is not supported")
	}
	seen := map[string]bool{}
	for _, c := range w.CTEs {
		b.loc.seek(at)
		pos := b.loc.name(c.Name.O)
		if seen[strings.ToLower(c.Name.O)] {
			return b.errorf(pos, "common table expression %q is defined twice", c.Name.O)
		}
		seen[strings.ToLower(c.Name.O)] = true
		if c.Query == nil || c.Query.Query == nil {
			return b.errorf(pos, "common table expression %q has no query", c.Name.O)
		}
		r, err := b.query(c.Query.Query)
		if err != nil {
			return err
		}
		if len(c.ColNameList) > 0 {
			names := make([]string, len(c.ColNameList))
			for i, n := range c.ColNameList {
				names[i] = n.O
			}
			if r, err = rename(r, names); err != nil {
				return b.errorf(pos, "common table expression %s: %v", c.Name.O, err)
			}
		}
		b.ctes = &cte{name: c.Name.O, rel: r, outer: b.ctes}
		at = pos + 1
	}
	return nil
}

// rename gives r's columns the names given, through a projection.
func rename(r Rel, names []string) (Rel, error) {
	s := r.Schema()
	if len(names) != len(s) {
		return nil, fmt.Errorf("%d column names for %d columns", len(names), len(s))
	}
	p := &Project{Input: r}
	same := true
	for i, f := range s {
		p.Exprs = append(p.Exprs, &expr.ColumnRef{Index: i, T: f.Type, Name: f.Name})
		p.Out = append(p.Out, types.Field{Name: names[i], Type: f.Type})
		same = same && f.Name == names[i]
	}
	if same {
		return r, nil
	}
	return p, nil
}

// setOpr binds a UNION ALL of queries. The output takes the first query's
// column names and, per column, the type every query's column converts
// to (COALESCE's rule); a query whose column has another type is cast.
func (b *binder) setOpr(list *ast.SetOprSelectList) (Rel, error) {
	var ins []Rel
	var starts []span
	for i, n := range list.Selects {
		var op *ast.SetOprType
		switch s := n.(type) {
		case *ast.SelectStmt:
			op = s.AfterSetOperator
		case *ast.SetOprSelectList:
			op = s.AfterSetOperator
		}
		sp := b.start(n)
		if i > 0 && (op == nil || *op != ast.UnionAll) {
			pos := b.loc.lastBefore(sp.lo, "UNION", "EXCEPT", "INTERSECT")
			what := "this set operation"
			if op != nil {
				what = strings.ToUpper(op.String())
			}
			return nil, b.errorf(pos, "%s is not supported yet (UNION ALL is)", what)
		}
		r, err := b.query(n)
		if err != nil {
			return nil, err
		}
		ins = append(ins, r)
		starts = append(starts, sp)
	}
	if len(ins) == 1 {
		return ins[0], nil
	}
	first := ins[0].Schema()
	out := make(types.Schema, len(first))
	for k, f := range first {
		ts := make([]types.Type, len(ins))
		notNull := true
		for i, r := range ins {
			s := r.Schema()
			if len(s) != len(first) {
				return nil, b.errorf(starts[i].lo, "each query of a UNION ALL must have the same number of columns: the first has %d, query %d has %d", len(first), i+1, len(s))
			}
			ts[i] = s[k].Type
			notNull = notNull && ts[i].NotNull
		}
		t, err := expr.ResultType(expr.FnCoalesce, ts)
		if err != nil {
			for i := 1; i < len(ts); i++ {
				if _, err := expr.ResultType(expr.FnCoalesce, ts[:i+1]); err != nil {
					return nil, b.errorf(b.fieldPos(list.Selects[i], k, starts[i].lo),
						"UNION ALL: column %d is %s in the first query but %s in query %d", k+1, ts[0].Nullable(), ts[i].Nullable(), i+1)
				}
			}
		}
		out[k] = types.Field{Name: f.Name, Type: t.WithNotNull(notNull)}
	}
	for i, r := range ins {
		s := r.Schema()
		p := &Project{Input: r}
		cast := false
		for k, f := range s {
			var e expr.Expr = &expr.ColumnRef{Index: k, T: f.Type, Name: f.Name}
			switch {
			case f.Type.Kind == types.KindNull:
				// A column that is always NULL: a NULL of the union's type.
				e = &expr.Const{T: out[k].Type.Nullable()}
				cast = true
			case !f.Type.Nullable().Equal(out[k].Type.Nullable()) && !(f.Type.Kind == types.KindInt && out[k].Type.Kind == types.KindInt):
				e = castTo(e, out[k].Type)
				cast = true
			}
			p.Exprs = append(p.Exprs, e)
			p.Out = append(p.Out, types.Field{Name: f.Name, Type: e.Type()})
		}
		if cast {
			ins[i] = p
		}
	}
	return &Union{Ins: ins, Out: out}, nil
}

// fieldPos is where the k-th output column of query n is written, or def.
func (b *binder) fieldPos(n ast.Node, k int, def int) int {
	if s, ok := n.(*ast.SelectStmt); ok && s.Fields != nil && k < len(s.Fields.Fields) && s.Fields.Fields[k].WildCard == nil {
		return b.stmt.Offset + s.Fields.Fields[k].Offset
	}
	return def
}

func (b *binder) selectStmt(sel *ast.SelectStmt) (Rel, error) {
	c := *b
	c.sp = b.selectSpan(sel)
	c.table, c.qual, c.agg = nil, "", nil
	b = &c
	switch {
	case sel.Kind != ast.SelectStmtKindSelect:
		return nil, b.errorf(b.sp.lo, "this query is not supported yet")
	case sel.Distinct:
		return nil, b.notSupported("DISTINCT", "SELECT DISTINCT")
	case sel.WindowSpecs != nil:
		return nil, b.notSupported("WINDOW", "WINDOW")
	case sel.OrderBy != nil:
		return nil, b.notSupported("ORDER", "ORDER BY")
	case sel.Limit != nil:
		return nil, b.notSupported("LIMIT", "LIMIT")
	case sel.From == nil:
		return nil, b.errorf(b.sp.lo, "a query without FROM is not supported yet")
	}
	if sel.With != nil {
		if err := b.with(sel.With); err != nil {
			return nil, err
		}
	}
	in, err := b.from(sel.From.TableRefs)
	if err != nil {
		return nil, err
	}
	if sel.Where != nil {
		pos := b.loc.topLevelIn(b.sp, "WHERE")
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
		in = &Filter{Input: in, Cond: e}
	}
	if isAggregateQuery(sel) {
		return b.aggregate(sel, in)
	}
	rankAt := rankField(sel)
	if rankAt >= 0 {
		r, err := b.rank(sel, rankAt, in)
		if err != nil {
			return nil, err
		}
		in = r
	}
	p := &Project{Input: in}
	for i, f := range sel.Fields.Fields {
		start := b.stmt.Offset + f.Offset
		b.loc.seek(start)
		if i == rankAt {
			// The row number, the rank's last column.
			r := in.(*Rank)
			n := len(r.Out) - 1
			name := f.AsName.O
			if name == "" {
				name = "row_number"
			}
			p.Exprs = append(p.Exprs, &expr.ColumnRef{Index: n, T: r.Out[n].Type, Name: name})
			p.Out = append(p.Out, types.Field{Name: name, Type: r.Out[n].Type})
			continue
		}
		if f.WildCard != nil {
			if tq := f.WildCard.Table.O; tq != "" && !strings.EqualFold(tq, b.qual) {
				return nil, b.errorf(b.loc.name(tq), "unknown table %q", tq).WithHint(DidYouMean(tq, []string{b.qual}))
			}
			for i, c := range b.table.Schema {
				p.Out = append(p.Out, c)
				p.Exprs = append(p.Exprs, &expr.ColumnRef{Index: i, T: c.Type, Name: c.Name})
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
		p.Out = append(p.Out, types.Field{Name: name, Type: e.Type()})
		p.Exprs = append(p.Exprs, e)
	}
	return p, nil
}

func isColumn(n ast.ExprNode) bool {
	_, ok := n.(*ast.ColumnNameExpr)
	return ok
}

// from resolves the FROM clause: one table, view, common table expression
// or subquery, which becomes the relation in scope.
func (b *binder) from(j *ast.Join) (Rel, error) {
	if j.Right != nil {
		for _, w := range []string{"JOIN", ","} {
			b.loc.seek(b.sp.lo)
			if pos := b.loc.word(w); pos < b.sp.hi {
				return nil, b.errorf(pos, "joins are not supported yet")
			}
		}
		return nil, b.errorf(b.sp.lo, "joins are not supported yet")
	}
	var ts *ast.TableSource
	switch n := j.Left.(type) {
	case *ast.TableSource:
		ts = n
	case *ast.Join:
		return b.from(n)
	default:
		return nil, b.notSupported("FROM", "this FROM clause")
	}
	b.loc.seek(b.loc.topLevelIn(b.sp, "FROM"))
	b.loc.skip("FROM")
	alias := ts.AsName.O
	switch src := ts.Source.(type) {
	case *ast.TableName:
		name := src.Name.O
		if b.d != nil {
			for _, f := range b.d.TableFunctions {
				if strings.EqualFold(f.Placeholder, name) {
					r, err := b.window(f)
					if err != nil {
						return nil, err
					}
					b.scope(r, "", alias)
					return r, nil
				}
			}
		}
		pos := b.loc.name(name)
		if src.Schema.O != "" {
			return nil, b.errorf(pos, "qualified table names are not supported yet")
		}
		if r, ok := b.lookupCTE(name); ok {
			b.scope(r, name, alias)
			return r, nil
		}
		t, ok := b.cat.Lookup(name)
		if !ok {
			names := b.cat.Names()
			for c := b.ctes; c != nil; c = c.outer {
				names = append(names, c.name)
			}
			return nil, b.errorf(pos, "unknown table %q", name).WithHint(DidYouMean(name, names))
		}
		if t.ViewQuery != "" {
			r, err := b.view(t, pos)
			if err != nil {
				return nil, err
			}
			b.scope(r, t.Name, alias)
			return r, nil
		}
		b.table, b.qual = t, t.Name
		if alias != "" {
			b.qual = alias
		}
		wm, err := BindWatermark(t)
		if err != nil {
			return nil, b.errorf(pos, "%v", err)
		}
		return &Scan{Table: t, Pos: pos, Watermark: wm}, nil
	case *ast.SelectStmt, *ast.SetOprStmt:
		r, err := b.query(src)
		if err != nil {
			return nil, err
		}
		b.scope(r, "", alias)
		return r, nil
	}
	return nil, b.errorf(b.loc.pos(), "this FROM clause is not supported yet")
}

// scope makes r the relation in scope, qualified by alias, else name.
func (b *binder) scope(r Rel, name, alias string) {
	if alias != "" {
		name = alias
	}
	b.table, b.qual = &Table{Name: name, Schema: r.Schema()}, name
}

// view expands view t, named at pos: its query is bound afresh against
// the catalog (no common table expression of the query naming it is in
// scope) and its columns take the names the view declared.
func (b *binder) view(t *Table, pos int) (Rel, error) {
	for _, v := range b.views {
		if strings.EqualFold(v, t.Name) {
			return nil, b.errorf(pos, "view %s is defined through itself (%s → %s)", t.Name, strings.Join(b.views, " → "), t.Name)
		}
	}
	stmts, err := Parse(t.ViewQuery)
	if err == nil && len(stmts) != 1 {
		err = fmt.Errorf("%d statements", len(stmts))
	}
	if err != nil {
		return nil, b.errorf(pos, "view %s cannot be read: %v", t.Name, err)
	}
	vs := stmts[0]
	vb := &binder{stmt: vs, loc: newLocator(vs), d: vs.Dialect, cat: b.cat, views: append(append([]string(nil), b.views...), t.Name)}
	r, err := vb.query(vs.Node)
	if err != nil {
		msg := err.Error()
		var e *Error
		if errors.As(err, &e) {
			msg = e.Msg
		}
		return nil, b.errorf(pos, "view %s no longer binds: %s", t.Name, msg)
	}
	got := r.Schema()
	if len(got) != len(t.Schema) {
		return nil, b.errorf(pos, "view %s now has %d columns, not the %d it was created with: recreate it", t.Name, len(got), len(t.Schema))
	}
	names := make([]string, len(got))
	for i, f := range t.Schema {
		if !got[i].Type.Equal(f.Type) {
			return nil, b.errorf(pos, "view %s: column %s is now %s, not the %s it was created with: recreate it", t.Name, f.Name, got[i].Type.Nullable(), f.Type.Nullable())
		}
		names[i] = f.Name
	}
	return rename(r, names)
}
