package runtime

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/sluice-sql/sluice/connectors"
	"github.com/sluice-sql/sluice/sql/expr"
	"github.com/sluice-sql/sluice/sql/types"
)

// Virtual-time tests of per-partition watermarks and idle partitions. A
// partSource holds rows per partition that the test pushes; a virtual
// clock moves only when the test advances it; a spy records what reaches
// the operators.

// ptSchema is the rows of a partSource: the event time and the partition.
var ptSchema = types.Schema{
	{Name: "ts", Type: types.Timestamp(6)},
	{Name: "p", Type: types.BigInt()},
}

var ptTime = &expr.ColumnRef{Index: 0, T: ptSchema[0].Type, Name: "ts"}

// virtualClock is a Clock that moves only when Advance is called.
type virtualClock struct {
	mu     sync.Mutex
	now    time.Time
	seq    int
	timers map[int]virtualTimer
}

type virtualTimer struct {
	at time.Time
	f  func()
}

func newVirtualClock() *virtualClock {
	return &virtualClock{now: time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC), timers: map[int]virtualTimer{}}
}

func (c *virtualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *virtualClock) AfterFunc(d time.Duration, f func()) func() bool {
	if d <= 0 {
		f()
		return func() bool { return false }
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.seq++
	id := c.seq
	c.timers[id] = virtualTimer{at: c.now.Add(d), f: f}
	return func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		_, ok := c.timers[id]
		delete(c.timers, id)
		return ok
	}
}

// pending is the number of timers waiting.
func (c *virtualClock) pending() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.timers)
}

// Advance moves the clock by d and runs the timers that come due.
func (c *virtualClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	var due []func()
	for id, tm := range c.timers {
		if !tm.at.After(c.now) {
			due = append(due, tm.f)
			delete(c.timers, id)
		}
	}
	c.mu.Unlock()
	for _, f := range due {
		f()
	}
}

// partSource is an unbounded connectors.PartitionedSource over rows the
// test pushes to its partitions; Next takes them partition by partition
// in turn, as the log source does.
type partSource struct {
	own   []int32
	wake  chan struct{}
	k     int // the partition Next starts with
	spans []connectors.PartitionSpan
	mu    sync.Mutex
	rows  map[int32][]int64 // event times not read yet
}

var _ connectors.PartitionedSource = (*partSource)(nil)

func newPartSource(own ...int32) *partSource {
	return &partSource{own: own, wake: make(chan struct{}, 1), rows: map[int32][]int64{}}
}

func (s *partSource) push(p int32, ts ...int64) {
	s.mu.Lock()
	s.rows[p] = append(s.rows[p], ts...)
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

func (s *partSource) Open(context.Context) error { return nil }
func (s *partSource) Partitions() []int32        { return s.own }
func (s *partSource) Close() error               { return nil }

func (s *partSource) Next(_ context.Context, b *types.Batch, max int) (connectors.SourceStatus, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.spans = s.spans[:0]
	for range len(s.own) {
		p := s.own[s.k]
		s.k = (s.k + 1) % len(s.own)
		from := b.Len()
		q := s.rows[p]
		for len(q) > 0 && b.Len() < max {
			b.Cols[0].AppendInt(q[0])
			b.Cols[1].AppendInt(int64(p))
			b.SetLen(b.Len() + 1)
			q = q[1:]
		}
		s.rows[p] = q
		if b.Len() > from {
			s.spans = append(s.spans, connectors.PartitionSpan{Partition: p, Start: from, End: b.Len()})
		}
	}
	st := connectors.SourceStatus{State: connectors.Wait, EventTime: connectors.NoEventTime, Spans: s.spans}
	for _, q := range s.rows {
		if len(q) > 0 {
			st.State = connectors.More
		}
	}
	return st, nil
}

func (s *partSource) Wait(ctx context.Context) error {
	select {
	case <-s.wake:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// ptSpy records the rows and watermarks reaching it.
type ptSpy struct {
	mu   sync.Mutex
	rows []int64 // event times, in arrival order
	// wms are the watermarks seen, in order; rowWM is the watermark
	// carried by the batch of each row.
	wms   []int64
	rowWM []int64
}

func (s *ptSpy) spec() OperatorSpec {
	return OperatorSpec{Name: "spy", New: func() (Operator, error) { return ptSpyOp{s}, nil }}
}

type ptSpyOp struct{ s *ptSpy }

func (o ptSpyOp) Process(b *types.Batch, emit Emit) error {
	s := o.s
	s.mu.Lock()
	b.ForEach(func(i int) {
		s.rows = append(s.rows, b.Cols[0].Ints[i])
		s.rowWM = append(s.rowWM, b.Watermark)
	})
	if b.Watermark != types.NoWatermark {
		s.wms = append(s.wms, b.Watermark)
	}
	s.mu.Unlock()
	return emit(b)
}

func (ptSpyOp) Finish(Emit) error { return nil }

func (s *ptSpy) rowCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.rows)
}

// wm is the last watermark seen.
func (s *ptSpy) wm() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.wms) == 0 {
		return types.NoWatermark
	}
	return s.wms[len(s.wms)-1]
}

func (s *ptSpy) watermarks() []int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.wms)
}

// check fails the test if the watermark ever went back.
func (s *ptSpy) check(t *testing.T) {
	t.Helper()
	if wms := s.watermarks(); !slices.IsSorted(wms) {
		t.Errorf("the watermark went back: %v", wms)
	}
}

// startPT runs a one-stage job over src, with the spy, and returns it
// with a function that stops it.
func startPT(t *testing.T, p Pipeline) (stop func()) {
	t.Helper()
	c := &collector{discard: true}
	p.Name, p.NewSink = "pt", c.newSink
	j, err := NewJob(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := j.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	return func() {
		t.Helper()
		j.Cancel()
		if err := waitJob(t, j); !errors.Is(err, ErrCancelled) {
			t.Fatalf("job ended with %v, want it cancelled", err)
		}
	}
}

func ptStage(spy *ptSpy, par int, newSource func(connectors.Split) (connectors.Source, error)) Stage {
	return Stage{Name: "src", Parallelism: par, Schema: ptSchema, Watermark: ptTime,
		NewSource: newSource, Operators: []OperatorSpec{spy.spec()}}
}

// Two partitions read at different paces: the watermark follows the one
// behind, whichever batch a row came in.
func TestWatermarkFollowsLaggingPartition(t *testing.T) {
	checkNoLeak(t)
	src, spy := newPartSource(0, 1), &ptSpy{}
	stop := startPT(t, Pipeline{Stages: []Stage{ptStage(spy, 1, func(connectors.Split) (connectors.Source, error) { return src, nil })}})
	defer stop()
	src.push(0, 100, 200, 300)
	src.push(1, 50, 60)
	eventually(t, "5 rows", func() bool { return spy.rowCount() == 5 })
	if got := spy.wm(); got != 60 {
		t.Fatalf("watermark %d with partitions at 300 and 60, want 60 (seen %v)", got, spy.watermarks())
	}
	src.push(1, 250)
	eventually(t, "the watermark to reach 250", func() bool { return spy.wm() == 250 })
	src.push(0, 400)
	src.push(1, 260)
	eventually(t, "8 rows", func() bool { return spy.rowCount() == 8 })
	if got := spy.wm(); got != 260 {
		t.Fatalf("watermark %d with partitions at 400 and 260, want 260 (seen %v)", got, spy.watermarks())
	}
	spy.check(t)
}

// A partition without rows holds the watermark back until it has been
// idle for the timeout; then the others' watermark goes on. When the idle
// partition has rows again it rejoins: it holds the watermark back again,
// which does not go back to it.
func TestIdlePartitionStopsHoldingBackAndRejoins(t *testing.T) {
	checkNoLeak(t)
	clk := newVirtualClock()
	src, spy := newPartSource(0, 1), &ptSpy{}
	stop := startPT(t, Pipeline{IdleTimeout: 5 * time.Second, Clock: clk,
		Stages: []Stage{ptStage(spy, 1, func(connectors.Split) (connectors.Source, error) { return src, nil })}})
	defer stop()

	eventually(t, "the source to wait", func() bool { return clk.pending() == 1 })
	clk.Advance(3 * time.Second)
	src.push(0, 100)
	eventually(t, "1 row", func() bool { return spy.rowCount() == 1 })
	if got := spy.wm(); got != types.NoWatermark {
		t.Fatalf("watermark %d while partition 1 is empty and not idle, want none", got)
	}
	// Partition 1 has been empty since Open: idle at 5s. Partition 0's
	// row came at 3s: active until 8s.
	eventually(t, "the source to wait", func() bool { return clk.pending() == 1 })
	clk.Advance(1 * time.Second)
	if got := spy.wm(); got != types.NoWatermark {
		t.Fatalf("watermark %d before the timeout, want none", got)
	}
	clk.Advance(1 * time.Second)
	eventually(t, "the watermark to pass the idle partition", func() bool { return spy.wm() == 100 })

	src.push(0, 200)
	eventually(t, "the watermark to reach 200", func() bool { return spy.wm() == 200 })
	// Partition 1 rejoins, behind the watermark: it does not go back...
	src.push(1, 50)
	eventually(t, "3 rows", func() bool { return spy.rowCount() == 3 })
	// ...but it holds it back again: partition 0 at 400 does not move it.
	src.push(0, 400)
	eventually(t, "4 rows", func() bool { return spy.rowCount() == 4 })
	src.push(1, 300)
	eventually(t, "the watermark to reach 300", func() bool { return spy.wm() == 300 })
	if got, want := spy.watermarks(), []int64{100, 200, 300}; !slices.Equal(slices.Compact(got), want) {
		t.Fatalf("watermarks %v, want %v", got, want)
	}
	spy.check(t)
}

// An instance whose partitions are all idle does not hold back the
// consumer of the exchange it feeds; when it has rows again it does.
func TestIdleInstanceDoesNotHoldBackExchange(t *testing.T) {
	checkNoLeak(t)
	clk := newVirtualClock()
	srcs := []*partSource{newPartSource(0), newPartSource(1)}
	spy := &ptSpy{}
	c := &collector{discard: true}
	j, err := NewJob(Pipeline{
		Name: "pt", IdleTimeout: 5 * time.Second, Clock: clk, NewSink: c.newSink,
		Stages: []Stage{
			{Name: "src", Parallelism: 2, Schema: ptSchema, Watermark: ptTime,
				NewSource: func(s connectors.Split) (connectors.Source, error) { return srcs[s.Index], nil }},
			{Name: "spy", Parallelism: 1, Schema: ptSchema,
				Inputs:    []StageInput{{Stage: 0, Kind: ExchangeRebalance}},
				Operators: []OperatorSpec{spy.spec()}},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := j.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer func() {
		j.Cancel()
		if err := waitJob(t, j); !errors.Is(err, ErrCancelled) {
			t.Fatalf("job ended with %v, want it cancelled", err)
		}
	}()

	eventually(t, "both sources to wait", func() bool { return clk.pending() == 2 })
	clk.Advance(3 * time.Second)
	srcs[0].push(0, 100)
	eventually(t, "1 row", func() bool { return spy.rowCount() == 1 })
	eventually(t, "both sources to wait", func() bool { return clk.pending() == 2 })
	if got := spy.wm(); got != types.NoWatermark {
		t.Fatalf("watermark %d while instance 1 is not idle, want none", got)
	}
	clk.Advance(2 * time.Second) // instance 1's only partition is idle
	eventually(t, "the watermark to pass the idle instance", func() bool { return spy.wm() == 100 })

	// Instance 1 rejoins behind the consumer's watermark and holds it
	// back again: instance 0 at 300 does not move it, instance 1 at 200
	// does.
	srcs[1].push(1, 50)
	eventually(t, "2 rows", func() bool { return spy.rowCount() == 2 })
	srcs[0].push(0, 300)
	eventually(t, "3 rows", func() bool { return spy.rowCount() == 3 })
	srcs[1].push(1, 200)
	eventually(t, "the watermark to reach 200", func() bool { return spy.wm() == 200 })
	if got, want := spy.watermarks(), []int64{100, 200}; !slices.Equal(got, want) {
		t.Fatalf("consumer watermarks %v, want %v", got, want)
	}
}

// A source instance that reads no partition can never have a row: it is
// idle from the start, even without an idle timeout, and holds back no
// consumer.
func TestInstanceWithoutPartitionsIsIdle(t *testing.T) {
	checkNoLeak(t)
	srcs := []*partSource{newPartSource(0, 1), newPartSource()}
	spy := &ptSpy{}
	c := &collector{discard: true}
	j, err := NewJob(Pipeline{
		Name: "pt", NewSink: c.newSink,
		Stages: []Stage{
			{Name: "src", Parallelism: 2, Schema: ptSchema, Watermark: ptTime,
				NewSource: func(s connectors.Split) (connectors.Source, error) { return srcs[s.Index], nil }},
			{Name: "spy", Parallelism: 1, Schema: ptSchema,
				Inputs:    []StageInput{{Stage: 0, Kind: ExchangeRebalance}},
				Operators: []OperatorSpec{spy.spec()}},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := j.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer func() {
		j.Cancel()
		if err := waitJob(t, j); !errors.Is(err, ErrCancelled) {
			t.Fatalf("job ended with %v, want it cancelled", err)
		}
	}()
	srcs[0].push(0, 100)
	srcs[0].push(1, 70)
	eventually(t, "the watermark to reach 70", func() bool { return spy.wm() == 70 })
}

// The exchange's idleness markers, one call at a time: a consumer's
// watermark is the least over its active producers, never goes back, and
// InputIdle says when every producer is idle.
func TestExchangeIdleProducers(t *testing.T) {
	ctx := context.Background()
	x, err := NewExchange(ExchangeOptions{Name: "idle", Schema: exSchema, Consumers: 1,
		Inputs: []ExchangeInput{{Kind: ExchangeRebalance, Producers: 2}}})
	if err != nil {
		t.Fatal(err)
	}
	p0, p1, cons := x.Producer(0, 0), x.Producer(0, 1), x.Consumer(0)
	wm := types.NoWatermark
	// drain receives what is waiting and returns the consumer's watermark.
	// (Recv would block once it has folded in the last delivery.)
	drain := func() int64 {
		t.Helper()
		for !cons.Idle() {
			b := cons.receive(<-cons.ch)
			if b == nil {
				continue
			}
			if b.Len() > 0 {
				t.Fatalf("a batch of %d rows, want none", b.Len())
			}
			if b.Watermark != types.NoWatermark {
				if b.Watermark <= wm {
					t.Fatalf("watermark %d after %d", b.Watermark, wm)
				}
				wm = b.Watermark
			}
			cons.Release(b)
		}
		return wm
	}
	mark := types.NewBatch(exSchema, 0)
	send := func(p *ExchangeProducer, w int64) {
		t.Helper()
		mark.Watermark = w
		if err := p.Send(ctx, mark); err != nil {
			t.Fatal(err)
		}
	}
	setIdle := func(p *ExchangeProducer, idle bool) {
		t.Helper()
		if err := p.SetIdle(ctx, idle); err != nil {
			t.Fatal(err)
		}
	}
	for _, step := range []struct {
		do       func()
		wm       int64
		allIdle  bool
		whatStep string
	}{
		{func() { send(p0, 10); send(p1, 5) }, 5, false, "both active"},
		{func() { setIdle(p1, true) }, 10, false, "producer 1 idle"},
		{func() { setIdle(p0, true) }, 10, true, "both idle"},
		{func() { send(p0, 20) }, 20, false, "producer 0 sends a watermark: active again"},
		{func() { setIdle(p1, false) }, 20, false, "producer 1 rejoins at 5: no going back"},
		{func() { send(p1, 15); send(p0, 30) }, 20, false, "producer 1 at 15 holds it"},
		{func() { send(p1, 40) }, 30, false, "producer 1 passes producer 0"},
	} {
		step.do()
		if got := drain(); got != step.wm {
			t.Fatalf("%s: watermark %d, want %d", step.whatStep, got, step.wm)
		}
		if got := cons.InputIdle(); got != step.allIdle {
			t.Fatalf("%s: InputIdle() = %v, want %v", step.whatStep, got, step.allIdle)
		}
	}
}
