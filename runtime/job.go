package runtime

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sluice-sql/sluice/connectors"
	"github.com/sluice-sql/sluice/sql/expr"
	"github.com/sluice-sql/sluice/sql/types"
	"github.com/sluice-sql/sluice/state"
)

// Defaults of Pipeline.
const (
	DefaultBatchSize       = 1024
	DefaultChannelCapacity = 4
)

// ErrCancelled is what Wait returns for a job stopped by Cancel or by the
// end of the context given to Start.
var ErrCancelled = errors.New("runtime: job cancelled")

// Pipeline describes a job as stages. A stage reads a source, or the
// exchange joining it to the stages named in its Inputs, runs its
// operators chained in one task per instance, and ends in the pipeline's
// sink or in the exchange of the one stage that names it as an input.
// Forward edges are chained inside a stage; an exchange is where rows
// change instance (rebalance, hash by key, broadcast). Several source
// stages writing the sink are a UNION ALL.
type Pipeline struct {
	// Name names the job in errors.
	Name string
	// Parallelism is the number of instances of a stage that does not
	// set its own (default 1).
	Parallelism int
	// BatchSize is the most rows a source puts in one batch.
	BatchSize int
	// ChannelCapacity is how many batches an edge's channel holds.
	ChannelCapacity int
	// Stages are the job's stages, each after the stages it reads. A
	// pipeline with none finishes at once.
	Stages []Stage
	// NewSink builds the sink of one instance of one stage; the job opens
	// and closes it.
	NewSink func(connectors.Split) (connectors.Sink, error)
	// ExprOptions are what the job's own expressions (watermarks)
	// compile with.
	ExprOptions expr.Options
	// State is the database stateful operators keep their state in (the
	// caller opens and closes it); nil keeps state in memory. StateTTL,
	// when positive, expires state not written for that long.
	State           *state.DB
	StateTTL        time.Duration
	StateCacheBytes int64
	// IdleTimeout is source.idle-timeout: a source partition (or a
	// source without partitions) that has produced no row for this long
	// stops holding its instance's watermark back until its next row,
	// and an instance whose partitions are all idle stops holding back
	// the consumers of its exchange. Zero, the default, never idles a
	// partition, as in Flink; so does a negative value.
	IdleTimeout time.Duration
	// Clock measures IdleTimeout; nil is the system clock. Tests inject
	// a virtual one.
	Clock Clock
	// CheckpointInterval, when positive and State is set, makes the job
	// take a checkpoint that often (see checkpoint.go), if every source
	// can name its position; CheckpointTimeout bounds one
	// (DefaultCheckpointTimeout when zero). A job whose State holds a
	// checkpoint resumes from it.
	CheckpointInterval time.Duration
	CheckpointTimeout  time.Duration
	// StateIDs maps the operator numbers the specs open their state
	// with to the numbers the state is kept under (see stateIDs), which
	// stay the same when a compatible change of the query renumbers its
	// operators; an operator not in it keeps its own.
	StateIDs map[uint32]uint32
}

// Stage is a chain of operators over the rows of a source or of an
// exchange.
type Stage struct {
	// Name prefixes the names of the stage's tasks and metrics when the
	// pipeline has several stages.
	Name string
	// Parallelism is the stage's number of instances; 0 is the
	// pipeline's.
	Parallelism int
	// Schema is the columns of the rows entering the stage.
	Schema types.Schema
	// NewSource builds one instance's source, for a source stage; the job
	// opens and closes it.
	NewSource func(connectors.Split) (connectors.Source, error)
	// Watermark is a source stage's watermark expression over Schema (a
	// TIMESTAMP): the stage's event-time clock is its largest value so
	// far. Nil: the stage has no event time until its source ends.
	Watermark expr.Expr
	// ProcTimeTick, when positive, makes the stage's clock processing
	// time (for processing-time windows), read after every batch and at
	// least this often while the source has no row, so that windows
	// close on time with no input.
	ProcTimeTick time.Duration
	// SourceTable and SourceTopic name a source stage's table and, for
	// one in the log, its topic, in the job's metrics. SourceKey names
	// its positions in checkpoints: the table, with "#2" and so on for
	// its second and later reads in one query; the stage's name when
	// empty.
	SourceTable, SourceTopic, SourceKey string
	// Inputs are, for a stage without a source, the stages feeding it and
	// how their rows reach its instances.
	Inputs    []StageInput
	Operators []OperatorSpec
}

// StageInput is an exchange edge into a stage.
type StageInput struct {
	// Stage is the producing stage, by index into Pipeline.Stages.
	Stage int
	Kind  ExchangeKind
	// Keys are the columns a hash exchange partitions by.
	Keys []int
}

// EnsureDefaults fills the zero fields with their defaults.
func (p *Pipeline) EnsureDefaults() {
	if p.Parallelism == 0 {
		p.Parallelism = 1
	}
	if p.BatchSize == 0 {
		p.BatchSize = DefaultBatchSize
	}
	if p.ChannelCapacity == 0 {
		p.ChannelCapacity = DefaultChannelCapacity
	}
}

// Validate reports the first setting that is out of range.
func (p *Pipeline) Validate() error {
	switch {
	case p.Parallelism < 1:
		return fmt.Errorf("runtime: parallelism %d < 1", p.Parallelism)
	case p.BatchSize < 1:
		return fmt.Errorf("runtime: batch size %d < 1", p.BatchSize)
	case p.ChannelCapacity < 1:
		return fmt.Errorf("runtime: channel capacity %d < 1", p.ChannelCapacity)
	case p.NewSink == nil:
		return errors.New("runtime: pipeline needs NewSink")
	}
	consumer := make([]int, len(p.Stages)) // the stage reading each stage, or -1
	for i := range consumer {
		consumer[i] = -1
	}
	for i, st := range p.Stages {
		switch {
		case len(st.Schema) == 0:
			return fmt.Errorf("runtime: stage %d has no input schema", i)
		case st.Parallelism < 0:
			return fmt.Errorf("runtime: stage %d: parallelism %d < 0", i, st.Parallelism)
		case (st.NewSource == nil) == (len(st.Inputs) == 0):
			return fmt.Errorf("runtime: stage %d needs a source or inputs, not both", i)
		}
		for _, in := range st.Inputs {
			if in.Stage < 0 || in.Stage >= i {
				return fmt.Errorf("runtime: stage %d reads stage %d, which is not before it", i, in.Stage)
			}
			if consumer[in.Stage] >= 0 {
				return fmt.Errorf("runtime: stage %d feeds both stage %d and stage %d", in.Stage, consumer[in.Stage], i)
			}
			consumer[in.Stage] = i
		}
		for _, op := range st.Operators {
			if op.New == nil && op.NewWith == nil {
				return fmt.Errorf("runtime: operator %q has no constructor", op.Name)
			}
		}
	}
	return nil
}

// MaxBatchesInFlight is how many batches an instance's edge may hold at
// once (being filled, queued or being processed): a source is never more
// than this many batches ahead of its sink.
func (p *Pipeline) MaxBatchesInFlight() int { return p.ChannelCapacity + 2 }

// Status is a job's phase.
type Status int32

// The statuses. Created jobs have not been started.
const (
	Created Status = iota
	Running
	Finished
	Failed
	Cancelled
	// Restarting is an engine's job between a failed attempt and the
	// next.
	Restarting
)

func (s Status) String() string {
	switch s {
	case Created:
		return "created"
	case Running:
		return "running"
	case Finished:
		return "finished"
	case Failed:
		return "failed"
	case Cancelled:
		return "cancelled"
	case Restarting:
		return "restarting"
	}
	return fmt.Sprintf("Status(%d)", int32(s))
}

// TaskError is a task's failure: an error it returned or a panic it
// raised, with the panic's stack.
type TaskError struct {
	Job, Task string
	// Operator names the operator that failed, or "sink", when the
	// failure was in a chain task's stage.
	Operator string
	Err      error
	// Stack is the goroutine's stack at a panic; nil for errors.
	Stack []byte
}

func (e *TaskError) Error() string {
	where := "job " + e.Job + " task " + e.Task
	if e.Operator != "" {
		where += " operator " + e.Operator
	}
	if e.Stack != nil {
		return fmt.Sprintf("%s: %v\n%s", where, e.Err, e.Stack)
	}
	return fmt.Sprintf("%s: %v", where, e.Err)
}

func (e *TaskError) Unwrap() error { return e.Err }

// StageMetrics counts the live rows that entered and left one stage,
// summed over instances.
type StageMetrics struct {
	Name            string
	RowsIn, RowsOut int64
	// LateRows counts the rows a window operator dropped because the
	// watermark had passed their window.
	LateRows int64
}

type stageCounters struct {
	name    string
	late    *atomic.Int64 // the operator's late rows, if it counts them
	in, out atomic.Int64
}

// Job runs a Pipeline. Its methods are safe for concurrent use.
type Job struct {
	p Pipeline
	// stages are, for each stage, its input and operators, then the sink;
	// stageStats[s] are stage s's.
	stages     []*stageCounters
	stageStats [][]*stageCounters
	sinkStage  *stageCounters
	status     atomic.Int32
	done       chan struct{}
	wg         sync.WaitGroup
	// insts are the running instances, set by Start.
	insts []*instance
	// ck is the checkpoint coordinator (nil: no checkpoints); restored
	// is the checkpoint the job resumed from.
	ck       *coordinator
	restored checkpointMeta

	mu struct {
		sync.Mutex
		err       error // first task failure
		cancelled bool
		cancel    context.CancelFunc // set by Start
	}
}

// NewJob validates p and returns a job ready to Start.
func NewJob(p Pipeline) (*Job, error) {
	p.EnsureDefaults()
	if err := p.Validate(); err != nil {
		return nil, err
	}
	j := &Job{p: p, done: make(chan struct{})}
	for _, st := range p.Stages {
		prefix := ""
		if len(p.Stages) > 1 {
			prefix = st.Name + "/"
		}
		in := "source"
		if st.NewSource == nil {
			in = "exchange"
		}
		cs := []*stageCounters{{name: prefix + in}}
		for _, op := range st.Operators {
			cs = append(cs, &stageCounters{name: prefix + op.Name, late: op.Late})
		}
		j.stageStats = append(j.stageStats, cs)
		j.stages = append(j.stages, cs...)
	}
	j.sinkStage = &stageCounters{name: "sink"}
	j.stages = append(j.stages, j.sinkStage)
	return j, nil
}

// parallelism is stage s's number of instances.
func (j *Job) parallelism(s int) int {
	if n := j.p.Stages[s].Parallelism; n > 0 {
		return n
	}
	return j.p.Parallelism
}

// Start builds every instance and starts its tasks. The job runs until its
// sources are done, a task fails, Cancel is called or ctx ends. Start may
// be called once; an error building the instances fails the job (Wait
// reports it) after closing what was built.
func (j *Job) Start(ctx context.Context) error {
	if !j.status.CompareAndSwap(int32(Created), int32(Running)) {
		return fmt.Errorf("runtime: job %s already started", j.p.Name)
	}
	ctx, cancel := context.WithCancel(ctx)
	j.mu.Lock()
	j.mu.cancel = cancel
	if j.mu.cancelled {
		cancel()
	}
	j.mu.Unlock()
	var insts []*instance
	exchanges, buildErr := j.exchanges()
	if buildErr == nil && j.p.State != nil {
		var epoch uint64
		epoch, j.restored, buildErr = j.lastCheckpoint()
		if buildErr == nil && j.p.CheckpointInterval > 0 {
			j.ck = newCoordinator(j, epoch)
		}
	}
	if buildErr == nil {
	build:
		for s := range j.p.Stages {
			for i := range j.parallelism(s) {
				in, err := j.newInstance(s, i, exchanges)
				if err != nil {
					buildErr = err
					break build
				}
				insts = append(insts, in)
			}
		}
	}
	if buildErr != nil {
		for _, in := range insts {
			in.close()
		}
		j.fail(buildErr)
		j.finish()
		return buildErr
	}
	j.insts = insts
	if j.ck != nil && !checkpointable(insts) {
		j.ck = nil
	}
	if j.restored.Finished {
		// The job had ended: its last checkpoint only needs its sinks'
		// transactions committed again.
		go func() {
			j.recommit(ctx, insts)
			j.finish()
		}()
		return nil
	}
	if j.ck != nil {
		j.ck.attach(insts)
		j.wg.Add(1)
		go j.runTask(ctx, "checkpoint coordinator", func(ctx context.Context, _ *string) error { return j.ck.run(ctx) })
	}
	for _, in := range insts {
		if in.src != nil {
			j.wg.Add(1)
			go j.runTask(ctx, in.sourceName, func(ctx context.Context, _ *string) error { return j.runSource(ctx, in) })
		}
		j.wg.Add(1)
		go j.runTask(ctx, in.chainName, func(ctx context.Context, op *string) error { return j.runChain(ctx, in, op) })
	}
	go func() {
		j.wg.Wait()
		j.finish()
	}()
	return nil
}

// exchanges builds the exchange into each stage that has inputs, by
// stage index (nil for a source stage).
func (j *Job) exchanges() ([]*Exchange, error) {
	xs := make([]*Exchange, len(j.p.Stages))
	for s, st := range j.p.Stages {
		if len(st.Inputs) == 0 {
			continue
		}
		o := ExchangeOptions{
			Name:            fmt.Sprintf("%s/%s", j.p.Name, st.Name),
			Schema:          st.Schema,
			Consumers:       j.parallelism(s),
			BatchSize:       j.p.BatchSize,
			ChannelCapacity: j.p.ChannelCapacity,
		}
		for _, in := range st.Inputs {
			o.Inputs = append(o.Inputs, ExchangeInput{Kind: in.Kind, Producers: j.parallelism(in.Stage), Keys: in.Keys})
		}
		x, err := NewExchange(o)
		if err != nil {
			return nil, fmt.Errorf("runtime: job %s: stage %s: %w", j.p.Name, st.Name, err)
		}
		xs[s] = x
	}
	return xs, nil
}

func (j *Job) finish() {
	j.mu.Lock()
	switch {
	case j.mu.err != nil:
		j.status.Store(int32(Failed))
	case j.mu.cancelled:
		j.status.Store(int32(Cancelled))
	default:
		j.status.Store(int32(Finished))
	}
	j.mu.cancel()
	j.mu.Unlock()
	close(j.done)
}

// fail records err as the job's failure unless one is already recorded
// or the job was cancelled first, then cancels every task.
func (j *Job) fail(err error) {
	j.mu.Lock()
	if j.mu.err == nil && !j.mu.cancelled {
		j.mu.err = err
	}
	j.mu.cancel()
	j.mu.Unlock()
}

// Cancel stops every task; Wait then returns ErrCancelled, unless the job
// had already finished or failed. It does not wait.
func (j *Job) Cancel() {
	j.mu.Lock()
	if j.mu.err == nil {
		j.mu.cancelled = true
	}
	if j.mu.cancel != nil {
		j.mu.cancel()
	}
	j.mu.Unlock()
}

// Done is closed when every task of a started job has returned.
func (j *Job) Done() <-chan struct{} { return j.done }

// Wait waits until every task has returned and every connector is closed,
// then reports nil for a finished job, ErrCancelled for a cancelled one or
// the first failure (a *TaskError for a task's).
func (j *Job) Wait() error {
	<-j.done
	j.mu.Lock()
	defer j.mu.Unlock()
	switch {
	case j.mu.err != nil:
		return j.mu.err
	case j.mu.cancelled:
		return ErrCancelled
	}
	return nil
}

// Status returns the job's phase.
func (j *Job) Status() Status { return Status(j.status.Load()) }

// Metrics returns the row counts of every stage so far, in pipeline order.
func (j *Job) Metrics() []StageMetrics {
	out := make([]StageMetrics, len(j.stages))
	for i, s := range j.stages {
		out[i] = StageMetrics{Name: s.name, RowsIn: s.in.Load(), RowsOut: s.out.Load()}
		if s.late != nil {
			out[i].LateRows = s.late.Load()
		}
	}
	return out
}

// Query runs fn on every instance of the operator named op (its
// OperatorSpec name), each on its own task's goroutine between batches,
// so fn may read the operator's state; it returns once every instance
// has run it. It fails if the job is not running or ctx ends first.
func (j *Job) Query(ctx context.Context, op string, fn func(Operator) error) error {
	if j.Status() != Running {
		return fmt.Errorf("runtime: job %s is %s", j.p.Name, j.Status())
	}
	var errs []error
	found := false
	for _, in := range j.insts {
		for k, name := range in.opNames {
			if name != op {
				continue
			}
			found = true
			done := make(chan error, 1)
			target := in.ops[k]
			select {
			case in.queries <- func() { done <- fn(target) }:
			case <-j.done:
				return fmt.Errorf("runtime: job %s ended", j.p.Name)
			case <-ctx.Done():
				return ctx.Err()
			}
			select {
			case err := <-done:
				errs = append(errs, err)
			case <-ctx.Done():
				return ctx.Err()
			}
		}
	}
	if !found {
		return fmt.Errorf("runtime: job %s has no operator %s", j.p.Name, op)
	}
	return errors.Join(errs...)
}
