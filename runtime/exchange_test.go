package runtime

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/sluice-sql/sluice/sql/types"
)

// Rows of the exchange tests: id identifies a row (producer in the high
// bits, sequence in the low), and every other column is a function of id,
// so a consumer can check that a row arrived whole.
var exSchema = types.Schema{
	{Name: "id", Type: types.BigInt()},
	{Name: "k", Type: types.BigInt()},
	{Name: "s", Type: types.String()},
	{Name: "f", Type: types.Double()},
}

func exID(input, producer, seq int) int64 { return int64(input)<<40 | int64(producer)<<32 | int64(seq) }

func exProducerOf(id int64) (input, producer int) { return int(id >> 40), int(id>>32) & 0xff }

// exKey is the key of row id: NULL for one row in 13.
func exKey(id int64) (int64, bool) {
	if id%13 == 0 {
		return 0, false
	}
	return (id*7 + id>>32) % 37, true
}

func exString(id int64) (string, bool) {
	if id%11 == 0 {
		return "", false
	}
	return "row-" + strconv.FormatInt(id, 36), true
}

// exKind is the change kind of row id in a batch that carries kinds.
func exKind(id int64) types.ChangeKind { return types.ChangeKind(id % 4) }

// fillExBatch resets b and fills it with rows [from, from+n) of a
// producer; with kinds, rows carry exKind. It selects a random subset when
// sel is set and returns the ids of the live rows.
func fillExBatch(b *types.Batch, input, producer, from, n int, kinds, sel bool, r *rand.Rand) (live []int64) {
	b.Reset(exSchema, n)
	for i := range n {
		id := exID(input, producer, from+i)
		b.Cols[0].AppendInt(id)
		if k, ok := exKey(id); ok {
			b.Cols[1].AppendInt(k)
		} else {
			b.Cols[1].AppendNull()
		}
		if s, ok := exString(id); ok {
			b.Cols[2].AppendString(s)
		} else {
			b.Cols[2].AppendNull()
		}
		b.Cols[3].AppendFloat(float64(id) / 2)
		if kinds {
			b.SetKind(i, exKind(id))
		}
	}
	b.SetLen(n)
	if sel {
		b.Sel = []int32{}
		for i := range n {
			if r.IntN(3) != 0 {
				b.Sel = append(b.Sel, int32(i))
			}
		}
	}
	b.ForEach(func(i int) { live = append(live, b.Cols[0].Ints[i]) })
	return live
}

// exRow is a row as a consumer received it.
type exRow struct {
	id       int64
	consumer int
	kind     types.ChangeKind
	kinds    bool // the batch carried kinds
}

// checkExRow reports what is wrong with row i of b, or "".
func checkExRow(b *types.Batch, i int) string {
	id := b.Cols[0].Ints[i]
	if k, ok := exKey(id); ok != !b.Cols[1].IsNull(i) || ok && b.Cols[1].Ints[i] != k {
		return fmt.Sprintf("row %d: key %v", id, b.Cols[1].Value(i))
	}
	if s, ok := exString(id); ok != !b.Cols[2].IsNull(i) || ok && string(b.Cols[2].Bytes(i)) != s {
		return fmt.Sprintf("row %d: string %v", id, b.Cols[2].Value(i))
	}
	if b.Cols[3].Floats[i] != float64(id)/2 {
		return fmt.Sprintf("row %d: float %v", id, b.Cols[3].Floats[i])
	}
	return ""
}

// exRun is one run of an exchange with producers and consumers in their
// own goroutines.
type exRun struct {
	x    *Exchange
	sent [][]map[int64]bool // per input, producer: live ids sent, with whether the batch had kinds
	got  [][]exRow          // per consumer
}

// runExchange sends rows batches of random sizes from every producer and
// collects what every consumer receives, to the end of the stream.
func runExchange(t *testing.T, o ExchangeOptions, batchesPerProducer int, seed uint64) *exRun {
	t.Helper()
	x, err := NewExchange(o)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	run := &exRun{x: x, got: make([][]exRow, o.Consumers)}
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for in, input := range o.Inputs {
		run.sent = append(run.sent, make([]map[int64]bool, input.Producers))
		for p := range input.Producers {
			sent := map[int64]bool{}
			run.sent[in][p] = sent
			wg.Go(func() {
				r := rand.New(rand.NewPCG(seed, uint64(in<<8|p)))
				// One batch, refilled after every Send: the exchange must
				// not keep a reference to it.
				b := types.NewBatch(exSchema, 0)
				seq := 0
				for range batchesPerProducer {
					n := r.IntN(2 * x.opts.BatchSize)
					kinds := r.IntN(2) == 0
					for _, id := range fillExBatch(b, in, p, seq, n, kinds, r.IntN(3) == 0, r) {
						sent[id] = kinds
					}
					seq += n
					if err := x.Producer(in, p).Send(ctx, b); err != nil {
						errs <- err
						return
					}
					if r.IntN(5) == 0 {
						if err := x.Producer(in, p).Flush(ctx); err != nil {
							errs <- err
							return
						}
					}
				}
				if err := x.Producer(in, p).Close(ctx); err != nil {
					errs <- err
				}
			})
		}
	}
	for c := range o.Consumers {
		wg.Go(func() {
			cons := x.Consumer(c)
			for {
				b, err := cons.Recv(ctx)
				if err == io.EOF {
					return
				}
				if err != nil {
					errs <- err
					return
				}
				if b.Sel != nil || b.Len() == 0 || b.Len() > x.opts.BatchSize {
					errs <- fmt.Errorf("consumer %d got a batch of %d rows, Sel %v", c, b.Len(), b.Sel)
				}
				for i := range b.Len() {
					if msg := checkExRow(b, i); msg != "" {
						errs <- errors.New(msg)
					}
					run.got[c] = append(run.got[c], exRow{id: b.Cols[0].Ints[i], consumer: c, kind: b.Kind(i), kinds: b.Kinds != nil})
				}
				// Scribble over the batch before releasing it, as an
				// operator may: nothing else may be reading it.
				b.Sel = []int32{}
				b.Cols[0].Ints[0] = -1
				cons.Release(b)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	return run
}

// check verifies that every sent row arrived, with its change kind, as
// many times as the kind says, in order per producer and consumer, and
// calls where for every row received to check its consumer.
func (run *exRun) check(t *testing.T, where func(row exRow) error) {
	t.Helper()
	o := run.x.opts
	copies := map[int64]int{}
	for c, rows := range run.got {
		last := map[[2]int]int64{}
		for _, row := range rows {
			in, p := exProducerOf(row.id)
			kinds, ok := run.sent[in][p][row.id]
			if !ok {
				t.Fatalf("consumer %d got row %x, never sent", c, row.id)
			}
			if want := exKind(row.id); kinds && row.kind != want || !kinds && row.kind != types.Insert {
				t.Fatalf("row %x: kind %v (batch had kinds: %v)", row.id, row.kind, kinds)
			}
			if prev, ok := last[[2]int{in, p}]; ok && prev >= row.id {
				t.Fatalf("consumer %d: row %x after %x from the same producer", c, row.id, prev)
			}
			last[[2]int{in, p}] = row.id
			copies[row.id]++
			if err := where(row); err != nil {
				t.Fatalf("row %x: %v", row.id, err)
			}
		}
	}
	total := 0
	for in, input := range o.Inputs {
		want := 1
		if input.Kind == ExchangeBroadcast {
			want = o.Consumers
		}
		for p := range input.Producers {
			for id := range run.sent[in][p] {
				if copies[id] != want {
					t.Fatalf("row %x of input %d arrived %d times, want %d", id, in, copies[id], want)
				}
				total++
			}
		}
	}
	if total == 0 {
		t.Fatal("no rows sent: the test proves nothing")
	}
}

// hashOwner is the consumer that owns row id's key, computed apart from
// the exchange from a one-row batch.
func hashOwner(id int64, keyGroups, consumers int) int {
	b := types.NewBatch(exSchema[1:2], 1)
	if k, ok := exKey(id); ok {
		b.Cols[0].AppendInt(k)
	} else {
		b.Cols[0].AppendNull()
	}
	b.SetLen(1)
	return types.Partition(types.HashKeys(b, []int{0}, nil)[0], keyGroups, consumers)
}

func TestExchangeKinds(t *testing.T) {
	checkNoLeak(t)
	for _, kind := range []ExchangeKind{ExchangeForward, ExchangeRebalance, ExchangeHash, ExchangeBroadcast} {
		for _, p := range []int{1, 2, 3} {
			for _, c := range []int{1, 2, 3} {
				if kind == ExchangeForward && p != c {
					continue
				}
				t.Run(fmt.Sprintf("%v/p=%d/c=%d", kind, p, c), func(t *testing.T) {
					o := ExchangeOptions{
						Name: "t", Schema: exSchema, Consumers: c, BatchSize: 64, ChannelCapacity: 2,
						Inputs: []ExchangeInput{{Kind: kind, Producers: p, Keys: []int{1}}},
					}
					run := runExchange(t, o, 40, uint64(p*10+c))
					keyOwner := map[int64]int{} // key (or -1 for NULL) → consumer
					perConsumer := make([]int, c)
					run.check(t, func(row exRow) error {
						perConsumer[row.consumer]++
						_, prod := exProducerOf(row.id)
						switch kind {
						case ExchangeForward:
							if row.consumer != prod {
								return fmt.Errorf("producer %d's row reached consumer %d", prod, row.consumer)
							}
						case ExchangeHash:
							if want := hashOwner(row.id, types.DefaultKeyGroups, c); row.consumer != want {
								return fmt.Errorf("consumer %d, the partition function says %d", row.consumer, want)
							}
							k, ok := exKey(row.id)
							if !ok {
								k = -1
							}
							if prev, seen := keyOwner[k]; seen && prev != row.consumer {
								return fmt.Errorf("key %d in consumers %d and %d", k, prev, row.consumer)
							}
							keyOwner[k] = row.consumer
						}
						return nil
					})
					if kind != ExchangeForward {
						for i, n := range perConsumer {
							if n == 0 {
								t.Errorf("consumer %d got no rows: %v", i, perConsumer)
							}
						}
					}
				})
			}
		}
	}
}

// A union: two inputs of different kinds into one stream, which ends when
// both have ended.
func TestExchangeUnion(t *testing.T) {
	checkNoLeak(t)
	o := ExchangeOptions{
		Name: "u", Schema: exSchema, Consumers: 3, BatchSize: 50,
		Inputs: []ExchangeInput{
			{Kind: ExchangeHash, Producers: 2, Keys: []int{1, 2}},
			{Kind: ExchangeForward, Producers: 3},
			{Kind: ExchangeBroadcast, Producers: 1},
		},
	}
	run := runExchange(t, o, 30, 7)
	run.check(t, func(row exRow) error {
		if in, p := exProducerOf(row.id); in == 1 && p != row.consumer {
			return fmt.Errorf("forward input: producer %d to consumer %d", p, row.consumer)
		}
		return nil
	})
}

func TestExchangeOptionsValidate(t *testing.T) {
	for _, o := range []ExchangeOptions{
		{Schema: exSchema, Consumers: 0, Inputs: []ExchangeInput{{Kind: ExchangeRebalance, Producers: 1}}},
		{Schema: exSchema, Consumers: 2},
		{Schema: exSchema, Consumers: 2, Inputs: []ExchangeInput{{Kind: ExchangeForward, Producers: 3}}},
		{Schema: exSchema, Consumers: 2, Inputs: []ExchangeInput{{Kind: ExchangeHash, Producers: 1}}},
		{Schema: exSchema, Consumers: 2, Inputs: []ExchangeInput{{Kind: ExchangeHash, Producers: 1, Keys: []int{4}}}},
		{Schema: exSchema, Consumers: 5, KeyGroups: 4, Inputs: []ExchangeInput{{Kind: ExchangeHash, Producers: 1, Keys: []int{0}}}},
	} {
		if _, err := NewExchange(o); err == nil {
			t.Errorf("NewExchange(%+v) accepted", o)
		}
	}
	x, err := NewExchange(ExchangeOptions{Schema: exSchema, Consumers: 1, Inputs: []ExchangeInput{{Kind: ExchangeRebalance, Producers: 1}}})
	if err != nil {
		t.Fatal(err)
	}
	bad := types.NewBatch(exSchema[:2], 1)
	if err := x.Producer(0, 0).Send(context.Background(), bad); err == nil {
		t.Error("Send took a batch of the wrong schema")
	}
	if err := x.Producer(0, 0).Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := x.Consumer(0).Recv(context.Background()); err != io.EOF {
		t.Errorf("Recv after the only producer closed: %v, want io.EOF", err)
	}
	if err := x.Producer(0, 0).Send(context.Background(), types.NewBatch(exSchema, 1)); !errors.Is(err, ErrProducerClosed) {
		t.Errorf("Send after Close: %v", err)
	}
}

// A consumer that does not receive stops every producer within the bound;
// once it receives again, producers never run more than the bound ahead;
// cancelling then stops everything without a leak.
func TestExchangeBackpressure(t *testing.T) {
	checkNoLeak(t)
	const producers, consumers = 2, 2
	x, err := NewExchange(ExchangeOptions{
		Name: "bp", Schema: exSchema, Consumers: consumers, BatchSize: 10, ChannelCapacity: 2,
		Inputs: []ExchangeInput{{Kind: ExchangeHash, Producers: producers, Keys: []int{0}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	bound := int64(consumers * x.MaxBatchesPerConsumer() * x.opts.BatchSize)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var accepted, received atomic.Int64
	var violation atomic.Value
	var wg sync.WaitGroup
	perr := make([]error, producers)
	for p := range producers {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(p), 1))
			b := types.NewBatch(exSchema, 0)
			for seq := 0; ; seq += 7 {
				live := fillExBatch(b, 0, p, seq, 7, false, false, r)
				if err := x.Producer(0, p).Send(ctx, b); err != nil {
					perr[p] = err
					return
				}
				// Rows accepted by a returned Send are in the exchange or
				// received; received is read after, so this never
				// undercounts what is in flight.
				if ahead := accepted.Add(int64(len(live))) - received.Load(); ahead > bound {
					violation.Store(fmt.Sprintf("%d rows in flight, bound %d", ahead, bound))
				}
			}
		})
	}
	// Nobody receives: every producer must come to a stop.
	eventually(t, "producers to block", func() bool { return x.Backpressured() == producers })
	if n := accepted.Load(); n == 0 || n > bound {
		t.Fatalf("producers accepted %d rows with no consumer, bound %d", n, bound)
	}
	// Consumers drain some, slower than the producers could go.
	var cwg sync.WaitGroup
	cerr := make([]error, consumers)
	for c := range consumers {
		cwg.Go(func() {
			cons := x.Consumer(c)
			for range 200 {
				b, err := cons.Recv(ctx)
				if err != nil {
					cerr[c] = err
					return
				}
				received.Add(int64(b.Len()))
				cons.Release(b)
			}
			// Then stop receiving until cancelled.
			<-ctx.Done()
			cerr[c] = ctx.Err()
		})
	}
	eventually(t, "consumers to receive", func() bool { return received.Load() >= 1000 })
	cancel()
	wg.Wait()
	cwg.Wait()
	if v := violation.Load(); v != nil {
		t.Fatal(v)
	}
	for i, err := range append(perr, cerr...) {
		if !errors.Is(err, context.Canceled) {
			t.Errorf("task %d ended with %v, want context.Canceled", i, err)
		}
	}
}

// Cancelling mid-stream unblocks producers blocked on a full consumer and
// consumers waiting for rows; none sees the end of the stream.
func TestExchangeCancelMidStream(t *testing.T) {
	checkNoLeak(t)
	for _, kind := range []ExchangeKind{ExchangeHash, ExchangeBroadcast, ExchangeRebalance} {
		x, err := NewExchange(ExchangeOptions{
			Name: "cancel", Schema: exSchema, Consumers: 2, BatchSize: 16, ChannelCapacity: 1,
			Inputs: []ExchangeInput{{Kind: kind, Producers: 3, Keys: []int{1}}},
		})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		var got atomic.Int64
		errs := make(chan error, 5)
		for p := range 3 {
			wg.Go(func() {
				r := rand.New(rand.NewPCG(uint64(p), 2))
				b := types.NewBatch(exSchema, 0)
				for seq := 0; ; seq += 40 {
					fillExBatch(b, 0, p, seq, 40, true, false, r)
					if err := x.Producer(0, p).Send(ctx, b); err != nil {
						errs <- err
						return
					}
				}
			})
		}
		for c := range 2 {
			wg.Go(func() {
				cons := x.Consumer(c)
				for {
					b, err := cons.Recv(ctx)
					if err == io.EOF {
						errs <- errors.New("stream ended on cancellation")
						return
					}
					if err != nil {
						errs <- err
						return
					}
					got.Add(1)
					if c == 1 {
						cons.Release(b)
					} // consumer 0 keeps its first batches and stalls the rest
				}
			})
		}
		// Consumer 0 holds every batch it can get: producers with rows for
		// it block.
		stalled := &x.consumers[0].pool
		eventually(t, "consumer 0 to stall", func() bool {
			return got.Load() >= 3 && int(stalled.allocated.Load()) == cap(stalled.free) && len(stalled.free) == 0
		})
		cancel()
		wg.Wait()
		close(errs)
		for err := range errs {
			if !errors.Is(err, context.Canceled) {
				t.Errorf("%v: %v", kind, err)
			}
		}
	}
}

// BenchmarkExchangeHash: 2 producers → 2 consumers by a BIGINT key, with
// three more columns (BIGINT, DOUBLE, STRING), 1024-row batches.
func BenchmarkExchangeHash(b *testing.B) {
	const producers, consumers, rows = 2, 2, 1024
	schema := types.Schema{
		{Name: "k", Type: types.BigInt()}, {Name: "v", Type: types.BigInt()},
		{Name: "f", Type: types.Double()}, {Name: "s", Type: types.String()},
	}
	in := make([]*types.Batch, producers)
	for p := range in {
		in[p] = types.NewBatch(schema, rows)
		r := rand.New(rand.NewPCG(uint64(p), 3))
		for i := range rows {
			in[p].Cols[0].AppendInt(r.Int64N(1 << 20))
			in[p].Cols[1].AppendInt(int64(i))
			in[p].Cols[2].AppendFloat(float64(i) / 3)
			in[p].Cols[3].AppendString("bidder-" + strconv.Itoa(r.IntN(100000)))
		}
		in[p].SetLen(rows)
	}
	b.ReportAllocs()
	var total int64
	for b.Loop() {
		x, err := NewExchange(ExchangeOptions{
			Schema: schema, Consumers: consumers,
			Inputs: []ExchangeInput{{Kind: ExchangeHash, Producers: producers, Keys: []int{0}}},
		})
		if err != nil {
			b.Fatal(err)
		}
		const sends = 1000
		var wg sync.WaitGroup
		ctx := context.Background()
		for p := range producers {
			wg.Go(func() {
				for range sends {
					if err := x.Producer(0, p).Send(ctx, in[p]); err != nil {
						panic(err)
					}
				}
				if err := x.Producer(0, p).Close(ctx); err != nil {
					panic(err)
				}
			})
		}
		for c := range consumers {
			wg.Go(func() {
				cons := x.Consumer(c)
				for {
					b, err := cons.Recv(context.Background())
					if err != nil {
						break
					}
					cons.Release(b)
				}
			})
		}
		wg.Wait()
		total += producers * sends * rows
	}
	b.ReportMetric(float64(total)/b.Elapsed().Seconds(), "rows/s")
}

// Once warm, sending and receiving allocate nothing, changelog batches
// included.
func TestExchangeSteadyStateAllocatesNothing(t *testing.T) {
	for _, kind := range []ExchangeKind{ExchangeHash, ExchangeBroadcast} {
		x, err := NewExchange(ExchangeOptions{
			Schema: exSchema, Consumers: 2, BatchSize: 64,
			Inputs: []ExchangeInput{{Kind: kind, Producers: 1, Keys: []int{1, 2}}},
		})
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		in := types.NewBatch(exSchema, 64)
		fillExBatch(in, 0, 0, 0, 64, true, false, nil)
		round := func() {
			if err := x.Producer(0, 0).Send(ctx, in); err != nil {
				t.Fatal(err)
			}
			if err := x.Producer(0, 0).Flush(ctx); err != nil {
				t.Fatal(err)
			}
			for _, c := range x.consumers {
				for len(c.ch) > 0 {
					b := (<-c.ch).b
					if b.Kinds == nil {
						t.Fatal("change kinds lost")
					}
					c.Release(b)
				}
			}
		}
		for range 10 {
			round()
		}
		if n := testing.AllocsPerRun(50, round); n != 0 {
			t.Errorf("%v: %v allocations per batch", kind, n)
		}
	}
}
