package runtime

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime/debug"

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
	stats                 []*stageCounters // input, operators…
	ops                   []Operator
	// The input: a source feeding edge from pool, or an exchange
	// consumer. wm computes a source's watermark expression.
	src  connectors.Source
	wm   expr.Evaluator
	edge chan *types.Batch
	pool *batchPool
	cons *ExchangeConsumer
	// The output: a sink, or an exchange producer.
	sink connectors.Sink
	prod *ExchangeProducer
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
		split:      connectors.Split{Index: i, Count: n},
		sourceName: fmt.Sprintf("%ssource[%d]", prefix, i),
		chainName:  fmt.Sprintf("%schain[%d]", prefix, i),
		stats:      j.stageStats[s],
	}
	var err error
	if st.NewSource != nil {
		in.edge = make(chan *types.Batch, p.ChannelCapacity)
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
	for _, spec := range st.Operators {
		op, err := spec.New()
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

// runSource reads the source into the edge until Done, an error or the end
// of ctx. It closes the edge only on Done (see the package comment).
func (j *Job) runSource(ctx context.Context, in *instance) (err error) {
	defer func() {
		if cerr := in.src.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("close: %w", cerr)
		}
	}()
	if err := in.src.Open(ctx); err != nil {
		return fmt.Errorf("open: %w", err)
	}
	stats := in.stats[0]
	// The event-time clock: the largest watermark expression value seen,
	// then the end of time when a bounded source is done.
	wm, sent := types.NoWatermark, types.NoWatermark
	var wmVec types.Vector
	for {
		b, err := in.pool.get(ctx)
		if err != nil {
			return err
		}
		st, err := in.src.Next(ctx, b, j.p.BatchSize)
		if err != nil {
			in.pool.put(b)
			return err
		}
		if in.wm != nil && b.Live() > 0 {
			if err := in.wm.Eval(b, &wmVec); err != nil {
				in.pool.put(b)
				return fmt.Errorf("watermark: %w", err)
			}
			b.ForEach(func(i int) {
				if !wmVec.IsNull(i) {
					wm = max(wm, wmVec.Ints[i])
				}
			})
		}
		if st.State == connectors.Done {
			wm = types.EndOfTime
		}
		b.Watermark = wm
		if n := b.Live(); n > 0 || wm > sent {
			sent = wm
			stats.out.Add(int64(n))
			select {
			case in.edge <- b: // b is the chain's now
			case <-ctx.Done():
				in.pool.put(b)
				return ctx.Err()
			}
		} else {
			in.pool.put(b)
		}
		switch st.State {
		case connectors.Wait:
			if err := in.src.Wait(ctx); err != nil {
				return err
			}
		case connectors.Done:
			close(in.edge)
			return nil
		}
	}
}

// runChain runs the operators over the input's batches, into the sink or
// the next exchange; when the input ends it finishes the operators and
// flushes the sink (or closes its side of the exchange). A producer
// flushes its partly filled batches whenever its input is idle, so rows
// never wait in an exchange for more rows.
func (j *Job) runChain(ctx context.Context, in *instance, cur *string) (err error) {
	if in.sink != nil {
		defer func() {
			if cerr := in.sink.Close(); err == nil && cerr != nil {
				err = fmt.Errorf("close sink: %w", cerr)
			}
		}()
		if err := in.sink.Open(ctx); err != nil {
			return fmt.Errorf("open sink: %w", err)
		}
	}
	emits := j.chainEmits(ctx, in, cur)
	// next returns the next input batch, nil at the end of the input;
	// idle reports whether no other batch is waiting.
	var next func() (*types.Batch, error)
	var idle func() bool
	var release func(*types.Batch)
	if in.cons == nil {
		release = in.pool.put
		next = func() (*types.Batch, error) {
			select {
			case b, ok := <-in.edge:
				if !ok {
					return nil, nil
				}
				return b, nil
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
		idle = func() bool { return len(in.edge) == 0 }
	} else {
		release = in.cons.Release
		next = func() (*types.Batch, error) {
			b, err := in.cons.Recv(ctx)
			if err == io.EOF {
				return nil, nil
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
	for {
		b, err := next()
		if err != nil {
			return err
		}
		if b == nil {
			return j.finishChain(ctx, in, emits, cur)
		}
		err = emits[0](b)
		release(b)
		if err != nil {
			return err
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
		return in.prod.Close(ctx)
	}
	*cur = "sink"
	if err := in.sink.Flush(ctx); err != nil {
		return fmt.Errorf("flush: %w", err)
	}
	*cur = ""
	return nil
}
