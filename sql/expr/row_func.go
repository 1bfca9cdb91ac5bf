package expr

import (
	"fmt"

	"github.com/sluice-sql/sluice/sql/types"
)

// builtin is a named scalar function outside the operator core: its
// result-type rule and its compiler. The builtins are merged into
// registry at initialization and never change afterwards.
type builtin struct {
	rule    rule
	compile func(c *Call, rt types.Type) (Evaluator, error)
}

var builtins = map[string]builtin{}

func init() {
	for _, m := range []map[string]builtin{stringBuiltins, mathBuiltins, likeBuiltins, jsonBuiltins, clockBuiltins} {
		for name, b := range m {
			registry[name] = b.rule
			builtins[name] = b
		}
	}
}

// rowFunc evaluates a function row by row: the functions whose work per
// row (UTF-8 decoding, searching, libm) dwarfs a function call. row
// appends exactly one value (or NULL) to out for row i; when strict, rows
// where any argument is NULL are appended as NULL without calling it.
// row must not allocate in steady state: string results are built in a
// scratch buffer the closure owns and copied into out's Data.
type rowFunc struct {
	fn     string
	args   []*operand
	vecs   []*types.Vector
	rt     types.Type
	strict bool
	row    func(out *types.Vector, a []*types.Vector, i int) error
	mask   []bool
}

// newRowFunc compiles args, each cast to its type in ts, for row.
func newRowFunc(fn string, rt types.Type, strict bool, args []Expr, ts []types.Type,
	row func(out *types.Vector, a []*types.Vector, i int) error) (Evaluator, error) {
	e := &rowFunc{fn: fn, rt: rt, strict: strict, row: row,
		args: make([]*operand, len(args)), vecs: make([]*types.Vector, len(args))}
	for i, a := range args {
		o, err := newOperand(castTo(a, ts[i]))
		if err != nil {
			return nil, err
		}
		e.args[i] = o
	}
	return e, nil
}

func (e *rowFunc) Eval(in *types.Batch, out *types.Vector) error {
	anyNull := false
	for i, o := range e.args {
		v, err := o.vec(in)
		if err != nil {
			return err
		}
		e.vecs[i] = v
		anyNull = anyNull || v.HasNulls()
	}
	n := in.Len()
	out.Reset(e.rt, n)
	live := liveMask(in, &e.mask)
	for i := range n {
		if e.strict && anyNull && e.nullAt(i) {
			out.AppendNull()
			continue
		}
		if err := e.row(out, e.vecs, i); err != nil {
			if live != nil && !live[i] {
				// A dead row's error does not count; keep the row count.
				if out.Len() == i {
					out.AppendNull()
				}
				continue
			}
			return rowError(e.fn, err, i, e.vecs...)
		}
	}
	if out.Len() != n {
		panic(fmt.Sprintf("expr: %s produced %d rows for %d", e.fn, out.Len(), n))
	}
	return nil
}

func (e *rowFunc) nullAt(i int) bool {
	for _, v := range e.vecs {
		if v.IsNull(i) {
			return true
		}
	}
	return false
}

// The argument checks of the type rules.

func argRange(a []types.Type, lo, hi int) error {
	if len(a) < lo || (hi >= 0 && len(a) > hi) {
		if lo == hi {
			return argCount(lo, len(a))
		}
		if hi < 0 {
			return fmt.Errorf("%w: want at least %d arguments, got %d", ErrArgumentType, lo, len(a))
		}
		return fmt.Errorf("%w: want %d to %d arguments, got %d", ErrArgumentType, lo, hi, len(a))
	}
	return nil
}

func isStringArg(t types.Type) bool { return t.Kind == types.KindString || t.Kind == types.KindNull }

func isIntArg(t types.Type) bool { return t.Kind == types.KindInt || t.Kind == types.KindNull }

func isNumericArg(t types.Type) bool { return t.IsNumeric() || t.Kind == types.KindNull }

// wantArgs checks each argument against the predicate of its position
// (the last predicate repeats).
func wantArgs(a []types.Type, preds ...func(types.Type) bool) error {
	for i, t := range a {
		p := preds[min(i, len(preds)-1)]
		if !p(t) {
			return fmt.Errorf("%w: argument %d is %s", ErrArgumentType, i+1, t)
		}
	}
	return nil
}
