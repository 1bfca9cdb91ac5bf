package runtime

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/sluice-sql/sluice/connectors"
	"github.com/sluice-sql/sluice/sql"
	"github.com/sluice-sql/sluice/sql/types"
	"github.com/sluice-sql/sluice/state"
)

// A job ranking per tumbling window that is killed again and again, each
// time restarted from its last checkpoint, commits exactly the rankings
// of one failure-free run: the windows open at a checkpoint still fire
// after a restart, with the rows they held, and none fires twice.
func TestWindowTopNCheckpointRecovery(t *testing.T) {
	const n = 60000
	tumble := &sql.Window{Kind: sql.Tumble, TimeCol: 1, Size: 50_000, Out: evWindowed}
	// The 3 latest rows per key and window; v breaks ties in ts, so that
	// the ranking does not depend on the order rows arrive in.
	rank := &sql.Rank{Partition: []int{0, 4, 5}, Order: []sql.SortKey{{Col: 1, Desc: true}, {Col: 3}}, Limit: 3}
	pipeline := func(db *state.DB, l *txnLog) Pipeline {
		return Pipeline{
			Name: "topn", Parallelism: 2, State: db, StateCacheBytes: 16 << 10,
			CheckpointInterval: 5 * time.Millisecond,
			NewSink:            l.newSink,
			Stages: []Stage{
				{Name: "src", Schema: evSchema, Watermark: evWatermark,
					NewSource: func(sp connectors.Split) (connectors.Source, error) { return newEventSource(n, sp), nil },
					Operators: []OperatorSpec{WindowAssignSpec("tumble", evSchema, tumble)}},
				{Name: "topn", Schema: evWindowed, Inputs: []StageInput{{Stage: 0, Kind: ExchangeHash, Keys: []int{0, 4, 5}}},
					Operators: []OperatorSpec{TopNSpec("topn", 1, evWindowed, rank, 5, false)}},
			},
		}
	}
	want := runKilled(t, 0, 0, pipeline)
	if len(want) < 1000 {
		t.Fatalf("the failure-free run ranked %d rows: too few to test anything", len(want))
	}
	got := runKilled(t, 20, 1, pipeline)
	t.Logf("%d rows ranked", len(want))
	sameRows(t, got, want)
}

// topNBatches makes rows (k, ws, we, v) of 10 s tumbling windows at
// random times around a watermark that moves on: mostly on time, some
// late, with values that often tie.
func topNBatches(rng *rand.Rand, in types.Schema) []*types.Batch {
	const sec, size = int64(1_000_000), int64(10)
	var batches []*types.Batch
	wm := int64(0)
	for range 600 {
		b := types.NewBatch(in, 8)
		for range rng.IntN(8) {
			ts := wm - 8 + rng.Int64N(30)
			ws := windowStart(ts, size, 0)
			b.Cols[0].AppendString(fmt.Sprintf("k%d", rng.IntN(4)))
			b.Cols[1].AppendInt(ws * sec)
			b.Cols[2].AppendInt((ws + size) * sec)
			b.Cols[3].AppendInt(rng.Int64N(50))
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

// A Top-N per window that crashes again and again, each time built anew
// from its last checkpoint, emits what one that never crashed does: its
// restored windows fire with their rows, ties still keep arrival order,
// and its restored watermark tells late rows as before.
func TestWindowTopNRestore(t *testing.T) {
	in := types.Schema{{Name: "k", Type: types.String()}, {Name: "ws", Type: types.Timestamp(3)},
		{Name: "we", Type: types.Timestamp(3)}, {Name: "v", Type: types.BigInt()}}
	rank := &sql.Rank{Partition: []int{0, 1, 2}, Order: []sql.SortKey{{Col: 3, Desc: true}}, Limit: 3}
	for seed := range uint64(4) {
		batches := topNBatches(rand.New(rand.NewPCG(seed, 5)), in)
		spec := TopNSpec("topn", 7, in, rank, 2, false)
		late := spec.Late
		op, err := spec.NewWith(OperatorContext{})
		if err != nil {
			t.Fatal(err)
		}
		want := runOnce(t, op, batches)
		wantLate := late.Load()
		if len(want) < 300 || wantLate == 0 {
			t.Fatalf("seed %d: %d rows, %d late rows: too few to test anything", seed, len(want), wantLate)
		}
		late.Store(0)
		got, crashes := crashLoop(t, seed, batches, spec.NewWith)
		if crashes < 10 {
			t.Fatalf("seed %d: %d crashes, too few", seed, crashes)
		}
		t.Logf("seed %d: %d rows, %d late rows, %d crashes", seed, len(want), wantLate, crashes)
		sameRows(t, got, want)
		if late.Load() < wantLate {
			t.Errorf("seed %d: %d late rows, want at least %d", seed, late.Load(), wantLate)
		}
	}
}

// A snapshot writes what changed since the last one only: with nothing
// processed in between, nothing; the Top-N's partitions are in its state
// already, so it writes at most its watermark.
func TestSnapshotWritesChangesOnly(t *testing.T) {
	in := types.Schema{{Name: "k", Type: types.String()}, {Name: "ws", Type: types.Timestamp(3)},
		{Name: "we", Type: types.Timestamp(3)}, {Name: "v", Type: types.BigInt()}}
	count := []sql.AggCall{{Fn: "COUNT", Arg: -1, T: types.BigInt().WithNotNull(true)}}
	rank := &sql.Rank{Partition: []int{0, 1, 2}, Order: []sql.SortKey{{Col: 3, Desc: true}}, Limit: 3}
	for _, tc := range []struct {
		name string
		spec OperatorSpec
		// wantDirty is what a snapshot after the second batch leaves to
		// commit: the one key it touched (and the watermark).
		wantDirty int
	}{
		{"session", SessionAggregateStateSpec("s", 1, in, []int{0, 1, 2}, 1, 2, count, nil), 2},
		{"window top-n", TopNSpec("t", 1, in, rank, 2, false), 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db, err := state.Open(t.TempDir(), state.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			op, err := tc.spec.NewWith(OperatorContext{Parallelism: 1, State: db})
			if err != nil {
				t.Fatal(err)
			}
			st := storeOf(op)
			batch := func(wm int64, keys ...string) {
				b := types.NewBatch(in, len(keys))
				for i, k := range keys {
					b.Cols[0].AppendString(k)
					b.Cols[1].AppendInt(100 * 1_000_000)
					b.Cols[2].AppendInt(110 * 1_000_000)
					b.Cols[3].AppendInt(int64(i))
					b.SetLen(i + 1)
				}
				b.Watermark = wm * 1_000_000
				if err := op.Process(b, func(*types.Batch) error { return nil }); err != nil {
					t.Fatal(err)
				}
			}
			snapshot := func(epoch uint64) int {
				if err := op.(Snapshotter).Snapshot(); err != nil {
					t.Fatal(err)
				}
				dirty := st.Stats().DirtyEntries
				if err := db.Commit(epoch, nil); err != nil {
					t.Fatal(err)
				}
				return dirty
			}
			batch(1, "a", "b", "c", "d")
			if d := snapshot(1); d != 5 {
				t.Errorf("the first snapshot left %d entries to commit, want 5 (4 keys and the watermark)", d)
			}
			if d := snapshot(2); d != 0 {
				t.Errorf("a snapshot with nothing new left %d entries to commit, want 0", d)
			}
			batch(2, "b")
			if d := snapshot(3); d != tc.wantDirty {
				t.Errorf("a snapshot after one key changed left %d entries to commit, want %d", d, tc.wantDirty)
			}
		})
	}
}

// storeOf returns the state store of a SessionAggregate or TopN.
func storeOf(op Operator) *state.Store {
	switch o := op.(type) {
	case *SessionAggregate:
		return o.st
	case *TopN:
		return o.st
	}
	return nil
}
