package runtime

import (
	"context"
	"errors"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluice-sql/sluice/broker"
	"github.com/sluice-sql/sluice/connectors"
	connlog "github.com/sluice-sql/sluice/connectors/log"
	"github.com/sluice-sql/sluice/sql/types"
)

const deadline = 10 * time.Second

// waitJob waits for j with a deadline and returns its result.
func waitJob(t *testing.T, j *Job) error {
	t.Helper()
	select {
	case <-j.Done():
		return j.Wait()
	case <-time.After(deadline):
		t.Fatalf("job did not end within %v; metrics %v", deadline, j.Metrics())
		return nil
	}
}

// eventually polls cond until it holds or the deadline passes.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	end := time.Now().Add(deadline)
	for !cond() {
		if time.Now().After(end) {
			t.Fatalf("timed out waiting for %s", what)
		}
		runtime.Gosched()
	}
}

// checkNoLeak fails the test if goroutines started during it outlive it.
func checkNoLeak(t *testing.T) {
	before := runtime.NumGoroutine()
	t.Cleanup(func() {
		eventually(t, "goroutines to exit", func() bool { return runtime.NumGoroutine() <= before })
	})
}

func q2Pipeline(t testing.TB, events int64, par int, c *collector) Pipeline {
	return Pipeline{
		Name: "q2", Parallelism: par,
		Stages: []Stage{{
			Schema:    bidSchema,
			NewSource: func(s connectors.Split) (connectors.Source, error) { return newGenSource(events, s) },
			Operators: q2Ops(t),
		}},
		NewSink: c.newSink,
	}
}

func TestQ2MatchesDirectComputation(t *testing.T) {
	checkNoLeak(t)
	const events = 100_000
	want := expectedQ2(t, events)
	if len(want) == 0 {
		t.Fatal("expected result is empty: the test would prove nothing")
	}
	for _, par := range []int{1, 3} {
		c := &collector{}
		j, err := NewJob(q2Pipeline(t, events, par, c))
		if err != nil {
			t.Fatal(err)
		}
		if err := j.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		if err := waitJob(t, j); err != nil {
			t.Fatalf("parallelism %d: %v", par, err)
		}
		if got := c.sorted(); !slices.Equal(got, want) {
			t.Fatalf("parallelism %d: %d rows, want %d", par, len(got), len(want))
		}
		if j.Status() != Finished {
			t.Errorf("status %v", j.Status())
		}
		if c.opens.Load() != int64(par) || c.flushes.Load() != int64(par) || c.clos.Load() != int64(par) {
			t.Errorf("sinks opened %d flushed %d closed %d, want %d each", c.opens.Load(), c.flushes.Load(), c.clos.Load(), par)
		}
		m := j.Metrics()
		bids := m[0].RowsOut
		if m[1].RowsIn != bids || m[1].RowsOut != int64(len(want)) || m[2].RowsIn != int64(len(want)) ||
			m[3].RowsIn != int64(len(want)) || m[3].RowsOut != int64(len(want)) {
			t.Errorf("metrics %+v", m)
		}
	}
}

// A sink that blocks stops the source within the edge's bound.
func TestBackpressure(t *testing.T) {
	checkNoLeak(t)
	c := &collector{gate: make(chan struct{}), discard: true}
	var src *genSource
	var violation atomic.Value
	p := Pipeline{
		Name: "bp", BatchSize: 100, ChannelCapacity: 2,
		Stages:  []Stage{{Schema: bidSchema}},
		NewSink: c.newSink,
	}
	bound := int64(p.ChannelCapacity + 2)
	p.Stages[0].NewSource = func(s connectors.Split) (connectors.Source, error) {
		g, err := newGenSource(10_000_000, s)
		src = g
		// On entering Next, the batch being filled is one of the bound.
		g.before = func() {
			if ahead := g.batches.Load() - c.writes.Load(); ahead > bound-1 {
				violation.Store(ahead)
			}
		}
		return g, err
	}
	j, err := NewJob(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := j.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	for range 5 {
		// With the sink blocked, the source fills every batch of the
		// pool and stops there.
		eventually(t, "the source to fill the pool", func() bool { return src.batches.Load() == c.writes.Load()+bound })
		if v := violation.Load(); v != nil {
			t.Fatalf("source ran %d batches ahead of the sink; bound %d", v, bound)
		}
		c.gate <- struct{}{}
	}
	j.Cancel()
	if err := waitJob(t, j); !errors.Is(err, ErrCancelled) {
		t.Fatalf("wait: %v", err)
	}
	if v := violation.Load(); v != nil {
		t.Fatalf("source ran %d batches ahead of the sink; bound %d", v, bound)
	}
	if c.flushes.Load() != 0 || c.clos.Load() != 1 {
		t.Errorf("cancelled job: %d flushes, %d closes", c.flushes.Load(), c.clos.Load())
	}
}

// countingSource counts lifecycle calls and signals when Wait blocks.
type countingSource struct {
	connectors.Source
	opens, closes *atomic.Int64
	waiting       chan struct{}
}

func (s *countingSource) Open(ctx context.Context) error { s.opens.Add(1); return s.Source.Open(ctx) }
func (s *countingSource) Close() error                   { s.closes.Add(1); return s.Source.Close() }
func (s *countingSource) Wait(ctx context.Context) error {
	s.waiting <- struct{}{}
	return s.Source.Wait(ctx)
}

func TestCancelWhileSourceWaits(t *testing.T) {
	checkNoLeak(t)
	b, err := broker.Open(t.TempDir(), broker.Options{MaintenanceInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if err := b.CreateTopic("in", 4, nil); err != nil {
		t.Fatal(err)
	}
	schema := types.Schema{{Name: "id", Type: types.BigInt()}}
	const par = 2
	var opens, closes atomic.Int64
	waiting := make(chan struct{}, par)
	c := &collector{}
	j, err := NewJob(Pipeline{
		Name: "tail", Parallelism: par,
		Stages: []Stage{{
			Schema: schema,
			NewSource: func(s connectors.Split) (connectors.Source, error) {
				src, err := connlog.NewSource(connlog.SourceOptions{Broker: b, Topic: "in", Schema: schema, Format: "json", Split: s})
				return &countingSource{Source: src, opens: &opens, closes: &closes, waiting: waiting}, err
			},
		}},
		NewSink: c.newSink,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := j.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	for range par {
		<-waiting
	}
	if j.Status() != Running {
		t.Fatalf("status %v", j.Status())
	}
	j.Cancel()
	if err := waitJob(t, j); !errors.Is(err, ErrCancelled) {
		t.Fatalf("wait: %v", err)
	}
	if j.Status() != Cancelled {
		t.Errorf("status %v", j.Status())
	}
	if opens.Load() != par || closes.Load() != par || c.opens.Load() != par || c.clos.Load() != par || c.flushes.Load() != 0 {
		t.Errorf("sources opened %d closed %d; sinks opened %d closed %d flushed %d",
			opens.Load(), closes.Load(), c.opens.Load(), c.clos.Load(), c.flushes.Load())
	}
}

type panicOp struct{}

func (panicOp) Process(*types.Batch, Emit) error { panic("boom") }
func (panicOp) Finish(Emit) error                { return nil }

func TestPanicFailsOnlyItsJob(t *testing.T) {
	checkNoLeak(t)
	bad := &collector{}
	p := q2Pipeline(t, 100_000, 2, bad)
	p.Name = "bad"
	p.Stages[0].Operators = append(p.Stages[0].Operators[:1:1], OperatorSpec{Name: "exploder", New: func() (Operator, error) { return panicOp{}, nil }})
	good := &collector{}
	jobs := make([]*Job, 2)
	for i, p := range []Pipeline{p, q2Pipeline(t, 100_000, 2, good)} {
		var err error
		if jobs[i], err = NewJob(p); err != nil {
			t.Fatal(err)
		}
		if err := jobs[i].Start(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	err := waitJob(t, jobs[0])
	var te *TaskError
	if !errors.As(err, &te) || te.Job != "bad" || !strings.HasPrefix(te.Task, "chain[") || te.Operator != "exploder" ||
		te.Stack == nil || !strings.Contains(err.Error(), "panic: boom") {
		t.Fatalf("bad job: %v", err)
	}
	if jobs[0].Status() != Failed || bad.flushes.Load() != 0 || bad.clos.Load() != 2 {
		t.Errorf("bad job: status %v, %d flushes, %d closes", jobs[0].Status(), bad.flushes.Load(), bad.clos.Load())
	}
	if err := waitJob(t, jobs[1]); err != nil {
		t.Fatalf("good job: %v", err)
	}
	if got, want := good.sorted(), expectedQ2(t, 100_000); !slices.Equal(got, want) {
		t.Errorf("good job: %d rows, want %d", len(got), len(want))
	}
}

type failingSource struct{ genSource }

func (*failingSource) Next(context.Context, *types.Batch, int) (connectors.SourceStatus, error) {
	return connectors.SourceStatus{}, errors.New("disk on fire")
}

func TestSourceErrorNamesTask(t *testing.T) {
	checkNoLeak(t)
	c := &collector{}
	p := q2Pipeline(t, 1000, 2, c)
	p.Stages[0].NewSource = func(connectors.Split) (connectors.Source, error) { return &failingSource{}, nil }
	j, err := NewJob(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := j.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	err = waitJob(t, j)
	var te *TaskError
	if !errors.As(err, &te) || !strings.HasPrefix(te.Task, "source[") || !strings.Contains(err.Error(), "disk on fire") {
		t.Fatalf("wait: %v", err)
	}
	if c.flushes.Load() != 0 || c.clos.Load() != 2 {
		t.Errorf("%d flushes, %d closes", c.flushes.Load(), c.clos.Load())
	}
}

func TestParentContextCancels(t *testing.T) {
	checkNoLeak(t)
	c := &collector{gate: make(chan struct{}), writing: make(chan struct{}, 1)}
	j, err := NewJob(q2Pipeline(t, 1_000_000, 1, c))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	if err := j.Start(ctx); err != nil {
		t.Fatal(err)
	}
	<-c.writing
	cancel()
	if err := waitJob(t, j); !errors.Is(err, ErrCancelled) {
		t.Fatalf("wait: %v", err)
	}
}

// keySpy records the auctions each of its instances sees.
type keySpy struct {
	mu   *sync.Mutex
	seen *[]map[int64]bool
	mine map[int64]bool
}

func newKeySpy() (OperatorSpec, func() []map[int64]bool) {
	var mu sync.Mutex
	var seen []map[int64]bool
	spec := OperatorSpec{Name: "spy", New: func() (Operator, error) {
		mu.Lock()
		defer mu.Unlock()
		m := map[int64]bool{}
		seen = append(seen, m)
		return &keySpy{mu: &mu, seen: &seen, mine: m}, nil
	}}
	return spec, func() []map[int64]bool { mu.Lock(); defer mu.Unlock(); return seen }
}

func (k *keySpy) Process(b *types.Batch, emit Emit) error {
	a := bidSchema.Index("auction")
	k.mu.Lock()
	b.ForEach(func(i int) { k.mine[b.Cols[a].Ints[i]] = true })
	k.mu.Unlock()
	return emit(b)
}
func (k *keySpy) Finish(Emit) error { return nil }

// Stages joined by an exchange compute what one chain does: q2's filter
// in the source stage, its projection behind a hash exchange on the
// auction (each auction seen by one instance only) or a rebalance from a
// single source instance.
func TestStagesThroughExchange(t *testing.T) {
	checkNoLeak(t)
	const events = 100_000
	want := expectedQ2(t, events)
	for _, tc := range []struct {
		kind         ExchangeKind
		srcPar, cons int
	}{
		{ExchangeHash, 2, 3},
		{ExchangeRebalance, 1, 3},
		{ExchangeBroadcast, 2, 1},
	} {
		ops := q2Ops(t)
		spy, seen := newKeySpy()
		c := &collector{}
		j, err := NewJob(Pipeline{
			Name: "staged", Parallelism: 2,
			Stages: []Stage{
				{Name: "src", Parallelism: tc.srcPar, Schema: bidSchema,
					NewSource: func(s connectors.Split) (connectors.Source, error) { return newGenSource(events, s) },
					Operators: ops[:1]},
				{Name: "proj", Parallelism: tc.cons, Schema: bidSchema,
					Inputs:    []StageInput{{Stage: 0, Kind: tc.kind, Keys: []int{bidSchema.Index("auction")}}},
					Operators: []OperatorSpec{spy, ops[1]}},
			},
			NewSink: c.newSink,
		})
		if err != nil {
			t.Fatal(err)
		}
		if err := j.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		if err := waitJob(t, j); err != nil {
			t.Fatalf("%v: %v", tc.kind, err)
		}
		if got := c.sorted(); !slices.Equal(got, want) {
			t.Fatalf("%v: %d rows, want %d", tc.kind, len(got), len(want))
		}
		if n := c.opens.Load(); n != int64(tc.cons) {
			t.Errorf("%v: %d sinks opened, want %d", tc.kind, n, tc.cons)
		}
		inst := seen()
		if len(inst) != tc.cons {
			t.Fatalf("%v: %d consumer instances, want %d", tc.kind, len(inst), tc.cons)
		}
		if tc.kind == ExchangeHash {
			owner := map[int64]int{}
			for i, m := range inst {
				if len(m) == 0 {
					t.Errorf("hash: instance %d saw no auction", i)
				}
				for a := range m {
					if o, ok := owner[a]; ok {
						t.Fatalf("hash: auction %d reached instances %d and %d", a, o, i)
					}
					owner[a] = i
				}
			}
		}
	}
}

// wmSpy records, per instance, the watermarks it sees and checks that no
// row arrives with an event time below the watermark before it.
type wmSpy struct {
	col  int
	wm   int64
	seen *[]int64
	mu   *sync.Mutex
	bad  *atomic.Int64
}

func (w *wmSpy) Process(b *types.Batch, emit Emit) error {
	b.ForEach(func(i int) {
		if ts := b.Cols[w.col].Ints[i]; ts < w.wm {
			w.bad.Add(1)
		}
	})
	if b.Watermark != types.NoWatermark {
		if b.Watermark < w.wm {
			w.bad.Add(1)
		}
		w.wm = b.Watermark
		w.mu.Lock()
		*w.seen = append(*w.seen, b.Watermark)
		w.mu.Unlock()
	}
	return emit(b)
}
func (w *wmSpy) Finish(Emit) error { return nil }

// A source's watermark (its WATERMARK expression's largest value) crosses
// a hash exchange as the least over the producers, never overtaking a
// row, and a bounded source ends with the end of time.
func TestWatermarksThroughExchange(t *testing.T) {
	checkNoLeak(t)
	ts := bidSchema.Index("date_time")
	var mu sync.Mutex
	var seen []int64
	var bad atomic.Int64
	spy := OperatorSpec{Name: "spy", New: func() (Operator, error) {
		return &wmSpy{col: ts, wm: types.NoWatermark, seen: &seen, mu: &mu, bad: &bad}, nil
	}}
	c := &collector{discard: true}
	j, err := NewJob(Pipeline{
		Name: "wm", Parallelism: 2, BatchSize: 100,
		Stages: []Stage{
			{Name: "src", Schema: bidSchema, Watermark: bidCol("date_time"),
				NewSource: func(s connectors.Split) (connectors.Source, error) { return newGenSource(50_000, s) }},
			{Name: "agg", Schema: bidSchema,
				Inputs:    []StageInput{{Stage: 0, Kind: ExchangeHash, Keys: []int{bidSchema.Index("auction")}}},
				Operators: []OperatorSpec{spy}},
		},
		NewSink: c.newSink,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := j.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := waitJob(t, j); err != nil {
		t.Fatal(err)
	}
	if n := bad.Load(); n != 0 {
		t.Fatalf("%d rows or watermarks arrived behind the watermark", n)
	}
	ends, moving := 0, 0
	for _, w := range seen {
		switch {
		case w == types.EndOfTime:
			ends++
		case w > 0:
			moving++
		}
	}
	if ends != 2 || moving < 10 {
		t.Fatalf("watermarks seen: %d ends (want one per instance), %d in between (want many): %v", ends, moving, len(seen))
	}
}
