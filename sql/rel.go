package sql

import (
	"strconv"
	"strings"
	"time"

	"github.com/sluice-sql/sluice/sql/expr"
	"github.com/sluice-sql/sluice/sql/types"
)

// Rel is an operator of the relational tree the binder produces: the
// logical plan, which the planner rewrites and turns into an operator
// graph. Column references in a node's expressions index its input's
// schema (the first input's, for a union).
type Rel interface {
	// Schema names and types the node's output columns.
	Schema() types.Schema
	// Inputs are the node's inputs, in order.
	Inputs() []Rel
	// WithInputs returns a copy of the node reading ins instead.
	WithInputs(ins []Rel) Rel
	// describe is the node's one-line description, for FormatRel.
	describe() string
}

// Scan reads a table.
type Scan struct {
	Table *Table
	// Pos is where the query names the table, in the user's text, for
	// errors about the table found after binding.
	Pos int
	// Columns, when not nil, are the only columns read, by index into the
	// table's schema, in order: the planner prunes the others when the
	// table's source can skip them.
	Columns []int
	// Watermark is the table's watermark expression over the columns
	// read (Schema()), nil when the table declares none.
	Watermark expr.Expr
}

func (s *Scan) Schema() types.Schema {
	if s.Columns == nil {
		return s.Table.Schema
	}
	out := make(types.Schema, len(s.Columns))
	for i, c := range s.Columns {
		out[i] = s.Table.Schema[c]
	}
	return out
}
func (s *Scan) Inputs() []Rel            { return nil }
func (s *Scan) WithInputs(ins []Rel) Rel { c := *s; return &c }
func (s *Scan) describe() string {
	if s.Columns != nil {
		return "Scan " + s.Table.Name + " " + s.Schema().String()
	}
	return "Scan " + s.Table.Name
}

// Filter keeps the rows for which Cond, a BOOLEAN, is TRUE.
type Filter struct {
	Input Rel
	Cond  expr.Expr
}

func (f *Filter) Schema() types.Schema { return f.Input.Schema() }
func (f *Filter) Inputs() []Rel        { return []Rel{f.Input} }
func (f *Filter) WithInputs(ins []Rel) Rel {
	return &Filter{Input: ins[0], Cond: f.Cond}
}
func (f *Filter) describe() string { return "Filter " + f.Cond.String() }

// Project computes one output column per expression.
type Project struct {
	Input Rel
	Exprs []expr.Expr
	// Out names the output columns; Out[i].Type is Exprs[i].Type().
	Out types.Schema
}

func (p *Project) Schema() types.Schema { return p.Out }
func (p *Project) Inputs() []Rel        { return []Rel{p.Input} }
func (p *Project) WithInputs(ins []Rel) Rel {
	return &Project{Input: ins[0], Exprs: p.Exprs, Out: p.Out}
}
func (p *Project) describe() string {
	cols := make([]string, len(p.Exprs))
	for i, e := range p.Exprs {
		cols[i] = p.Out[i].Name + " := " + e.String()
	}
	return "Project " + strings.Join(cols, ", ")
}

// Union is UNION ALL: every row of every input. The inputs' schemas have
// the same types as Out (the binder casts them); the names are the first
// query's.
type Union struct {
	Ins []Rel
	Out types.Schema
}

func (u *Union) Schema() types.Schema { return u.Out }
func (u *Union) Inputs() []Rel        { return u.Ins }
func (u *Union) WithInputs(ins []Rel) Rel {
	return &Union{Ins: ins, Out: u.Out}
}
func (u *Union) describe() string { return "UnionAll " + u.Out.String() }

// FormatRel renders r as an indented tree, one node a line, inputs below
// their consumer.
func FormatRel(r Rel) string {
	var b strings.Builder
	var walk func(r Rel, depth int)
	walk = func(r Rel, depth int) {
		b.WriteString(strings.Repeat("  ", depth))
		b.WriteString(r.describe())
		b.WriteByte('\n')
		for _, in := range r.Inputs() {
			walk(in, depth+1)
		}
	}
	walk(r, 0)
	return b.String()
}

// Scans lists the scans of r in order, left to right.
func Scans(r Rel) []*Scan {
	var out []*Scan
	var walk func(Rel)
	walk = func(r Rel) {
		if s, ok := r.(*Scan); ok {
			out = append(out, s)
		}
		for _, in := range r.Inputs() {
			walk(in)
		}
	}
	walk(r)
	return out
}

// Empty is a relation with no rows: what the planner leaves of a query
// whose filter is never TRUE.
type Empty struct {
	Out types.Schema
}

func (e *Empty) Schema() types.Schema     { return e.Out }
func (e *Empty) Inputs() []Rel            { return nil }
func (e *Empty) WithInputs(ins []Rel) Rel { c := *e; return &c }
func (e *Empty) describe() string         { return "Empty " + e.Out.String() }

// Describe is r's one-line description, as FormatRel prints it.
func Describe(r Rel) string { return r.describe() }

// AggCall is one aggregate function call of an Aggregate.
type AggCall struct {
	// Fn is the function, upper case: COUNT, SUM, AVG, MIN, MAX, ...
	Fn       string
	Distinct bool
	// Arg is the input column aggregated, or -1 for COUNT(*).
	Arg int
	// T is the result type.
	T types.Type
}

func (c AggCall) String() string {
	arg := "*"
	if c.Arg >= 0 {
		arg = "$" + strconv.Itoa(c.Arg)
	}
	if c.Distinct {
		arg = "DISTINCT " + arg
	}
	return c.Fn + "(" + arg + ")"
}

// Aggregate groups its input's rows by the Keys columns and computes Aggs
// over each group: the output is the key columns, then one column per
// aggregate call. Over a stream it is an updating relation: each group's
// row changes as rows arrive (and leave, over an updating input).
type Aggregate struct {
	Input Rel
	Keys  []int
	Aggs  []AggCall
	Out   types.Schema
}

func (a *Aggregate) Schema() types.Schema { return a.Out }
func (a *Aggregate) Inputs() []Rel        { return []Rel{a.Input} }
func (a *Aggregate) WithInputs(ins []Rel) Rel {
	c := *a
	c.Input = ins[0]
	return &c
}
func (a *Aggregate) describe() string {
	keys := make([]string, len(a.Keys))
	for i, k := range a.Keys {
		keys[i] = "$" + strconv.Itoa(k)
	}
	calls := make([]string, len(a.Aggs))
	for i, c := range a.Aggs {
		calls[i] = a.Out[len(a.Keys)+i].Name + " := " + c.String()
	}
	return "Aggregate keys=(" + strings.Join(keys, ", ") + ") " + strings.Join(calls, ", ")
}

// WindowKind is a window table function.
type WindowKind int

// The window table functions.
const (
	Tumble WindowKind = iota
	Hop
	Cumulate
	Session
)

func (k WindowKind) String() string {
	return [...]string{"TUMBLE", "HOP", "CUMULATE", "SESSION"}[k]
}

// Window is a window table function: each input row with the windows it
// falls in, one output row per window, with three more columns:
// window_start, window_end and window_time (window_end less a
// millisecond, the window's own time attribute, as Flink has it). Sizes are microseconds;
// windows are aligned to the epoch plus Offset.
type Window struct {
	Input Rel
	Kind  WindowKind
	// TimeCol is the input's time attribute column.
	TimeCol int
	// Size is the window's length (TUMBLE, HOP, CUMULATE's largest);
	// Slide is HOP's slide or CUMULATE's step; Gap is SESSION's.
	Size, Slide, Offset, Gap int64
	// ProcTime says the time column is processing time (PROCTIME()):
	// the windows close as the clock passes their end, not a watermark.
	ProcTime bool
	Out      types.Schema
}

func (w *Window) Schema() types.Schema { return w.Out }
func (w *Window) Inputs() []Rel        { return []Rel{w.Input} }
func (w *Window) WithInputs(ins []Rel) Rel {
	c := *w
	c.Input = ins[0]
	return &c
}
func (w *Window) describe() string {
	s := w.Kind.String() + "(" + w.Input.Schema()[w.TimeCol].Name
	switch w.Kind {
	case Tumble:
		s += ", size=" + micros(w.Size)
	case Hop:
		s += ", slide=" + micros(w.Slide) + ", size=" + micros(w.Size)
	case Cumulate:
		s += ", step=" + micros(w.Slide) + ", size=" + micros(w.Size)
	case Session:
		s += ", gap=" + micros(w.Gap)
	}
	if w.Offset != 0 {
		s += ", offset=" + micros(w.Offset)
	}
	return "Window " + s + ")"
}

// micros spells a duration of microseconds briefly: 10s, 1m, 1500ms.
func micros(us int64) string {
	return time.Duration(us * int64(time.Microsecond)).String()
}

// SortKey is a column to order by.
type SortKey struct {
	Col  int
	Desc bool
}

// Rank is ROW_NUMBER() OVER (PARTITION BY … ORDER BY …): its input's
// columns and then the row's number within its partition, 1 for the
// first in the order. Over a stream it is kept only with a filter on the
// number, which makes it a Top-N (Limit rows per partition; 1 is a
// deduplication); the planner refuses it otherwise.
type Rank struct {
	Input     Rel
	Partition []int
	Order     []SortKey
	// Limit is the most rows kept per partition, from a filter on the
	// number (rn <= Limit); 0 until the planner finds one.
	Limit int64
	Out   types.Schema
}

func (r *Rank) Schema() types.Schema { return r.Out }
func (r *Rank) Inputs() []Rel        { return []Rel{r.Input} }
func (r *Rank) WithInputs(ins []Rel) Rel {
	c := *r
	c.Input = ins[0]
	return &c
}
func (r *Rank) describe() string {
	in := r.Input.Schema()
	var parts, order []string
	for _, p := range r.Partition {
		parts = append(parts, in[p].Name)
	}
	for _, o := range r.Order {
		s := in[o.Col].Name
		if o.Desc {
			s += " DESC"
		}
		order = append(order, s)
	}
	s := "Rank partition=(" + strings.Join(parts, ", ") + ") order=(" + strings.Join(order, ", ") + ")"
	if r.Limit > 0 {
		s += " limit=" + strconv.FormatInt(r.Limit, 10)
	}
	return s
}
