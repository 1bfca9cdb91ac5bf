package broker

import (
	"context"
	"fmt"
	"math/rand"
	"sync"
	"testing"
	"time"
)

// latestModel is the independent expectation: for every key its latest
// record, by offset.
func latestModel(all []got) map[string]got {
	m := make(map[string]got)
	for _, g := range all {
		m[g.key] = g
	}
	return m
}

// checkCompacted checks that after compaction the partition holds, in
// offset order, a subset of the original records with unchanged offsets,
// containing the latest record of every key, and, below activeBase, no
// superseded record.
func checkCompacted(t *testing.T, before, after []got, activeBase int64, tombstonesGone bool) {
	t.Helper()
	orig := make(map[int64]got, len(before))
	for _, g := range before {
		orig[g.offset] = g
	}
	latest := latestModel(before)
	var sealed []got
	for _, g := range before {
		if g.offset < activeBase {
			sealed = append(sealed, g)
		}
	}
	// The active segment is never compacted, and the cleaner maps keys in
	// sealed segments only: a sealed record is superseded by a later
	// sealed one.
	latestSealed := latestModel(sealed)
	seen := make(map[string]bool)
	prev := int64(-1)
	for _, g := range after {
		if g.offset <= prev {
			t.Fatalf("offsets not increasing: %d after %d", g.offset, prev)
		}
		prev = g.offset
		o, ok := orig[g.offset]
		if !ok || o != g {
			t.Fatalf("record at %d changed: %+v, was %+v", g.offset, g, o)
		}
		if g.offset < activeBase && latestSealed[g.key].offset != g.offset {
			t.Fatalf("superseded record kept at %d (key %s, latest sealed at %d)", g.offset, g.key, latestSealed[g.key].offset)
		}
		if tombstonesGone && g.null && g.offset < activeBase {
			t.Fatalf("tombstone kept at %d", g.offset)
		}
		seen[g.key] = true
	}
	for k, l := range latest {
		if !seen[k] && !(tombstonesGone && l.null) {
			t.Fatalf("latest record of key %s (offset %d) lost", k, l.offset)
		}
	}
}

func TestCompaction(t *testing.T) {
	forEachFS(t, func(t *testing.T, e *env) {
		e.create("kv", 1, map[string]string{"cleanup.policy": "compact", "segment.bytes": "2048", "delete.retention.ms": "60000"})
		rng := rand.New(rand.NewSource(1))
		ctx := context.Background()
		for i := 0; i < 300; i++ {
			recs := make([]Record, 1+rng.Intn(4))
			for j := range recs {
				k := fmt.Sprint("key", rng.Intn(20))
				recs[j] = Record{Key: []byte(k), Value: []byte(fmt.Sprint("v", i, ".", j)), Timestamp: e.clock.Now().UnixMilli()}
				if rng.Intn(10) == 0 {
					recs[j].Value = nil // tombstone
				}
			}
			if _, err := e.b.AppendRecords(ctx, "kv", 0, recs...); err != nil {
				t.Fatal(err)
			}
		}
		before := e.readAll("kv", 0, 0)
		segs := *e.b.mu.topics["kv"].parts[0].segs.Load()
		activeBase := segs[len(segs)-1].base
		st, err := e.b.Compact()
		if err != nil {
			t.Fatal(err)
		}
		if st.Segments == 0 || st.RecordsRemoved == 0 || st.BytesAfter >= st.BytesBefore {
			t.Fatalf("compaction did nothing: %+v", st)
		}
		after := e.readAll("kv", 0, 0)
		checkCompacted(t, before, after, activeBase, false)
		if len(after) >= len(before) {
			t.Fatalf("%d records before, %d after", len(before), len(after))
		}
		// The log's range is unchanged: offsets are never renumbered.
		if start, end, _ := e.b.Offsets("kv", 0); start != 0 || end != int64(len(before)) {
			t.Fatalf("range %d..%d", start, end)
		}
		// A second pass finds nothing more to do.
		if st, err := e.b.Compact(); err != nil || st.RecordsRemoved != 0 {
			t.Fatalf("second pass %+v %v", st, err)
		}
		// Tombstones go once delete.retention.ms has passed.
		e.clock.Advance(2 * time.Minute)
		if _, err := e.b.Compact(); err != nil {
			t.Fatal(err)
		}
		final := e.readAll("kv", 0, 0)
		checkCompacted(t, before, final, activeBase, true)
		// And it all survives a restart, from the rewritten files.
		e.reopen()
		if ev := e.b.Recovery(); len(ev) != 0 {
			t.Fatalf("recovery after compaction: %v", ev)
		}
		if again := e.readAll("kv", 0, 0); fmt.Sprint(again) != fmt.Sprint(final) {
			t.Fatalf("after reopen:\n%v\nwant\n%v", again, final)
		}
		// Reading from an offset that compaction removed starts at the next
		// record held.
		for _, g := range before {
			gs := e.readAll("kv", 0, g.offset)
			if len(gs) > 0 && gs[0].offset < g.offset {
				t.Fatalf("read from %d returned %d", g.offset, gs[0].offset)
			}
		}
	})
}

func TestCompactionInStepsWhenKeysExceedMemory(t *testing.T) {
	forEachFS(t, func(t *testing.T, e *env) {
		e.b.Close()
		opts := e.opts()
		opts.CleanerMaxKeys = 40 // a segment holds ~25 distinct keys
		b, err := Open(e.dir, opts)
		if err != nil {
			t.Fatal(err)
		}
		e.b = b
		e.create("kv", 1, map[string]string{"cleanup.policy": "compact", "segment.bytes": "1024"})
		for i := 0; i < 600; i++ {
			e.produce("kv", 0, 0, fmt.Sprint("key", i%150), fmt.Sprint(i))
		}
		before := e.readAll("kv", 0, 0)
		segs := *e.b.mu.topics["kv"].parts[0].segs.Load()
		activeBase := segs[len(segs)-1].base
		// Each pass covers only the segments whose keys fit; repeated
		// passes reach the same result as one with enough memory.
		passes, removed := 0, int64(0)
		for ; passes < 100; passes++ {
			st, err := e.b.Compact()
			if err != nil {
				t.Fatal(err)
			}
			if st.Segments == 0 && e.b.mu.topics["kv"].parts[0].cleanedTo == activeBase {
				break
			}
			removed += st.RecordsRemoved
		}
		if passes < 3 || removed == 0 {
			t.Fatalf("%d passes removed %d records: the key bound did not split the work", passes, removed)
		}
		after := e.readAll("kv", 0, 0)
		latest := latestModel(before)
		_ = latest
		checkCompacted(t, before, after, activeBase, false)
	})
}

func TestCompactionAlongsideAppendsAndReads(t *testing.T) {
	forEachFS(t, func(t *testing.T, e *env) {
		e.create("kv", 1, map[string]string{"cleanup.policy": "compact", "segment.bytes": "4096"})
		for i := 0; i < 400; i++ {
			e.produce("kv", 0, 0, fmt.Sprint("k", i%10), fmt.Sprint(i))
		}
		var wg sync.WaitGroup
		stop := make(chan struct{})
		errc := make(chan error, 1)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := e.b.Compact(); err != nil {
					errc <- err
					return
				}
			}
		}()
		for i := 400; i < 1000; i++ {
			e.produce("kv", 0, 0, fmt.Sprint("k", i%10), fmt.Sprint(i))
			// Readers run alongside too.
			if i%100 == 0 {
				_ = e.readAll("kv", 0, 0)
			}
		}
		close(stop)
		wg.Wait()
		select {
		case err := <-errc:
			t.Fatal(err)
		default:
		}
		if _, err := e.b.Compact(); err != nil {
			t.Fatal(err)
		}
		latest := latestModel(e.readAll("kv", 0, 0))
		for k := 0; k < 10; k++ {
			if got := latest[fmt.Sprint("k", k)].value; got != fmt.Sprint(990+k) {
				t.Fatalf("key k%d: latest %q", k, got)
			}
		}
	})
}
