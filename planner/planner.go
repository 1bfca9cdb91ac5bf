package planner

import (
	"fmt"
	"strings"

	"github.com/sluice-sql/sluice/sql"
	"github.com/sluice-sql/sluice/sql/expr"
	"github.com/sluice-sql/sluice/sql/types"
)

// Physical is the operator graph of one query: a source table read with
// Parallelism instances, an optional filter, a projection and a sink.
type Physical struct {
	// Source is the table read.
	Source *sql.Table
	// Filter is the BOOLEAN predicate rows must satisfy; nil keeps every
	// row.
	Filter expr.Expr
	// Projections compute the output columns over the source's columns.
	Projections []expr.Expr
	// Schema names and types the output: the sink's columns for an
	// INSERT, the query's own for a SELECT.
	Schema types.Schema
	// Sink is the table written; nil when the rows go to the caller.
	Sink *sql.Table
	// Parallelism is the number of instances of every operator.
	Parallelism int
	// Rules are the rewrite rules that fired, in order.
	Rules []Firing
	// Empty is set when the filter is never TRUE, so the plan produces no
	// rows (RuleEmptyFilter).
	Empty bool
}

// MismatchError says why a query's result cannot go into its sink. Column
// is the (0-based) output column to blame, or -1 when the column counts
// differ; a caller that knows where the query's columns are in the user's
// text turns it into a positioned *sql.Error.
type MismatchError struct {
	Column int
	Msg    string
}

func (e *MismatchError) Error() string { return e.Msg }

// Plan builds the physical plan of q. With sink set, the query's columns
// must match the sink's by position, in number and in type, up to the
// implicit casts a sink may take (see Assignable); the projections are
// then cast to the sink's types. With sink nil the rows keep the query's
// schema. A parallelism below 1 means 1. The rewrite rules (see
// RuleFoldConstants) run on the result, and p.Rules records which fired.
func Plan(q *sql.BoundQuery, sink *sql.Table, parallelism int) (*Physical, error) {
	p := &Physical{
		Source:      q.Source,
		Filter:      q.Filter,
		Projections: append([]expr.Expr(nil), q.Projections...),
		Schema:      append(types.Schema(nil), q.Schema...),
		Sink:        sink,
		Parallelism: max(parallelism, 1),
	}
	if sink == nil {
		p.rewrite()
		return p, nil
	}
	if got, want := len(q.Schema), len(sink.Schema); got != want {
		col := -1
		if got > want {
			col = want
		}
		return nil, &MismatchError{Column: col, Msg: fmt.Sprintf(
			"the query has %d columns but table %s has %d: %s", got, sink.Name, want, sink.Schema)}
	}
	for i, f := range sink.Schema {
		e := p.Projections[i]
		from := e.Type()
		if !Assignable(from, f.Type) {
			return nil, &MismatchError{Column: i, Msg: fmt.Sprintf(
				"column %d is %s, which cannot be written to %s.%s %s",
				i+1, from.Nullable(), sink.Name, f.Name, f.Type.Nullable())}
		}
		if !from.Equal(f.Type) && !(from.Kind == types.KindInt && f.Type.Kind == types.KindInt) {
			e = &expr.Cast{Arg: e, T: f.Type.WithNotNull(from.NotNull)}
		}
		p.Projections[i] = e
		p.Schema[i] = types.Field{Name: f.Name, Type: e.Type()}
	}
	p.rewrite()
	return p, nil
}

// Assignable reports whether a value of type from may be written to a
// column of type to without an explicit CAST: the conversions that lose
// nothing (an integer into a wider integer or a DECIMAL with room for its
// digits, a DECIMAL into one with at least its integer and fraction
// digits, any number into DOUBLE, a TIMESTAMP into any TIMESTAMP), and
// same-kind strings. Nullability is not checked yet: the sink's
// NOT NULL is Flink's "NOT ENFORCED" for now.
func Assignable(from, to types.Type) bool {
	if from.Kind == types.KindNull {
		return true
	}
	switch to.Kind {
	case types.KindInt:
		return from.Kind == types.KindInt && from.Width <= to.Width
	case types.KindDecimal:
		switch from.Kind {
		case types.KindInt:
			p := intDigits(from.Width)
			return p <= int(to.Precision)-int(to.Scale)
		case types.KindDecimal:
			return int(from.Precision)-int(from.Scale) <= int(to.Precision)-int(to.Scale) && from.Scale <= to.Scale
		}
		return false
	case types.KindFloat:
		return from.IsNumeric()
	}
	return from.Kind == to.Kind
}

// intDigits is the number of decimal digits of the widest integer of an
// integer type's byte width.
func intDigits(width uint8) int {
	switch width {
	case 1:
		return 3
	case 2:
		return 5
	case 4:
		return 10
	}
	return 19
}

// Explain renders the operator graph, source first, one operator a line
// with its parallelism and the exchange of the edge into the next; a
// SELECT's rows go to the sink "(result)", which collects them for the
// caller. A note follows for an empty plan, then the rules that fired.
// No line starts with a space, so that each survives trimming.
func (p *Physical) Explain() string {
	var b strings.Builder
	conn := func(t *sql.Table) string {
		c := t.Options["connector"]
		if topic := t.Options["topic"]; topic != "" {
			c += " topic=" + topic
		}
		return c
	}
	step := func(first bool, format string, args ...any) {
		if !first {
			fmt.Fprintf(&b, "│ forward\n▼\n")
		}
		fmt.Fprintf(&b, format, args...)
		fmt.Fprintf(&b, "  parallelism=%d\n", p.Parallelism)
	}
	step(true, "Source %s (%s) %s", p.Source.Name, conn(p.Source), p.Source.Schema)
	if p.Filter != nil {
		step(false, "Filter %s", p.Filter)
	}
	cols := make([]string, len(p.Projections))
	for i, e := range p.Projections {
		cols[i] = p.Schema[i].Name + " := " + e.String()
	}
	step(false, "Project %s", strings.Join(cols, ", "))
	if p.Sink != nil {
		step(false, "Sink %s (%s) %s", p.Sink.Name, conn(p.Sink), p.Sink.Schema)
	} else {
		step(false, "Sink (result) (collect) %s", p.Schema)
	}
	if p.Empty {
		b.WriteString("note: the filter is never TRUE, so the plan produces no rows\n")
	}
	for _, f := range p.Rules {
		fmt.Fprintf(&b, "rule %s\n", f)
	}
	return b.String()
}
