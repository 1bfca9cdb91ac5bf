package sql

import (
	"strconv"
	"strings"

	"github.com/pingcap/tidb/pkg/parser/ast"

	"github.com/sluice-sql/sluice/sql/agg"
	"github.com/sluice-sql/sluice/sql/expr"
	"github.com/sluice-sql/sluice/sql/types"
)

// A grouped query binds as
//
//	Project (the SELECT list, over the aggregate's output)
//	  Filter (HAVING, over the aggregate's output)
//	    Aggregate (keys, then one column per aggregate call)
//	      Project (the GROUP BY expressions, then the aggregates' arguments)
//	        the FROM relation, filtered by WHERE
//
// While the SELECT list and HAVING are bound, b.agg is set: an aggregate
// call becomes a reference to its output column, and any other
// expression that is one of the GROUP BY expressions a reference to its
// key; a column that is neither is an error.
//
// `agg(x) FILTER (WHERE c)` binds as agg(CASE WHEN c THEN x END), and
// `COUNT(*) FILTER (WHERE c)` as COUNT(CASE WHEN c THEN 1 END): every
// aggregate but COUNT(*) skips NULL arguments, so the rows where c is not
// TRUE count for nothing, and the runtime needs no notion of a filter.

// aggScope is what binding a grouped query's SELECT list and HAVING
// needs.
type aggScope struct {
	// pre is the projection under the aggregate: keys first, then the
	// arguments, each once.
	pre  *Project
	keys int
	// text spells each of pre's expressions, to find an expression again.
	text  []string
	calls []AggCall
	// callText spells each call, to compute a repeated call once.
	callText []string
	// names are the calls' output names, as first written.
	names []string
	// filter is the FILTER clause awaiting its aggregate call while the
	// operand before it is bound, or nil.
	filter *pendingFilter
}

// pendingFilter is a FILTER clause and its condition, which the parser
// hands over as the argument of the placeholder call.
type pendingFilter struct {
	FilterClause
	cond ast.ExprNode
}

// isAggregateQuery reports whether sel groups: GROUP BY, HAVING, or an
// aggregate function in its SELECT list.
func isAggregateQuery(sel *ast.SelectStmt) bool {
	if sel.GroupBy != nil || sel.Having != nil {
		return true
	}
	for _, f := range sel.Fields.Fields {
		if f.Expr != nil && hasAggregate(f.Expr) {
			return true
		}
	}
	return false
}

// hasAggregate reports whether n calls an aggregate function outside any
// subquery.
func hasAggregate(n ast.Node) bool {
	v := &aggFinder{}
	n.Accept(v)
	return v.found
}

// aggFinder finds an aggregate call: node is the first it meets.
type aggFinder struct {
	found bool
	node  ast.ExprNode
}

func (v *aggFinder) Enter(n ast.Node) (ast.Node, bool) {
	switch n := n.(type) {
	case *ast.AggregateFuncExpr:
		if !v.found {
			v.found, v.node = true, n
		}
		return n, true
	case *ast.FuncCallExpr:
		if _, ok := placeholderIndex(n.FnName.L, aggregatePrefix); ok {
			if !v.found {
				v.found, v.node = true, n
			}
			return n, true
		}
	case *ast.SubqueryExpr:
		return n, true
	}
	return n, v.found
}

func (v *aggFinder) Leave(n ast.Node) (ast.Node, bool) { return n, true }

// aggregate binds the grouped query sel over in (the FROM relation after
// WHERE).
func (b *binder) aggregate(sel *ast.SelectStmt, in Rel) (Rel, error) {
	for _, f := range sel.Fields.Fields {
		if f.WildCard != nil {
			b.loc.seek(b.stmt.Offset + f.Offset)
			return nil, b.errorf(b.loc.pos(), "SELECT * cannot be grouped: name the columns")
		}
	}
	ag := &aggScope{pre: &Project{Input: in}}
	if sel.GroupBy != nil {
		b.loc.seek(b.loc.topLevelIn(b.sp, "GROUP"))
		b.loc.skip("GROUP")
		b.loc.skip("BY")
		for i, item := range sel.GroupBy.Items {
			if i > 0 {
				b.loc.skip(",")
			}
			start := b.loc.pos()
			switch item.Expr.(type) {
			case ast.ValueExpr, *ast.PositionExpr:
				return nil, b.errorf(start, "GROUP BY a position or a constant is not supported: name the column or write the expression")
			}
			e, err := b.expr(item.Expr)
			if err != nil {
				return nil, err
			}
			name := b.stmt.src()[start:b.loc.prevEnd()]
			if c, ok := e.(*expr.ColumnRef); ok {
				name = c.Name
			}
			if k := ag.find(e.String()); k >= 0 {
				continue // GROUP BY a, a
			}
			ag.add(e, name)
		}
	}
	ag.keys = len(ag.pre.Exprs)

	// The SELECT list, over the aggregate's output.
	post := &Project{}
	b.agg = ag
	defer func() { b.agg = nil }()
	for _, f := range sel.Fields.Fields {
		start := b.stmt.Offset + f.Offset
		b.loc.seek(start)
		e, err := b.expr(f.Expr)
		if err != nil {
			return nil, err
		}
		name := f.AsName.O
		switch {
		case name != "":
		case isColumn(f.Expr):
			name = f.Expr.(*ast.ColumnNameExpr).Name.Name.O
			if c, ok := e.(*expr.ColumnRef); ok && c.Index < ag.keys {
				name = c.Name
			}
		default:
			name = b.stmt.src()[start : start+len(f.Text())]
		}
		post.Exprs = append(post.Exprs, e)
		post.Out = append(post.Out, types.Field{Name: name, Type: e.Type()})
	}
	var having expr.Expr
	if sel.Having != nil {
		pos := b.loc.topLevelIn(b.sp, "HAVING")
		b.loc.seek(pos)
		b.loc.skip("HAVING")
		start := b.loc.pos()
		e, err := b.expr(sel.Having.Expr)
		if err != nil {
			return nil, err
		}
		e = typeNull(e, types.Boolean())
		if k := e.Type().Kind; k != types.KindBoolean {
			return nil, b.errorf(start, "HAVING must be BOOLEAN, not %s", e.Type().Nullable())
		}
		having = e
	}
	b.agg = nil

	if len(ag.pre.Exprs) == 0 {
		// COUNT(*) alone reads no column; a batch still needs one to
		// carry its rows.
		ag.add(&expr.Const{Value: true, T: types.Boolean().WithNotNull(true)}, "row")
	}
	a := &Aggregate{Input: ag.pre, Aggs: ag.calls}
	for k := range ag.keys {
		a.Keys = append(a.Keys, k)
		a.Out = append(a.Out, ag.pre.Out[k])
	}
	for i, c := range ag.calls {
		a.Out = append(a.Out, types.Field{Name: ag.names[i], Type: c.T})
	}
	// The references made while binding point at the output: keys, then
	// calls, which is a's order.
	var out Rel = a
	if having != nil {
		out = &Filter{Input: out, Cond: having}
	}
	post.Input = out
	return post, nil
}

func (ag *aggScope) find(text string) int {
	for i, t := range ag.text {
		if t == text {
			return i
		}
	}
	return -1
}

// add appends e to the projection under the aggregate and returns its
// column.
func (ag *aggScope) add(e expr.Expr, name string) int {
	ag.pre.Exprs = append(ag.pre.Exprs, e)
	ag.pre.Out = append(ag.pre.Out, types.Field{Name: name, Type: e.Type()})
	ag.text = append(ag.text, e.String())
	return len(ag.pre.Exprs) - 1
}

// groupedExpr binds n of a grouped query's SELECT list or HAVING: an
// aggregate call, or an expression the GROUP BY lists, becomes a column
// of the aggregate's output; ok is false for anything else, which the
// caller binds as usual (its parts come back here).
func (b *binder) groupedExpr(n ast.ExprNode) (e expr.Expr, ok bool, err error) {
	ag := b.agg
	if a, isAgg := b.aggregateSyntax(n); isAgg {
		e, err := b.aggCall(a)
		return e, true, err
	}
	switch n.(type) {
	case ast.ValueExpr, *ast.ParenthesesExpr:
		return nil, false, nil
	}
	// Bind n over the input, quietly, to see whether it is a key.
	save := b.loc.i
	b.agg = nil
	te, terr := b.expr(n)
	b.agg = ag
	if terr == nil {
		if k := ag.find(te.String()); k >= 0 && k < ag.keys {
			f := ag.pre.Out[k]
			return &expr.ColumnRef{Index: k, T: f.Type, Name: f.Name}, true, nil
		}
	}
	if c, isCol := n.(*ast.ColumnNameExpr); isCol {
		b.loc.i = save
		pos := b.loc.name(c.Name.Name.O)
		if terr != nil {
			return nil, true, terr
		}
		return nil, true, b.errorf(pos, "column %q must be in GROUP BY or inside an aggregate function", c.Name.Name.O)
	}
	b.loc.i = save
	return nil, false, nil
}

// placeholderIndex returns N of a placeholder name prefix<N> (lower case).
func placeholderIndex(name, prefix string) (int, bool) {
	digits, ok := strings.CutPrefix(name, prefix)
	if !ok || digits == "" || strings.TrimLeft(digits, "0123456789") != "" {
		return 0, false
	}
	i, err := strconv.Atoi(digits)
	return i, err == nil
}

// aggSyntax is an aggregate call as parsed: TiDB's AggregateFuncExpr, or
// the generic call standing in for one of Dialect.Aggregates.
type aggSyntax struct {
	fn       string // upper case
	pos      int    // where the name is, or -1 for the first at the cursor
	distinct bool
	args     []ast.ExprNode
}

// aggregateSyntax reports whether n is an aggregate call.
func (b *binder) aggregateSyntax(n ast.ExprNode) (aggSyntax, bool) {
	switch n := n.(type) {
	case *ast.AggregateFuncExpr:
		return aggSyntax{fn: strings.ToUpper(n.F), pos: -1, distinct: n.Distinct, args: n.Args}, true
	case *ast.FuncCallExpr:
		if a, ok := b.dialectAggregate(n); ok {
			return aggSyntax{fn: a.Fn, pos: a.Pos, args: n.Args}, true
		}
	}
	return aggSyntax{}, false
}

// dialectAggregate returns the record of the aggregate call n stands in
// for, if it is a placeholder.
func (b *binder) dialectAggregate(n *ast.FuncCallExpr) (AggregateCall, bool) {
	i, ok := placeholderIndex(n.FnName.L, aggregatePrefix)
	if !ok || b.d == nil || i >= len(b.d.Aggregates) {
		return AggregateCall{}, false
	}
	return b.d.Aggregates[i], true
}

// dialectFilter returns the FILTER clause n, the right operand of a `^`,
// stands in for, if it is a placeholder.
func (b *binder) dialectFilter(n ast.ExprNode) (*pendingFilter, bool) {
	c, ok := n.(*ast.FuncCallExpr)
	if !ok || len(c.Args) != 1 {
		return nil, false
	}
	i, ok := placeholderIndex(c.FnName.L, filterPrefix)
	if !ok || b.d == nil || i >= len(b.d.Filters) {
		return nil, false
	}
	return &pendingFilter{FilterClause: b.d.Filters[i], cond: c.Args[0]}, true
}

// filtered binds `x FILTER (WHERE cond)`, which the parser hands over as
// `x ^ __fN(cond)`. x must be an aggregate call, possibly under unary
// operators (`-COUNT(*) FILTER (...)` parses as `(-COUNT(*)) ^ ...`):
// the call whose closing parenthesis FILTER follows takes the filter
// while x is bound.
func (b *binder) filtered(x ast.ExprNode, f *pendingFilter) (expr.Expr, error) {
	ag := b.agg
	if ag == nil {
		// Not in a grouped query's SELECT list or HAVING: an aggregate in
		// x says why it cannot be here.
		if _, err := b.expr(x); err != nil {
			return nil, err
		}
		return nil, b.errorf(f.Pos, "FILTER applies only to aggregate functions")
	}
	outer := ag.filter
	ag.filter = f
	e, err := b.expr(x)
	taken := ag.filter == nil
	ag.filter = outer
	if err != nil {
		return nil, err
	}
	if !taken {
		return nil, b.errorf(f.Pos, "FILTER applies only to aggregate functions")
	}
	b.loc.seek(f.End)
	return e, nil
}

// filterCond binds the condition of f over the input and leaves the
// cursor after the FILTER clause.
func (b *binder) filterCond(f *pendingFilter) (expr.Expr, error) {
	b.loc.seek(f.CondPos)
	v := &aggFinder{}
	f.cond.Accept(v)
	if v.node != nil {
		a, _ := b.aggregateSyntax(v.node)
		name := a.fn
		if name == "" { // a placeholder the dialect did not write
			name = v.node.(*ast.FuncCallExpr).FnName.O
		}
		return nil, b.errorf(b.loc.name(name), "aggregate function %s is not allowed in a FILTER condition", name)
	}
	ag := b.agg
	b.agg = nil
	e, err := b.expr(f.cond)
	b.agg = ag
	if err != nil {
		return nil, err
	}
	if err := b.wantBool(e, f.CondPos, "FILTER condition"); err != nil {
		return nil, err
	}
	b.loc.seek(f.End)
	return typeNull(e, types.Boolean()), nil
}

// aggCall binds an aggregate function call: its argument over the input,
// once per distinct argument; the call once per distinct call. A FILTER
// clause right after the call, when it is the one pending, is folded into
// the argument.
func (b *binder) aggCall(a aggSyntax) (expr.Expr, error) {
	ag := b.agg
	if a.pos >= 0 {
		b.loc.seek(a.pos)
	}
	start := b.loc.pos()
	pos := b.loc.name(a.fn)
	fn := a.fn
	if len(a.args) != 1 {
		return nil, b.errorf(pos, "%s takes one argument", fn)
	}
	b.loc.skip("(")
	if a.distinct {
		b.loc.skip("DISTINCT")
	}
	var x expr.Expr // nil for COUNT(*)
	star := fn == "COUNT" && !a.distinct && b.loc.peek(0).isPunct("*")
	if star {
		b.loc.i++
	} else {
		b.agg = nil
		e, err := b.expr(a.args[0])
		b.agg = ag
		if err != nil {
			return nil, err
		}
		if c, isConst := e.(*expr.Const); isConst && fn == "COUNT" && !a.distinct && c.Value != nil {
			star = true // COUNT(1) counts rows
		} else {
			x = e
		}
	}
	b.loc.skip(")")
	if f := ag.filter; f != nil && b.loc.pos() == f.Pos {
		ag.filter = nil
		cond, err := b.filterCond(f)
		if err != nil {
			return nil, err
		}
		if star {
			x, star = &expr.Const{Value: int64(1), T: types.Int().WithNotNull(true)}, false
		}
		if x, err = b.call(expr.FnCase, f.Pos, cond, x); err != nil {
			return nil, err
		}
	}
	arg := -1
	var argType types.Type
	if !star {
		argType = x.Type()
		arg = ag.find(x.String())
		if arg < ag.keys {
			// A key is also an argument: its own column keeps the
			// projection's columns for keys and arguments apart.
			arg = -1
			for i := ag.keys; i < len(ag.text); i++ {
				if ag.text[i] == x.String() {
					arg = i
				}
			}
		}
		if arg < 0 {
			arg = ag.add(x, x.String())
		}
	}
	var t types.Type
	var err error
	if star {
		t, err = agg.ResultType(agg.FnCountStar, false, types.Type{})
	} else {
		t, err = agg.ResultType(fn, a.distinct, argType)
	}
	if err != nil {
		return nil, b.errorf(pos, "%v", err)
	}
	call := AggCall{Fn: fn, Distinct: a.distinct, Arg: arg, T: t}
	name := b.stmt.src()[start:b.loc.prevEnd()]
	k := -1
	for i, c := range ag.calls {
		if c == call {
			k = i
		}
	}
	if k < 0 {
		ag.calls = append(ag.calls, call)
		ag.names = append(ag.names, name)
		k = len(ag.calls) - 1
	}
	return &expr.ColumnRef{Index: ag.keys + k, T: t, Name: ag.names[k]}, nil
}
