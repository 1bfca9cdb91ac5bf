package planner

import (
	"fmt"
	"slices"

	"github.com/sluice-sql/sluice/sql"

	"github.com/sluice-sql/sluice/sql/expr"
	"github.com/sluice-sql/sluice/sql/types"
)

// The rewrite rules, by the names a Firing records.
const (
	// RuleFoldConstants replaces a call or cast whose arguments are all
	// constants with its value, computed once at plan time.
	RuleFoldConstants = "FoldConstants"
	// RuleRemoveTrueFilter drops a filter that is always TRUE.
	RuleRemoveTrueFilter = "RemoveTrueFilter"
	// RuleEmptyFilter replaces a filter that is never TRUE (always FALSE
	// or NULL) and its input with an empty relation: nothing is read.
	RuleEmptyFilter = "EmptyFilter"
	// RuleRemoveEmptyInput drops the empty inputs of a union, and turns
	// a filter or projection of an empty relation into an empty one.
	RuleRemoveEmptyInput = "RemoveEmptyInput"
	// RuleMergeFilters joins a filter over a filter into one, with AND.
	RuleMergeFilters = "MergeFilters"
	// RulePushFilterPastProject moves a filter below the projection it
	// reads, rewritten over the projection's input, so rows are dropped
	// before columns are computed for them.
	RulePushFilterPastProject = "PushFilterPastProject"
	// RulePushFilterIntoUnion copies a filter over a union into each of
	// its inputs.
	RulePushFilterIntoUnion = "PushFilterIntoUnion"
	// RulePushProjectIntoUnion copies a projection over a union into each
	// of its inputs, so that every input computes only the columns the
	// query keeps.
	RulePushProjectIntoUnion = "PushProjectIntoUnion"
	// RuleMergeProjections merges a projection over a projection into one
	// when no expression of the lower one would be computed twice.
	RuleMergeProjections = "MergeProjections"
	// RuleRemoveIdentityProject drops a projection that passes its input
	// through unchanged.
	RuleRemoveIdentityProject = "RemoveIdentityProject"
	// RulePushFilterPastWindow moves the conjuncts of a filter that read
	// no window column below the window table function, so rows are
	// dropped before they are copied into windows.
	RulePushFilterPastWindow = "PushFilterPastWindow"
	// RuleRankToTopN turns a filter on a ROW_NUMBER (rn <= N, rn < N,
	// rn = 1) into the rank's limit: a Top-N, or a deduplication for 1.
	RuleRankToTopN = "RankToTopN"
	// RulePruneColumns makes a scan read only the columns its filters and
	// projection use, when its source can skip the others (a JSON
	// decoder then parses only those fields).
	RulePruneColumns = "PruneColumns"
)

// pruneScans applies RulePruneColumns to every Project(Filter*(Scan)) of
// r whose scan is prunable.
func (p *Physical) pruneScans(r sql.Rel) sql.Rel {
	if proj, ok := r.(*sql.Project); ok {
		var filters []*sql.Filter
		cur := proj.Input
		for {
			f, ok := cur.(*sql.Filter)
			if !ok {
				break
			}
			filters = append(filters, f)
			cur = f.Input
		}
		if scan, ok := cur.(*sql.Scan); ok && scan.Columns == nil && p.opts.Prunable(scan.Table) {
			uses := make([]int, len(scan.Table.Schema))
			for _, e := range proj.Exprs {
				countRefs(e, uses)
			}
			for _, f := range filters {
				countRefs(f.Cond, uses)
			}
			if scan.Watermark != nil {
				countRefs(scan.Watermark, uses)
			}
			if p.opts.UpsertSource != nil && p.opts.UpsertSource(scan.Table) {
				for _, k := range scan.Table.PrimaryKey {
					if c := scan.Table.Schema.Index(k); c >= 0 {
						uses[c]++ // the key is what normalizing needs
					}
				}
			}
			remap := make([]int, len(uses))
			var cols []int
			if slices.Max(uses) == 0 {
				uses[0] = 1 // a query reading no column still reads its rows
			}
			for i, n := range uses {
				remap[i] = -1
				if n > 0 {
					remap[i] = len(cols)
					cols = append(cols, i)
				}
			}
			if len(cols) < len(uses) {
				pruned := &sql.Scan{Table: scan.Table, Pos: scan.Pos, Columns: cols}
				if scan.Watermark != nil {
					pruned.Watermark = remapRefs(scan.Watermark, remap)
				}
				var in sql.Rel = pruned
				p.fire(RulePruneColumns, sql.Describe(scan), sql.Describe(in))
				for i := len(filters) - 1; i >= 0; i-- {
					in = &sql.Filter{Input: in, Cond: remapRefs(filters[i].Cond, remap)}
				}
				es := make([]expr.Expr, len(proj.Exprs))
				for i, e := range proj.Exprs {
					es[i] = remapRefs(e, remap)
				}
				return &sql.Project{Input: in, Exprs: es, Out: proj.Out}
			}
			return r
		}
	}
	ins := r.Inputs()
	if len(ins) == 0 {
		return r
	}
	nins := make([]sql.Rel, len(ins))
	for i, in := range ins {
		nins[i] = p.pruneScans(in)
	}
	return r.WithInputs(nins)
}

// remapRefs returns e with column i read as column m[i].
func remapRefs(e expr.Expr, m []int) expr.Expr {
	return mapRefs(e, func(c *expr.ColumnRef) expr.Expr {
		r := *c
		r.Index = m[c.Index]
		return &r
	})
}

// mapRefs returns e with each column reference c replaced by f(c).
func mapRefs(e expr.Expr, f func(*expr.ColumnRef) expr.Expr) expr.Expr {
	switch x := e.(type) {
	case *expr.ColumnRef:
		return f(x)
	case *expr.Cast:
		return &expr.Cast{Arg: mapRefs(x.Arg, f), T: x.T}
	case *expr.Call:
		args := make([]expr.Expr, len(x.Args))
		for i, a := range x.Args {
			args[i] = mapRefs(a, f)
		}
		return &expr.Call{Fn: x.Fn, Args: args, T: x.T}
	}
	return e
}

// Firing is one application of a rewrite rule: what it replaced and with
// what, as expr.Expr.String or sql.Describe spell them.
type Firing struct {
	Rule   string
	Before string
	After  string
}

func (f Firing) String() string {
	if f.After == "" {
		return fmt.Sprintf("%s: %s", f.Rule, f.Before)
	}
	return fmt.Sprintf("%s: %s → %s", f.Rule, f.Before, f.After)
}

func (p *Physical) fire(rule, before, after string) {
	p.Rules = append(p.Rules, Firing{Rule: rule, Before: before, After: after})
}

// rewrite applies the rules to r: constants are folded first, once, so
// that the other rules see them; then the structural rules run bottom up
// until none fires (each makes the tree smaller or moves a filter or
// projection down, so this ends; the bound is a safeguard).
func (p *Physical) rewrite(r sql.Rel) sql.Rel {
	r = p.foldRel(r)
	for range 100 {
		var changed bool
		r, changed = p.rewriteOnce(r)
		if !changed {
			break
		}
	}
	return r
}

// foldRel folds the constant subexpressions of every filter and
// projection of r.
func (p *Physical) foldRel(r sql.Rel) sql.Rel {
	ins := r.Inputs()
	if len(ins) > 0 {
		nins := make([]sql.Rel, len(ins))
		for i, in := range ins {
			nins[i] = p.foldRel(in)
		}
		r = r.WithInputs(nins)
	}
	switch n := r.(type) {
	case *sql.Filter:
		return &sql.Filter{Input: n.Input, Cond: p.fold(n.Cond)}
	case *sql.Project:
		es := make([]expr.Expr, len(n.Exprs))
		for i, e := range n.Exprs {
			es[i] = p.fold(e)
		}
		return &sql.Project{Input: n.Input, Exprs: es, Out: n.Out}
	}
	return r
}

// rewriteOnce applies the first rule that fires at each node, inputs
// first.
func (p *Physical) rewriteOnce(r sql.Rel) (sql.Rel, bool) {
	changed := false
	if ins := r.Inputs(); len(ins) > 0 {
		nins := make([]sql.Rel, len(ins))
		for i, in := range ins {
			var c bool
			nins[i], c = p.rewriteOnce(in)
			changed = changed || c
		}
		if changed {
			r = r.WithInputs(nins)
		}
	}
	switch n := r.(type) {
	case *sql.Filter:
		if _, ok := n.Input.(*sql.Empty); ok {
			p.fire(RuleRemoveEmptyInput, sql.Describe(n), "")
			return &sql.Empty{Out: n.Schema()}, true
		}
		if c, ok := n.Cond.(*expr.Const); ok {
			if b, _ := c.Value.(bool); b {
				p.fire(RuleRemoveTrueFilter, c.String(), "")
				return n.Input, true
			}
			p.fire(RuleEmptyFilter, c.String(), "")
			return &sql.Empty{Out: n.Schema()}, true
		}
		switch in := n.Input.(type) {
		case *sql.Window:
			width := len(in.Input.Schema())
			var push, keep []expr.Expr
			for _, c := range conjuncts(n.Cond) {
				uses := make([]int, len(in.Out))
				countRefs(c, uses)
				reads := false
				for i := width; i < len(uses); i++ {
					reads = reads || uses[i] > 0
				}
				if reads || volatile(c) {
					keep = append(keep, c)
				} else {
					push = append(push, c)
				}
			}
			if len(push) == 0 {
				break
			}
			p.fire(RulePushFilterPastWindow, and(push).String(), "")
			w := *in
			w.Input = &sql.Filter{Input: in.Input, Cond: and(push)}
			if len(keep) == 0 {
				return &w, true
			}
			return &sql.Filter{Input: &w, Cond: and(keep)}, true
		case *sql.Rank:
			if in.Limit > 0 {
				break
			}
			var keep []expr.Expr
			limit := int64(0)
			for _, c := range conjuncts(n.Cond) {
				if l := rankLimit(c, len(in.Out)-1); l > 0 && limit == 0 {
					limit = l
					continue
				}
				keep = append(keep, c)
			}
			if limit == 0 {
				break
			}
			r := *in
			r.Limit = limit
			p.fire(RuleRankToTopN, n.Cond.String(), sql.Describe(&r))
			if len(keep) == 0 {
				return &r, true
			}
			return &sql.Filter{Input: &r, Cond: and(keep)}, true
		case *sql.Filter:
			cond := &expr.Call{Fn: expr.FnAnd, Args: []expr.Expr{in.Cond, n.Cond}, T: andType(in.Cond, n.Cond)}
			p.fire(RuleMergeFilters, in.Cond.String()+" and "+n.Cond.String(), cond.String())
			return &sql.Filter{Input: in.Input, Cond: cond}, true
		case *sql.Project:
			// Each conjunct that reads no volatile value moves; the
			// others stay above.
			var before, push, keep []expr.Expr
			for _, c := range conjuncts(n.Cond) {
				if volatile(c) || readsVolatile(c, in.Exprs) {
					keep = append(keep, c)
				} else {
					before = append(before, c)
					push = append(push, substitute(c, in.Exprs))
				}
			}
			if len(push) == 0 {
				break
			}
			cond := and(push)
			p.fire(RulePushFilterPastProject, and(before).String(), cond.String())
			var out sql.Rel = &sql.Project{Input: &sql.Filter{Input: in.Input, Cond: cond}, Exprs: in.Exprs, Out: in.Out}
			if len(keep) > 0 {
				out = &sql.Filter{Input: out, Cond: and(keep)}
			}
			return out, true
		case *sql.Union:
			if volatile(n.Cond) {
				break
			}
			ins := make([]sql.Rel, len(in.Ins))
			for i, u := range in.Ins {
				ins[i] = &sql.Filter{Input: u, Cond: n.Cond}
			}
			p.fire(RulePushFilterIntoUnion, n.Cond.String(), "")
			return &sql.Union{Ins: ins, Out: in.Out}, true
		}
	case *sql.Project:
		if _, ok := n.Input.(*sql.Empty); ok {
			p.fire(RuleRemoveEmptyInput, sql.Describe(n), "")
			return &sql.Empty{Out: n.Schema()}, true
		}
		if identity(n) {
			p.fire(RuleRemoveIdentityProject, sql.Describe(n), "")
			return n.Input, true
		}
		switch in := n.Input.(type) {
		case *sql.Project:
			if !mergeable(n.Exprs, in.Exprs) {
				break
			}
			es := make([]expr.Expr, len(n.Exprs))
			for i, e := range n.Exprs {
				es[i] = substitute(e, in.Exprs)
			}
			m := &sql.Project{Input: in.Input, Exprs: es, Out: n.Out}
			p.fire(RuleMergeProjections, sql.Describe(n)+" over "+sql.Describe(in), sql.Describe(m))
			return m, true
		case *sql.Union:
			ins := make([]sql.Rel, len(in.Ins))
			for i, u := range in.Ins {
				ins[i] = &sql.Project{Input: u, Exprs: n.Exprs, Out: n.Out}
			}
			p.fire(RulePushProjectIntoUnion, sql.Describe(n), "")
			return &sql.Union{Ins: ins, Out: n.Out}, true
		}
	case *sql.Union:
		var ins []sql.Rel
		for _, u := range n.Ins {
			if _, ok := u.(*sql.Empty); !ok {
				ins = append(ins, u)
			}
		}
		switch {
		case len(ins) == len(n.Ins):
		case len(ins) == 0:
			p.fire(RuleRemoveEmptyInput, sql.Describe(n), "")
			return &sql.Empty{Out: n.Out}, true
		default:
			p.fire(RuleRemoveEmptyInput, sql.Describe(n), fmt.Sprintf("%d of %d inputs", len(ins), len(n.Ins)))
			if len(ins) == 1 {
				return ins[0], true
			}
			return &sql.Union{Ins: ins, Out: n.Out}, true
		}
	}
	return r, changed
}

// rankLimit reads a bound on the row number column rn from c: rn <= N
// or N >= rn gives N, rn < N or N > rn gives N-1, rn = 1 gives 1; 0 when
// c is no such bound.
func rankLimit(c expr.Expr, rn int) int64 {
	call, ok := c.(*expr.Call)
	if !ok || len(call.Args) != 2 {
		return 0
	}
	fn, a, b := call.Fn, call.Args[0], call.Args[1]
	isRn := func(e expr.Expr) bool {
		r, ok := e.(*expr.ColumnRef)
		return ok && r.Index == rn
	}
	num := func(e expr.Expr) (int64, bool) {
		k, ok := e.(*expr.Const)
		if !ok {
			return 0, false
		}
		n, ok := k.Value.(int64)
		return n, ok
	}
	if !isRn(a) {
		// N >= rn is rn <= N.
		a, b = b, a
		switch fn {
		case expr.FnGe:
			fn = expr.FnLe
		case expr.FnGt:
			fn = expr.FnLt
		case expr.FnEq:
		default:
			return 0
		}
	}
	n, ok := num(b)
	if !isRn(a) || !ok {
		return 0
	}
	switch fn {
	case expr.FnLe:
		return max(n, 0)
	case expr.FnLt:
		return max(n-1, 0)
	case expr.FnEq:
		if n == 1 {
			return 1
		}
	}
	return 0
}

// conjuncts splits e at its top-level ANDs.
func conjuncts(e expr.Expr) []expr.Expr {
	if c, ok := e.(*expr.Call); ok && c.Fn == expr.FnAnd {
		var out []expr.Expr
		for _, a := range c.Args {
			out = append(out, conjuncts(a)...)
		}
		return out
	}
	return []expr.Expr{e}
}

// and joins conjuncts with AND, left to right.
func and(cs []expr.Expr) expr.Expr {
	if len(cs) == 0 {
		return &expr.Const{Value: true, T: types.Boolean().WithNotNull(true)}
	}
	e := cs[0]
	for _, c := range cs[1:] {
		e = &expr.Call{Fn: expr.FnAnd, Args: []expr.Expr{e, c}, T: andType(e, c)}
	}
	return e
}

// readsVolatile reports whether e reads a column that inner computes
// with a volatile function.
func readsVolatile(e expr.Expr, inner []expr.Expr) bool {
	uses := make([]int, len(inner))
	countRefs(e, uses)
	for i, n := range uses {
		if n > 0 && volatile(inner[i]) {
			return true
		}
	}
	return false
}

// andType is the type of a AND b.
func andType(a, b expr.Expr) types.Type {
	return types.Boolean().WithNotNull(a.Type().NotNull && b.Type().NotNull)
}

// identity reports whether p passes its input through: column i is input
// column i, of the same type, for every column of the input. (Names do
// not matter: the plan keeps the query's output names apart.)
func identity(p *sql.Project) bool {
	in := p.Input.Schema()
	if len(p.Exprs) != len(in) {
		return false
	}
	for i, e := range p.Exprs {
		c, ok := e.(*expr.ColumnRef)
		if !ok || c.Index != i || !c.T.Equal(in[i].Type) {
			return false
		}
	}
	return true
}

// mergeable reports whether outer can be rewritten over the input of
// inner without computing any expression of inner twice per row, and
// without moving a volatile one (NOW()), which must be read once.
func mergeable(outer, inner []expr.Expr) bool {
	if anyVolatile(inner) {
		return false
	}
	uses := make([]int, len(inner))
	for _, e := range outer {
		countRefs(e, uses)
	}
	for i, e := range inner {
		switch e.(type) {
		case *expr.ColumnRef, *expr.Const:
			continue
		}
		if uses[i] > 1 {
			return false
		}
	}
	return true
}

func countRefs(e expr.Expr, uses []int) {
	switch x := e.(type) {
	case *expr.ColumnRef:
		uses[x.Index]++
	case *expr.Cast:
		countRefs(x.Arg, uses)
	case *expr.Call:
		for _, a := range x.Args {
			countRefs(a, uses)
		}
	}
}

// substitute returns e with each reference to column i replaced by
// inner[i].
func substitute(e expr.Expr, inner []expr.Expr) expr.Expr {
	return mapRefs(e, func(c *expr.ColumnRef) expr.Expr { return inner[c.Index] })
}

// volatile reports whether e calls a function whose value may change
// between calls with the same arguments (NOW(), CURRENT_TIMESTAMP).
func volatile(e expr.Expr) bool {
	switch x := e.(type) {
	case *expr.Cast:
		return volatile(x.Arg)
	case *expr.Call:
		if expr.Volatile(x.Fn) {
			return true
		}
		for _, a := range x.Args {
			if volatile(a) {
				return true
			}
		}
	}
	return false
}

func anyVolatile(es []expr.Expr) bool {
	for _, e := range es {
		if volatile(e) {
			return true
		}
	}
	return false
}

// fold folds the constant subexpressions of e, recording each maximal one
// folded (the outermost, not the pieces it was folded from).
func (p *Physical) fold(e expr.Expr) expr.Expr {
	out, folded := foldExpr(e, p.record)
	if folded {
		p.record(e, out)
	}
	return out
}

func (p *Physical) record(before, after expr.Expr) {
	p.Rules = append(p.Rules, Firing{Rule: RuleFoldConstants, Before: before.String(), After: after.String()})
}

// foldExpr returns e with its constant subexpressions folded and whether e
// itself became a constant. A subexpression folded inside one that does
// not fold as a whole is reported to record.
func foldExpr(e expr.Expr, record func(before, after expr.Expr)) (expr.Expr, bool) {
	var args []expr.Expr
	switch x := e.(type) {
	case *expr.Cast:
		args = []expr.Expr{x.Arg}
	case *expr.Call:
		// A volatile function (NOW()) is never folded.
		if len(x.Args) == 0 || expr.Volatile(x.Fn) {
			return e, false
		}
		args = x.Args
	default:
		return e, false
	}
	newArgs := make([]expr.Expr, len(args))
	folded := make([]bool, len(args))
	allConst := true
	for i, a := range args {
		newArgs[i], folded[i] = foldExpr(a, record)
		if _, ok := newArgs[i].(*expr.Const); !ok {
			allConst = false
		}
	}
	var rebuilt expr.Expr
	switch x := e.(type) {
	case *expr.Cast:
		rebuilt = &expr.Cast{Arg: newArgs[0], T: x.T}
	case *expr.Call:
		rebuilt = &expr.Call{Fn: x.Fn, Args: newArgs, T: x.T}
	}
	if allConst {
		if c, ok := evalConst(rebuilt); ok {
			return c, true
		}
	}
	for i, a := range args {
		if folded[i] {
			record(a, newArgs[i])
		}
	}
	return rebuilt, false
}

// evalConst evaluates e, which reads no column, over a one-row batch. An
// error (a division by zero, say) leaves e to fail at run time, where it
// names the row, and only if a row ever reaches it.
func evalConst(e expr.Expr) (*expr.Const, bool) {
	ev, err := expr.Compile(e)
	if err != nil {
		return nil, false
	}
	var in types.Batch
	in.SetLen(1)
	var out types.Vector
	if err := ev.Eval(&in, &out); err != nil {
		return nil, false
	}
	return &expr.Const{Value: out.Value(0), T: e.Type()}, true
}
