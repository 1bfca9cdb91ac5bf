package expr

import (
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/cockroachdb/apd/v3"

	"github.com/sluice-sql/sluice/sql/types"
)

// Expr is a typed expression: a node of the tree the binder produces.
type Expr interface {
	// Type is the SQL type of the expression's value.
	Type() types.Type
	// String spells the expression in SQL-like form, for EXPLAIN and
	// golden tests.
	String() string
}

// ColumnRef reads column Index of the input batch.
type ColumnRef struct {
	Index int
	T     types.Type
	// Name, when set, is printed instead of $Index.
	Name string
}

// Const is a literal. Value uses the Go representation of
// types.Vector.Value for T: nil (NULL), bool, int64 (integers, DATE days,
// TIMESTAMP microseconds), float64, apd.Decimal, string, []byte or
// types.IntervalValue.
type Const struct {
	Value any
	T     types.Type
}

// Call applies the function named Fn (see ResultType for the names) to
// Args. T is its result type, normally ResultType(Fn, types of Args).
type Call struct {
	Fn   string
	Args []Expr
	T    types.Type
}

// Cast converts Arg to T.
type Cast struct {
	Arg Expr
	T   types.Type
}

// Type implements Expr.
func (c *ColumnRef) Type() types.Type { return c.T }

// Type implements Expr.
func (c *Const) Type() types.Type { return c.T }

// Type implements Expr.
func (c *Call) Type() types.Type { return c.T }

// Type implements Expr.
func (c *Cast) Type() types.Type { return c.T }

func (c *ColumnRef) String() string {
	if c.Name != "" {
		return c.Name
	}
	return "$" + strconv.Itoa(c.Index)
}

func (c *Const) String() string { return formatValue(c.Value, c.T) }

func (c *Cast) String() string {
	return "CAST(" + c.Arg.String() + " AS " + c.T.Nullable().String() + ")"
}

func (c *Call) String() string {
	a := make([]string, len(c.Args))
	for i, x := range c.Args {
		a[i] = x.String()
	}
	switch fn := c.Fn; {
	case fn == FnNeg && len(a) == 1:
		return "(- " + a[0] + ")"
	case fn == FnNot && len(a) == 1:
		return "(NOT " + a[0] + ")"
	case (fn == FnIsNull || fn == FnIsNotNull) && len(a) == 1:
		return "(" + a[0] + " " + fn + ")"
	case fn == FnBetween && len(a) == 3:
		return "(" + a[0] + " BETWEEN " + a[1] + " AND " + a[2] + ")"
	case fn == FnTryCast && len(a) == 1:
		return "TRY_CAST(" + a[0] + " AS " + c.T.Nullable().String() + ")"
	case fn == FnIn && len(a) >= 1:
		return "(" + a[0] + " IN (" + strings.Join(a[1:], ", ") + "))"
	case fn == FnCase:
		var b strings.Builder
		b.WriteString("CASE")
		i := 0
		for ; i+1 < len(a); i += 2 {
			b.WriteString(" WHEN " + a[i] + " THEN " + a[i+1])
		}
		if i < len(a) {
			b.WriteString(" ELSE " + a[i])
		}
		b.WriteString(" END")
		return b.String()
	case isInfix(fn) && len(a) >= 2:
		return "(" + strings.Join(a, " "+fn+" ") + ")"
	}
	return c.Fn + "(" + strings.Join(a, ", ") + ")"
}

func isInfix(fn string) bool {
	switch fn {
	case FnAdd, FnSub, FnMul, FnDiv, FnRem, FnIntDiv, FnEq, FnNe, FnLt, FnLe, FnGt, FnGe, FnAnd, FnOr:
		return true
	}
	return false
}

// formatValue spells a constant as a SQL literal.
func formatValue(v any, t types.Type) string {
	switch x := v.(type) {
	case nil:
		return "NULL"
	case bool:
		if x {
			return "TRUE"
		}
		return "FALSE"
	case int64:
		switch t.Kind {
		case types.KindTimestamp:
			return "TIMESTAMP '" + time.UnixMicro(x).UTC().Format("2006-01-02 15:04:05.999999") + "'"
		case types.KindDate:
			return "DATE '" + time.Unix(x*86400, 0).UTC().Format("2006-01-02") + "'"
		}
		return strconv.FormatInt(x, 10)
	case float64:
		s := strconv.FormatFloat(x, 'g', -1, 64)
		if !strings.ContainsAny(s, "eEIN") {
			s += "E0" // a DOUBLE literal, not a DECIMAL one
		}
		return s
	case apd.Decimal:
		return x.Text('f')
	case *apd.Decimal:
		return x.Text('f')
	case string:
		return "'" + strings.ReplaceAll(x, "'", "''") + "'"
	case []byte:
		return "X'" + hex.EncodeToString(x) + "'"
	case types.IntervalValue:
		return fmt.Sprintf("INTERVAL '%d-%d %s' YEAR TO SECOND", x.Months/12, x.Months%12, time.Duration(x.Micros)*time.Microsecond)
	}
	return fmt.Sprintf("%v", v)
}
