package broker

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluice-sql/sluice/broker/vfs"
)

// fakeClock is a clock the test moves by hand.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// env is one broker under test, with what is needed to reopen it.
type env struct {
	t     *testing.T
	fs    vfs.FS
	dir   string
	clock *fakeClock
	b     *Broker
}

// forEachFS runs a test against the operating system's file system and
// the in-memory one.
func forEachFS(t *testing.T, test func(t *testing.T, e *env)) {
	t.Run("os", func(t *testing.T) {
		test(t, newEnv(t, vfs.Default(), t.TempDir()))
	})
	t.Run("mem", func(t *testing.T) {
		test(t, newEnv(t, vfs.NewMem(), "/data"))
	})
}

func newEnv(t *testing.T, fsys vfs.FS, dir string) *env {
	e := &env{t: t, fs: fsys, dir: dir, clock: newFakeClock()}
	e.open()
	t.Cleanup(func() {
		if e.b != nil {
			e.b.Close()
		}
	})
	return e
}

func (e *env) opts() Options {
	return Options{FS: e.fs, Clock: e.clock, MaintenanceInterval: -1}
}

func (e *env) open() {
	e.t.Helper()
	b, err := Open(e.dir, e.opts())
	if err != nil {
		e.t.Fatal(err)
	}
	e.b = b
}

func (e *env) reopen() {
	e.t.Helper()
	if err := e.b.Close(); err != nil {
		e.t.Fatal(err)
	}
	e.open()
}

func (e *env) create(name string, partitions int, cfg map[string]string) {
	e.t.Helper()
	if err := e.b.CreateTopic(name, partitions, cfg); err != nil {
		e.t.Fatal(err)
	}
}

// produce appends one batch of values (keyed by key+value when key is
// set) with timestamps ts, ts+1, ...
func (e *env) produce(topic string, part int32, ts int64, key string, values ...string) AppendResult {
	e.t.Helper()
	recs := make([]Record, len(values))
	for i, v := range values {
		recs[i] = Record{Value: []byte(v), Timestamp: ts + int64(i)}
		if key != "" {
			recs[i].Key = []byte(key)
		}
	}
	r, err := e.b.AppendRecords(context.Background(), topic, part, recs...)
	if err != nil {
		e.t.Fatal(err)
	}
	return r
}

type got struct {
	offset int64
	key    string
	value  string
	null   bool
	ts     int64
}

// readAll reads a partition from offset to its high watermark.
func (e *env) readAll(topic string, part int32, from int64) []got {
	e.t.Helper()
	_, end, err := e.b.Offsets(topic, part)
	if err != nil {
		e.t.Fatal(err)
	}
	r := e.b.NewReader(topic, part, from)
	var out []got
	for r.Offset() < end {
		rec, ok, err := r.TryNext()
		if err != nil {
			e.t.Fatal(err)
		}
		if !ok {
			break
		}
		out = append(out, got{rec.Offset, string(rec.Key), string(rec.Value), rec.Value == nil, rec.Timestamp})
	}
	return out
}

func values(gs []got) string {
	var s []string
	for _, g := range gs {
		s = append(s, g.value)
	}
	return strings.Join(s, ",")
}

func TestTopicAdmin(t *testing.T) {
	forEachFS(t, func(t *testing.T, e *env) {
		e.create("orders", 3, map[string]string{"retention.ms": "1000"})
		e.create("a.b_c-1", 1, nil)
		if err := e.b.CreateTopic("orders", 1, nil); !errors.Is(err, ErrTopicExists) {
			t.Fatalf("duplicate: %v", err)
		}
		for _, bad := range []string{"", ".", "..", "has space", "slash/x", "ü", strings.Repeat("x", 250), "__mine"} {
			if err := e.b.CreateTopic(bad, 1, nil); !errors.Is(err, ErrInvalidTopic) {
				t.Errorf("name %q: %v", bad, err)
			}
		}
		for _, n := range []int{0, -1, MaxPartitions + 1} {
			if err := e.b.CreateTopic("p", n, nil); !errors.Is(err, ErrInvalidTopic) {
				t.Errorf("%d partitions: %v", n, err)
			}
		}
		if err := e.b.CreateTopic("p", 1, map[string]string{"bogus": "1"}); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("bad config: %v", err)
		}
		var names []string
		for _, ti := range e.b.Topics() {
			names = append(names, ti.Name)
		}
		if got := strings.Join(names, " "); got != "__consumer_offsets a.b_c-1 orders" {
			t.Fatalf("topics %q", got)
		}
		ti, err := e.b.DescribeTopic("orders")
		if err != nil {
			t.Fatal(err)
		}
		if len(ti.Partitions) != 3 || ti.Config.RetentionMs != 1000 || ti.Overrides["retention.ms"] != "1000" || ti.Internal {
			t.Fatalf("describe %+v", ti)
		}
		if _, err := e.b.DescribeTopic("nope"); !errors.Is(err, ErrTopicNotFound) {
			t.Fatalf("describe missing: %v", err)
		}
		if _, err := e.b.AppendRecords(context.Background(), "orders", 3, Record{Value: []byte("x")}); !errors.Is(err, ErrPartitionNotFound) {
			t.Fatalf("bad partition: %v", err)
		}

		// Topics and their config survive a restart.
		e.produce("orders", 1, 1, "", "a", "b")
		e.reopen()
		ti, err = e.b.DescribeTopic("orders")
		if err != nil || ti.Config.RetentionMs != 1000 || ti.Partitions[1].EndOffset != 2 {
			t.Fatalf("after reopen %+v %v", ti, err)
		}

		// Deletion removes the data; a new topic of the same name is new.
		if err := e.b.DeleteTopic("orders"); err != nil {
			t.Fatal(err)
		}
		if _, err := e.fs.Stat(filepath.Join(e.dir, topicsDir, "orders")); !isNotExist(err) {
			t.Fatalf("topic directory still there: %v", err)
		}
		if names, _ := e.fs.ReadDir(filepath.Join(e.dir, deletedDir)); len(names) != 0 {
			t.Fatalf("deleted data left: %v", names)
		}
		if err := e.b.DeleteTopic("orders"); !errors.Is(err, ErrTopicNotFound) {
			t.Fatalf("second delete: %v", err)
		}
		if err := e.b.DeleteTopic(OffsetsTopic); !errors.Is(err, ErrInvalidTopic) {
			t.Fatalf("delete internal: %v", err)
		}
		e.create("orders", 1, nil)
		if _, end, _ := e.b.Offsets("orders", 0); end != 0 {
			t.Fatalf("recreated topic ends at %d", end)
		}
		e.reopen()
		if _, _, err := e.b.Offsets("orders", 0); err != nil {
			t.Fatal(err)
		}
	})
}

func TestAppendAndRead(t *testing.T) {
	forEachFS(t, func(t *testing.T, e *env) {
		e.create("t", 2, map[string]string{"segment.bytes": "1024"})
		var want []string
		for i := 0; i < 60; i++ {
			vs := []string{fmt.Sprintf("v%d-a", i), fmt.Sprintf("v%d-b", i), fmt.Sprintf("v%d-c", i)}
			r := e.produce("t", 0, int64(i*10), "", vs...)
			if r.BaseOffset != int64(3*i) || r.LastOffset != int64(3*i+2) {
				t.Fatalf("batch %d got offsets %d..%d", i, r.BaseOffset, r.LastOffset)
			}
			want = append(want, vs...)
		}
		check := func() {
			t.Helper()
			gs := e.readAll("t", 0, 0)
			if values(gs) != strings.Join(want, ",") {
				t.Fatalf("read %s", values(gs))
			}
			for i, g := range gs {
				if g.offset != int64(i) {
					t.Fatalf("record %d has offset %d", i, g.offset)
				}
			}
			// Start inside a batch: the records before are skipped.
			if gs := e.readAll("t", 0, 100); len(gs) != 80 || gs[0].offset != 100 || gs[0].value != "v33-b" {
				t.Fatalf("from 100: %d records, first %+v", len(gs), gs[0])
			}
			if gs := e.readAll("t", 1, 0); len(gs) != 0 {
				t.Fatalf("partition 1 has %d records", len(gs))
			}
		}
		check()
		ti, _ := e.b.DescribeTopic("t")
		if ti.Partitions[0].Segments < 5 {
			t.Fatalf("expected rolled segments, have %d", ti.Partitions[0].Segments)
		}
		e.reopen()
		if ev := e.b.Recovery(); len(ev) != 0 {
			t.Fatalf("clean reopen recovered %v", ev)
		}
		check()
		// Offsets continue after a reopen.
		if r := e.produce("t", 0, 0, "", "after"); r.BaseOffset != 180 {
			t.Fatalf("after reopen got offset %d", r.BaseOffset)
		}
		e.reopen()
		if gs := e.readAll("t", 0, 179); values(gs) != "v59-c,after" {
			t.Fatalf("tail %s", values(gs))
		}
	})
}

func TestFetch(t *testing.T) {
	forEachFS(t, func(t *testing.T, e *env) {
		e.create("t", 1, nil)
		big := strings.Repeat("x", 5000)
		e.produce("t", 0, 0, "", big, big)         // offsets 0-1, one batch > 4 KiB
		e.produce("t", 0, 0, "", "s1", "s2")       // 2-3
		e.produce("t", 0, 0, "", "s3")             // 4
		res, err := e.b.Fetch("t", 0, 0, 100, nil) // smaller than the first batch
		if err != nil {
			t.Fatal(err)
		}
		h, err := CheckBatch(res.Batches)
		if err != nil || h.BaseOffset != 0 || res.NextOffset != 2 || res.HighWatermark != 5 || res.LogStartOffset != 0 {
			t.Fatalf("oversized first batch: %+v %v (%d bytes)", res, err, len(res.Batches))
		}
		res, err = e.b.Fetch("t", 0, 3, 1<<20, nil)
		if err != nil {
			t.Fatal(err)
		}
		// The batch holding offset 3 starts at 2; both batches come back whole.
		if h, _ := ParseBatchHeader(res.Batches); h.BaseOffset != 2 || res.NextOffset != 5 {
			t.Fatalf("fetch from 3: base %d next %d", h.BaseOffset, res.NextOffset)
		}
		if res, err := e.b.Fetch("t", 0, 5, 1<<20, nil); err != nil || len(res.Batches) != 0 {
			t.Fatalf("fetch at the end: %d bytes, %v", len(res.Batches), err)
		}
		if _, err := e.b.Fetch("t", 0, 6, 1<<20, nil); !errors.Is(err, ErrOffsetOutOfRange) {
			t.Fatalf("fetch past the end: %v", err)
		}
		if _, err := e.b.Fetch("t", 0, -1, 1<<20, nil); !errors.Is(err, ErrOffsetOutOfRange) {
			t.Fatalf("fetch before the start: %v", err)
		}
	})
}

func TestAppendRejects(t *testing.T) {
	forEachFS(t, func(t *testing.T, e *env) {
		e.create("small", 1, map[string]string{"max.message.bytes": "200"})
		e.create("kv", 1, map[string]string{"cleanup.policy": "compact"})
		ctx := context.Background()
		if _, err := e.b.AppendRecords(ctx, "small", 0, Record{Value: make([]byte, 300)}); !errors.Is(err, ErrRecordTooLarge) {
			t.Fatalf("large batch: %v", err)
		}
		if _, err := e.b.AppendRecords(ctx, "kv", 0, Record{Key: []byte("k"), Value: []byte("v")}, Record{Value: []byte("keyless")}); !errors.Is(err, ErrInvalidRecord) {
			t.Fatalf("keyless record in compacted topic: %v", err)
		}
		if _, err := e.b.Append(ctx, "kv", 0, []byte("not a batch")); !errors.Is(err, ErrCorruptBatch) {
			t.Fatalf("garbage: %v", err)
		}
		b := buildBatch(t, 0, []Record{{Key: []byte("k"), Value: []byte("v")}})
		b[len(b)-1] ^= 0xff
		if _, err := e.b.Append(ctx, "kv", 0, b); !errors.Is(err, ErrCorruptBatch) {
			t.Fatalf("bad checksum: %v", err)
		}
		if _, err := e.b.AppendRecords(ctx, "nope", 0, Record{Value: []byte("v")}); !errors.Is(err, ErrTopicNotFound) {
			t.Fatalf("missing topic: %v", err)
		}
		// Nothing rejected reached the log.
		for _, tp := range []string{"small", "kv"} {
			if _, end, _ := e.b.Offsets(tp, 0); end != 0 {
				t.Fatalf("%s ends at %d", tp, end)
			}
		}
	})
}

func TestAsyncAppendsAcknowledgeInOrder(t *testing.T) {
	forEachFS(t, func(t *testing.T, e *env) {
		e.create("t", 1, map[string]string{"segment.bytes": "4096"})
		const n = 500
		var mu sync.Mutex
		var bases []int64
		var wg sync.WaitGroup
		var bb BatchBuilder
		for i := 0; i < n; i++ {
			bb.Reset()
			for j := 0; j < 4; j++ {
				bb.Add(&Record{Value: []byte(fmt.Sprintf("%d.%d", i, j))})
			}
			wg.Add(1)
			e.b.AppendAsync("t", 0, bb.Build(), func(r AppendResult) {
				defer wg.Done()
				if r.Err != nil {
					t.Error(r.Err)
				}
				mu.Lock()
				bases = append(bases, r.BaseOffset)
				mu.Unlock()
			})
		}
		wg.Wait()
		for i, b := range bases {
			if b != int64(4*i) {
				t.Fatalf("acknowledgement %d has base offset %d", i, b)
			}
		}
		gs := e.readAll("t", 0, 0)
		if len(gs) != 4*n || gs[4*n-1].value != fmt.Sprintf("%d.3", n-1) {
			t.Fatalf("read %d records", len(gs))
		}
	})
}

func TestReaderWaitsForData(t *testing.T) {
	forEachFS(t, func(t *testing.T, e *env) {
		e.create("t", 1, nil)
		r := e.b.NewReader("t", 0, 0)
		got := make(chan string)
		errc := make(chan error, 1)
		go func() {
			rec, err := r.Next(context.Background())
			if err != nil {
				errc <- err
				return
			}
			got <- string(rec.Value)
		}()
		select {
		case v := <-got:
			t.Fatalf("read %q from an empty partition", v)
		case err := <-errc:
			t.Fatal(err)
		default:
		}
		e.produce("t", 0, 0, "", "wake")
		select {
		case v := <-got:
			if v != "wake" {
				t.Fatalf("read %q", v)
			}
		case err := <-errc:
			t.Fatal(err)
		case <-time.After(10 * time.Second):
			t.Fatal("reader did not wake")
		}
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if _, err := r.Next(ctx); !errors.Is(err, context.Canceled) {
			t.Fatalf("cancelled wait: %v", err)
		}
		// Closing the broker releases a waiting reader.
		go func() {
			_, err := e.b.NewReader("t", 0, 1).Next(context.Background())
			errc <- err
		}()
		e.b.Close()
		if err := <-errc; !errors.Is(err, ErrClosed) {
			t.Fatalf("wait across close: %v", err)
		}
		e.b = nil
	})
}

func TestOffsetForTime(t *testing.T) {
	forEachFS(t, func(t *testing.T, e *env) {
		e.create("t", 1, map[string]string{"segment.bytes": "600"})
		// Batches of 5 records; timestamps rise by 10 per batch, with one
		// late record in each batch.
		for i := 0; i < 40; i++ {
			recs := make([]Record, 5)
			for j := range recs {
				recs[j] = Record{Value: []byte(fmt.Sprint(i, j)), Timestamp: int64(1000 + i*10 + j)}
			}
			recs[4].Timestamp = int64(1000 + i*10 - 25) // late
			if _, err := e.b.AppendRecords(context.Background(), "t", 0, recs...); err != nil {
				t.Fatal(err)
			}
		}
		check := func() {
			t.Helper()
			all := e.readAll("t", 0, 0)
			for _, ts := range []int64{0, 999, 1000, 1001, 1004, 1005, 1133, 1200, 1391, 1393, 1394, 5000} {
				want := int64(len(all)) // none: the high watermark
				for _, g := range all {
					if g.ts >= ts {
						want = g.offset
						break
					}
				}
				off, err := e.b.OffsetForTime("t", 0, ts)
				if err != nil || off != want {
					t.Errorf("offset for time %d: %d %v, want %d", ts, off, err, want)
				}
			}
		}
		check()
		e.reopen() // sealed indexes from disk
		check()
	})
}

func TestDataDirectoryLock(t *testing.T) {
	forEachFS(t, func(t *testing.T, e *env) {
		opts := e.opts()
		opts.Owner = "process 4242 (sluice topic consume t)"
		_, err := Open(e.dir, opts)
		if !errors.Is(err, ErrDataDirInUse) || !strings.Contains(err.Error(), fmt.Sprintf("process %d", os.Getpid())) {
			t.Fatalf("second open: %v", err)
		}
		e.b.Close()
		b, err := Open(e.dir, opts)
		if err != nil {
			t.Fatalf("open after close: %v", err)
		}
		_, err = Open(e.dir, e.opts())
		if !errors.Is(err, ErrDataDirInUse) || !strings.Contains(err.Error(), "process 4242 (sluice topic consume t)") {
			t.Fatalf("lock error does not name the holder: %v", err)
		}
		e.b = b
	})
}

// TestAcknowledgedMeansDurable crashes the in-memory file system, which
// keeps only what was synced, right after appends are acknowledged.
func TestAcknowledgedMeansDurable(t *testing.T) {
	mem := vfs.NewMem()
	e := newEnv(t, mem, "/data")
	e.create("t", 1, map[string]string{"segment.bytes": "2048"})
	for i := 0; i < 100; i++ {
		e.produce("t", 0, 0, "", fmt.Sprint(i))
	}
	crashed := mem.Crash()
	e.b.Close()
	e2 := newEnv(t, crashed, "/data")
	gs := e2.readAll("t", 0, 0)
	if len(gs) != 100 || gs[99].value != "99" {
		t.Fatalf("after crash read %d records", len(gs))
	}
}

// TestFsyncIntervalPolicy shows the trade: appends are acknowledged before
// they are durable, so a machine crash before the next sync loses them,
// cleanly, while a process restart keeps them.
func TestFsyncIntervalPolicy(t *testing.T) {
	mem := vfs.NewMem()
	b, err := Open("/data", Options{FS: mem, FsyncInterval: time.Hour, MaintenanceInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.CreateTopic("t", 1, nil); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 10; i++ {
		if _, err := b.AppendRecords(context.Background(), "t", 0, Record{Value: []byte(fmt.Sprint(i))}); err != nil {
			t.Fatal(err)
		}
	}
	if _, end, _ := b.Offsets("t", 0); end != 10 {
		t.Fatalf("readable end %d before any sync", end)
	}
	crashed := mem.Crash()
	if err := b.Close(); err != nil { // a clean close syncs
		t.Fatal(err)
	}
	b2, err := Open("/data", Options{FS: crashed, MaintenanceInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	if _, end, _ := b2.Offsets("t", 0); end != 0 {
		t.Fatalf("machine crash kept %d unsynced records", end)
	}
	b2.Close()
	b3, err := Open("/data", Options{FS: mem, MaintenanceInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer b3.Close()
	if _, end, _ := b3.Offsets("t", 0); end != 10 {
		t.Fatalf("after a clean close: %d records", end)
	}
}

func TestIndexRebuiltWhenMissingOrDamaged(t *testing.T) {
	forEachFS(t, func(t *testing.T, e *env) {
		e.create("t", 1, map[string]string{"segment.bytes": "1024"})
		for i := 0; i < 50; i++ {
			e.produce("t", 0, int64(i), "", fmt.Sprint(i), "x")
		}
		before := e.readAll("t", 0, 0)
		e.b.Close()
		dir := filepath.Join(e.dir, topicsDir, "t", "0")
		names, _ := e.fs.ReadDir(dir)
		n := 0
		for _, name := range names {
			switch filepath.Ext(name) {
			case indexSuffix:
				if n%2 == 0 {
					e.fs.Remove(filepath.Join(dir, name))
				} else {
					f, _ := e.fs.OpenReadWrite(filepath.Join(dir, name))
					f.Write([]byte("junk"))
					f.Close()
				}
				n++
			}
		}
		if n < 3 {
			t.Fatalf("only %d indexes", n)
		}
		e.open()
		if ev := e.b.Recovery(); len(ev) != 0 {
			t.Fatalf("rebuilding indexes cut data: %v", ev)
		}
		after := e.readAll("t", 0, 0)
		if values(after) != values(before) || len(after) != 100 {
			t.Fatalf("after rebuild read %d records", len(after))
		}
		for _, off := range []int64{0, 17, 50, 99} {
			if gs := e.readAll("t", 0, off); len(gs) == 0 || gs[0].offset != off {
				t.Fatalf("lookup %d: %v", off, gs)
			}
		}
	})
}
