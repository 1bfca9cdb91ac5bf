package runtime

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"

	"github.com/sluice-sql/sluice/connectors"
	"github.com/sluice-sql/sluice/sql/types"
)

// instance is one parallel copy of one branch: a source, an operator
// chain and a sink, joined by one edge.
type instance struct {
	split                 connectors.Split
	sourceName, chainName string
	branch                *Branch
	stages                []*stageCounters // source, operators…
	src                   connectors.Source
	ops                   []Operator
	sink                  connectors.Sink
	edge                  chan *types.Batch
	pool                  *batchPool
}

func (j *Job) newInstance(b, i int) (*instance, error) {
	p := &j.p
	br := &p.Branches[b]
	prefix := ""
	if len(p.Branches) > 1 {
		prefix = br.Name + "/"
	}
	in := &instance{
		split:      connectors.Split{Index: i, Count: p.Parallelism},
		sourceName: fmt.Sprintf("%ssource[%d]", prefix, i),
		chainName:  fmt.Sprintf("%schain[%d]", prefix, i),
		branch:     br,
		stages:     j.branchStages[b],
		edge:       make(chan *types.Batch, p.ChannelCapacity),
		pool:       newBatchPool(br.Schema, p.MaxBatchesInFlight(), p.BatchSize),
	}
	var err error
	if in.src, err = br.NewSource(in.split); err != nil {
		return nil, fmt.Errorf("runtime: job %s: %ssource %d: %w", p.Name, prefix, i, err)
	}
	for _, spec := range br.Operators {
		op, err := spec.New()
		if err != nil {
			in.src.Close()
			return nil, fmt.Errorf("runtime: job %s: operator %s: %w", p.Name, spec.Name, err)
		}
		in.ops = append(in.ops, op)
	}
	// Every instance of every branch has a sink of its own.
	sinkSplit := connectors.Split{Index: b*p.Parallelism + i, Count: len(p.Branches) * p.Parallelism}
	if in.sink, err = p.NewSink(sinkSplit); err != nil {
		in.src.Close()
		return nil, fmt.Errorf("runtime: job %s: sink %d: %w", p.Name, sinkSplit.Index, err)
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
	stats := in.stages[0]
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
		if n := b.Live(); n > 0 {
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

// runChain runs the operators and the sink over the edge's batches; when
// the edge is closed it finishes the operators and flushes the sink.
func (j *Job) runChain(ctx context.Context, in *instance, cur *string) (err error) {
	defer func() {
		if cerr := in.sink.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("close sink: %w", cerr)
		}
	}()
	if err := in.sink.Open(ctx); err != nil {
		return fmt.Errorf("open sink: %w", err)
	}
	emits := j.chainEmits(ctx, in, cur)
	for {
		select {
		case b, ok := <-in.edge:
			if !ok {
				return j.finishChain(ctx, in, emits, cur)
			}
			err := emits[0](b)
			in.pool.put(b)
			if err != nil {
				return err
			}
		case <-ctx.Done():
			return ctx.Err()
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
	emits[n] = func(b *types.Batch) error {
		live := int64(b.Live())
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
	for k := n - 1; k >= 0; k-- {
		op, next, stats, name := in.ops[k], emits[k+1], in.stages[k+1], in.stages[k+1].name
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
		*cur = in.stages[k+1].name
		next, stats := emits[k+1], in.stages[k+1]
		if err := op.Finish(func(b *types.Batch) error {
			stats.out.Add(int64(b.Live()))
			return next(b)
		}); err != nil {
			return err
		}
	}
	*cur = "sink"
	if err := in.sink.Flush(ctx); err != nil {
		return fmt.Errorf("flush: %w", err)
	}
	*cur = ""
	return nil
}
