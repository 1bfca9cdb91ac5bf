package runtime

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluice-sql/sluice/connectors"
	"github.com/sluice-sql/sluice/sql"
	"github.com/sluice-sql/sluice/sql/expr"
	"github.com/sluice-sql/sluice/sql/types"
	"github.com/sluice-sql/sluice/state"
)

// eventSource produces rows (k, ts, base, v = i) for i below n, split i
// mod Count and paced as countSource is; its position is the next i.
// base is i ms, the rows' watermark; ts is base plus up to 19 ms, so rows
// come out of order but never behind the watermark. k is i mod 7, but in
// bursts: for 280 rows in 5 a key's rows go to key k+7 instead, so each
// key's sessions end and start again along the stream.
type eventSource struct {
	countSource
}

var (
	evSchema = types.Schema{{Name: "k", Type: types.BigInt()}, {Name: "ts", Type: types.Timestamp(3)},
		{Name: "base", Type: types.Timestamp(3)}, {Name: "v", Type: types.BigInt()}}
	// evWindowed is evSchema with the columns a window table function
	// appends.
	evWindowed = append(append(types.Schema(nil), evSchema...), types.Field{Name: "window_start", Type: types.Timestamp(3)},
		types.Field{Name: "window_end", Type: types.Timestamp(3)}, types.Field{Name: "window_time", Type: types.Timestamp(3)})
	evWatermark = &expr.ColumnRef{Index: 2, T: evSchema[2].Type, Name: "base"}
)

func newEventSource(n int64, sp connectors.Split) *eventSource {
	return &eventSource{*newCountSource(n, sp)}
}

func (s *eventSource) Next(_ context.Context, b *types.Batch, max int) (connectors.SourceStatus, error) {
	time.Sleep(50 * time.Microsecond)
	for k := 0; k < min(max, 20) && s.next < s.n; k++ {
		i := s.next
		key := i % 7
		if (i/280+key)%5 == 0 {
			key += 7
		}
		base := i * 1000
		b.Cols[0].AppendInt(key)
		b.Cols[1].AppendInt(base + i*7919%20*1000)
		b.Cols[2].AppendInt(base)
		b.Cols[3].AppendInt(i)
		b.SetLen(b.Len() + 1)
		s.next += s.stride
	}
	st := connectors.SourceStatus{State: connectors.More, EventTime: connectors.NoEventTime}
	if s.next >= s.n {
		st.State = connectors.Done
	}
	return st, nil
}

// runKilled runs the job pipeline builds, on a state database in a new
// directory and writing into a new txnLog, until it finishes. With kills,
// it cancels the job at a random moment after a checkpoint of each run
// and restarts it on the same state, that many times. It returns the
// rows the job committed, in commit order.
func runKilled(t *testing.T, kills int, seed uint64, pipeline func(db *state.DB, l *txnLog) Pipeline) []string {
	t.Helper()
	dir := t.TempDir()
	l := newTxnLog()
	rng := rand.New(rand.NewPCG(seed, 2))
	restarts := 0
	for {
		db, err := state.Open(dir, state.Options{})
		if err != nil {
			t.Fatal(err)
		}
		j, err := NewJob(pipeline(db, l))
		if err != nil {
			t.Fatal(err)
		}
		if err := j.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		killed := false
		for restarts < kills {
			if _, completed, _ := j.Checkpoints(); completed > 0 {
				time.Sleep(time.Duration(rng.IntN(8000)) * time.Microsecond)
				j.Cancel()
				killed = true
				break
			}
			select {
			case <-j.Done():
			case <-time.After(200 * time.Microsecond):
				continue
			}
			break
		}
		err = j.Wait()
		db.Close()
		if killed {
			restarts++
			continue
		}
		if err != nil {
			t.Fatalf("job: %v", err)
		}
		_, completed, _ := j.Checkpoints()
		t.Logf("finished after %d restarts; the last run took %d checkpoints", restarts, completed)
		break
	}
	if restarts < kills {
		t.Fatalf("only %d restarts of %d: the job ended too soon to test recovery", restarts, kills)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.committed...)
}

// sameRows fails the test unless got and want hold the same rows as many
// times each, whatever their order (the instances' sinks commit in no
// set order relative to each other).
func sameRows(t *testing.T, got, want []string) {
	t.Helper()
	got, want = slices.Clone(got), slices.Clone(want)
	slices.Sort(got)
	slices.Sort(want)
	if slices.Equal(got, want) {
		return
	}
	var missing, extra []string
	for i, j := 0, 0; i < len(got) || j < len(want); {
		switch {
		case j == len(want) || i < len(got) && got[i] < want[j]:
			extra = append(extra, got[i])
			i++
		case i == len(got) || want[j] < got[i]:
			missing = append(missing, want[j])
			j++
		default:
			i++
			j++
		}
	}
	t.Fatalf("%d rows, want %d: %d missing, %d extra\nmissing (first 10): %v\nextra (first 10): %v",
		len(got), len(want), len(missing), len(extra), missing[:min(10, len(missing))], extra[:min(10, len(extra))])
}

// A job with session windows that is killed again and again, each time
// restarted from its last checkpoint, commits exactly the sessions of one
// failure-free run: none lost with the state of the sessions open at a
// checkpoint, none emitted twice.
func TestSessionAggregateCheckpointRecovery(t *testing.T) {
	const n = 60000
	calls := []sql.AggCall{
		{Fn: "COUNT", Arg: -1, T: types.BigInt().WithNotNull(true)},
		{Fn: "SUM", Arg: 3, T: types.BigInt()},
		{Fn: "MIN", Arg: 3, T: types.BigInt()},
		{Fn: "MAX", Arg: 1, T: types.Timestamp(3)},
	}
	gap := &sql.Window{Kind: sql.Session, TimeCol: 1, Gap: 30_000, Out: evWindowed}
	pipeline := func(db *state.DB, l *txnLog) Pipeline {
		return Pipeline{
			Name: "sessions", Parallelism: 2, State: db, StateCacheBytes: 16 << 10,
			CheckpointInterval: 5 * time.Millisecond,
			NewSink:            l.newSink,
			Stages: []Stage{
				{Name: "src", Schema: evSchema, Watermark: evWatermark,
					NewSource: func(sp connectors.Split) (connectors.Source, error) { return newEventSource(n, sp), nil },
					Operators: []OperatorSpec{WindowAssignSpec("session", evSchema, gap)}},
				{Name: "agg", Schema: evWindowed, Inputs: []StageInput{{Stage: 0, Kind: ExchangeHash, Keys: []int{0}}},
					Operators: []OperatorSpec{SessionAggregateStateSpec("agg", 1, evWindowed, []int{0, 4, 5}, 1, 2, calls, nil)}},
			},
		}
	}
	want := runKilled(t, 0, 0, pipeline)
	if len(want) < 500 {
		t.Fatalf("the failure-free run made %d sessions: too few to test anything", len(want))
	}
	got := runKilled(t, 20, 1, pipeline)
	t.Logf("%d sessions", len(want))
	sameRows(t, got, want)
}

// crashLoop runs the operator build makes over batches as a job with
// checkpoints and failures would, on a state database in a new directory.
// After a random number of batches it snapshots the operator and commits
// its state, recording how many batches and output rows the checkpoint
// covers; after a random number of checkpoints it crashes: it closes the
// database, dropping what was not committed, opens it again, builds the
// operator, which restores the last checkpoint, drops the output since
// (as a transactional sink aborts its open transaction) and goes on from
// the first batch after the checkpoint. It returns the rows emitted and
// the number of crashes.
func crashLoop(t *testing.T, seed uint64, batches []*types.Batch, build func(OperatorContext) (Operator, error)) ([]string, int) {
	t.Helper()
	dir := t.TempDir()
	rng := rand.New(rand.NewPCG(seed, 3))
	var out []string
	emit := func(b *types.Batch) error {
		b.ForEach(func(i int) { out = append(out, rowText(b, i)) })
		return nil
	}
	crashes := 0
	next := 0 // the next batch
	for {
		db, err := state.Open(dir, state.Options{})
		if err != nil {
			t.Fatal(err)
		}
		epoch, meta := db.LastCommit()
		if epoch > 0 {
			var rows int
			if _, err := fmt.Sscanf(string(meta), "%d %d", &next, &rows); err != nil {
				t.Fatalf("checkpoint %d: %q: %v", epoch, meta, err)
			}
			out = out[:rows]
		}
		op, err := build(OperatorContext{Parallelism: 1, State: db})
		if err != nil {
			t.Fatal(err)
		}
		crashAfter := 1 + rng.IntN(4) // checkpoints
		for next < len(batches) && crashAfter > 0 {
			for range 1 + rng.IntN(6) {
				if next == len(batches) {
					break
				}
				if err := op.Process(batches[next], emit); err != nil {
					t.Fatal(err)
				}
				next++
			}
			if err := op.(Snapshotter).Snapshot(); err != nil {
				t.Fatal(err)
			}
			epoch++
			if err := db.Commit(epoch, fmt.Appendf(nil, "%d %d", next, len(out))); err != nil {
				t.Fatal(err)
			}
			crashAfter--
			// Batches processed after the checkpoint, then lost.
			for range rng.IntN(4) {
				if next < len(batches) {
					if err := op.Process(batches[next], emit); err != nil {
						t.Fatal(err)
					}
					next++
				}
			}
		}
		if next == len(batches) {
			if err := op.Finish(emit); err != nil {
				t.Fatal(err)
			}
			db.Close()
			return out, crashes
		}
		db.Close()
		crashes++
	}
}

// runOnce runs op over batches and returns the rows it emits.
func runOnce(t *testing.T, op Operator, batches []*types.Batch) []string {
	t.Helper()
	var out []string
	emit := func(b *types.Batch) error {
		b.ForEach(func(i int) { out = append(out, rowText(b, i)) })
		return nil
	}
	for _, b := range batches {
		if err := op.Process(b, emit); err != nil {
			t.Fatal(err)
		}
	}
	if err := op.Finish(emit); err != nil {
		t.Fatal(err)
	}
	return out
}

// rowText spells row i of b as the txnSink does.
func rowText(b *types.Batch, i int) string {
	var s strings.Builder
	s.WriteString(opText[b.Kind(i)])
	for _, c := range b.Cols {
		fmt.Fprintf(&s, " %v", c.Value(i))
	}
	return s.String()
}

// sessionBatches makes rows (k, ws, we, v) of session windows with a gap
// of 10 s, as a SESSION window assigns them, at random times around a
// watermark that moves on: mostly on time and out of order, some late,
// some bridging sessions of their key, the keys taking turns.
func sessionBatches(rng *rand.Rand, in types.Schema) []*types.Batch {
	const sec, gap = int64(1_000_000), int64(10)
	var batches []*types.Batch
	wm := int64(0)
	for n := range 600 {
		b := types.NewBatch(in, 8)
		for range rng.IntN(8) {
			ts := wm - 15 + rng.Int64N(40)
			// Two keys of 8 at a time, in turns: a key's sessions end.
			b.Cols[0].AppendString(fmt.Sprintf("k%d", (n/6+rng.IntN(2))%8))
			b.Cols[1].AppendInt(ts * sec)
			b.Cols[2].AppendInt((ts + gap) * sec)
			b.Cols[3].AppendInt(rng.Int64N(1000))
			b.SetLen(b.Len() + 1)
		}
		wm += rng.Int64N(3)
		b.Watermark = wm * sec
		batches = append(batches, b)
	}
	end := types.NewBatch(in, 0)
	end.Watermark = types.EndOfTime
	return append(batches, end)
}

// A session aggregation that crashes again and again, each time built
// anew from its last checkpoint, emits what one that never crashed does:
// its restored sessions go on growing and merging, and its restored
// watermark tells late rows as before.
func TestSessionAggregateRestore(t *testing.T) {
	in := types.Schema{{Name: "k", Type: types.String()}, {Name: "ws", Type: types.Timestamp(3)},
		{Name: "we", Type: types.Timestamp(3)}, {Name: "v", Type: types.BigInt()}}
	calls := []sql.AggCall{
		{Fn: "COUNT", Arg: -1, T: types.BigInt().WithNotNull(true)},
		{Fn: "SUM", Arg: 3, T: types.BigInt()},
		{Fn: "MAX", Arg: 3, T: types.BigInt()},
	}
	for seed := range uint64(4) {
		batches := sessionBatches(rand.New(rand.NewPCG(seed, 4)), in)
		late := new(atomic.Int64)
		spec := SessionAggregateStateSpec("sessions", 7, in, []int{0, 1, 2}, 1, 2, calls, late)
		op, err := spec.NewWith(OperatorContext{})
		if err != nil {
			t.Fatal(err)
		}
		want := runOnce(t, op, batches)
		wantLate := late.Load()
		if len(want) < 50 || wantLate == 0 {
			t.Fatalf("seed %d: %d sessions, %d late rows: too few to test anything", seed, len(want), wantLate)
		}
		late.Store(0)
		got, crashes := crashLoop(t, seed, batches, spec.NewWith)
		if crashes < 10 {
			t.Fatalf("seed %d: %d crashes, too few", seed, crashes)
		}
		t.Logf("seed %d: %d sessions, %d late rows, %d crashes", seed, len(want), wantLate, crashes)
		sameRows(t, got, want)
		// A crash counts again the late rows it replays: at least as
		// many as once.
		if late.Load() < wantLate {
			t.Errorf("seed %d: %d late rows, want at least %d", seed, late.Load(), wantLate)
		}
	}
}
