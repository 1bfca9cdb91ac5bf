package runtime

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/sluice-sql/sluice/connectors"
)

// Checkpoints (DESIGN.md §6). A job with a state database and a
// checkpoint interval has a coordinator, which every interval runs one
// round:
//
//  1. It asks every running source task for barrier n. The task takes
//     the request between batches (a source waiting for rows is woken),
//     notes its source's position, sends the barrier down its edge after
//     the rows before it, and pauses until the round ends.
//  2. A chain task that meets the barrier has every operator write what
//     it holds outside its keyed state into it (Snapshotter), then sends
//     the barrier on through its exchange producer, or pre-commits its
//     sink (a TransactionalSink's transaction; another sink is flushed,
//     which makes it at-least-once), reports to the coordinator and
//     pauses too. An exchange consumer hands its task the barrier once
//     every producer has sent it (or closed): since producers pause after
//     the barrier, aligning needs no buffering.
//  3. When every task has reported (or finished), the coordinator commits
//     the state database: every store's dirty state and the checkpoint
//     record, which holds the sources' positions and the sinks'
//     transaction tokens, in one atomic step. Then it commits the sinks'
//     transactions and ends the round, and every task goes on.
//
// A round that takes longer than the timeout is aborted: the tasks go
// on, what they wrote to their stores stays dirty until the next round,
// and a sink's transaction goes on into the next round. Barriers of an
// aborted round that still travel are passed on and otherwise ignored.
//
// The pause costs one trip of the barrier through the job plus one
// Badger commit per interval; the tasks never snapshot while running, so
// a store is never read by the coordinator while its task writes it.
//
// When every task has finished (bounded sources), a final round commits
// the end positions and the finished sinks' last transactions, marked
// finished; a restart of a finished job only recommits them.

// DefaultCheckpointTimeout bounds a checkpoint round.
const DefaultCheckpointTimeout = time.Minute

// Snapshotter is an operator that keeps state outside its KeyedState
// between batches (decoded, or in memory only). At a checkpoint barrier
// the task calls Snapshot, and the operator writes what it changed since
// the last call into its KeyedState, so that the commit that follows
// has it. A restarted operator reads its state back from its KeyedState
// when it is built.
type Snapshotter interface {
	Snapshot() error
}

// checkpointMeta is what a checkpoint record holds besides the state.
type checkpointMeta struct {
	// Sources are the positions of the sources, by Stage.SourceKey.
	Sources map[string][]connectors.PartitionPosition `json:"sources,omitempty"`
	// Sinks are the sinks' transaction tokens, by sink split index.
	Sinks map[int][]byte `json:"sinks,omitempty"`
	// Finished says that the job had ended: a restart only recommits
	// the sinks.
	Finished bool `json:"finished,omitempty"`
}

// ckRound is one checkpoint round in progress.
type ckRound struct {
	epoch   uint64
	started time.Time
	resume  chan struct{} // closed when the round ends
}

// ckReport is a task's report to the coordinator: its part of round
// epoch, or (finished) its end.
type ckReport struct {
	t        *ckTask
	epoch    uint64
	finished bool
	pos      []connectors.PartitionPosition // a source's
	token    []byte                         // a transactional sink's
	align    time.Duration
}

// ckTask is one task of an instance as the coordinator sees it: a
// source stage's instance has a source task and a chain task.
type ckTask struct {
	in     *instance
	source bool
}

// coordinator runs a job's checkpoints.
type coordinator struct {
	j                 *Job
	interval, timeout time.Duration
	tasks             []*ckTask
	reports           chan ckReport
	next              uint64 // the next epoch
	// trigger asks for a checkpoint now (Job.Checkpoint).
	trigger chan ckRequest

	mu struct {
		sync.Mutex
		cur *ckRound
	}
	// finished holds the final reports of the tasks that have ended;
	// pos and tokens the last known position of every source and token
	// of every sink. Touched by the coordinator's goroutine only.
	finished map[*ckTask]bool
	pos      map[*ckTask][]connectors.PartitionPosition
	tokens   map[*ckTask][]byte
	// kept are the transactional sinks of finished chains, which the
	// coordinator commits and closes.
	kept []*instance

	stats struct {
		sync.Mutex
		last              *CheckpointInfo
		completed, failed int64
		positions         []SourcePosition
	}
}

func newCoordinator(j *Job, restored uint64) *coordinator {
	c := &coordinator{
		j: j, interval: j.p.CheckpointInterval, timeout: j.p.CheckpointTimeout,
		next:     restored + 1,
		trigger:  make(chan ckRequest),
		finished: map[*ckTask]bool{},
		pos:      map[*ckTask][]connectors.PartitionPosition{},
		tokens:   map[*ckTask][]byte{},
	}
	if c.timeout <= 0 {
		c.timeout = DefaultCheckpointTimeout
	}
	return c
}

// attach registers the job's instances, once built.
func (c *coordinator) attach(insts []*instance) {
	for _, in := range insts {
		if in.src != nil {
			in.ckReq = make(chan uint64, 1)
			in.srcTask = &ckTask{in: in, source: true}
			c.tasks = append(c.tasks, in.srcTask)
		}
		in.chainTask = &ckTask{in: in}
		c.tasks = append(c.tasks, in.chainTask)
	}
	c.reports = make(chan ckReport, 2*len(c.tasks)+1)
}

// round returns the round in progress if it is epoch's.
func (c *coordinator) round(epoch uint64) *ckRound {
	c.mu.Lock()
	defer c.mu.Unlock()
	if r := c.mu.cur; r != nil && r.epoch == epoch {
		return r
	}
	return nil
}

// report hands a task's report to the coordinator.
func (c *coordinator) report(ctx context.Context, r ckReport) error {
	select {
	case c.reports <- r:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// pause waits until round r ends.
func pause(ctx context.Context, r *ckRound) error {
	select {
	case <-r.resume:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// run is the coordinator's goroutine. It ends when every task has
// finished (after the final round) or ctx ends.
func (c *coordinator) run(ctx context.Context) error {
	defer c.closeKept()
	tick := time.NewTicker(c.interval)
	defer tick.Stop()
	for {
		if c.allFinished() {
			_, err := c.checkpoint(ctx, true, nil)
			if errors.Is(err, errAborted) {
				return ctx.Err()
			}
			return err
		}
		select {
		case r := <-c.reports:
			c.take(r)
		case <-tick.C:
			if _, err := c.checkpoint(ctx, false, nil); err != nil && !errors.Is(err, errAborted) {
				return err
			}
		case req := <-c.trigger:
			epoch, err := c.checkpointThen(ctx, req)
			req.reply <- ckResult{epoch, err}
			if err != nil && !errors.Is(err, errAborted) && !errors.Is(err, errAfter) {
				return err
			}
			if err == nil && req.stop {
				return nil
			}
		case <-ctx.Done():
			return nil
		}
	}
}

func (c *coordinator) allFinished() bool {
	return len(c.finished) == len(c.tasks)
}

// take records a report outside a round: a task's end.
func (c *coordinator) take(r ckReport) {
	if !r.finished {
		return // of an aborted round
	}
	c.finished[r.t] = true
	if r.t.source {
		c.pos[r.t] = r.pos
		return
	}
	if r.token != nil {
		c.tokens[r.t] = r.token
		c.kept = append(c.kept, r.t.in)
	}
}

// ckResult is the outcome of a checkpoint Job.Checkpoint asked for.
type ckResult struct {
	epoch uint64
	err   error
}

// ckRequest asks for a checkpoint now. after, if set, runs once it is
// complete, while every task is still paused (a savepoint copies the
// state then); with stop set the job then ends (is cancelled) without
// resuming, unless after failed.
type ckRequest struct {
	reply chan ckResult
	after func(epoch uint64, meta []byte) error
	stop  bool
}

// errAfter wraps the failure of a request's after: the checkpoint is
// complete, and the job goes on.
var errAfter = errors.New("after the checkpoint")

// checkpointThen runs a requested checkpoint.
func (c *coordinator) checkpointThen(ctx context.Context, req ckRequest) (uint64, error) {
	var err error
	epoch, cerr := c.checkpoint(ctx, false, func(e uint64, meta []byte) bool {
		if req.after != nil {
			if aerr := req.after(e, meta); aerr != nil {
				err = fmt.Errorf("%w: %w", errAfter, aerr)
				return false
			}
		}
		if req.stop {
			c.j.Cancel()
			return true // the tasks stay paused until they see the cancel
		}
		return false
	})
	if cerr != nil {
		return epoch, cerr
	}
	return epoch, err
}

// errAborted is a round that timed out or whose job is stopping.
var errAborted = errors.New("checkpoint aborted")

// checkpoint runs one round and returns its epoch; final is the round
// after every task ended. after, if not nil, runs once the round is
// complete, before the tasks resume, and says whether they must stay
// paused instead (the job is stopping). An error other than errAborted must fail the
// job: a commit of the state or of a sink that failed. A round that times
// out is counted and skipped (errAborted).
func (c *coordinator) checkpoint(ctx context.Context, final bool, after func(epoch uint64, meta []byte) bool) (uint64, error) {
	epoch := c.next
	c.next++
	r := &ckRound{epoch: epoch, started: time.Now(), resume: make(chan struct{})}
	c.mu.Lock()
	c.mu.cur = r
	c.mu.Unlock()
	keepPaused := false
	defer func() {
		c.mu.Lock()
		c.mu.cur = nil
		c.mu.Unlock()
		if !keepPaused {
			close(r.resume)
		}
	}()
	waiting := map[*ckTask]bool{}
	for _, t := range c.tasks {
		if c.finished[t] {
			continue
		}
		waiting[t] = true
		if t.source {
			// A stale request of an aborted round is replaced.
			select {
			case <-t.in.ckReq:
			default:
			}
			t.in.ckReq <- epoch
			t.in.interrupt()
		}
	}
	var align time.Duration
	timeout := time.NewTimer(c.timeout)
	defer timeout.Stop()
	for len(waiting) > 0 {
		select {
		case rep := <-c.reports:
			if rep.finished {
				c.take(rep)
				delete(waiting, rep.t)
				continue
			}
			if rep.epoch != epoch {
				continue
			}
			delete(waiting, rep.t)
			align = max(align, rep.align)
			if rep.t.source {
				c.pos[rep.t] = rep.pos
			} else if rep.token != nil {
				c.tokens[rep.t] = rep.token
			}
		case <-timeout.C:
			c.stats.Lock()
			c.stats.failed++
			c.stats.Unlock()
			return 0, fmt.Errorf("%w: checkpoint %d took longer than %v", errAborted, epoch, c.timeout)
		case <-ctx.Done():
			return 0, errAborted
		}
	}
	meta := checkpointMeta{Sources: map[string][]connectors.PartitionPosition{}, Sinks: map[int][]byte{}, Finished: final}
	for t, pos := range c.pos {
		key := t.in.stage.sourceKey()
		meta.Sources[key] = append(meta.Sources[key], pos...)
	}
	for t, tok := range c.tokens {
		meta.Sinks[t.in.sinkIndex] = tok
	}
	data, err := json.Marshal(meta)
	if err != nil {
		return 0, err
	}
	db := c.j.p.State
	if err := db.Commit(epoch, data); err != nil {
		return 0, fmt.Errorf("checkpoint %d: %w", epoch, err)
	}
	// The checkpoint is durable: make its output visible. The chains are
	// paused (or ended), so their sinks are ours to call.
	for t := range c.tokens {
		ts := t.in.sink.(connectors.TransactionalSink)
		if err := ts.Commit(ctx); err != nil {
			return 0, fmt.Errorf("checkpoint %d: commit sink %d: %w", epoch, t.in.sinkIndex, err)
		}
	}
	clear(c.tokens)
	var positions []SourcePosition
	for t, pos := range c.pos {
		for _, p := range pos {
			positions = append(positions, SourcePosition{Table: t.in.stage.SourceTable, Topic: t.in.stage.SourceTopic, Partition: p.Partition, Offset: p.Offset})
		}
	}
	sort.Slice(positions, func(a, b int) bool {
		pa, pb := positions[a], positions[b]
		if pa.Table != pb.Table {
			return pa.Table < pb.Table
		}
		return pa.Partition < pb.Partition
	})
	info := &CheckpointInfo{ID: epoch, Completed: time.Now(), Duration: time.Since(r.started), Alignment: align, Bytes: db.LastCommitBytes(), StateBytes: db.Size()}
	c.stats.Lock()
	c.stats.last = info
	c.stats.positions = positions
	c.stats.completed++
	c.stats.Unlock()
	if after != nil {
		keepPaused = after(epoch, data)
	}
	return epoch, nil
}

// closeKept closes the sinks of finished chains.
func (c *coordinator) closeKept() {
	for _, in := range c.kept {
		in.sink.Close()
	}
}

// restoreMeta decodes the last checkpoint of the job's state database.
func restoreMeta(data []byte) (checkpointMeta, error) {
	var m checkpointMeta
	if len(data) == 0 {
		return m, nil
	}
	if err := json.Unmarshal(data, &m); err != nil {
		return m, fmt.Errorf("runtime: the last checkpoint's record is unreadable: %w", err)
	}
	return m, nil
}

// lastCheckpoint returns the job's last checkpoint in its state database.
func (j *Job) lastCheckpoint() (uint64, checkpointMeta, error) {
	epoch, data := j.p.State.LastCommit()
	m, err := restoreMeta(data)
	if err != nil {
		return 0, m, fmt.Errorf("runtime: job %s: %w", j.p.Name, err)
	}
	return epoch, m, nil
}

// sourceKey names the positions of source stage st in checkpoints.
func (st *Stage) sourceKey() string {
	if st.SourceKey != "" {
		return st.SourceKey
	}
	return st.Name
}

// checkpointable reports whether every source of insts can name its
// position.
func checkpointable(insts []*instance) bool {
	for _, in := range insts {
		if in.src == nil {
			continue
		}
		if _, ok := in.src.(connectors.CheckpointedSource); !ok {
			return false
		}
	}
	return true
}

// Checkpoints returns the job's last completed checkpoint (nil before
// the first) and the counts of completed and failed ones.
func (j *Job) Checkpoints() (last *CheckpointInfo, completed, failed int64) {
	if j.ck == nil {
		return nil, 0, 0
	}
	j.ck.stats.Lock()
	defer j.ck.stats.Unlock()
	return j.ck.stats.last, j.ck.stats.completed, j.ck.stats.failed
}

// recommit runs a job whose last checkpoint says it had finished: each
// transactional sink recovers (committing its last transaction again),
// and every connector is closed.
func (j *Job) recommit(ctx context.Context, insts []*instance) {
	for _, in := range insts {
		if in.src != nil {
			in.src.Close()
		}
		if in.sink == nil {
			continue
		}
		err := in.sink.Open(ctx)
		if ts, ok := in.sink.(connectors.TransactionalSink); ok && err == nil {
			err = ts.Recover(ctx, j.restored.Sinks[in.sinkIndex])
		}
		if cerr := in.sink.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			j.fail(&TaskError{Job: j.p.Name, Task: fmt.Sprintf("sink[%d]", in.sinkIndex), Operator: "sink", Err: err})
		}
	}
}

// ErrNoCheckpoints is returned by Job.Checkpoint for a job that takes
// none.
var ErrNoCheckpoints = errors.New("runtime: the job takes no checkpoints")

// Checkpoint takes a checkpoint now, waits until it is complete (its
// sinks committed) and returns its epoch.
func (j *Job) Checkpoint(ctx context.Context) (uint64, error) {
	return j.checkpointNow(ctx, ckRequest{})
}

// StopWithCheckpoint takes a checkpoint now and ends the job right after
// it, before any row past its barriers reaches a sink: after, if set,
// runs between the two, with the checkpoint's epoch and meta, the tasks
// paused and the state database quiet. If after fails the job goes on.
// It returns the epoch; the job then ends as cancelled (Wait).
func (j *Job) StopWithCheckpoint(ctx context.Context, after func(epoch uint64, meta []byte) error) (uint64, error) {
	return j.checkpointNow(ctx, ckRequest{after: after, stop: true})
}

// SnapshotCheckpoint takes a checkpoint now and runs after as
// StopWithCheckpoint does, but the job goes on.
func (j *Job) SnapshotCheckpoint(ctx context.Context, after func(epoch uint64, meta []byte) error) (uint64, error) {
	return j.checkpointNow(ctx, ckRequest{after: after})
}

func (j *Job) checkpointNow(ctx context.Context, req ckRequest) (uint64, error) {
	if j.ck == nil {
		return 0, ErrNoCheckpoints
	}
	req.reply = make(chan ckResult, 1)
	select {
	case j.ck.trigger <- req:
	case <-j.done:
		return 0, fmt.Errorf("runtime: job %s has ended", j.p.Name)
	case <-ctx.Done():
		return 0, ctx.Err()
	}
	select {
	case r := <-req.reply:
		return r.epoch, r.err
	case <-ctx.Done():
		return 0, ctx.Err()
	}
}

// SourcePositions returns where the job's sources were at its last
// checkpoint (End unset).
func (j *Job) SourcePositions() []SourcePosition {
	if j.ck == nil {
		return nil
	}
	j.ck.stats.Lock()
	defer j.ck.stats.Unlock()
	return append([]SourcePosition(nil), j.ck.stats.positions...)
}
