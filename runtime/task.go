package runtime

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime/debug"
	"slices"
	"sync"
	"time"

	"github.com/sluice-sql/sluice/connectors"
	"github.com/sluice-sql/sluice/sql/expr"
	"github.com/sluice-sql/sluice/sql/types"
)

// instance is one parallel copy of one stage: a source and its edge, or
// one consumer of an exchange; an operator chain; and a sink, or one
// producer of the next stage's exchange.
type instance struct {
	split                 connectors.Split
	sourceName, chainName string
	stage                 *Stage
	stats                 []*stageCounters // input, operators…
	ops                   []Operator
	// The input: a source feeding edge from pool, or an exchange
	// consumer. wm computes a source's watermark expression.
	src  connectors.Source
	wm   expr.Evaluator
	edge chan edgeMsg
	pool *batchPool
	cons *ExchangeConsumer
	// The output: a sink, or an exchange producer.
	sink connectors.Sink
	prod *ExchangeProducer
	// queries are functions to run on the chain's goroutine between
	// batches: reads of its operators' state (Job.Query).
	queries chan func()
	// opNames are the names of ops, in order.
	opNames []string
	// Checkpoints: ckReq takes a source's barrier requests; srcTask and
	// chainTask are the instance's tasks to the coordinator; sinkIndex
	// numbers its sink among the job's; wait cancels the source's Wait
	// in progress, so a request does not wait for rows.
	ckReq              chan uint64
	srcTask, chainTask *ckTask
	sinkIndex          int
	keepSink           bool // the coordinator closes the sink
	waitMu             sync.Mutex
	waitCancel         context.CancelFunc
}

// interrupt wakes the source task from a Wait in progress.
func (in *instance) interrupt() {
	in.waitMu.Lock()
	if in.waitCancel != nil {
		in.waitCancel()
	}
	in.waitMu.Unlock()
}

// waitContext returns the context a source's Wait runs under: ctx, also
// cancelled by done and by a barrier request (already, if one is
// pending). done must be called after the Wait.
func (in *instance) waitContext(ctx context.Context) (context.Context, func()) {
	wctx, cancel := context.WithCancel(ctx)
	if in.ckReq == nil {
		return wctx, cancel
	}
	in.waitMu.Lock()
	in.waitCancel = cancel
	in.waitMu.Unlock()
	if len(in.ckReq) > 0 {
		cancel()
	}
	return wctx, func() {
		in.waitMu.Lock()
		in.waitCancel = nil
		in.waitMu.Unlock()
		cancel()
	}
}

// close closes the connectors of an instance that never ran.
func (in *instance) close() {
	if in.src != nil {
		in.src.Close()
	}
	if in.sink != nil {
		in.sink.Close()
	}
}

// output finds where stage s's rows go: the exchange of the stage that
// reads it and its input number there, or (nil, -1) for the sink.
func (j *Job) output(s int, xs []*Exchange) (*Exchange, int) {
	for k, st := range j.p.Stages {
		for m, in := range st.Inputs {
			if in.Stage == s {
				return xs[k], m
			}
		}
	}
	return nil, -1
}

// sinkSplit numbers instance i of stage s among the instances of every
// stage that writes the sink: each has a sink of its own.
func (j *Job) sinkSplit(s, i int, xs []*Exchange) connectors.Split {
	var sp connectors.Split
	for k := range j.p.Stages {
		if x, _ := j.output(k, xs); x != nil {
			continue
		}
		if k == s {
			sp.Index = sp.Count + i
		}
		sp.Count += j.parallelism(k)
	}
	return sp
}

func (j *Job) newInstance(s, i int, xs []*Exchange) (*instance, error) {
	p := &j.p
	st := &p.Stages[s]
	prefix := ""
	if len(p.Stages) > 1 {
		prefix = st.Name + "/"
	}
	n := j.parallelism(s)
	in := &instance{
		stage:      st,
		split:      connectors.Split{Index: i, Count: n},
		sourceName: fmt.Sprintf("%ssource[%d]", prefix, i),
		chainName:  fmt.Sprintf("%schain[%d]", prefix, i),
		stats:      j.stageStats[s],
	}
	var err error
	if st.NewSource != nil {
		in.edge = make(chan edgeMsg, p.ChannelCapacity)
		in.pool = newBatchPool(st.Schema, p.MaxBatchesInFlight(), p.BatchSize)
		if in.src, err = st.NewSource(in.split); err != nil {
			return nil, fmt.Errorf("runtime: job %s: %ssource %d: %w", p.Name, prefix, i, err)
		}
		if st.Watermark != nil {
			if in.wm, err = expr.CompileWith(st.Watermark, j.p.ExprOptions); err != nil {
				in.src.Close()
				return nil, fmt.Errorf("runtime: job %s: %swatermark: %w", p.Name, prefix, err)
			}
		}
	} else {
		in.cons = xs[s].Consumer(i)
	}
	in.queries = make(chan func())
	for _, spec := range st.Operators {
		in.opNames = append(in.opNames, spec.Name)
		var op Operator
		var err error
		if spec.NewWith != nil {
			op, err = spec.NewWith(OperatorContext{Instance: i, Parallelism: n, State: p.State, StateTTL: p.StateTTL, StateCacheBytes: p.StateCacheBytes, StateIDs: p.StateIDs})
		} else {
			op, err = spec.New()
		}
		if err != nil {
			in.close()
			return nil, fmt.Errorf("runtime: job %s: operator %s: %w", p.Name, spec.Name, err)
		}
		in.ops = append(in.ops, op)
	}
	if x, m := j.output(s, xs); x != nil {
		in.prod = x.Producer(m, i)
		return in, nil
	}
	sp := j.sinkSplit(s, i, xs)
	in.sinkIndex = sp.Index
	if in.sink, err = p.NewSink(sp); err != nil {
		in.close()
		return nil, fmt.Errorf("runtime: job %s: sink %d: %w", p.Name, sp.Index, err)
	}
	return in, nil
}

// runTask runs fn as a task of the job: it turns a panic into an error
// with its stack, and a failure into the job's failure. An error after the
// job's context ended is a consequence of cancellation, not a failure.
// fn keeps the name of the operator running in its second argument, for
// the error.
func (j *Job) runTask(ctx context.Context, name string, fn func(context.Context, *string) error) {
	defer j.wg.Done()
	var op string
	err := func() (err error) {
		defer func() {
			if r := recover(); r != nil {
				err = &TaskError{Job: j.p.Name, Task: name, Operator: op,
					Err: fmt.Errorf("panic: %v", r), Stack: debug.Stack()}
			}
		}()
		return fn(ctx, &op)
	}()
	if err == nil {
		return
	}
	var te *TaskError
	if !errors.As(err, &te) {
		if ctx.Err() != nil {
			j.Cancel() // the parent context ended, or the job is already stopping
			return
		}
		err = &TaskError{Job: j.p.Name, Task: name, Operator: op, Err: err}
	}
	j.fail(err)
}

// edgeMsg is what a source task hands its chain: a batch, or (b nil) a
// change of the instance's idleness, in order with the batches so that
// it reaches the next exchange after the rows before it.
type edgeMsg struct {
	b       *types.Batch
	idle    bool
	barrier uint64 // a checkpoint barrier (b nil)
}

// runSource reads the source into the edge until Done, an error or the end
// of ctx. It closes the edge only on Done (see the package comment).
//
// The instance's watermark is its sourceClock's when the stage has a
// WATERMARK expression, and the end of time once the source is Done.
// When every partition of the instance is idle it tells its chain, which
// tells the next exchange, so that the instance holds back no consumer
// there; it tells it again before its next row or watermark.
func (j *Job) runSource(ctx context.Context, in *instance) (err error) {
	defer func() {
		if cerr := in.src.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("close: %w", cerr)
		}
	}()
	if err := in.src.Open(ctx); err != nil {
		return fmt.Errorf("open: %w", err)
	}
	if pos := j.restored.Sources[in.stage.sourceKey()]; pos != nil {
		cs, ok := in.src.(connectors.CheckpointedSource)
		if !ok {
			return errors.New("the source cannot resume where the checkpoint says")
		}
		if err := cs.Seek(pos); err != nil {
			return fmt.Errorf("resume: %w", err)
		}
	}
	stats := in.stats[0]
	var sc *sourceClock
	if in.wm != nil {
		sc = newSourceClock(in.src, j.p.IdleTimeout, j.now())
	}
	wm, sent := types.NoWatermark, types.NoWatermark
	told := false // the idleness the chain was last told
	tell := func(idle bool) error {
		select {
		case in.edge <- edgeMsg{idle: idle}:
			told = idle
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	var wmVec types.Vector
	for {
		select {
		case epoch := <-in.ckReq:
			if err := j.sourceBarrier(ctx, in, epoch); err != nil {
				return err
			}
		default:
		}
		b, err := in.pool.get(ctx)
		if err != nil {
			return err
		}
		from := b.Len()
		st, err := in.src.Next(ctx, b, j.p.BatchSize)
		if err != nil {
			in.pool.put(b)
			return err
		}
		idle := false
		if sc != nil {
			if b.Len() > from {
				if err := in.wm.Eval(b, &wmVec); err != nil {
					in.pool.put(b)
					return fmt.Errorf("watermark: %w", err)
				}
			}
			now := j.now()
			if err := sc.observe(b, from, st.Spans, &wmVec, now); err != nil {
				in.pool.put(b)
				return err
			}
			sc.expire(now)
			wm, idle = sc.update(), sc.idle
		}
		if tick := in.stage.ProcTimeTick; tick > 0 {
			// Processing time: rows stamped from now on are later.
			wm = max(wm, j.procNow()-1)
		}
		if st.State == connectors.Done {
			wm, idle = types.EndOfTime, false
		}
		if told && !idle {
			if err := tell(false); err != nil {
				in.pool.put(b)
				return err
			}
		}
		b.Watermark = wm
		if n := b.Live(); n > 0 || wm > sent {
			sent = wm
			stats.out.Add(int64(n))
			select {
			case in.edge <- edgeMsg{b: b}: // b is the chain's now
			case <-ctx.Done():
				in.pool.put(b)
				return ctx.Err()
			}
		} else {
			in.pool.put(b)
		}
		if idle && !told {
			if err := tell(true); err != nil {
				return err
			}
		}
		switch st.State {
		case connectors.Wait:
			if tick := in.stage.ProcTimeTick; tick > 0 {
				if err := j.waitTick(ctx, in, tick); err != nil {
					return err
				}
				break
			}
			if err := j.waitSource(ctx, in, sc); err != nil {
				return err
			}
		case connectors.Done:
			close(in.edge)
			if j.ck != nil {
				return j.ck.report(ctx, ckReport{t: in.srcTask, finished: true, pos: position(in.src)})
			}
			return nil
		}
	}
}

// position returns a checkpointed source's position.
func position(src connectors.Source) []connectors.PartitionPosition {
	if cs, ok := src.(connectors.CheckpointedSource); ok {
		return cs.Position()
	}
	return nil
}

// sourceBarrier takes a barrier request: it notes the source's position,
// sends the barrier after the rows before it and pauses until the
// round ends. A request of a round that has ended is dropped.
func (j *Job) sourceBarrier(ctx context.Context, in *instance, epoch uint64) error {
	r := j.ck.round(epoch)
	if r == nil {
		return nil
	}
	pos := position(in.src)
	select {
	case in.edge <- edgeMsg{barrier: epoch}:
	case <-ctx.Done():
		return ctx.Err()
	}
	if err := j.ck.report(ctx, ckReport{t: in.srcTask, epoch: epoch, pos: pos}); err != nil {
		return err
	}
	return pause(ctx, r)
}

// waitSource waits for src to have rows, or for the next partition of sc
// (if any) to reach the idle timeout, when the caller must look again.
func (j *Job) waitSource(ctx context.Context, in *instance, sc *sourceClock) error {
	src := in.src
	var at time.Time
	ok := false
	if sc != nil {
		at, ok = sc.deadline()
	}
	if !ok {
		wctx, done := in.waitContext(ctx)
		defer done()
		if err := src.Wait(wctx); err != nil && ctx.Err() != nil {
			return err
		}
		return nil
	}
	d := at.Sub(j.now())
	if d <= 0 {
		return nil
	}
	wctx, cancel := in.waitContext(ctx)
	defer cancel()
	stop := j.clock().AfterFunc(d, cancel)
	defer stop()
	err := src.Wait(wctx)
	if err != nil && ctx.Err() == nil && wctx.Err() != nil {
		return nil // woken by the idle timeout, not by the end of the job
	}
	return err
}

// waitTick waits for src to have rows, or for tick to pass, when a
// processing-time stage's clock must move on.
func (j *Job) waitTick(ctx context.Context, in *instance, tick time.Duration) error {
	src := in.src
	wctx, cancel := in.waitContext(ctx)
	defer cancel()
	stop := j.clock().AfterFunc(tick, cancel)
	defer stop()
	err := src.Wait(wctx)
	if err != nil && ctx.Err() == nil && wctx.Err() != nil {
		return nil // the tick: look again
	}
	return err
}

// procNow is the processing time, in TIMESTAMP microseconds: the clock
// PROCTIME() reads.
func (j *Job) procNow() int64 {
	if now := j.p.ExprOptions.Now; now != nil {
		return now().UnixMicro()
	}
	return time.Now().UnixMicro()
}

// Clock tells the time and calls back when a time comes: the processing
// time that source idleness (Pipeline.IdleTimeout) is measured on.
type Clock interface {
	Now() time.Time
	// AfterFunc calls f once d has passed on the clock, unless stop is
	// called first; stop reports whether it prevented the call. f may
	// run on any goroutine and must not block.
	AfterFunc(d time.Duration, f func()) (stop func() bool)
}

type systemClock struct{}

func (systemClock) Now() time.Time { return time.Now() }
func (systemClock) AfterFunc(d time.Duration, f func()) func() bool {
	return time.AfterFunc(d, f).Stop
}

func (j *Job) clock() Clock {
	if j.p.Clock != nil {
		return j.p.Clock
	}
	return systemClock{}
}

// now reads the clock, only when something is measured on it: without an
// idle timeout the source loop does not pay for reading the time.
func (j *Job) now() time.Time {
	if j.p.IdleTimeout <= 0 {
		return time.Time{}
	}
	return j.clock().Now()
}

// sourceClock is a source instance's event-time clock. It keeps, per
// partition, the largest value of the WATERMARK expression over the
// partition's rows; the instance's watermark is the least of those over
// the partitions that are not idle, and never goes back. A source that is
// not a connectors.PartitionedSource is one partition.
//
// Idleness: a partition that has produced no row for timeout (counted
// from Open for one that never has) is idle and holds nothing back; its
// next row makes it active again, and since the instance's watermark
// never decreases the rejoining partition only holds it where it is
// until it catches up (its rows behind it are late downstream, as they
// would be in Flink). When every partition is idle, or the instance reads
// none, the instance is idle and its watermark stays.
type sourceClock struct {
	timeout time.Duration // <= 0: never idle
	parts   []partClock
	// index finds a partition of a PartitionedSource by id; nil for
	// another source, whose one partition is parts[0].
	index map[int32]int
	wm    int64
	idle  bool
}

type partClock struct {
	id   int32
	wm   int64     // NoWatermark until a row has a non-null value
	last time.Time // when the partition last produced a row, or Open
	idle bool
}

func newSourceClock(src connectors.Source, timeout time.Duration, now time.Time) *sourceClock {
	sc := &sourceClock{timeout: timeout, wm: types.NoWatermark}
	ps, ok := src.(connectors.PartitionedSource)
	if !ok {
		sc.parts = []partClock{{wm: types.NoWatermark, last: now}}
		return sc
	}
	sc.index = map[int32]int{}
	for _, id := range ps.Partitions() {
		sc.part(id, now)
	}
	sc.update()
	return sc
}

// part returns partition id, adding it if new.
func (sc *sourceClock) part(id int32, now time.Time) *partClock {
	k, ok := sc.index[id]
	if !ok {
		k = len(sc.parts)
		sc.index[id] = k
		sc.parts = append(sc.parts, partClock{id: id, wm: types.NoWatermark, last: now})
	}
	return &sc.parts[k]
}

// observe takes the rows Next appended to b after row from, whose
// watermark expression values are in vals, and which spans attribute to
// partitions.
func (sc *sourceClock) observe(b *types.Batch, from int, spans []connectors.PartitionSpan, vals *types.Vector, now time.Time) error {
	n := b.Len()
	if sc.index == nil {
		if n > from {
			sc.parts[0].saw(b, from, n, vals, now)
		}
		return nil
	}
	at := from
	for _, sp := range spans {
		if sp.Start != at || sp.End < sp.Start {
			break
		}
		if sp.End > sp.Start {
			sc.part(sp.Partition, now).saw(b, sp.Start, sp.End, vals, now)
		}
		at = sp.End
	}
	if at != n {
		return fmt.Errorf("source reported partition spans %v that do not cover its rows %d to %d", spans, from, n)
	}
	return nil
}

// saw takes the live rows among rows lo to hi-1 of b as the partition's.
func (p *partClock) saw(b *types.Batch, lo, hi int, vals *types.Vector, now time.Time) {
	p.last, p.idle = now, false
	if b.Sel == nil {
		for i := lo; i < hi; i++ {
			if !vals.IsNull(i) {
				p.wm = max(p.wm, vals.Ints[i])
			}
		}
		return
	}
	k, _ := slices.BinarySearch(b.Sel, int32(lo))
	for _, i := range b.Sel[k:] {
		if int(i) >= hi {
			break
		}
		if !vals.IsNull(int(i)) {
			p.wm = max(p.wm, vals.Ints[i])
		}
	}
}

// expire marks idle the partitions that have had no row for the timeout.
func (sc *sourceClock) expire(now time.Time) {
	if sc.timeout <= 0 {
		return
	}
	for k := range sc.parts {
		p := &sc.parts[k]
		if !p.idle && now.Sub(p.last) >= sc.timeout {
			p.idle = true
		}
	}
}

// update recomputes the instance's watermark and idleness, and returns
// the watermark.
func (sc *sourceClock) update() int64 {
	least, active := types.EndOfTime, false
	for _, p := range sc.parts {
		if !p.idle {
			least, active = min(least, p.wm), true
		}
	}
	sc.idle = !active
	if active {
		sc.wm = max(sc.wm, least)
		return sc.wm
	}
	// Every partition is idle: none holds time back, so the clock moves
	// up to the furthest any partition has seen (a partition that rejoins
	// below it has late rows, as any idle partition may).
	for _, p := range sc.parts {
		sc.wm = max(sc.wm, p.wm)
	}
	return sc.wm
}

// deadline returns when the next active partition becomes idle, if one
// can.
func (sc *sourceClock) deadline() (time.Time, bool) {
	var at time.Time
	ok := false
	if sc.timeout <= 0 {
		return at, false
	}
	for _, p := range sc.parts {
		if t := p.last.Add(sc.timeout); !p.idle && (!ok || t.Before(at)) {
			at, ok = t, true
		}
	}
	return at, ok
}

// runChain runs the operators over the input's batches, into the sink or
// the next exchange; when the input ends it finishes the operators and
// flushes the sink (or closes its side of the exchange). A producer
// flushes its partly filled batches whenever its input is idle, so rows
// never wait in an exchange for more rows.
func (j *Job) runChain(ctx context.Context, in *instance, cur *string) (err error) {
	if in.sink != nil {
		defer func() {
			if in.keepSink {
				return // the coordinator commits and closes it
			}
			if cerr := in.sink.Close(); err == nil && cerr != nil {
				err = fmt.Errorf("close sink: %w", cerr)
			}
		}()
		if err := in.sink.Open(ctx); err != nil {
			return fmt.Errorf("open sink: %w", err)
		}
		if ts, ok := in.sink.(connectors.TransactionalSink); ok && j.ck != nil {
			if err := ts.Recover(ctx, j.restored.Sinks[in.sinkIndex]); err != nil {
				return fmt.Errorf("recover sink: %w", err)
			}
		}
	}
	emits := j.chainEmits(ctx, in, cur)
	// barrier is the checkpoint barrier next returned instead of a batch.
	var barrier uint64
	var align time.Duration
	// next returns the next input batch, nil at the end of the input;
	// idle reports whether no other batch is waiting.
	var next func() (*types.Batch, error)
	var idle func() bool
	var release func(*types.Batch)
	if in.cons == nil {
		release = in.pool.put
		next = func() (*types.Batch, error) {
			for {
				select {
				case f := <-in.queries:
					f()
				case m, ok := <-in.edge:
					if !ok {
						return nil, nil
					}
					if m.b != nil {
						return m.b, nil
					}
					if m.barrier != 0 {
						barrier = m.barrier
						return nil, nil
					}
					// The source's idleness, after the rows before it:
					// the next exchange's consumers must know; a sink
					// keeps no event time.
					if in.prod != nil {
						if err := in.prod.SetIdle(ctx, m.idle); err != nil {
							return nil, err
						}
					}
				case <-ctx.Done():
					return nil, ctx.Err()
				}
			}
		}
		idle = func() bool { return len(in.edge) == 0 }
	} else {
		release = in.cons.Release
		next = func() (*types.Batch, error) {
			b, err := in.cons.RecvServing(ctx, in.queries)
			if err == io.EOF {
				return nil, nil
			}
			if err == nil {
				if barrier, align = in.cons.TakeBarrier(); barrier != 0 {
					in.cons.Release(b)
					return nil, nil
				}
			}
			return b, err
		}
		idle = in.cons.Idle
		stats := in.stats[0]
		first := emits[0]
		emits[0] = func(b *types.Batch) error {
			n := int64(b.Live())
			stats.in.Add(n)
			stats.out.Add(n)
			return first(b)
		}
	}
	// An exchange consumer's input is idle when all its producers are:
	// this instance then holds back no consumer of the next exchange
	// either, until an input is active again (before its rows).
	passIdle := in.cons != nil && in.prod != nil
	for {
		b, err := next()
		if err != nil {
			return err
		}
		if barrier != 0 {
			epoch := barrier
			barrier = 0
			if err := j.chainBarrier(ctx, in, epoch, align, cur); err != nil {
				return err
			}
			continue
		}
		if b == nil {
			return j.finishChain(ctx, in, emits, cur)
		}
		if passIdle && !in.cons.InputIdle() {
			if err := in.prod.SetIdle(ctx, false); err != nil {
				release(b)
				return err
			}
		}
		err = emits[0](b)
		release(b)
		if err != nil {
			return err
		}
		if passIdle && in.cons.InputIdle() {
			if err := in.prod.SetIdle(ctx, true); err != nil {
				return err
			}
		}
		if in.prod != nil && idle() {
			if err := in.prod.Flush(ctx); err != nil {
				return err
			}
		}
	}
}

// chainEmits builds emits[k], which feeds a batch to stage k+1 of the
// chain (operator k, or the sink after the last one) and counts its rows.
// Built once per task, so the steady state makes no closures.
func (j *Job) chainEmits(ctx context.Context, in *instance, cur *string) []Emit {
	n := len(in.ops)
	emits := make([]Emit, n+1)
	sinkStats := j.sinkStage
	if in.prod != nil {
		emits[n] = func(b *types.Batch) error { return in.prod.Send(ctx, b) }
	} else {
		emits[n] = func(b *types.Batch) error {
			live := int64(b.Live())
			if live == 0 {
				return nil // a watermark only: sinks keep no event time
			}
			sinkStats.in.Add(live)
			prev := *cur
			*cur = "sink"
			if err := in.sink.Write(ctx, b); err != nil {
				return err
			}
			*cur = prev
			sinkStats.out.Add(live)
			return nil
		}
	}
	for k := n - 1; k >= 0; k-- {
		op, next, stats, name := in.ops[k], emits[k+1], in.stats[k+1], in.stats[k+1].name
		out := func(b *types.Batch) error {
			stats.out.Add(int64(b.Live()))
			return next(b)
		}
		emits[k] = func(b *types.Batch) error {
			stats.in.Add(int64(b.Live()))
			prev := *cur
			*cur = name
			if err := op.Process(b, out); err != nil {
				return err // *cur still names the operator that failed
			}
			*cur = prev
			return nil
		}
	}
	return emits
}

func (j *Job) finishChain(ctx context.Context, in *instance, emits []Emit, cur *string) error {
	if err := ctx.Err(); err != nil {
		return err // cancelled as the input ended: publish nothing
	}
	for k, op := range in.ops {
		*cur = in.stats[k+1].name
		next, stats := emits[k+1], in.stats[k+1]
		if err := op.Finish(func(b *types.Batch) error {
			stats.out.Add(int64(b.Live()))
			return next(b)
		}); err != nil {
			return err
		}
	}
	if in.prod != nil {
		// The end of this instance's rows: the consumers' input ends when
		// every producer has closed.
		*cur = ""
		if err := in.prod.Close(ctx); err != nil {
			return err
		}
		if j.ck != nil {
			return j.ck.report(ctx, ckReport{t: in.chainTask, finished: true})
		}
		return nil
	}
	*cur = "sink"
	if ts, ok := in.sink.(connectors.TransactionalSink); ok && j.ck != nil {
		// The last transaction is committed by the final checkpoint.
		tok, err := ts.PreCommit(ctx)
		if err != nil {
			return fmt.Errorf("pre-commit: %w", err)
		}
		in.keepSink = true
		*cur = ""
		return j.ck.report(ctx, ckReport{t: in.chainTask, finished: true, token: tok})
	}
	if err := in.sink.Flush(ctx); err != nil {
		return fmt.Errorf("flush: %w", err)
	}
	*cur = ""
	if j.ck != nil {
		return j.ck.report(ctx, ckReport{t: in.chainTask, finished: true})
	}
	return nil
}

// chainBarrier takes checkpoint barrier epoch in a chain: the operators
// write their state into their stores, the barrier goes on through the
// exchange or the sink pre-commits, and the task pauses until the round
// ends. A barrier of a round that has ended is only passed on.
func (j *Job) chainBarrier(ctx context.Context, in *instance, epoch uint64, align time.Duration, cur *string) error {
	r := j.ck.round(epoch)
	if r == nil {
		if in.prod != nil {
			return in.prod.Barrier(ctx, epoch)
		}
		return nil
	}
	for k, op := range in.ops {
		if s, ok := op.(Snapshotter); ok {
			*cur = in.stats[k+1].name
			if err := s.Snapshot(); err != nil {
				return fmt.Errorf("checkpoint %d: %w", epoch, err)
			}
		}
	}
	*cur = ""
	rep := ckReport{t: in.chainTask, epoch: epoch, align: align}
	switch {
	case in.prod != nil:
		if err := in.prod.Barrier(ctx, epoch); err != nil {
			return err
		}
	default:
		*cur = "sink"
		if ts, ok := in.sink.(connectors.TransactionalSink); ok {
			tok, err := ts.PreCommit(ctx)
			if err != nil {
				return fmt.Errorf("checkpoint %d: pre-commit: %w", epoch, err)
			}
			rep.token = tok
		} else if err := in.sink.Flush(ctx); err != nil {
			return fmt.Errorf("checkpoint %d: flush: %w", epoch, err)
		}
		*cur = ""
	}
	if err := j.ck.report(ctx, rep); err != nil {
		return err
	}
	return pause(ctx, r)
}
