package planner

import (
	"fmt"

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
	// RuleEmptyFilter marks a plan whose filter is never TRUE (always
	// FALSE or NULL): it produces no rows.
	RuleEmptyFilter = "EmptyFilter"
)

// Firing is one application of a rewrite rule: what it replaced and with
// what, as expr.Expr.String spells them.
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

// rewrite applies the rules to p in a fixed order, folding first so that
// the filter rules see constants, and records each firing in p.Rules.
func (p *Physical) rewrite() {
	if p.Filter != nil {
		p.Filter = p.fold(p.Filter)
		if c, ok := p.Filter.(*expr.Const); ok {
			if b, _ := c.Value.(bool); b {
				p.Rules = append(p.Rules, Firing{Rule: RuleRemoveTrueFilter, Before: c.String()})
				p.Filter = nil
			} else {
				p.Rules = append(p.Rules, Firing{Rule: RuleEmptyFilter, Before: c.String()})
				p.Empty = true
			}
		}
	}
	for i, e := range p.Projections {
		p.Projections[i] = p.fold(e)
	}
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
		// A function of no arguments may be volatile (NOW()): it is never
		// folded.
		if len(x.Args) == 0 {
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
