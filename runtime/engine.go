package runtime

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	goruntime "runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sluice-sql/sluice/broker"
	"github.com/sluice-sql/sluice/connectors"
	"github.com/sluice-sql/sluice/connectors/registry"
	"github.com/sluice-sql/sluice/planner"
	"github.com/sluice-sql/sluice/sql"
	"github.com/sluice-sql/sluice/sql/expr"
	"github.com/sluice-sql/sluice/sql/types"
)

// DefaultMaxResultRows bounds the rows a SELECT collects for its caller.
const DefaultMaxResultRows = 1_000_000

// ErrUnknownJob is returned by Engine.Wait and STOP JOB for an id the
// engine does not know.
var ErrUnknownJob = errors.New("unknown job")

// ErrTooManyRows is the failure of a SELECT whose result passed
// EngineOptions.MaxResultRows.
var ErrTooManyRows = errors.New("result has too many rows")

// EngineOptions configure an Engine.
type EngineOptions struct {
	// Broker is the built-in log the log connector reads and writes, and
	// the one that keeps the catalog (in CatalogTopic), so that tables
	// survive a restart; without one the catalog is held in memory only.
	// The Engine does not close it.
	Broker *broker.Broker
	// Stdout is where the print connector writes; nil refuses print sinks.
	Stdout io.Writer
	// Parallelism is the number of instances of every job (default: the
	// number of usable cores).
	Parallelism int
	// BatchSize is the most rows in one batch (default DefaultBatchSize).
	BatchSize int
	// MaxResultRows bounds a SELECT's result (default
	// DefaultMaxResultRows).
	MaxResultRows int
	// Now is the processing-time clock (CURRENT_TIMESTAMP, NOW());
	// nil means time.Now. Tests inject one.
	Now func() time.Time
	// Clock times source idleness (source.idle-timeout); nil means the
	// system clock. Tests inject one.
	Clock Clock
	// StateDir is where jobs keep their state: one Badger database per
	// job with stateful operators, removed when the job ends (until
	// checkpoints let a job resume). Empty keeps state in memory.
	StateDir string
	// StateCacheBytes bounds each operator instance's state cache (the
	// state package's default when zero); state beyond it lives on disk.
	StateCacheBytes int64
	// SavepointDir is where STOP JOB ... WITH SAVEPOINT writes savepoints
	// (default: the savepoints directory of StateDir).
	SavepointDir string
	// ResumeJobs makes the Engine keep the jobs that INSERT and CREATE
	// MATERIALIZED VIEW start in the log (with a broker), and start again
	// from their last checkpoints those a previous Engine on the same
	// data left running: what a server does. A shell or a script leaves
	// it unset, so its jobs end with it.
	ResumeJobs bool
	// CheckpointInterval is how often the jobs that INSERT and CREATE
	// MATERIALIZED VIEW start take a checkpoint, unless SET
	// 'checkpoint.interval' says otherwise (default
	// DefaultCheckpointInterval; negative: never). Checkpoints need a
	// StateDir.
	CheckpointInterval time.Duration
}

// DefaultCheckpointInterval is EngineOptions.CheckpointInterval's
// default.
const DefaultCheckpointInterval = time.Second

// EnsureDefaults fills the zero fields with their defaults.
func (o *EngineOptions) EnsureDefaults() {
	if o.Parallelism == 0 {
		o.Parallelism = goruntime.GOMAXPROCS(0)
	}
	if o.BatchSize == 0 {
		o.BatchSize = DefaultBatchSize
	}
	if o.MaxResultRows == 0 {
		o.MaxResultRows = DefaultMaxResultRows
	}
	switch {
	case o.CheckpointInterval == 0:
		o.CheckpointInterval = DefaultCheckpointInterval
	case o.CheckpointInterval < 0:
		o.CheckpointInterval = 0
	}
}

// Validate reports the first setting that is out of range.
func (o *EngineOptions) Validate() error {
	switch {
	case o.Parallelism < 1:
		return fmt.Errorf("runtime: parallelism %d < 1", o.Parallelism)
	case o.BatchSize < 1:
		return fmt.Errorf("runtime: batch size %d < 1", o.BatchSize)
	case o.MaxResultRows < 1:
		return fmt.Errorf("runtime: max result rows %d < 1", o.MaxResultRows)
	}
	return nil
}

// Result is what one statement did. Statements that return rows (SELECT,
// SHOW) set Columns and Rows; the others say what they did in Message.
type Result struct {
	// Statement is the statement's text as the user wrote it.
	Statement string
	// Message says what happened, for a person: "created table bids".
	Message string
	// Savepoint is the directory of the savepoint STOP JOB ... WITH
	// SAVEPOINT wrote.
	Savepoint string
	// JobID is the job an INSERT started. Bounded reports whether the
	// sources of that job, or of a SELECT, end, so that it finishes on
	// its own.
	JobID   string
	Bounded bool
	// Columns and Rows are a result set. Each row holds one value per
	// column in the Go form of types.Vector.Value (nil for NULL).
	Columns types.Schema
	Rows    [][]any
	// Stream is set instead of Rows for a SELECT that Run started: its
	// rows as they come. It is valid until Run's callback returns, which
	// closes it (stopping the query if it still runs).
	Stream *RowStream
}

// Engine executes SQL statements: it keeps the catalog and runs the jobs
// that INSERT statements start. Its methods are safe for concurrent use.
//
// With a broker, the catalog is kept in the compacted internal topic
// CatalogTopic and replayed from it when the Engine starts.
type Engine struct {
	opts EngineOptions
	// stateWG counts the jobs' state databases not yet released.
	stateWG sync.WaitGroup
	// lookups counts the queries answered from a materialized view's
	// index.
	lookups atomic.Int64
	// ctx is the context of every job; Close cancels it.
	ctx    context.Context
	cancel context.CancelFunc

	mu struct {
		sync.Mutex
		// catalog is guarded by mu, which also orders its writes to the
		// log with its view: a catalog change holds mu until the log has
		// acknowledged it.
		catalog *Catalog
		// created holds, by lower-case name, the CREATE TABLE text of the
		// tables this Engine created, for SHOW CREATE TABLE; a table
		// replayed from the log is shown as its Table renders.
		created map[string]string
		// options are the values SET gave, by key.
		options map[string]string
		// mvJobs are the jobs of the materialized views, by lower-case
		// name.
		mvJobs  map[string]string
		jobs    map[string]*engineJob
		nextJob int
		// nextQuery numbers SELECTs, for their state directories.
		nextQuery int
		closed    bool
	}
}

// NewEngine returns an Engine whose catalog is the one kept in
// opts.Broker, replayed from the log (see OpenCatalog), or an empty one
// held in memory when there is no broker.
func NewEngine(opts EngineOptions) (*Engine, error) {
	opts.EnsureDefaults()
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	cat := NewMemCatalog()
	if opts.Broker != nil {
		var err error
		if cat, err = OpenCatalog(context.Background(), opts.Broker); err != nil {
			return nil, err
		}
	}
	e := &Engine{opts: opts}
	e.ctx, e.cancel = context.WithCancel(context.Background())
	e.mu.catalog = cat
	e.mu.created = make(map[string]string)
	e.mu.options = make(map[string]string)
	e.mu.mvJobs = make(map[string]string)
	e.mu.jobs = make(map[string]*engineJob)
	if opts.ResumeJobs && opts.Broker != nil {
		if err := e.resumeJobs(e.ctx); err != nil {
			e.Close()
			return nil, err
		}
	}
	return e, nil
}

// Close cancels every running job and waits for all of them to end.
func (e *Engine) Close() error {
	e.mu.Lock()
	e.mu.closed = true
	e.mu.Unlock()
	jobs := e.shuttingDown()
	e.cancel()
	for _, j := range jobs {
		<-j.Done()
	}
	// Every job's state database closes and goes before the engine does
	// (a SELECT's job may still be releasing it).
	e.stateWG.Wait()
	return nil
}

// Exec executes the statements of text in order and returns what each
// did. It stops at the first error, returning the results before it; an
// error in the SQL itself is a *sql.Error pointing into text. The whole
// script is parsed before anything runs, so a syntax error anywhere runs
// nothing.
//
// A SELECT's rows are collected into its Result's Rows, so a SELECT over
// an unbounded source is refused: use Run to stream one.
func (e *Engine) Exec(ctx context.Context, text string) ([]Result, error) {
	var out []Result
	err := e.run(ctx, text, true, func(r Result) error {
		out = append(out, r)
		return nil
	})
	return out, err
}

// Run is Exec calling each with every statement's result before the next
// statement runs (so a caller may, say, wait for an INSERT's job first),
// and streaming SELECTs: a SELECT's Result has Stream instead of Rows,
// which each reads while the query runs, however long (a push query over
// an unbounded source runs until ctx ends or each returns). An error from
// each stops the script and is returned.
func (e *Engine) Run(ctx context.Context, text string, each func(Result) error) error {
	return e.run(ctx, text, false, each)
}

func (e *Engine) run(ctx context.Context, text string, collect bool, each func(Result) error) error {
	stmts, err := sql.Parse(text)
	if err != nil {
		return err
	}
	for _, st := range stmts {
		r, err := e.exec(ctx, text, st, collect)
		if err != nil {
			return err
		}
		r.Statement = st.Text
		err = each(r)
		if r.Stream != nil {
			r.Stream.Close()
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// Wait waits until the job id has ended or ctx ends, and returns how the
// job ended: nil for a job that finished, ErrCancelled for one stopped,
// or its failure.
func (e *Engine) Wait(ctx context.Context, id string) error {
	j, err := e.job(id)
	if err != nil {
		return err
	}
	select {
	case <-j.Done():
		return j.Wait()
	case <-ctx.Done():
		return ctx.Err()
	}
}

// JobStatus returns the phase of job id.
func (e *Engine) JobStatus(id string) (Status, error) {
	j, err := e.job(id)
	if err != nil {
		return 0, err
	}
	return j.Status(), nil
}

// JobMetrics returns the row counts of job id's stages so far.
func (e *Engine) JobMetrics(id string) ([]StageMetrics, error) {
	j, err := e.job(id)
	if err != nil {
		return nil, err
	}
	if cur := j.job(); cur != nil {
		return cur.Metrics(), nil
	}
	return nil, nil
}

func (e *Engine) job(id string) (*engineJob, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	j, ok := e.mu.jobs[id]
	if !ok {
		return nil, fmt.Errorf("%w %q", ErrUnknownJob, id)
	}
	return j, nil
}

func (e *Engine) exec(ctx context.Context, src string, st sql.Statement, collect bool) (Result, error) {
	info := sql.Classify(st)
	switch info.Kind {
	case sql.KindCommand:
		return e.command(src, st)
	case sql.KindCreateTable:
		t, err := sql.CreateTableFromAST(st)
		if err != nil {
			return Result{}, err
		}
		if err := registry.Check(t.Options); err != nil {
			return Result{}, sql.Errorf(src, optionPos(st, err, namePos(st, t.Name)), "table %s: %v", t.Name, err)
		}
		e.mu.Lock()
		defer e.mu.Unlock()
		if err := e.mu.catalog.Create(ctx, st, t, false); err != nil {
			if !errors.Is(err, sql.ErrTableExists) {
				return Result{}, err
			}
			if info.IfExists {
				return Result{Message: "table " + t.Name + " already exists"}, nil
			}
			return Result{}, sql.Errorf(src, namePos(st, t.Name), "table %q already exists", t.Name)
		}
		e.mu.created[strings.ToLower(t.Name)] = st.Text
		return Result{Message: "created table " + t.Name}, nil
	case sql.KindCreateView:
		if st.Dialect != nil && st.Dialect.Materialized {
			return e.createMaterializedView(ctx, src, st, info)
		}
		return e.createView(ctx, src, st, info)
	case sql.KindDropTable, sql.KindDropView:
		what := "table"
		switch {
		case info.Kind == sql.KindDropView && st.Dialect != nil && st.Dialect.Materialized:
			what = "materialized view"
		case info.Kind == sql.KindDropView:
			what = "view"
		}
		kindOf := func(t *sql.Table) string {
			switch {
			case t.ViewQuery != "":
				return "view"
			case t.MaterializedQuery != "":
				return "materialized view"
			}
			return "table"
		}
		e.mu.Lock()
		var dropped []string
		var stop []string // the jobs of materialized views dropped
		for _, n := range info.Names {
			if t, ok := e.mu.catalog.Lookup(n); ok {
				if k := kindOf(t); k != what {
					e.mu.Unlock()
					return Result{}, sql.Errorf(src, namePos(st, n), "%s is a %s: use DROP %s", t.Name, k, strings.ToUpper(k))
				}
				dropped = append(dropped, t.Name)
				if id, ok := e.mu.mvJobs[strings.ToLower(t.Name)]; ok {
					stop = append(stop, id)
				}
				continue
			}
			if !info.IfExists {
				e.mu.Unlock()
				return Result{}, sql.Errorf(src, namePos(st, n), "unknown %s %q", what, n).
					WithHint(sql.DidYouMean(n, e.mu.catalog.Names()))
			}
		}
		var tables []*sql.Table
		for _, n := range dropped {
			t, _ := e.mu.catalog.Lookup(n)
			tables = append(tables, t)
		}
		if err := e.mu.catalog.Drop(ctx, dropped...); err != nil {
			e.mu.Unlock()
			return Result{}, err
		}
		for _, n := range dropped {
			delete(e.mu.created, strings.ToLower(n))
			delete(e.mu.mvJobs, strings.ToLower(n))
		}
		e.mu.Unlock()
		// A materialized view takes its job and its topic with it.
		for _, id := range stop {
			if j, err := e.job(id); err == nil {
				j.Cancel()
				<-j.Done()
			}
		}
		if what == "materialized view" && e.opts.Broker != nil {
			for _, t := range tables {
				if err := e.opts.Broker.DeleteTopic(t.Options["topic"]); err != nil && !errors.Is(err, broker.ErrTopicNotFound) {
					return Result{}, fmt.Errorf("drop materialized view %s: delete topic %s: %w", t.Name, t.Options["topic"], err)
				}
			}
		}
		if len(dropped) == 0 {
			return Result{Message: "no " + what + " dropped"}, nil
		}
		return Result{Message: "dropped " + what + " " + strings.Join(dropped, ", ")}, nil
	case sql.KindShowTables:
		e.mu.Lock()
		names := e.mu.catalog.Names()
		e.mu.Unlock()
		r := Result{Columns: types.Schema{{Name: "name", Type: types.String()}}}
		for _, n := range names {
			r.Rows = append(r.Rows, []any{n})
		}
		return r, nil
	case sql.KindInsert:
		return e.insert(src, st, info)
	case sql.KindSelect:
		return e.query(ctx, src, info, collect)
	case sql.KindExplain:
		return e.explain(src, info)
	case sql.KindDescribe, sql.KindShowCreateTable:
		e.mu.Lock()
		defer e.mu.Unlock()
		n := info.Names[0]
		t, ok := e.mu.catalog.Lookup(n)
		if !ok {
			return Result{}, sql.Errorf(src, namePos(st, n), "unknown table %q", n).
				WithHint(sql.DidYouMean(n, e.mu.catalog.Names()))
		}
		if info.Kind == sql.KindDescribe {
			return describe(t), nil
		}
		text, ok := e.mu.created[strings.ToLower(t.Name)]
		if !ok {
			text = showCreate(t)
		}
		return Result{Columns: types.Schema{{Name: "create", Type: types.String()}}, Rows: [][]any{{text}}}, nil
	}
	return Result{}, sql.Errorf(src, st.Offset, "%s is not supported yet", info.Unsupported)
}

func (e *Engine) command(src string, st sql.Statement) (Result, error) {
	switch c := st.Command.(type) {
	case sql.ShowJobs:
		r := Result{Columns: types.Schema{
			{Name: "id", Type: types.String()},
			{Name: "status", Type: types.String()},
			{Name: "restarts", Type: types.BigInt()},
			{Name: "checkpoint", Type: types.BigInt()},
			{Name: "checkpoint_ms", Type: types.BigInt()},
			{Name: "alignment_ms", Type: types.BigInt()},
			{Name: "checkpoint_bytes", Type: types.BigInt()},
			{Name: "statement", Type: types.String()},
		}}
		// The last completed checkpoint's id, duration, alignment time
		// and size (what it wrote); NULL before the first.
		for _, in := range e.Jobs() {
			row := []any{in.ID, in.Status, int64(in.Restarts), nil, nil, nil, nil, in.Statement}
			if c := in.Checkpoint; c != nil {
				row[3], row[4], row[5], row[6] = int64(c.ID), c.Duration.Milliseconds(), c.Alignment.Milliseconds(), c.Bytes
			}
			r.Rows = append(r.Rows, row)
		}
		return r, nil
	case sql.StopJob:
		path, err := e.StopJob(e.ctx, c.ID, c.Savepoint)
		switch {
		case errors.Is(err, ErrUnknownJob):
			return Result{}, sql.Errorf(src, c.IDPos, "unknown job %q", c.ID)
		case err != nil:
			return Result{}, err
		case c.Savepoint:
			return Result{Message: fmt.Sprintf("stopped job %s with savepoint %s", c.ID, path), Savepoint: path}, nil
		}
		return Result{Message: "stopped job " + c.ID}, nil
	case sql.SetOption, sql.ShowOptions, sql.ResetOption:
		return e.setOption(src, c)
	}
	return Result{}, sql.Errorf(src, st.Offset, "this command is not supported yet")
}

func jobNumber(id string) int {
	n, _ := strconv.Atoi(strings.TrimPrefix(id, "j-"))
	return n
}

// plan binds and plans a query; sinkName, when not empty, names the table
// it writes.
func (e *Engine) plan(src string, info sql.StatementInfo, sinkName string) (*planner.Physical, error) {
	return e.planWith(e.settings(), src, info, sinkName)
}

// planWith is plan with the settings set.
func (e *Engine) planWith(set settings, src string, info sql.StatementInfo, sinkName string) (*planner.Physical, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	var sink *sql.Table
	if sinkName != "" {
		t, ok := e.mu.catalog.Lookup(sinkName)
		if !ok {
			return nil, sql.Errorf(src, namePos(info.Query, sinkName), "unknown table %q", sinkName).
				WithHint(sql.DidYouMean(sinkName, e.mu.catalog.Names()))
		}
		if t.ViewQuery != "" {
			return nil, sql.Errorf(src, namePos(info.Query, sinkName), "%s is a view: INSERT INTO needs a table", t.Name)
		}
		if t.MaterializedQuery != "" && info.Kind == sql.KindInsert {
			return nil, sql.Errorf(src, namePos(info.Query, sinkName), "%s is a materialized view: only its own query writes it", t.Name)
		}
		sink = t
	}
	q, err := sql.Bind(info.Query, e.mu.catalog)
	if err != nil {
		return nil, err
	}
	env := e.env()
	p, err := planner.Plan(q, sink, planner.Options{
		Parallelism:       set.parallelism,
		Prunable:          func(t *sql.Table) bool { return registry.Prunable(t.Options) },
		SourceParallelism: func(t *sql.Table) int { return registry.Splits(t.Options, env) },
		TakesUpdates:      func(t *sql.Table) bool { return registry.TakesUpdates(t.Options, t.PrimaryKey) },
		UpsertSource:      func(t *sql.Table) bool { return registry.UpsertSource(t.Options, t.PrimaryKey) },
		ChangelogSource:   func(t *sql.Table) bool { return registry.ChangelogTable(t.Options) },
	})
	var me *planner.MismatchError
	if errors.As(err, &me) {
		pos := info.Query.Offset
		switch {
		case me.Column >= 0 && me.Column < len(info.Fields):
			pos = info.Fields[me.Column]
		case len(info.Fields) > 0:
			pos = info.Fields[0]
		}
		return nil, sql.NewError(src, pos, me.Msg)
	}
	return p, err
}

func (e *Engine) env() registry.Env {
	return registry.Env{Broker: e.opts.Broker, Stdout: e.opts.Stdout}
}

// pipeline builds the runtime pipeline of p, writing into newSink: a
// stage starts at each source and at each operator fed through an
// exchange, and forward edges chain operators into the stage of their
// input (through a union, each input's stage carries on alone).
func (e *Engine) pipeline(name string, p *planner.Physical, newSink func(connectors.Split) (connectors.Sink, error)) (Pipeline, error) {
	return e.pipelineWith(e.settings(), name, p, newSink)
}

// pipelineWith is pipeline with the settings set.
func (e *Engine) pipelineWith(set settings, name string, p *planner.Physical, newSink func(connectors.Split) (connectors.Sink, error)) (Pipeline, error) {
	pl := Pipeline{
		Name:        name,
		Parallelism: p.Parallelism,
		BatchSize:   set.batchSize,
		NewSink:     newSink,
		ExprOptions: e.exprOptions(),
		IdleTimeout: set.idleTimeout,
		Clock:       e.opts.Clock,
		StateIDs:    stateIDs(p),
	}
	consumer := map[*planner.Node]*planner.Node{}
	edge := map[*planner.Node]planner.Edge{} // the edge from a node to its consumer
	for _, n := range p.Nodes {
		for _, in := range n.Inputs {
			consumer[in.From], edge[in.From] = n, in
		}
	}
	var stages []Stage
	var deps [][]int                   // the stages each stage reads
	entered := map[*planner.Node]int{} // a node fed through an exchange → its stage
	var walk func(n *planner.Node, s int) error
	walk = func(n *planner.Node, s int) error {
		for {
			switch n.Kind {
			case planner.KindFilter:
				stages[s].Operators = append(stages[s].Operators, FilterSpec(fmt.Sprintf("filter#%d", n.ID), n.Cond, e.exprOptions()))
			case planner.KindProject:
				names := make([]string, len(n.Schema))
				for i, f := range n.Schema {
					names[i] = f.Name
				}
				stages[s].Operators = append(stages[s].Operators, ProjectSpec(fmt.Sprintf("project#%d", n.ID), names, n.Exprs, e.exprOptions()))
			case planner.KindAggregate:
				in := n.Inputs[0].From.Schema
				stages[s].Operators = append(stages[s].Operators, GroupAggregateSpec(fmt.Sprintf("aggregate#%d", n.ID), uint32(n.ID), in, n.Keys, n.Aggs, n.Inputs[0].Changelog == planner.Updating))
			case planner.KindWindow:
				stages[s].Operators = append(stages[s].Operators, WindowAssignSpec(fmt.Sprintf("window#%d", n.ID), n.Inputs[0].From.Schema, n.Window))
			case planner.KindWindowAggregate:
				in := n.Inputs[0].From.Schema
				stages[s].Operators = append(stages[s].Operators, WindowAggregateStateSpec(fmt.Sprintf("window-aggregate#%d", n.ID), uint32(n.ID), in, n.Keys, n.WindowEnd, n.Aggs, nil))
			case planner.KindSessionAggregate:
				in := n.Inputs[0].From.Schema
				stages[s].Operators = append(stages[s].Operators, SessionAggregateStateSpec(fmt.Sprintf("session-aggregate#%d", n.ID), uint32(n.ID), in, n.Keys, n.WindowStart, n.WindowEnd, n.Aggs, nil))
			case planner.KindNormalize:
				stages[s].Operators = append(stages[s].Operators, UpsertNormalizeSpec(fmt.Sprintf("normalize#%d", n.ID), uint32(n.ID), n.Schema, n.Keys))
			case planner.KindTopN:
				stages[s].Operators = append(stages[s].Operators, TopNSpec(fmt.Sprintf("topn#%d", n.ID), uint32(n.ID), n.Inputs[0].From.Schema, n.Rank, n.WindowEnd, n.Inputs[0].Changelog == planner.Updating))
			case planner.KindSource, planner.KindUnion, planner.KindSink:
			default:
				return fmt.Errorf("runtime: operator %s is not supported yet", n.Kind)
			}
			next, ok := consumer[n]
			if !ok {
				return nil
			}
			ed := edge[n]
			if ed.Exchange == planner.Forward {
				n = next
				continue
			}
			kind, err := exchangeKind(ed.Exchange)
			if err != nil {
				return err
			}
			k, seen := entered[next]
			if !seen {
				k = len(stages)
				stages = append(stages, Stage{Name: fmt.Sprintf("s%d", k+1), Parallelism: next.Parallelism, Schema: n.Schema})
				deps = append(deps, nil)
				entered[next] = k
			}
			stages[k].Inputs = append(stages[k].Inputs, StageInput{Stage: s, Kind: kind, Keys: ed.Keys})
			deps[k] = append(deps[k], s)
			if seen {
				return nil
			}
			// The exchange's consumer starts its own chain at next.
			n, s = next, k
			if err := walk(n, s); err != nil {
				return err
			}
			return nil
		}
	}
	keys := sourceKeys(p)
	for i, src := range p.Sources() {
		env := e.env()
		env.JobID, env.SourceTable = set.jobID, src.Table.Name
		newSource, err := registry.Source(src.Table.Options, src.Schema, src.Table.PrimaryKey, env)
		if err != nil {
			return Pipeline{}, fmt.Errorf("table %s: %w", src.Table.Name, err)
		}
		s := len(stages)
		st := Stage{Name: fmt.Sprintf("s%d", s+1), Parallelism: src.Parallelism, Schema: src.Schema, NewSource: newSource, Watermark: src.Watermark,
			SourceTable: src.Table.Name, SourceKey: keys[i]}
		if src.Table.Options["connector"] == "log" {
			st.SourceTopic = src.Table.Options["topic"]
		}
		if src.ProcTime {
			st.ProcTimeTick = procTimeTick
		}
		stages = append(stages, st)
		deps = append(deps, nil)
		if err := walk(src, s); err != nil {
			return Pipeline{}, err
		}
	}
	pl.Stages = orderStages(stages, deps)
	return pl, nil
}

// procTimeTick is how often a processing-time source's clock moves on
// while it has no row: how late a processing-time window may close.
const procTimeTick = 100 * time.Millisecond

// mvIndexName names a materialized view's index operator in its job.
const mvIndexName = "mv-index"

// addIndex puts a MaterializedIndex of the rows (of schema, keyed by key)
// at the end of every stage that writes the sink.
func addIndex(pl *Pipeline, schema types.Schema, key []int) {
	feeds := make([]bool, len(pl.Stages))
	for _, st := range pl.Stages {
		for _, in := range st.Inputs {
			feeds[in.Stage] = true
		}
	}
	for s := range pl.Stages {
		if !feeds[s] {
			pl.Stages[s].Operators = append(pl.Stages[s].Operators, MaterializedIndexSpec(mvIndexName, schema, key))
		}
	}
}

// lookupView answers a SELECT of a materialized view that names every
// column of its key with a constant (WHERE k = 1 AND ...) from the view's
// index, in its running job's state, rather than a scan of its topic.
// handled is false for any other query, or when the job is not running.
func (e *Engine) lookupView(ctx context.Context, p *planner.Physical) (r Result, handled bool, err error) {
	root := p.Logical
	var proj *sql.Project
	if pr, ok := root.(*sql.Project); ok {
		proj, root = pr, pr.Input
	}
	filter, ok := root.(*sql.Filter)
	if !ok {
		return Result{}, false, nil
	}
	scan, ok := filter.Input.(*sql.Scan)
	if !ok || scan.Table.MaterializedQuery == "" || len(scan.Table.PrimaryKey) == 0 {
		return Result{}, false, nil
	}
	t := scan.Table
	e.mu.Lock()
	id := e.mu.mvJobs[strings.ToLower(t.Name)]
	e.mu.Unlock()
	ej, err := e.job(id)
	if err != nil || ej.Status() != Running {
		return Result{}, false, nil
	}
	j := ej.job()
	// The key's values, from conjuncts key column = constant.
	cols := scan.Columns
	if cols == nil {
		cols = allColumns(len(t.Schema))
	}
	keySchema := make(types.Schema, len(t.PrimaryKey))
	keyVals := make([]*expr.Const, len(t.PrimaryKey))
	var rest []expr.Expr
	for _, c := range conjunctsOf(filter.Cond) {
		if k, v := keyEquality(c, cols, t); k >= 0 && keyVals[k] == nil {
			keyVals[k] = v
			continue
		}
		rest = append(rest, c)
	}
	for k, name := range t.PrimaryKey {
		if keyVals[k] == nil || keyVals[k].Value == nil {
			return Result{}, false, nil
		}
		keySchema[k] = t.Schema[t.Schema.Index(name)]
	}
	key := types.NewBatch(keySchema, 1)
	for k, v := range keyVals {
		if err := appendConst(key.Cols[k], v.Value); err != nil {
			return Result{}, false, nil // a value the column cannot hold: no row has it
		}
	}
	key.SetLen(1)
	full := types.NewBatch(t.Schema, 1)
	err = j.Query(ctx, mvIndexName, func(op Operator) error {
		return op.(*MaterializedIndex).Lookup(key, full)
	})
	if err != nil {
		return Result{}, false, nil // the job ended meanwhile: scan instead
	}
	// The row in the scan's columns, then the rest of the query.
	b := types.NewBatch(scan.Schema(), full.Len())
	for i, c := range cols {
		appendVectorRows(b.Cols[i], full.Cols[c], allRows(full.Len()), 0)
	}
	b.SetLen(full.Len())
	e.lookups.Add(1)
	r = Result{Columns: p.Schema, Rows: [][]any{}}
	if len(rest) > 0 && b.Len() > 0 {
		f, err := NewFilter(andAll(rest), e.exprOptions())
		if err != nil {
			return Result{}, false, nil
		}
		var kept *types.Batch
		if err := f.Process(b, func(o *types.Batch) error { kept = o; return nil }); err != nil {
			return Result{}, true, err
		}
		if kept == nil || kept.Live() == 0 {
			return r, true, nil
		}
	}
	out := b
	if proj != nil && b.Live() > 0 {
		names := make([]string, len(proj.Out))
		for i, f := range proj.Out {
			names[i] = f.Name
		}
		pr, err := NewProject(names, proj.Exprs, e.exprOptions())
		if err != nil {
			return Result{}, false, nil
		}
		if err := pr.Process(b, func(o *types.Batch) error { out = o; return nil }); err != nil {
			return Result{}, true, err
		}
	}
	out.ForEach(func(i int) {
		row := make([]any, len(out.Cols))
		for k, v := range out.Cols {
			row[k] = v.Value(i)
		}
		r.Rows = append(r.Rows, row)
	})
	return r, true, nil
}

// keyEquality reads c as key column = constant: which key column (-1 if
// none) and the constant.
func keyEquality(c expr.Expr, cols []int, t *sql.Table) (int, *expr.Const) {
	call, ok := c.(*expr.Call)
	if !ok || call.Fn != expr.FnEq || len(call.Args) != 2 {
		return -1, nil
	}
	a, b := call.Args[0], call.Args[1]
	if _, ok := a.(*expr.Const); ok {
		a, b = b, a
	}
	ref, ok := a.(*expr.ColumnRef)
	v, ok2 := b.(*expr.Const)
	if !ok || !ok2 || ref.Index >= len(cols) {
		return -1, nil
	}
	name := t.Schema[cols[ref.Index]].Name
	for k, pk := range t.PrimaryKey {
		if strings.EqualFold(pk, name) {
			return k, v
		}
	}
	return -1, nil
}

// conjunctsOf splits e at its top-level ANDs.
func conjunctsOf(e expr.Expr) []expr.Expr {
	if c, ok := e.(*expr.Call); ok && c.Fn == expr.FnAnd {
		var out []expr.Expr
		for _, a := range c.Args {
			out = append(out, conjunctsOf(a)...)
		}
		return out
	}
	return []expr.Expr{e}
}

func andAll(cs []expr.Expr) expr.Expr {
	e := cs[0]
	for _, c := range cs[1:] {
		e = &expr.Call{Fn: expr.FnAnd, Args: []expr.Expr{e, c}, T: types.Boolean()}
	}
	return e
}

func allRows(n int) []int32 {
	rows := make([]int32, n)
	for i := range rows {
		rows[i] = int32(i)
	}
	return rows
}

// appendConst appends a constant's Go value to a vector of the key
// column's type.
func appendConst(v *types.Vector, x any) error {
	switch val := x.(type) {
	case int64:
		switch {
		case v.Type.Kind == types.KindInt || v.Type.Kind == types.KindDate || v.Type.Kind == types.KindTimestamp:
			v.AppendInt(val)
			return nil
		}
	case string:
		if v.Type.Kind == types.KindString {
			v.AppendString(val)
			return nil
		}
	case bool:
		if v.Type.Kind == types.KindBoolean {
			v.AppendBool(val)
			return nil
		}
	case float64:
		if v.Type.Kind == types.KindFloat {
			v.AppendFloat(val)
			return nil
		}
	}
	return fmt.Errorf("runtime: no key lookup for %T into %s", x, v.Type)
}

// orderStages puts every stage after the stages it reads, renumbering
// the inputs.
func orderStages(stages []Stage, deps [][]int) []Stage {
	pos := make([]int, len(stages))
	for i := range pos {
		pos[i] = -1
	}
	var order []int
	var visit func(s int)
	visit = func(s int) {
		if pos[s] >= 0 {
			return
		}
		for _, d := range deps[s] {
			visit(d)
		}
		pos[s] = len(order)
		order = append(order, s)
	}
	for s := range stages {
		visit(s)
	}
	out := make([]Stage, len(stages))
	for s, st := range stages {
		for i := range st.Inputs {
			st.Inputs[i].Stage = pos[st.Inputs[i].Stage]
		}
		out[pos[s]] = st
	}
	return out
}

// exchangeKind is the run-time exchange of a planner's.
func exchangeKind(x planner.Exchange) (ExchangeKind, error) {
	switch x {
	case planner.Forward:
		return ExchangeForward, nil
	case planner.Rebalance:
		return ExchangeRebalance, nil
	case planner.Hash:
		return ExchangeHash, nil
	case planner.Broadcast:
		return ExchangeBroadcast, nil
	}
	return 0, fmt.Errorf("runtime: exchange %s is not supported", x)
}

// createView binds the view's query, to check it and to type its
// columns, and stores the view. A view is a named query: reading it
// expands the query in place (see sql.Bind).
func (e *Engine) createView(ctx context.Context, src string, st sql.Statement, info sql.StatementInfo) (Result, error) {
	name := info.Names[0]
	text, err := sql.ViewQueryText(st)
	if err != nil {
		return Result{}, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if old, ok := e.mu.catalog.Lookup(name); ok && !(info.OrReplace && old.ViewQuery != "") {
		what := "table"
		if old.ViewQuery != "" {
			what = "view"
		}
		return Result{}, sql.Errorf(src, namePos(st, name), "%s %q already exists", what, old.Name)
	}
	q, err := sql.Bind(info.Query, e.mu.catalog)
	if err != nil {
		return Result{}, err
	}
	schema := append(types.Schema(nil), q.Schema...)
	if len(info.Columns) > 0 {
		if len(info.Columns) != len(schema) {
			return Result{}, sql.Errorf(src, namePos(st, name), "view %s names %d columns but its query has %d", name, len(info.Columns), len(schema))
		}
		for i, c := range info.Columns {
			schema[i].Name = c
		}
	}
	seen := map[string]bool{}
	for i, f := range schema {
		pos := info.Query.Offset
		if i < len(info.Fields) {
			pos = info.Fields[i]
		}
		if f.Type.Kind == types.KindNull {
			return Result{}, sql.Errorf(src, pos, "column %s of view %s has no type: give it one with CAST", f.Name, name)
		}
		if k := strings.ToLower(f.Name); seen[k] {
			return Result{}, sql.Errorf(src, pos, "view %s has two columns named %s: give one an alias", name, f.Name)
		}
		seen[strings.ToLower(f.Name)] = true
	}
	t := &sql.Table{Name: name, Schema: schema, ViewQuery: text}
	if err := e.mu.catalog.Create(ctx, st, t, info.OrReplace); err != nil {
		return Result{}, err
	}
	e.mu.created[strings.ToLower(name)] = st.Text
	return Result{Message: "created view " + name}, nil
}

// createMaterializedView makes the view's table, a topic named after it
// (an upsert topic keyed by the result's key when the result is
// updating, else append-only), and starts the job that writes it. A
// query reads the view as it reads that table.
func (e *Engine) createMaterializedView(ctx context.Context, src string, st sql.Statement, info sql.StatementInfo) (Result, error) {
	name := info.Names[0]
	text, err := sql.ViewQueryText(st)
	if err != nil {
		return Result{}, err
	}
	if len(info.Columns) > 0 {
		return Result{}, sql.Errorf(src, namePos(st, name), "a materialized view takes its column names from its query: use aliases")
	}
	if info.OrReplace {
		return Result{}, sql.Errorf(src, st.Offset, "CREATE OR REPLACE MATERIALIZED VIEW is not supported: drop it first")
	}
	// A query of the view reads a snapshot of its topic, up to where it
	// ends when the query starts (its current contents), unless the view
	// says otherwise ('scan.bounded' = 'false' streams its changes).
	opts := map[string]string{"connector": "log", "topic": name, "format": "json", "scan.bounded": "true"}
	for _, o := range st.Dialect.Options {
		opts[o.Key] = o.Value
	}
	if opts["connector"] != "log" {
		return Result{}, sql.Errorf(src, namePos(st, name), "a materialized view is kept in the built-in log: its 'connector' is log")
	}
	if err := registry.Check(opts); err != nil {
		return Result{}, sql.Errorf(src, optionPos(st, err, namePos(st, name)), "materialized view %s: %v", name, err)
	}
	p, err := e.plan(src, info, "")
	if err != nil {
		return Result{}, err
	}
	t := &sql.Table{Name: name, Options: opts, MaterializedQuery: text}
	for _, f := range p.Schema {
		t.Schema = append(t.Schema, types.Field{Name: f.Name, Type: f.Type.Nullable()})
	}
	if p.Updating() {
		key, ok := p.UpsertKey()
		if !ok {
			return Result{}, sql.Errorf(src, namePos(st, name), "the result of materialized view %s changes, but its rows have no key to update them by: keep the GROUP BY keys in the SELECT list", name)
		}
		for _, k := range key {
			t.PrimaryKey = append(t.PrimaryKey, t.Schema[k].Name)
		}
	}
	e.mu.Lock()
	if old, ok := e.mu.catalog.Lookup(name); ok {
		e.mu.Unlock()
		return Result{}, sql.Errorf(src, namePos(st, name), "%q already exists", old.Name)
	}
	if err := e.mu.catalog.Create(ctx, st, t, false); err != nil {
		e.mu.Unlock()
		return Result{}, err
	}
	e.mu.created[strings.ToLower(name)] = st.Text
	e.mu.Unlock()
	r, err := e.insert(src, st, info)
	if err != nil {
		// The view without its job would never fill: take it back.
		e.mu.Lock()
		_ = e.mu.catalog.Drop(ctx, name)
		delete(e.mu.created, strings.ToLower(name))
		e.mu.Unlock()
		return Result{}, err
	}
	e.mu.Lock()
	e.mu.mvJobs[strings.ToLower(name)] = r.JobID
	e.mu.Unlock()
	r.Message = fmt.Sprintf("created materialized view %s (job %s)", name, r.JobID)
	return r, nil
}

// attachState opens the state database of job name when its pipeline
// has stateful operators and the engine a state directory, and sets the
// pipeline's state settings. release closes the database and removes its
// directory: call it once the job has ended (or did not start).
func (e *Engine) attachState(pl *Pipeline, name string) (release func(), err error) {
	pl.StateTTL, pl.StateCacheBytes = e.settings().stateTTL, e.opts.StateCacheBytes
	if !stateful(*pl) || e.opts.StateDir == "" {
		return func() {}, nil
	}
	db, rel, err := e.openJobState(name, false) // a crashed run's leftovers go
	if err != nil {
		return nil, err
	}
	pl.State = db
	return func() { rel(false) }, nil
}

// exprOptions are the options expressions compile with.
func (e *Engine) exprOptions() expr.Options { return expr.Options{Now: e.opts.Now} }

// bounded reports whether every source of p ends.
func bounded(p *planner.Physical) bool {
	for _, s := range p.Sources() {
		if !Bounded(s.Table.Options) {
			return false
		}
	}
	return true
}

func (e *Engine) insert(src string, st sql.Statement, info sql.StatementInfo) (Result, error) {
	e.mu.Lock()
	if e.mu.closed {
		e.mu.Unlock()
		return Result{}, errors.New("runtime: engine is closed")
	}
	options := maps.Clone(e.mu.options)
	e.mu.Unlock()
	return e.startJob(jobRecord{Statement: st.Text, Options: options}, src, info, false)
}

// startJob starts job rec, an INSERT's or a materialized view's, whose
// statement, in the script src, is classified as info, under the options
// rec.Options. With resume set it is a job a previous engine left
// running, which resumes from its checkpoint; otherwise it starts
// afresh; a new job without an ID gets the next one once it has planned.
// It returns once the first attempt is built.
func (e *Engine) startJob(rec jobRecord, src string, info sql.StatementInfo, resume bool) (Result, error) {
	set := e.settingsOf(rec.Options)
	strategy, err := set.restartStrategy()
	if err != nil {
		return Result{}, err
	}
	p, err := e.planWith(set, src, info, info.Names[0])
	if err != nil {
		return Result{}, err
	}
	// A job checkpoints when it has state and every source can resume
	// from a position; only then are its log sinks exactly-once.
	checkpoints := e.opts.StateDir != "" && set.checkpointInterval > 0
	for _, n := range p.Sources() {
		if !registry.Checkpointed(n.Table.Options) {
			checkpoints = false
		}
	}
	ops, sources := planSavepointInfo(p)
	// A new job may start from a savepoint, if its query fits it.
	var sp savepointMeta
	var dropOps []uint32
	if set.savepointPath != "" && !resume {
		if !checkpoints {
			return Result{}, fmt.Errorf("'%s' is set, but this job takes no checkpoints (it needs a state directory, 'checkpoint.interval' above 0 and sources that resume) and so cannot start from a savepoint", OptSavepointPath)
		}
		if sp, err = readSavepoint(set.savepointPath); err != nil {
			return Result{}, err
		}
		if dropOps, err = checkSavepoint(set.savepointPath, sp, ops, sources, set.ignoreUnclaimed); err != nil {
			return Result{}, err
		}
	}
	if rec.ID == "" {
		e.mu.Lock()
		e.mu.nextJob++
		rec.ID = "j-" + strconv.Itoa(e.mu.nextJob)
		e.mu.Unlock()
	}
	id := rec.ID
	set.jobID = id
	env := e.env()
	env.JobID, env.Transactional, env.SinkTable = id, checkpoints, p.Sink.Name
	newSink, err := registry.Sink(p.Sink.Options, p.Sink.Schema, p.Sink.PrimaryKey, env)
	if err != nil {
		return Result{}, fmt.Errorf("table %s: %w", p.Sink.Name, err)
	}
	// build makes an attempt: a Job on the job's state, opened afresh for
	// the first attempt of a new job, else resumed.
	fresh := !resume
	if resume && checkpoints {
		// A job to resume without its state would run again from the
		// start, and write its output again.
		if _, err := os.Stat(filepath.Join(e.opts.StateDir, id)); err != nil {
			return Result{}, fmt.Errorf("the state of job %s is missing (%w): it is not resumed", id, err)
		}
	}
	if set.savepointPath != "" && !resume {
		if err := restoreSavepoint(set.savepointPath, filepath.Join(e.opts.StateDir, id), sp, dropOps, e.opts.StateCacheBytes); err != nil {
			return Result{}, err
		}
		fresh = false
	}
	var release func(keep bool)
	build := func() (*Job, error) {
		if release != nil {
			release(true) // the previous attempt's
			release = nil
		}
		pl, err := e.pipelineWith(set, id, p, newSink)
		if err != nil {
			return nil, err
		}
		if t := p.Sink; t.MaterializedQuery != "" && len(t.PrimaryKey) > 0 {
			// A materialized view keeps its rows by key in its job's
			// state, for the queries that name a key.
			var key []int
			for _, k := range t.PrimaryKey {
				key = append(key, t.Schema.Index(k))
			}
			addIndex(&pl, t.Schema, key)
		}
		pl.StateTTL, pl.StateCacheBytes = set.stateTTL, e.opts.StateCacheBytes
		if e.opts.StateDir != "" && (checkpoints || stateful(pl)) {
			db, rel, err := e.openJobState(id, !fresh)
			if err != nil {
				return nil, err
			}
			fresh, release, pl.State = false, rel, db
			if checkpoints {
				pl.CheckpointInterval = set.checkpointInterval
			}
		}
		return NewJob(pl)
	}
	first, err := build()
	if err != nil {
		if release != nil {
			release(resume)
		}
		return Result{}, err
	}
	ej := &engineJob{id: id, statement: rec.Statement, bounded: bounded(p), started: time.Now(), strategy: strategy, done: make(chan struct{}),
		operators: ops, sources: sources}
	ej.mu.status, ej.mu.cur, ej.build = Running, first, build
	forget := func() {
		if e.opts.ResumeJobs && e.opts.Broker != nil {
			if err := e.removeJobRecord(id); err != nil {
				slog.Warn("could not forget an ended job: it will be resumed at the next start", "job", id, "error", err)
			}
		}
	}
	if e.opts.ResumeJobs && e.opts.Broker != nil && !resume {
		if err := e.putJobRecord(rec); err != nil {
			if release != nil {
				release(false)
			}
			return Result{}, err
		}
	}
	// A job outlives the statement that started it: it runs on the
	// engine's context, until it ends, is stopped or the engine closes.
	ctx, cancel := context.WithCancel(e.ctx)
	ej.mu.cancel = cancel
	if err := first.Start(ctx); err != nil {
		cancel()
		if release != nil {
			release(resume)
		}
		if !resume {
			forget()
		}
		return Result{}, err
	}
	e.mu.Lock()
	e.mu.jobs[id] = ej
	e.mu.Unlock()
	go ej.supervise(ctx, first, func(keep bool) {
		if release != nil {
			release(keep)
		}
	}, forget)
	return Result{Message: "started job " + id, JobID: id, Bounded: ej.bounded}, nil
}

// stateful reports whether a pipeline has operators that keep state.
func stateful(pl Pipeline) bool {
	for _, st := range pl.Stages {
		for _, op := range st.Operators {
			if op.NewWith != nil {
				return true
			}
		}
	}
	return false
}

// explain plans the SELECT or INSERT that info explains, without running
// it, and returns the plan one line a row.
func (e *Engine) explain(src string, info sql.StatementInfo) (Result, error) {
	sink := ""
	if info.Explained == sql.KindInsert {
		sink = info.Names[0]
	}
	p, err := e.plan(src, info, sink)
	if err != nil {
		return Result{}, err
	}
	r := Result{Columns: types.Schema{{Name: "plan", Type: types.String()}}}
	for _, l := range strings.Split(strings.TrimSuffix(p.Explain(), "\n"), "\n") {
		r.Rows = append(r.Rows, []any{l})
	}
	return r, nil
}

// describe lists t's columns: name, type, whether it admits NULL, "PRI"
// for a primary key column, and the watermark expression of the event-time
// column.
func describe(t *sql.Table) Result {
	r := Result{Columns: types.Schema{
		{Name: "name", Type: types.String()},
		{Name: "type", Type: types.String()},
		{Name: "null", Type: types.Boolean()},
		{Name: "key", Type: types.String()},
		{Name: "watermark", Type: types.String()},
	}}
	for _, f := range t.Schema {
		var key, wm any
		for _, k := range t.PrimaryKey {
			if strings.EqualFold(k, f.Name) {
				key = "PRI"
			}
		}
		if t.Watermark != nil && strings.EqualFold(t.Watermark.Column, f.Name) {
			wm = t.Watermark.Expr
		}
		r.Rows = append(r.Rows, []any{f.Name, f.Type.Nullable().String(), !f.Type.NotNull, key, wm})
	}
	return r
}

// showCreate spells a CREATE statement that declares t, for a table whose
// original text the Engine does not hold.
func showCreate(t *sql.Table) string {
	if t.ViewQuery != "" {
		return "CREATE VIEW " + t.Name + " AS " + t.ViewQuery
	}
	if t.MaterializedQuery != "" {
		return "CREATE MATERIALIZED VIEW " + t.Name + " AS " + t.MaterializedQuery
	}
	var items []string
	for _, f := range t.Schema {
		c := "  " + f.Name + " " + f.Type.Nullable().String()
		if f.Type.NotNull {
			c += " NOT NULL"
		}
		items = append(items, c)
	}
	if w := t.Watermark; w != nil {
		items = append(items, "  WATERMARK FOR "+w.Column+" AS "+w.Expr)
	}
	if len(t.PrimaryKey) > 0 {
		items = append(items, "  PRIMARY KEY ("+strings.Join(t.PrimaryKey, ", ")+") NOT ENFORCED")
	}
	keys := make([]string, 0, len(t.Options))
	for k := range t.Options {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	opts := make([]string, len(keys))
	for i, k := range keys {
		opts[i] = "  " + sqlString(k) + " = " + sqlString(t.Options[k])
	}
	return "CREATE TABLE " + t.Name + " (\n" + strings.Join(items, ",\n") + "\n) WITH (\n" + strings.Join(opts, ",\n") + "\n)"
}

func sqlString(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// query runs a SELECT over bounded sources to completion and returns its
// rows. A SELECT over an unbounded source would never return: until push
// queries stream rows to the shell, it is refused.
func (e *Engine) query(ctx context.Context, src string, info sql.StatementInfo, collect bool) (Result, error) {
	p, err := e.plan(src, info, "")
	if err != nil {
		return Result{}, err
	}
	if r, ok, err := e.lookupView(ctx, p); ok || err != nil {
		return r, err
	}
	if collect {
		for _, s := range p.Sources() {
			if !Bounded(s.Table.Options) {
				return Result{}, sql.Errorf(src, s.TablePos,
					"table %s is unbounded, so this SELECT would never end: write it to a table with INSERT INTO, or bound the source", s.Table.Name)
			}
		}
	}
	s := newRowStream(p.Schema, e.settings().maxResultRows, p.Updating())
	pl, err := e.pipeline("select", p, func(connectors.Split) (connectors.Sink, error) { return &streamSink{s: s}, nil })
	if err != nil {
		return Result{}, err
	}
	e.mu.Lock()
	e.mu.nextQuery++
	qid := fmt.Sprintf("select-%d", e.mu.nextQuery)
	e.mu.Unlock()
	release, err := e.attachState(&pl, qid)
	if err != nil {
		return Result{}, err
	}
	job, err := NewJob(pl)
	if err != nil {
		release()
		return Result{}, err
	}
	go func() { <-job.Done(); release() }()
	if err := s.start(ctx, job); err != nil {
		return Result{}, err
	}
	r := Result{Columns: p.Schema, Bounded: bounded(p)}
	if !collect {
		r.Columns, r.Stream = s.Columns, s
		return r, nil
	}
	if r.Rows, err = s.Collect(ctx); err != nil {
		return Result{}, err
	}
	if r.Rows == nil {
		r.Rows = [][]any{}
	}
	return r, nil
}

// Bounded reports whether a table with these connector options ends on
// its own (see registry.Bounded).
func Bounded(opts map[string]string) bool { return registry.Bounded(opts) }

// optionPos finds the WITH option an error about a table's options is
// about: the one whose key the message quotes (the longest, should keys
// nest), at its key, or at its value when the message quotes that too.
// def when no option is named.
func optionPos(st sql.Statement, err error, def int) int {
	if st.Dialect == nil {
		return def
	}
	msg := err.Error()
	quoted := func(s string) bool {
		return strings.Contains(msg, "'"+s+"'") || strings.Contains(msg, `"`+s+`"`)
	}
	best, pos := -1, def
	for _, o := range st.Dialect.Options {
		if len(o.Key) > best && quoted(o.Key) {
			best, pos = len(o.Key), o.KeyPos
			if o.Value != "" && quoted(o.Value) {
				pos = o.ValuePos
			}
		}
	}
	if best < 0 {
		// No key named: a value may be ("unknown connector "kafkaa"").
		for _, o := range st.Dialect.Options {
			if o.Value != "" && quoted(o.Value) {
				return o.ValuePos
			}
		}
	}
	return pos
}

// namePos finds where st names the table name (as a word, possibly
// quoted), for an error about it; the statement's start when it does not.
func namePos(st sql.Statement, name string) int {
	text := strings.ToLower(st.Text)
	name = strings.ToLower(name)
	isIdent := func(c byte) bool {
		return c == '_' || c == '$' || '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || c >= 0x80
	}
	for from := 0; ; {
		i := strings.Index(text[from:], name)
		if i < 0 {
			return st.Offset
		}
		i += from
		end := i + len(name)
		if (i == 0 || !isIdent(text[i-1])) && (end == len(text) || !isIdent(text[end])) {
			if i > 0 && (text[i-1] == '"' || text[i-1] == '`') {
				i--
			}
			return st.Offset + i
		}
		from = end
	}
}
