package agg

import (
	"errors"
	"fmt"
	"strings"

	"github.com/sluice-sql/sluice/sql/expr"
	"github.com/sluice-sql/sluice/sql/types"
)

// The aggregate function names that Spec.Fn, ResultType and New take
// (case-insensitively).
const (
	FnCountStar  = "COUNT(*)"
	FnCount      = "COUNT"
	FnSum        = "SUM"
	FnAvg        = "AVG"
	FnMin        = "MIN"
	FnMax        = "MAX"
	FnFirstValue = "FIRST_VALUE"
	FnLastValue  = "LAST_VALUE"
	FnStddevPop  = "STDDEV_POP"
	FnStddevSamp = "STDDEV_SAMP"
	FnVarPop     = "VAR_POP"
	FnVarSamp    = "VAR_SAMP"
)

// ErrRetraction is returned by Update when an accumulator built for an
// append-only input (Spec.Retract false) is given a weight of -1.
var ErrRetraction = errors.New("retraction on an append-only aggregate")

// ErrBadState is returned by LoadState for bytes that AppendState of the
// same kind of accumulator did not produce.
var ErrBadState = errors.New("bad aggregate state")

// Unknown names wrap expr.ErrUnknownFunction and bad argument types
// expr.ErrArgumentType, so the binder classifies them as it does scalar
// functions; overflows wrap expr.ErrOverflow.

// Spec describes one aggregate call.
type Spec struct {
	// Fn is one of the Fn constants.
	Fn string
	// Distinct is set for FN(DISTINCT x).
	Distinct bool
	// Arg is the argument's type; it is ignored for COUNT(*).
	Arg types.Type
	// Retract is set when the input may carry retractions (-U, -D). It
	// costs memory only for MIN, MAX, FIRST_VALUE and LAST_VALUE, which
	// then keep every live value; without it they refuse weight -1.
	Retract bool
}

// Agg is the accumulator of one aggregate call over many groups, each a
// slot numbered from 0. Use one from one goroutine at a time.
type Agg interface {
	// Type is the result type (ResultType of the Spec).
	Type() types.Type
	// Grow makes room for slots [0, n); new slots are empty. It never
	// shrinks.
	Grow(n int)
	// Update folds, for each k, row rows[k] of arg into slot slots[k] with
	// weight weights[k]: +1 adds the row, -1 takes back a row added
	// before. weights nil means every weight is +1. arg is nil for
	// COUNT(*), and otherwise has the Spec's argument type.
	Update(arg *types.Vector, rows, slots []int32, weights []int8) error
	// Result appends slot s's current value to out, which has the result
	// type: NULL where SQL says so (SUM, AVG, MIN, MAX ... of no non-NULL
	// value). It fails only for a value that does not fit the result type
	// (an AVG of a very wide decimal).
	Result(s int, out *types.Vector) error
	// Count is the net number of rows, NULL arguments included, folded
	// into slot s: the operator drops a group when it returns to zero.
	Count(s int) int64
	// Merge folds slot src's state into slot dst, which afterwards is as
	// if it had received every row of both: dst's rows first, then src's
	// (the order FIRST_VALUE and LAST_VALUE see). src is left unchanged;
	// Reset it to release what it holds. dst and src must differ. Merge
	// fails only for a result that overflows (SUM of integers or of
	// decimals), and then leaves dst in an unspecified state, as Update
	// does.
	Merge(dst, src int) error
	// AppendState appends slot s's state to dst in a versioned encoding.
	AppendState(dst []byte, s int) []byte
	// LoadState replaces slot s's state with one AppendState produced.
	LoadState(s int, src []byte) error
	// Reset empties slot s and releases what it holds.
	Reset(s int)
}

func normFn(fn string) string { return strings.ToUpper(strings.TrimSpace(fn)) }

// ResultType returns the type of fn over an argument of type arg:
//
//	COUNT(*), COUNT(x)             BIGINT NOT NULL
//	SUM(integer)                   BIGINT
//	SUM(DECIMAL(p,s))              DECIMAL(38,s)
//	SUM(FLOAT|DOUBLE)              DOUBLE
//	AVG(integer|FLOAT|DOUBLE)      DOUBLE
//	AVG(DECIMAL(p,s))              DECIMAL(38,max(s,6))
//	MIN, MAX(ordered type t)       t
//	FIRST_VALUE, LAST_VALUE(t)     t
//	VAR_*, STDDEV_*(numeric)       DOUBLE
//
// Every result but COUNT's is nullable.
func ResultType(fn string, distinct bool, arg types.Type) (types.Type, error) {
	fn = normFn(fn)
	if fn == FnCountStar {
		if distinct {
			return types.Type{}, fmt.Errorf("%w: COUNT(DISTINCT *) is not allowed", expr.ErrArgumentType)
		}
		return types.BigInt().WithNotNull(true), nil
	}
	bad := func() (types.Type, error) {
		return types.Type{}, fmt.Errorf("%w: %s does not take %s", expr.ErrArgumentType, fn, arg.Nullable())
	}
	k := arg.Kind
	switch fn {
	case FnCount:
		if k == types.KindInvalid {
			return bad()
		}
		return types.BigInt().WithNotNull(true), nil
	case FnSum:
		switch k {
		case types.KindInt:
			return types.BigInt(), nil
		case types.KindDecimal:
			return types.Decimal(types.MaxDecimalPrecision, int(arg.Scale)), nil
		case types.KindFloat:
			return types.Double(), nil
		}
		return bad()
	case FnAvg:
		switch k {
		case types.KindInt, types.KindFloat:
			return types.Double(), nil
		case types.KindDecimal:
			return types.Decimal(types.MaxDecimalPrecision, max(int(arg.Scale), 6)), nil
		}
		return bad()
	case FnMin, FnMax:
		switch k {
		case types.KindBoolean, types.KindInt, types.KindFloat, types.KindDecimal,
			types.KindString, types.KindBytes, types.KindDate, types.KindTimestamp:
			return arg.Nullable(), nil
		}
		return bad()
	case FnFirstValue, FnLastValue:
		if k == types.KindInvalid || k == types.KindNull {
			return bad()
		}
		return arg.Nullable(), nil
	case FnStddevPop, FnStddevSamp, FnVarPop, FnVarSamp:
		if arg.IsNumeric() {
			return types.Double(), nil
		}
		return bad()
	}
	return types.Type{}, fmt.Errorf("%w: aggregate %s", expr.ErrUnknownFunction, fn)
}

// New returns an accumulator for spec with no slots; call Grow first.
func New(spec Spec) (Agg, error) {
	spec.Fn = normFn(spec.Fn)
	rt, err := ResultType(spec.Fn, spec.Distinct, spec.Arg)
	if err != nil {
		return nil, err
	}
	switch spec.Fn {
	case FnMin, FnMax, FnFirstValue, FnLastValue:
		spec.Distinct = false // the same result
	}
	if spec.Distinct {
		return newDistinct(spec, rt)
	}
	return newPlain(spec, rt)
}

// newPlain builds the accumulator of spec without DISTINCT.
func newPlain(spec Spec, rt types.Type) (Agg, error) {
	arg := spec.Arg
	switch spec.Fn {
	case FnCountStar:
		return &countStar{}, nil
	case FnCount:
		return &count{arg: arg}, nil
	case FnSum, FnAvg:
		avg := spec.Fn == FnAvg
		switch arg.Kind {
		case types.KindInt:
			if avg {
				return &avgInt{arg: arg}, nil
			}
			return &sumInt{arg: arg}, nil
		case types.KindDecimal:
			return &sumDec{fn: spec.Fn, arg: arg, rt: rt, avg: avg}, nil
		case types.KindFloat:
			return &sumFloat{arg: arg, avg: avg}, nil
		}
	case FnMin, FnMax:
		if !spec.Retract && intBacked(arg) {
			return &extremeInt{fn: spec.Fn, arg: arg, max: spec.Fn == FnMax}, nil
		}
		return newExtreme(spec)
	case FnFirstValue, FnLastValue:
		return newFirstLast(spec)
	case FnStddevPop, FnStddevSamp, FnVarPop, FnVarSamp:
		return newVariance(spec.Fn, arg), nil
	}
	return nil, fmt.Errorf("%w: aggregate %s over %s", expr.ErrUnknownFunction, spec.Fn, arg)
}

// intBacked reports whether t's values are stored in Vector.Ints and
// ordered as int64s.
func intBacked(t types.Type) bool {
	switch t.Kind {
	case types.KindInt, types.KindDate, types.KindTimestamp:
		return true
	}
	return t.Decimal64()
}

// checkArg panics when the operator passes a vector that is not of the
// argument type the accumulator was built for: a planner bug.
func checkArg(fn string, want types.Type, v *types.Vector) {
	if v == nil || v.Type.Kind != want.Kind || v.Type.Scale != want.Scale ||
		(want.Kind == types.KindDecimal && v.Type.Decimal64() != want.Decimal64()) {
		got := "nil"
		if v != nil {
			got = v.Type.String()
		}
		panic(fmt.Sprintf("agg: %s built for %s given a %s vector", fn, want, got))
	}
}

// isNull reports whether row r is null in a null bitmap; it inlines into
// the hot loops.
func isNull(nulls types.Bitmap, r int32) bool {
	w := int(r >> 6)
	return w < len(nulls) && nulls[w]&(1<<(uint(r)&63)) != 0
}

func overflow(fn string) error { return fmt.Errorf("%s: %w", fn, expr.ErrOverflow) }

func retraction(fn string) error { return fmt.Errorf("%s: %w", fn, ErrRetraction) }

// checkMerge panics when an operator merges a slot into itself, which
// would count its rows twice: an operator bug.
func checkMerge(dst, src int) {
	if dst == src {
		panic(fmt.Sprintf("agg: Merge of slot %d into itself", dst))
	}
}

// growTo extends s with zero values to length n.
func growTo[T any](s []T, n int) []T {
	if n <= len(s) {
		return s
	}
	if n <= cap(s) {
		var zero T
		old := len(s)
		s = s[:n]
		for i := old; i < n; i++ {
			s[i] = zero
		}
		return s
	}
	return append(s, make([]T, n-len(s))...)
}
