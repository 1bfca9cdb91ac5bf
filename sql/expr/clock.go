package expr

import (
	"fmt"
	"time"

	"github.com/sluice-sql/sluice/sql/types"
)

// FnCurrentTimestamp is the processing time: CURRENT_TIMESTAMP, NOW()
// and LOCALTIMESTAMP, a TIMESTAMP(3) NOT NULL in UTC. It takes no
// arguments and is volatile (see Volatile): its value is read from the
// clock of Options once per batch, so it must never be folded into a
// constant before run time.
const FnCurrentTimestamp = "CURRENT_TIMESTAMP"

// Options configure CompileWith.
type Options struct {
	// Now is the processing-time clock that CURRENT_TIMESTAMP reads, once
	// per batch. Nil means time.Now.
	Now func() time.Time
}

// EnsureDefaults fills the options left unset.
func (o *Options) EnsureDefaults() {
	if o.Now == nil {
		o.Now = time.Now
	}
}

// CompileWith is Compile with options: the clock of CURRENT_TIMESTAMP.
func CompileWith(e Expr, opts Options) (Evaluator, error) {
	opts.EnsureDefaults()
	return compile(bindClock(e, opts.Now))
}

// Volatile reports whether the function fn may give a different value
// each time it is evaluated with the same arguments (CURRENT_TIMESTAMP).
// A call of a volatile function is never a constant, even when all of
// its arguments are.
func Volatile(fn string) bool { return volatile[fn] }

// volatile are the volatile functions. It is never modified.
var volatile = map[string]bool{FnCurrentTimestamp: true}

var clockBuiltins = map[string]builtin{
	FnCurrentTimestamp: {
		rule: func(a []types.Type) (types.Type, error) {
			if err := argRange(a, 0, 0); err != nil {
				return types.Type{}, err
			}
			return types.Timestamp(3).WithNotNull(true), nil
		},
		compile: func(c *Call, _ types.Type) (Evaluator, error) {
			// bindClock replaces every such call before compilation.
			return nil, fmt.Errorf("%s compiled without a clock", c.Fn)
		},
	},
}

// clockExpr is a CURRENT_TIMESTAMP call bound to its clock. It exists
// only between bindClock and compile, so that the clock reaches the
// evaluator without passing through every compiler of the package.
type clockExpr struct {
	now func() time.Time
	t   types.Type
}

func (c *clockExpr) Type() types.Type { return c.t }

func (c *clockExpr) String() string { return FnCurrentTimestamp + "()" }

// bindClock returns e with every volatile call replaced by its bound
// form. It copies only the nodes above a replacement: e, which the
// caller may keep, is never modified.
func bindClock(e Expr, now func() time.Time) Expr {
	switch x := e.(type) {
	case *Cast:
		if a := bindClock(x.Arg, now); a != x.Arg {
			return &Cast{Arg: a, T: x.T}
		}
	case *Call:
		if x.Fn == FnCurrentTimestamp && len(x.Args) == 0 {
			var bound Expr = &clockExpr{now: now, t: types.Timestamp(3).WithNotNull(true)}
			if !x.T.Equal(bound.Type()) {
				bound = &Cast{Arg: bound, T: x.T}
			}
			return bound
		}
		var args []Expr
		for i, a := range x.Args {
			b := bindClock(a, now)
			if b != a && args == nil {
				args = append([]Expr(nil), x.Args...)
			}
			if args != nil {
				args[i] = b
			}
		}
		if args != nil {
			return &Call{Fn: x.Fn, Args: args, T: x.T}
		}
	}
	return e
}

// clockEval reads the clock once per batch, truncated to the type's
// precision.
type clockEval struct {
	now  func() time.Time
	t    types.Type
	unit int64 // microseconds per unit of precision
}

func newClockEval(c *clockExpr) *clockEval {
	return &clockEval{now: c.now, t: c.t, unit: pow10[types.MaxTimestampPrecision-int(c.t.Precision)]}
}

func (c *clockEval) Eval(in *types.Batch, out *types.Vector) error {
	us := floorDiv(c.now().UnixMicro(), c.unit) * c.unit
	n := in.Len()
	out.Reset(c.t, n)
	out.SetLen(n)
	for i := range out.Ints {
		out.Ints[i] = us
	}
	return nil
}
