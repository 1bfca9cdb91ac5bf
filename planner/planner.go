package planner

import (
	"fmt"
	"strings"
	"time"

	"github.com/sluice-sql/sluice/sql"
	"github.com/sluice-sql/sluice/sql/expr"
	"github.com/sluice-sql/sluice/sql/types"
)

// Physical is the operator graph of one query. Nodes are in topological
// order, every node after its inputs; the last is the sink. Every
// operator runs Parallelism instances.
type Physical struct {
	Nodes []*Node
	// Schema names and types the output: the sink's columns for an
	// INSERT, the query's own for a SELECT.
	Schema types.Schema
	// Sink is the table written; nil when the rows go to the caller.
	Sink *sql.Table
	// Parallelism is the number of instances of every operator.
	Parallelism int
	// Logical is the relational tree after the rewrite rules.
	Logical sql.Rel
	// Rules are the rewrite rules that fired, in order.
	Rules []Firing
	// Empty is set when the query can produce no row (a filter that is
	// never TRUE on every path): nothing is read.
	Empty bool

	opts Options
}

// Options steer Plan with what the planner cannot know of the tables'
// connectors.
type Options struct {
	// Parallelism is the number of instances of every operator (below 1
	// means 1).
	Parallelism int
	// Prunable reports whether t's source can read some of its columns
	// only (by name): the plan then reads just the columns the query
	// uses (RulePruneColumns). Nil: none can.
	Prunable func(t *sql.Table) bool
	// SourceParallelism is the most instances t's source can keep busy (a
	// topic's partition count), or 0 for no limit. A source with fewer
	// instances than the plan's parallelism feeds the next operator
	// through a rebalance exchange, so every instance works. Nil: no
	// limit.
	SourceParallelism func(t *sql.Table) int
	// TakesUpdates reports whether t's sink can take an updating result
	// (retractions as well as inserts). Nil: none can.
	TakesUpdates func(t *sql.Table) bool
	// UpsertSource reports whether t reads as an upsert table (each row
	// the latest for its primary key, a delete for a tombstone): the plan
	// then normalizes it into a changelog. Nil: none does.
	UpsertSource func(t *sql.Table) bool
	// ChangelogSource reports whether t reads as a changelog already (its
	// rows carry their change kinds): an updating input as it is. Nil:
	// none does.
	ChangelogSource func(t *sql.Table) bool
}

// Kind is the kind of an operator of the graph.
type Kind int

// The operator kinds.
const (
	KindSource Kind = iota
	KindFilter
	KindProject
	KindUnion
	KindAggregate
	KindWindow
	KindWindowAggregate
	KindTopN
	KindSessionAggregate
	KindNormalize
	KindSink
)

func (k Kind) String() string {
	switch k {
	case KindSource:
		return "Source"
	case KindFilter:
		return "Filter"
	case KindProject:
		return "Project"
	case KindUnion:
		return "Union"
	case KindAggregate:
		return "Aggregate"
	case KindWindow:
		return "Window"
	case KindWindowAggregate:
		return "WindowAggregate"
	case KindTopN:
		return "TopN"
	case KindSessionAggregate:
		return "SessionAggregate"
	case KindNormalize:
		return "UpsertNormalize"
	case KindSink:
		return "Sink"
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// Node is one operator of the graph.
type Node struct {
	// ID numbers the node from 1, in Physical.Nodes order.
	ID   int
	Kind Kind
	// Table is the table a source reads or a sink writes (nil for the
	// caller's result); TablePos is where the query names a source's
	// table, for errors.
	Table    *sql.Table
	TablePos int
	// Cond is a filter's predicate.
	Cond expr.Expr
	// Exprs are a projection's output columns over its input's.
	Exprs []expr.Expr
	// Columns are the columns of Table a pruned source reads, by index
	// (nil: all); Schema names them.
	Columns []int
	// Keys and Aggs are an aggregation's group keys (input columns) and
	// calls; its output is the keys, then one column per call.
	Keys []int
	Aggs []sql.AggCall
	// Window is a window table function's definition; for a window
	// aggregation, WindowEnd is the key (an index into Keys) holding each
	// group's window_end.
	Window      *sql.Window
	WindowStart int
	WindowEnd   int
	// Rank is a Top-N's partition, order and limit. A Top-N per window
	// has WindowEnd set to the input column holding window_end (and -1
	// otherwise, as for other nodes, where WindowEnd is a key index).
	Rank *sql.Rank
	// Changelog is the kind of changes the node emits.
	Changelog Changelog
	// Watermark is a source's watermark expression over its Schema: the
	// event-time clock is the largest value it has taken. Nil when the
	// table declares none.
	Watermark expr.Expr
	// ProcTime marks a source whose rows reach a processing-time window
	// (over PROCTIME()): its clock is then the processing time itself,
	// which must move on even while no row comes.
	ProcTime bool
	// Schema is the node's output.
	Schema types.Schema
	// Inputs are the edges into the node.
	Inputs []Edge
	// Parallelism is the node's number of instances.
	Parallelism int
}

// Exchange is how an edge distributes rows from the instances of its
// producer to those of its consumer.
type Exchange int

// The exchanges. Forward keeps instance i's rows in instance i, so the
// two operators chain into one task; the others come with stateful
// operators.
const (
	Forward Exchange = iota
	// Rebalance deals batches round-robin to the consumer's instances.
	Rebalance
	Hash
	Broadcast
)

func (x Exchange) String() string {
	switch x {
	case Forward:
		return "forward"
	case Rebalance:
		return "rebalance"
	case Hash:
		return "hash"
	case Broadcast:
		return "broadcast"
	}
	return fmt.Sprintf("Exchange(%d)", int(x))
}

// Changelog is the kind of changes an edge carries.
type Changelog int

// The changelog modes: an append-only stream carries inserts only; an
// updating one also carries updates and deletes.
const (
	AppendOnly Changelog = iota
	Updating
)

func (c Changelog) String() string {
	if c == AppendOnly {
		return "append"
	}
	return "updating"
}

// Edge is an input of a node.
type Edge struct {
	From     *Node
	Exchange Exchange
	// Keys are the columns a hash exchange partitions by.
	Keys      []int
	Changelog Changelog
}

func (e Edge) String() string {
	s := fmt.Sprintf("#%d %s", e.From.ID, e.Exchange)
	if len(e.Keys) > 0 {
		k := make([]string, len(e.Keys))
		for i, c := range e.Keys {
			k[i] = e.From.Schema[c].Name
		}
		s += "(" + strings.Join(k, ", ") + ")"
	}
	return s + " " + e.Changelog.String()
}

// Updating reports whether the plan's result is a changelog of updates,
// not appends only.
func (p *Physical) Updating() bool {
	sink := p.Nodes[len(p.Nodes)-1]
	return len(sink.Inputs) > 0 && sink.Inputs[0].Changelog == Updating
}

// UpsertKey returns the output columns that identify a row of an
// updating result: the keys of the aggregation, Top-N or upsert table it
// comes from, when projections and filters after it keep them all. ok is
// false when the result has no such key.
func (p *Physical) UpsertKey() (cols []int, ok bool) {
	sink := p.Nodes[len(p.Nodes)-1]
	if len(sink.Inputs) == 0 {
		return nil, false
	}
	// Back from the sink to the node that keys the changes.
	var chain []*Node
	n := sink.Inputs[0].From
	for n.Kind == KindProject || n.Kind == KindFilter {
		chain = append(chain, n)
		n = n.Inputs[0].From
	}
	var key []int
	switch n.Kind {
	case KindAggregate:
		for i := range n.Keys {
			key = append(key, i)
		}
	case KindNormalize:
		key = append(key, n.Keys...)
	case KindTopN:
		key = append(key, n.Rank.Partition...)
		key = append(key, len(n.Schema)-1) // the row number
	default:
		return nil, false
	}
	// Forward again, following the key columns through projections.
	for i := len(chain) - 1; i >= 0; i-- {
		pn := chain[i]
		if pn.Kind != KindProject {
			continue
		}
		for j, c := range key {
			found := -1
			for k, e := range pn.Exprs {
				if r, ok := e.(*expr.ColumnRef); ok && r.Index == c {
					found = k
					break
				}
			}
			if found < 0 {
				return nil, false
			}
			key[j] = found
		}
	}
	return key, len(key) > 0
}

// Sources lists the source nodes.
func (p *Physical) Sources() []*Node {
	var out []*Node
	for _, n := range p.Nodes {
		if n.Kind == KindSource {
			out = append(out, n)
		}
	}
	return out
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
// implicit casts a sink may take (see Assignable); a projection casting
// them to the sink's types goes on top. With sink nil the rows keep the
// query's schema. A parallelism below 1 means 1. The rewrite rules (see
// RuleFoldConstants) run on the relational tree, and p.Rules records
// which fired; the graph is built from the result.
func Plan(q *sql.BoundQuery, sink *sql.Table, opts Options) (*Physical, error) {
	p := &Physical{
		Schema:      append(types.Schema(nil), q.Schema...),
		Sink:        sink,
		Parallelism: max(opts.Parallelism, 1),
		opts:        opts,
	}
	root := q.Root
	if sink != nil {
		if got, want := len(q.Schema), len(sink.Schema); got != want {
			col := -1
			if got > want {
				col = want
			}
			return nil, &MismatchError{Column: col, Msg: fmt.Sprintf(
				"the query has %d columns but table %s has %d: %s", got, sink.Name, want, sink.Schema)}
		}
		cast := &sql.Project{Input: root}
		for i, f := range sink.Schema {
			from := q.Schema[i].Type
			var e expr.Expr = &expr.ColumnRef{Index: i, T: from, Name: q.Schema[i].Name}
			if !Assignable(from, f.Type) {
				return nil, &MismatchError{Column: i, Msg: fmt.Sprintf(
					"column %d is %s, which cannot be written to %s.%s %s",
					i+1, from.Nullable(), sink.Name, f.Name, f.Type.Nullable())}
			}
			if !from.Equal(f.Type) && !(from.Kind == types.KindInt && f.Type.Kind == types.KindInt) {
				e = &expr.Cast{Arg: e, T: f.Type.WithNotNull(from.NotNull)}
			}
			cast.Exprs = append(cast.Exprs, e)
			cast.Out = append(cast.Out, types.Field{Name: f.Name, Type: e.Type()})
		}
		root = cast
		p.Schema = cast.Out
	}
	root = p.rewrite(root)
	if p.opts.Prunable != nil {
		root = p.pruneScans(root)
	}
	p.Logical = root
	if _, ok := root.(*sql.Empty); ok {
		p.Empty = true
	}
	if err := p.build(root); err != nil {
		return nil, err
	}
	return p, nil
}

// build turns the relational tree into the graph. An edge carries its
// producer's changelog: a source is append-only, an aggregation updating,
// and the others pass their input's on (a union is updating if any input
// is).
func (p *Physical) build(root sql.Rel) error {
	// add numbers n and settles its parallelism and the exchanges into
	// it (unless the caller set them, as an aggregation does): an
	// updating input keeps its parallelism, so each key's changes stay in
	// order on one path; otherwise an input with fewer instances is
	// rebalanced.
	add := func(n *Node) *Node {
		n.ID = len(p.Nodes) + 1
		for _, in := range n.Inputs {
			if in.Changelog == Updating {
				n.Changelog = Updating
			}
		}
		if n.Parallelism == 0 {
			n.Parallelism = p.Parallelism
			if n.Changelog == Updating && len(n.Inputs) > 0 {
				n.Parallelism = n.Inputs[0].From.Parallelism
			}
		}
		for i, in := range n.Inputs {
			if in.Exchange == Forward && in.From.Parallelism != n.Parallelism {
				n.Inputs[i].Exchange = Rebalance
			}
		}
		p.Nodes = append(p.Nodes, n)
		return n
	}
	edge := func(from *Node) Edge {
		return Edge{From: from, Exchange: Forward, Changelog: from.Changelog}
	}
	var rankErr error
	var walk func(r sql.Rel) *Node
	walk = func(r sql.Rel) *Node {
		var ins []Edge
		for _, in := range r.Inputs() {
			if from := walk(in); from != nil {
				ins = append(ins, edge(from))
			}
		}
		switch n := r.(type) {
		case *sql.Scan:
			par := p.Parallelism
			if p.opts.SourceParallelism != nil {
				if k := p.opts.SourceParallelism(n.Table); k > 0 && k < par {
					par = k
				}
			}
			src := add(&Node{Kind: KindSource, Table: n.Table, TablePos: n.Pos, Schema: n.Schema(), Columns: n.Columns, Watermark: n.Watermark, Parallelism: par})
			if p.opts.ChangelogSource != nil && p.opts.ChangelogSource(n.Table) {
				src.Changelog = Updating
				return src
			}
			if p.opts.UpsertSource == nil || !p.opts.UpsertSource(n.Table) {
				return src
			}
			// An upsert table: each key's rows meet in one instance, which
			// remembers the key's row to turn the next into an update.
			var keys []int
			for _, k := range n.Table.PrimaryKey {
				keys = append(keys, n.Schema().Index(k))
			}
			norm := add(&Node{Kind: KindNormalize, Keys: keys, Schema: n.Schema(),
				Inputs: []Edge{{From: src, Exchange: Hash, Keys: keys, Changelog: AppendOnly}}})
			norm.Changelog = Updating
			return norm
		case *sql.Empty:
			// Nothing to read: the graph is a sink with no input, which a
			// runtime finishes at once.
			return nil
		case *sql.Filter:
			return add(&Node{Kind: KindFilter, Cond: n.Cond, Schema: n.Schema(), Inputs: ins})
		case *sql.Project:
			return add(&Node{Kind: KindProject, Exprs: n.Exprs, Schema: n.Schema(), Inputs: ins})
		case *sql.Union:
			return add(&Node{Kind: KindUnion, Schema: n.Schema(), Inputs: ins})
		case *sql.Window:
			return add(&Node{Kind: KindWindow, Window: n, Schema: n.Schema(), Inputs: ins})
		case *sql.Rank:
			if n.Limit == 0 {
				rankErr = fmt.Errorf("ROW_NUMBER() needs a filter on its number in the query around it: WHERE rn <= N keeps the top N rows of each partition, WHERE rn = 1 the first")
				return nil
			}
			// A partition's rows meet in one instance; without a
			// partition, everything meets in one.
			par := 0
			for i := range ins {
				ins[i].Exchange, ins[i].Keys = Hash, n.Partition
				if len(n.Partition) == 0 {
					ins[i].Exchange, par = Rebalance, 1
				}
			}
			// Partitioned by a window's start and end, over appends, the
			// ranking is per window: final once the watermark passes the
			// window's end, so it is emitted then, appends only.
			end := -1
			hasStart := false
			for _, c := range n.Partition {
				switch windowColumn(n.Input, c) {
				case 0:
					hasStart = true
				case 1:
					end = c
				}
			}
			if hasStart && end >= 0 && len(ins) == 1 && ins[0].Changelog == AppendOnly {
				return add(&Node{Kind: KindTopN, Rank: n, WindowEnd: end, Schema: n.Schema(), Inputs: ins, Parallelism: par})
			}
			t := add(&Node{Kind: KindTopN, Rank: n, WindowEnd: -1, Schema: n.Schema(), Inputs: ins, Parallelism: par})
			t.Changelog = Updating
			return t
		case *sql.Aggregate:
			// Every row of a group must reach the instance holding the
			// group: a hash exchange on the keys. Grouped by a window's
			// start and end, the aggregation is per window: it emits each
			// window's rows once, when the watermark passes its end.
			if start, end, w := windowKeysOf(n); start >= 0 && end >= 0 && len(ins) == 1 && ins[0].Changelog == AppendOnly {
				if w.Kind == sql.Session {
					// Sessions merge per key: the rows of a key meet in
					// one instance, whatever their provisional windows.
					var keys []int
					for k, col := range n.Keys {
						if k != start && k != end {
							keys = append(keys, col)
						}
					}
					par := 0
					for i := range ins {
						ins[i].Exchange, ins[i].Keys = Hash, keys
						if len(keys) == 0 {
							ins[i].Exchange, par = Rebalance, 1
						}
					}
					return add(&Node{Kind: KindSessionAggregate, Keys: n.Keys, Aggs: n.Aggs, WindowStart: start, WindowEnd: end,
						Window: w, Schema: n.Schema(), Inputs: ins, Parallelism: par})
				}
				for i := range ins {
					ins[i].Exchange, ins[i].Keys = Hash, n.Keys
				}
				return add(&Node{Kind: KindWindowAggregate, Keys: n.Keys, Aggs: n.Aggs, WindowEnd: end, Schema: n.Schema(), Inputs: ins})
			}
			// A global aggregate (no keys) runs one instance, fed by all.
			par := 0
			for i := range ins {
				ins[i].Exchange, ins[i].Keys = Hash, n.Keys
				if len(n.Keys) == 0 {
					ins[i].Exchange, par = Rebalance, 1
				}
			}
			a := add(&Node{Kind: KindAggregate, Keys: n.Keys, Aggs: n.Aggs, Schema: n.Schema(), Inputs: ins, Parallelism: par})
			a.Changelog = Updating
			return a
		}
		panic(fmt.Sprintf("planner: unexpected %T", r))
	}
	last := walk(root)
	if rankErr != nil {
		return rankErr
	}
	// A processing-time window's sources keep processing time.
	for _, n := range p.Nodes {
		if n.Kind == KindWindow && n.Window.ProcTime {
			markProcTime(n)
		}
	}
	// A SESSION window exists only as a session aggregation's input.
	for _, n := range p.Nodes {
		if n.Kind != KindWindow || n.Window.Kind != sql.Session {
			continue
		}
		ok := false
		for c := n; ; {
			next := consumerOf(p.Nodes, c)
			if next == nil || next.Kind == KindSessionAggregate {
				ok = next != nil
				break
			}
			if next.Kind != KindProject && next.Kind != KindFilter {
				break
			}
			c = next
		}
		if !ok {
			return fmt.Errorf("a SESSION window needs GROUP BY window_start, window_end: its windows are only known once the rows of a key are merged")
		}
	}
	sink := &Node{Kind: KindSink, Table: p.Sink, Schema: p.Schema}
	if last != nil {
		sink.Inputs = []Edge{edge(last)}
		if last.Changelog == Updating && p.Sink != nil && (p.opts.TakesUpdates == nil || !p.opts.TakesUpdates(p.Sink)) {
			return &MismatchError{Column: -1, Msg: fmt.Sprintf(
				"the query's result is updating (its rows change as input arrives: an unwindowed GROUP BY), "+
					"but table %s takes appends only: write it to a table that can take updates "+
					"(an upsert table with a PRIMARY KEY, coming soon), or aggregate over a window", p.Sink.Name)}
		}
	}
	add(sink)
	return nil
}

// markProcTime marks the sources feeding n as processing-time sources.
func markProcTime(n *Node) {
	if n.Kind == KindSource {
		n.ProcTime = true
	}
	for _, in := range n.Inputs {
		markProcTime(in.From)
	}
}

// consumerOf is the node reading n, or nil.
func consumerOf(nodes []*Node, n *Node) *Node {
	for _, c := range nodes {
		for _, in := range c.Inputs {
			if in.From == n {
				return c
			}
		}
	}
	return nil
}

// windowKeys reports whether a's keys hold the window_start and
// window_end of a window table function below it (through projections
// and filters that pass them on), and which key holds window_end.
func windowKeys(a *sql.Aggregate) (int, bool) {
	start, end, _ := windowKeysOf(a)
	return end, start >= 0 && end >= 0
}

// windowKeysOf finds the keys of a holding window_start and window_end
// (-1 when absent) and the window function they come from.
func windowKeysOf(a *sql.Aggregate) (start, end int, w *sql.Window) {
	start, end = -1, -1
	for k, col := range a.Keys {
		c, win := windowColumnOf(a.Input, col)
		switch c {
		case 0:
			start, w = k, win
		case 1:
			end, w = k, win
		}
	}
	return start, end, w
}

// windowColumn follows column col of r down to a window table function:
// 0 for its window_start, 1 window_end, 2 window_time, -1 for anything
// else.
func windowColumn(r sql.Rel, col int) int {
	c, _ := windowColumnOf(r, col)
	return c
}

func windowColumnOf(r sql.Rel, col int) (int, *sql.Window) {
	for {
		switch n := r.(type) {
		case *sql.Project:
			c, ok := n.Exprs[col].(*expr.ColumnRef)
			if !ok {
				return -1, nil
			}
			r, col = n.Input, c.Index
		case *sql.Filter:
			r = n.Input
		case *sql.Window:
			if w := col - len(n.Input.Schema()); w >= 0 {
				return w, n
			}
			return -1, nil
		default:
			return -1, nil
		}
	}
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

// Explain renders the operator graph, one operator a line, sources first:
// its number, what it does, its parallelism, and the edges into it (the
// producer, the exchange and the changelog mode). A SELECT's rows go to
// the sink "(result)", which hands them to the caller. A note follows for
// an empty plan, then the rules that fired. No line starts with a space,
// so that each survives trimming.
func (p *Physical) Explain() string {
	var b strings.Builder
	for _, n := range p.Nodes {
		fmt.Fprintf(&b, "#%d %s", n.ID, n.Describe())
		fmt.Fprintf(&b, "  parallelism=%d", n.Parallelism)
		if len(n.Inputs) > 0 {
			in := make([]string, len(n.Inputs))
			for i, e := range n.Inputs {
				in[i] = e.String()
			}
			fmt.Fprintf(&b, "  ← %s", strings.Join(in, ", "))
		}
		b.WriteByte('\n')
	}
	if p.Empty {
		b.WriteString("note: the filter is never TRUE, so the plan produces no rows\n")
	}
	for _, f := range p.Rules {
		fmt.Fprintf(&b, "rule %s\n", f)
	}
	return b.String()
}

// Describe is the node's line of Explain, without its id, parallelism
// and inputs: what it does.
func (n *Node) Describe() string {
	var b strings.Builder
	conn := func(t *sql.Table) string {
		c := t.Options["connector"]
		if topic := t.Options["topic"]; topic != "" {
			c += " topic=" + topic
		}
		return c
	}
	switch n.Kind {
	case KindSource:
		fmt.Fprintf(&b, "Source %s (%s) %s", n.Table.Name, conn(n.Table), n.Schema)
		if n.Watermark != nil {
			fmt.Fprintf(&b, " watermark=%s", n.Watermark)
		}
	case KindFilter:
		fmt.Fprintf(&b, "Filter %s", n.Cond)
	case KindProject:
		cols := make([]string, len(n.Exprs))
		for i, e := range n.Exprs {
			cols[i] = n.Schema[i].Name + " := " + e.String()
		}
		fmt.Fprintf(&b, "Project %s", strings.Join(cols, ", "))
	case KindUnion:
		fmt.Fprintf(&b, "UnionAll %s", n.Schema)
	case KindWindow:
		fmt.Fprintf(&b, "%s", sql.Describe(n.Window))
	case KindNormalize:
		keys := make([]string, len(n.Keys))
		for i, k := range n.Keys {
			keys[i] = n.Schema[k].Name
		}
		fmt.Fprintf(&b, "UpsertNormalize key=(%s)", strings.Join(keys, ", "))
	case KindTopN:
		op := "TopN"
		if n.WindowEnd >= 0 {
			op = "WindowTopN"
		}
		fmt.Fprintf(&b, "%s %s", op, strings.TrimPrefix(sql.Describe(n.Rank), "Rank "))
	case KindAggregate, KindWindowAggregate, KindSessionAggregate:
		keys := make([]string, len(n.Keys))
		for i := range n.Keys {
			keys[i] = n.Schema[i].Name
		}
		calls := make([]string, len(n.Aggs))
		for i, c := range n.Aggs {
			arg := "*"
			if c.Arg >= 0 && len(n.Inputs) > 0 {
				arg = n.Inputs[0].From.Schema[c.Arg].Name
			}
			if c.Distinct {
				arg = "DISTINCT " + arg
			}
			calls[i] = fmt.Sprintf("%s := %s(%s)", n.Schema[len(n.Keys)+i].Name, c.Fn, arg)
		}
		op := "GroupAggregate"
		switch n.Kind {
		case KindWindowAggregate:
			op = "WindowAggregate"
		case KindSessionAggregate:
			op = fmt.Sprintf("SessionAggregate gap=%s", time.Duration(n.Window.Gap*int64(time.Microsecond)))
		}
		fmt.Fprintf(&b, "%s keys=(%s) %s", op, strings.Join(keys, ", "), strings.Join(calls, ", "))
	case KindSink:
		if n.Table != nil {
			fmt.Fprintf(&b, "Sink %s (%s) %s", n.Table.Name, conn(n.Table), n.Table.Schema)
		} else {
			fmt.Fprintf(&b, "Sink (result) %s", n.Schema)
		}
	}
	return b.String()
}

// StateSignature describes what the state of a stateful node depends
// on: what it does, the types of its input and its output. Two nodes of
// the same signature keep their state in the same form, so a job started
// from a savepoint may give one's state to the other.
func (n *Node) StateSignature() string {
	var b strings.Builder
	b.WriteString(n.Describe())
	for _, e := range n.Inputs {
		fmt.Fprintf(&b, " in %s", e.From.Schema)
	}
	fmt.Fprintf(&b, " out %s", n.Schema)
	return b.String()
}
