package expr

import (
	"errors"
	"fmt"

	"github.com/sluice-sql/sluice/sql/types"
)

// The function names of Call.Fn.
const (
	FnAdd       = "+"
	FnSub       = "-"
	FnMul       = "*"
	FnDiv       = "/"
	FnRem       = "%"
	FnMod       = "MOD" // the same as %
	FnIntDiv    = "DIV"
	FnNeg       = "NEG" // unary minus
	FnAbs       = "ABS"
	FnEq        = "="
	FnNe        = "<>"
	FnLt        = "<"
	FnLe        = "<="
	FnGt        = ">"
	FnGe        = ">="
	FnAnd       = "AND"
	FnOr        = "OR"
	FnNot       = "NOT"
	FnIsNull    = "IS NULL"
	FnIsNotNull = "IS NOT NULL"
	FnBetween   = "BETWEEN" // x, low, high
	FnIn        = "IN"      // x, then constants
	FnCase      = "CASE"    // cond1, value1, cond2, value2, ..., [else]
	FnCoalesce  = "COALESCE"
	FnNullIf    = "NULLIF"
	FnIf        = "IF" // cond, then, else
	// FnTryCast converts its one argument to T, the call's type, giving
	// NULL for a value that does not convert. ResultType does not know it:
	// its type is the target the user wrote.
	FnTryCast = "TRY_CAST"
)

// ErrUnknownFunction is returned by ResultType and Compile for a function
// name this package does not know.
var ErrUnknownFunction = errors.New("unknown function")

// ErrArgumentType is returned by ResultType and Compile when a function
// cannot take arguments of the given types or number.
var ErrArgumentType = errors.New("invalid argument types")

type rule func(args []types.Type) (types.Type, error)

// registry maps each function to its result-type rule. It is never
// modified after initialization.
var registry = map[string]rule{
	FnAdd: arithRule(FnAdd), FnSub: arithRule(FnSub), FnMul: arithRule(FnMul),
	FnDiv: arithRule(FnDiv), FnRem: arithRule(FnRem), FnMod: arithRule(FnRem),
	FnIntDiv: func(a []types.Type) (types.Type, error) {
		if _, err := arithRule(FnIntDiv)(a); err != nil {
			return types.Type{}, err
		}
		return types.BigInt().WithNotNull(allNotNull(a)), nil
	},
	FnNeg: unaryNumeric, FnAbs: unaryNumeric,
	FnEq: cmpRule, FnNe: cmpRule, FnLt: cmpRule, FnLe: cmpRule, FnGt: cmpRule, FnGe: cmpRule,
	FnAnd: logicRule(2), FnOr: logicRule(2), FnNot: logicRule(1),
	FnIsNull: nullTestRule, FnIsNotNull: nullTestRule,
	FnBetween: func(a []types.Type) (types.Type, error) {
		if len(a) != 3 {
			return types.Type{}, argCount(3, len(a))
		}
		if _, err := compareType(a[0], a[1]); err != nil {
			return types.Type{}, err
		}
		if _, err := compareType(a[0], a[2]); err != nil {
			return types.Type{}, err
		}
		return types.Boolean().WithNotNull(allNotNull(a)), nil
	},
	FnIn: func(a []types.Type) (types.Type, error) {
		if len(a) < 2 {
			return types.Type{}, fmt.Errorf("%w: IN needs a value and a list", ErrArgumentType)
		}
		for _, t := range a[1:] {
			if _, err := compareType(a[0], t); err != nil {
				return types.Type{}, err
			}
		}
		return types.Boolean().WithNotNull(allNotNull(a)), nil
	},
	FnCase: func(a []types.Type) (types.Type, error) {
		if len(a) < 2 {
			return types.Type{}, fmt.Errorf("%w: CASE needs WHEN ... THEN", ErrArgumentType)
		}
		var vals []types.Type
		i := 0
		for ; i+1 < len(a); i += 2 {
			if !isBool(a[i]) {
				return types.Type{}, fmt.Errorf("%w: WHEN condition is %s, not BOOLEAN", ErrArgumentType, a[i])
			}
			vals = append(vals, a[i+1])
		}
		if i < len(a) {
			vals = append(vals, a[i])
		} else {
			vals = append(vals, types.NullType())
		}
		return commonType(vals)
	},
	FnCoalesce: func(a []types.Type) (types.Type, error) {
		if len(a) == 0 {
			return types.Type{}, argCount(1, 0)
		}
		t, err := commonType(a)
		if err != nil {
			return t, err
		}
		nn := false
		for _, x := range a {
			nn = nn || x.NotNull
		}
		return t.WithNotNull(nn), nil
	},
	FnNullIf: func(a []types.Type) (types.Type, error) {
		if len(a) != 2 {
			return types.Type{}, argCount(2, len(a))
		}
		if _, err := compareType(a[0], a[1]); err != nil {
			return types.Type{}, err
		}
		return a[0].Nullable(), nil
	},
	FnIf: func(a []types.Type) (types.Type, error) {
		if len(a) != 3 {
			return types.Type{}, argCount(3, len(a))
		}
		if !isBool(a[0]) {
			return types.Type{}, fmt.Errorf("%w: IF condition is %s, not BOOLEAN", ErrArgumentType, a[0])
		}
		return commonType(a[1:])
	},
}

// ResultType returns the type of fn applied to arguments of types args,
// or an error wrapping ErrUnknownFunction or ErrArgumentType. Arguments of
// different types are widened implicitly to a common type (see the
// package documentation); Compile inserts those casts itself, and the
// binder may insert them explicitly.
func ResultType(fn string, args []types.Type) (types.Type, error) {
	r, ok := registry[fn]
	if !ok {
		return types.Type{}, fmt.Errorf("%w %s", ErrUnknownFunction, fn)
	}
	t, err := r(args)
	if err != nil {
		return types.Type{}, fmt.Errorf("%s: %w", fn, err)
	}
	return t, nil
}

func argCount(want, got int) error {
	return fmt.Errorf("%w: want %d arguments, got %d", ErrArgumentType, want, got)
}

func allNotNull(a []types.Type) bool {
	for _, t := range a {
		if !t.NotNull {
			return false
		}
	}
	return true
}

func isBool(t types.Type) bool { return t.Kind == types.KindBoolean || t.Kind == types.KindNull }

func logicRule(n int) rule {
	return func(a []types.Type) (types.Type, error) {
		if len(a) < n || (n == 1 && len(a) != 1) {
			return types.Type{}, argCount(n, len(a))
		}
		for _, t := range a {
			if !isBool(t) {
				return types.Type{}, fmt.Errorf("%w: %s is not BOOLEAN", ErrArgumentType, t)
			}
		}
		return types.Boolean().WithNotNull(allNotNull(a)), nil
	}
}

func nullTestRule(a []types.Type) (types.Type, error) {
	if len(a) != 1 {
		return types.Type{}, argCount(1, len(a))
	}
	return types.Boolean().WithNotNull(true), nil
}

func cmpRule(a []types.Type) (types.Type, error) {
	if len(a) != 2 {
		return types.Type{}, argCount(2, len(a))
	}
	if _, err := compareType(a[0], a[1]); err != nil {
		return types.Type{}, err
	}
	return types.Boolean().WithNotNull(allNotNull(a)), nil
}

func unaryNumeric(a []types.Type) (types.Type, error) {
	if len(a) != 1 {
		return types.Type{}, argCount(1, len(a))
	}
	t := a[0]
	switch t.Kind {
	case types.KindInt:
		return types.BigInt().WithNotNull(t.NotNull), nil
	case types.KindFloat, types.KindDecimal, types.KindNull:
		return t, nil
	}
	return types.Type{}, fmt.Errorf("%w: %s is not numeric", ErrArgumentType, t)
}

// asDecimal gives the decimal type an integer or decimal widens to.
func asDecimal(t types.Type) (p, s int) {
	if t.Kind == types.KindDecimal {
		return int(t.Precision), int(t.Scale)
	}
	switch t.Width {
	case 1:
		return 3, 0
	case 2:
		return 5, 0
	case 4:
		return 10, 0
	}
	return 19, 0
}

// adjustDecimal cuts a precision over 38 as Flink does: keep the integer
// digits, and at least min(s, 6) digits of scale.
func adjustDecimal(p, s int) types.Type {
	if p <= types.MaxDecimalPrecision {
		return types.Decimal(max(p, 1), s)
	}
	intDigits := p - s
	s = max(types.MaxDecimalPrecision-intDigits, min(s, 6))
	return types.Decimal(types.MaxDecimalPrecision, s)
}

func arithRule(fn string) rule {
	return func(a []types.Type) (types.Type, error) {
		if len(a) != 2 {
			return types.Type{}, argCount(2, len(a))
		}
		x, y := a[0], a[1]
		if x.Kind == types.KindNull {
			x = y
		}
		if y.Kind == types.KindNull {
			y = x
		}
		if x.Kind == types.KindNull {
			x, y = types.BigInt(), types.BigInt()
		}
		if !x.IsNumeric() || !y.IsNumeric() {
			return types.Type{}, fmt.Errorf("%w: %s %s %s", ErrArgumentType, a[0], fn, a[1])
		}
		nn := allNotNull(a)
		switch {
		case x.Kind == types.KindFloat || y.Kind == types.KindFloat:
			return types.Double().WithNotNull(nn), nil
		case x.Kind == types.KindInt && y.Kind == types.KindInt:
			return types.BigInt().WithNotNull(nn), nil
		}
		p1, s1 := asDecimal(x)
		p2, s2 := asDecimal(y)
		var t types.Type
		switch fn {
		case FnAdd, FnSub:
			s := max(s1, s2)
			t = adjustDecimal(max(p1-s1, p2-s2)+s+1, s)
		case FnMul:
			t = adjustDecimal(p1+p2, s1+s2)
		case FnDiv, FnIntDiv:
			s := max(6, s1+p2+1)
			t = adjustDecimal(p1-s1+s2+s, s)
		default: // %
			s := max(s1, s2)
			t = adjustDecimal(min(p1-s1, p2-s2)+s, s)
		}
		return t.WithNotNull(nn), nil
	}
}

// compareType returns the type both sides of a comparison are cast to.
func compareType(x, y types.Type) (types.Type, error) {
	if x.Kind == types.KindNull {
		x = y
	}
	if y.Kind == types.KindNull {
		y = x
	}
	if x.IsNumeric() && y.IsNumeric() {
		switch {
		case x.Kind == types.KindFloat || y.Kind == types.KindFloat:
			return types.Double(), nil
		case x.Kind == types.KindInt && y.Kind == types.KindInt:
			return types.BigInt(), nil
		}
		p1, s1 := asDecimal(x)
		p2, s2 := asDecimal(y)
		s := max(s1, s2)
		return adjustDecimal(max(p1-s1, p2-s2)+s, s), nil
	}
	if x.Kind != y.Kind {
		return types.Type{}, fmt.Errorf("%w: cannot compare %s with %s", ErrArgumentType, x, y)
	}
	switch x.Kind {
	case types.KindString:
		return types.String(), nil
	case types.KindTimestamp:
		if y.Precision > x.Precision {
			return y.Nullable(), nil
		}
		return x.Nullable(), nil
	case types.KindBoolean, types.KindBytes, types.KindDate, types.KindNull:
		return x.Nullable(), nil
	}
	return types.Type{}, fmt.Errorf("%w: %s values cannot be compared", ErrArgumentType, x)
}

// commonType is the least restrictive type of branch values: the type
// CASE, COALESCE and IF give their result.
func commonType(ts []types.Type) (types.Type, error) {
	var t types.Type
	nn := true
	for _, u := range ts {
		nn = nn && u.NotNull
		if u.Kind == types.KindNull {
			continue
		}
		if t.Kind == types.KindInvalid {
			t = u
			continue
		}
		if t.Equal(u) {
			continue
		}
		if t.Kind == types.KindInt && u.Kind == types.KindInt {
			t.Width = max(t.Width, u.Width)
			continue
		}
		c, err := compareType(t, u)
		if err != nil {
			return types.Type{}, err
		}
		t = c
	}
	if t.Kind == types.KindInvalid {
		return types.NullType(), nil
	}
	return t.WithNotNull(nn), nil
}
