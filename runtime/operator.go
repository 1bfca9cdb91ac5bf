package runtime

import (
	"fmt"
	"sync/atomic"

	"github.com/sluice-sql/sluice/sql/expr"
	"github.com/sluice-sql/sluice/sql/types"
)

// Emit hands a batch to the next stage. The batch is lent for the duration
// of the call: the callee must not keep it, and the caller may reuse it as
// soon as Emit returns.
type Emit func(*types.Batch) error

// Operator is a stateless transformation of batches, run by one task
// goroutine (an Operator need not be safe for concurrent use; each
// instance of a pipeline gets its own).
//
// Process may emit any number of batches for one input. It may change in's
// Sel (to narrow it) but not its columns' values, and must not keep in after
// returning. Finish is called once after the last input when the input is
// complete (not on failure or cancellation) and may emit final batches.
type Operator interface {
	Process(in *types.Batch, emit Emit) error
	Finish(emit Emit) error
}

// OperatorSpec names an operator of a pipeline and builds one instance of
// it per parallel instance.
type OperatorSpec struct {
	Name string
	New  func() (Operator, error)
	// NewWith, when set, builds an instance instead of New, with its
	// context (its place, the job's state).
	NewWith func(OperatorContext) (Operator, error)
	// Late, if set, counts the rows the operator's instances drop as
	// late, for the job's metrics.
	Late *atomic.Int64
}

// FilterSpec returns the spec of a Filter on pred, compiled per instance
// with opts.
func FilterSpec(name string, pred expr.Expr, opts expr.Options) OperatorSpec {
	return OperatorSpec{Name: name, New: func() (Operator, error) { return NewFilter(pred, opts) }}
}

// ProjectSpec returns the spec of a Project, compiled per instance with
// opts.
func ProjectSpec(name string, names []string, exprs []expr.Expr, opts expr.Options) OperatorSpec {
	return OperatorSpec{Name: name, New: func() (Operator, error) { return NewProject(names, exprs, opts) }}
}

// Filter keeps the rows on which a BOOLEAN predicate is TRUE; FALSE and
// NULL rows are dropped. It narrows the batch's Sel and moves no data.
type Filter struct {
	pred    expr.Evaluator
	scratch *types.Vector
	sel     []int32
}

// NewFilter compiles pred, which must be BOOLEAN, with opts (the clock
// of CURRENT_TIMESTAMP).
func NewFilter(pred expr.Expr, opts expr.Options) (*Filter, error) {
	if k := pred.Type().Kind; k != types.KindBoolean {
		return nil, fmt.Errorf("runtime: filter predicate %s is %s, not BOOLEAN", pred, pred.Type())
	}
	ev, err := expr.CompileWith(pred, opts)
	if err != nil {
		return nil, fmt.Errorf("runtime: filter: %w", err)
	}
	return &Filter{pred: ev, scratch: &types.Vector{}}, nil
}

// Process implements Operator. A batch with no row left is not emitted.
func (f *Filter) Process(in *types.Batch, emit Emit) error {
	if in.Live() == 0 {
		if in.Watermark != types.NoWatermark {
			return emit(in)
		}
		return nil
	}
	if err := f.pred.Eval(in, f.scratch); err != nil {
		return err
	}
	vals, nulls := f.scratch.Bools, f.scratch.HasNulls()
	sel := f.sel[:0]
	if in.Sel != nil {
		for _, i := range in.Sel {
			if vals[i] && !(nulls && f.scratch.IsNull(int(i))) {
				sel = append(sel, i)
			}
		}
	} else {
		for i, v := range vals[:in.Len()] {
			if v && !(nulls && f.scratch.IsNull(i)) {
				sel = append(sel, int32(i))
			}
		}
	}
	// The batch's Sel now aliases f.sel: valid until the next Process,
	// which is after the batch went back to its pool (see the package's
	// ownership rule).
	f.sel = sel
	if len(sel) == 0 {
		if in.Watermark == types.NoWatermark {
			return nil
		}
		// No row is left, but the watermark goes on.
		sel = noRows
	}
	in.Sel = sel
	return emit(in)
}

// Finish implements Operator.
func (f *Filter) Finish(Emit) error { return nil }

// Project computes one output column per expression. The output has the
// input's rows, Sel and change kinds: rows outside Sel are computed (or
// not) but stay unselected.
type Project struct {
	evals  []expr.Evaluator
	schema types.Schema
	out    *types.Batch
}

// NewProject compiles exprs with opts; names are the output columns'
// names.
func NewProject(names []string, exprs []expr.Expr, opts expr.Options) (*Project, error) {
	if len(names) != len(exprs) {
		return nil, fmt.Errorf("runtime: project has %d names for %d expressions", len(names), len(exprs))
	}
	p := &Project{schema: make(types.Schema, len(exprs))}
	for i, e := range exprs {
		ev, err := expr.CompileWith(e, opts)
		if err != nil {
			return nil, fmt.Errorf("runtime: project column %s: %w", names[i], err)
		}
		p.evals = append(p.evals, ev)
		p.schema[i] = types.Field{Name: names[i], Type: e.Type()}
	}
	p.out = types.NewBatch(p.schema, 0)
	return p, nil
}

// Schema returns the output columns.
func (p *Project) Schema() types.Schema { return p.schema }

// Process implements Operator.
func (p *Project) Process(in *types.Batch, emit Emit) error {
	if in.Live() == 0 {
		return forwardWatermark(in, p.out, emit)
	}
	out := p.out
	for i, ev := range p.evals {
		if err := ev.Eval(in, out.Cols[i]); err != nil {
			return err
		}
	}
	out.Kinds = nil
	out.SetLen(in.Len())
	// Sel and Kinds alias the input's, which the caller owns for the
	// duration of this call, as emit does the output.
	out.Sel, out.Kinds = in.Sel, in.Kinds
	out.Watermark = in.Watermark
	return emit(out)
}

// noRows is the selection of a batch with no live row.
var noRows = []int32{}

// forwardWatermark passes on the watermark of in, which has no live row,
// as out with no row: the watermark must reach the operators after, even
// when no row does. Nothing is emitted when in carries none.
func forwardWatermark(in, out *types.Batch, emit Emit) error {
	if in.Watermark == types.NoWatermark {
		return nil
	}
	for _, c := range out.Cols {
		c.Reset(c.Type, 0)
	}
	out.Kinds, out.Sel = nil, nil
	out.SetLen(0)
	out.Watermark = in.Watermark
	return emit(out)
}

// Finish implements Operator.
func (p *Project) Finish(Emit) error { return nil }
