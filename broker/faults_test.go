package broker

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"math/rand"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluice-sql/sluice/broker/vfs"
)

// faultFS injects failures into segment log writes and index writes.
type faultFS struct {
	vfs.FS
	partialWrite atomic.Bool // next .log Write writes half and fails
	failIndex    atomic.Bool // next Create of an index temp file fails
	onMkdir      atomic.Pointer[func(dir string)]
}

func (f *faultFS) MkdirAll(dir string, perm fs.FileMode) error {
	if hook := f.onMkdir.Load(); hook != nil {
		(*hook)(dir)
	}
	return f.FS.MkdirAll(dir, perm)
}

type faultFile struct {
	vfs.File
	fs *faultFS
}

var errInjected = errors.New("injected failure")

func (f *faultFS) Create(name string) (vfs.File, error) {
	if strings.HasSuffix(name, indexSuffix+".tmp") && f.failIndex.CompareAndSwap(true, false) {
		return nil, errInjected
	}
	file, err := f.FS.Create(name)
	if err != nil {
		return nil, err
	}
	return faultFile{file, f}, nil
}

func (f *faultFS) OpenReadWrite(name string) (vfs.File, error) {
	file, err := f.FS.OpenReadWrite(name)
	if err != nil {
		return nil, err
	}
	return faultFile{file, f}, nil
}

func (f faultFile) Write(p []byte) (int, error) {
	if strings.HasSuffix(f.Name(), logSuffix) && len(p) > 1 && f.fs.partialWrite.CompareAndSwap(true, false) {
		n, _ := f.File.Write(p[:len(p)/2])
		return n, errInjected
	}
	return f.File.Write(p)
}

// forEachFaultFS runs test against both file systems wrapped in a faultFS.
func forEachFaultFS(t *testing.T, test func(t *testing.T, e *env, f *faultFS)) {
	t.Run("os", func(t *testing.T) {
		f := &faultFS{FS: vfs.Default()}
		test(t, newEnv(t, f, t.TempDir()), f)
	})
	t.Run("mem", func(t *testing.T) {
		f := &faultFS{FS: vfs.NewMem()}
		test(t, newEnv(t, f, "/data"), f)
	})
}

// A failed write is cut back and reported, and the partition goes on: the
// next append must land right after the last good batch. A new segment's
// file is opened without O_APPEND, so after the truncate the file offset
// still points past the cut and the next batch is written after a hole of
// zeros.
func TestAppendAfterFailedWrite(t *testing.T) {
	forEachFaultFS(t, func(t *testing.T, e *env, f *faultFS) {
		e.create("t", 1, nil)
		e.produce("t", 0, 1, "", "a")
		f.partialWrite.Store(true)
		if _, err := e.b.AppendRecords(context.Background(), "t", 0, Record{Value: []byte("torn")}); !errors.Is(err, errInjected) {
			t.Fatalf("injected write failure: %v", err)
		}
		if r := e.produce("t", 0, 3, "", "b"); r.BaseOffset != 1 {
			t.Fatalf("append after the failure got offset %d", r.BaseOffset)
		}
		// Both acknowledged records are readable...
		if _, err := e.b.Fetch("t", 0, 0, 1<<20, nil); err != nil {
			t.Errorf("fetch after the failed write: %v", err)
		}
		// ...and survive a restart.
		e.reopen()
		if ev := e.b.Recovery(); len(ev) != 0 {
			t.Errorf("recovery cut acknowledged data: %v", ev)
		}
		if got := values(e.readAll("t", 0, 0)); got != "a,b" {
			t.Fatalf("after reopen read %q, want a,b", got)
		}
	})
}

// A failed index write when a segment is sealed is "not data loss", but
// the segment stays unsealed (mem != nil) until a restart, and
// sealedPrefix stops at it: retention can never again delete it or any
// segment after it.
func TestRetentionAfterFailedSeal(t *testing.T) {
	forEachFaultFS(t, func(t *testing.T, e *env, f *faultFS) {
		e.create("t", 1, map[string]string{"retention.ms": "60000", "segment.bytes": "300"})
		ts := e.clock.Now().UnixMilli()
		f.failIndex.Store(true) // the first roll's seal fails
		for i := 0; i < 10; i++ {
			e.produce("t", 0, ts, "", fmt.Sprint(i))
		}
		if f.failIndex.Load() {
			t.Fatal("no index write was attempted")
		}
		e.clock.Advance(time.Hour)
		e.produce("t", 0, e.clock.Now().UnixMilli(), "", "new") // keeps the active segment
		if err := e.b.EnforceRetention(); err != nil {
			t.Fatal(err)
		}
		segs := *e.b.mu.topics["t"].parts[0].segs.Load()
		if start, _, _ := e.b.Offsets("t", 0); start != segs[len(segs)-1].base {
			t.Fatalf("every sealed segment expired an hour ago, but the log still starts at %d, not at the active segment's base %d", start, segs[len(segs)-1].base)
		}
	})
}

// After Close the data directory's lock is released, so another process
// may own it. DeleteTopic never checks b.mu.closed: it deletes the
// topic's files anyway and reports success.
func TestDeleteTopicAfterClose(t *testing.T) {
	forEachFS(t, func(t *testing.T, e *env) {
		e.create("t", 1, nil)
		e.produce("t", 0, 1, "", "keep me")
		b := e.b
		if err := b.Close(); err != nil {
			t.Fatal(err)
		}
		err := b.DeleteTopic("t")
		e.open()
		if !errors.Is(err, ErrClosed) {
			t.Errorf("DeleteTopic on a closed broker: %v, want ErrClosed", err)
		}
		if _, end, err := e.b.Offsets("t", 0); err != nil || end != 1 {
			t.Fatalf("topic after a delete on the closed broker: end %d, %v", end, err)
		}
	})
}

// CreateInternalTopic passes opening=true to createTopic, which skips the
// closed check meant only for Open: on a closed broker it writes into the
// unlocked directory and starts syncer goroutines that nothing stops.
func TestCreateInternalTopicAfterClose(t *testing.T) {
	forEachFS(t, func(t *testing.T, e *env) {
		b := e.b
		if err := b.Close(); err != nil {
			t.Fatal(err)
		}
		err := b.CreateInternalTopic("__jobs", 1, nil)
		if !errors.Is(err, ErrClosed) {
			t.Errorf("CreateInternalTopic on a closed broker: %v, want ErrClosed", err)
		}
		if tp, ok := b.mu.topics["__jobs"]; ok && !tp.parts[0].isClosed() {
			t.Errorf("partition of a topic created after Close is open: its syncer goroutine leaks")
			tp.parts[0].close()
		}
		e.open()
	})
}

// fetch checks offset against the log start it loaded, then
// acquireSegment falls back to the first segment (segs[max(i, 0)]) when
// retention has removed the one holding offset in between. The read then
// starts past the requested offset: a batch at or past the high watermark
// gives a false *CorruptionError ("no batch holds offset"), otherwise the
// fetch silently skips the removed records instead of returning
// ErrOffsetOutOfRange. The race needs retention to run between two atomic
// loads, so the test repeats it until it shows or the time is up.
func TestFetchRacingRetention(t *testing.T) {
	forEachFS(t, func(t *testing.T, e *env) {
		e.create("t", 1, map[string]string{"segment.bytes": "200", "retention.bytes": "1"})
		deadline := time.Now().Add(3 * time.Second)
		var wg sync.WaitGroup
		stop := make(chan struct{})
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := e.b.AppendRecords(context.Background(), "t", 0, Record{Value: []byte(fmt.Sprint(i))}); err != nil {
					t.Error(err)
					return
				}
				if err := e.b.EnforceRetention(); err != nil {
					t.Error(err)
					return
				}
			}
		}()
		defer func() { close(stop); wg.Wait() }()
		for time.Now().Before(deadline) {
			start, _, err := e.b.Offsets("t", 0)
			if err != nil {
				t.Fatal(err)
			}
			res, err := e.b.Fetch("t", 0, start, 1<<20, nil)
			if err != nil {
				if errors.Is(err, ErrOffsetOutOfRange) {
					continue
				}
				t.Fatalf("fetch at the log start %d while retention runs: %v", start, err)
			}
			if len(res.Batches) > 0 {
				if h, _ := ParseBatchHeader(res.Batches); h.BaseOffset > start {
					t.Fatalf("fetch at %d skipped to %d without ErrOffsetOutOfRange", start, h.BaseOffset)
				}
			}
		}
	})
}

// A CreateTopic in progress when Close runs either finishes first (Close
// waits for it, then closes the new topic too) or is refused: after Close
// returns, no partition is left open with a syncer nothing stops.
func TestCreateTopicRacingClose(t *testing.T) {
	forEachFaultFS(t, func(t *testing.T, e *env, f *faultFS) {
		entered, proceed := make(chan struct{}), make(chan struct{})
		var once sync.Once
		hook := func(dir string) {
			if strings.Contains(dir, tmpPrefix+"late") {
				once.Do(func() { close(entered); <-proceed })
			}
		}
		f.onMkdir.Store(&hook)
		b := e.b
		errc := make(chan error, 1)
		go func() { errc <- b.CreateTopic("late", 1, nil) }()
		<-entered
		closed := make(chan error, 1)
		go func() { closed <- b.Close() }()
		close(proceed)
		if err := <-closed; err != nil {
			t.Fatal(err)
		}
		if err := <-errc; err != nil && !errors.Is(err, ErrClosed) {
			t.Errorf("CreateTopic racing Close: %v, want success or ErrClosed", err)
		}
		b.mu.RLock()
		tp, ok := b.mu.topics["late"]
		b.mu.RUnlock()
		if ok && !tp.parts[0].isClosed() {
			t.Errorf("partition of a topic created during Close is still open after Close returned")
			tp.parts[0].close()
		}
		e.open()
	})
}

// parseMs checks the lower bound for plain milliseconds and Go durations,
// but not for the "<n>d" form; and SegmentMs is turned into a
// time.Duration by multiplying by a million, which wraps for values above
// about 292 years (9223372036854775807, Kafka's Long.MAX_VALUE, becomes
// -1ms). Either way segment.ms ends below 1 and the partition rolls a new
// segment on every append.
func TestSegmentMsLimits(t *testing.T) {
	if _, err := ParseTopicConfig(map[string]string{"segment.ms": "0d"}); !errors.Is(err, ErrInvalidConfig) {
		t.Errorf("segment.ms=0d accepted: %v", err)
	}
	forEachFS(t, func(t *testing.T, e *env) {
		e.create("t", 1, map[string]string{"segment.ms": "9223372036854775807"})
		for i := 0; i < 5; i++ {
			e.produce("t", 0, int64(i), "", fmt.Sprint(i))
		}
		if n := len(e.segmentFiles("t", 0)); n != 1 {
			t.Fatalf("segment.ms=%d: five small appends made %d segments", int64(math.MaxInt64), n)
		}
	})
}

// Passing regression test: OffsetForTime against a model (the first
// record in offset order with a timestamp at or after ts) with unordered
// timestamps, across sealed indexes, a reopen that turns a sealed index
// back into an active one and appends to it, and compaction.
func TestOffsetForTimeModel(t *testing.T) {
	forEachFS(t, func(t *testing.T, e *env) {
		e.create("kv", 1, map[string]string{"cleanup.policy": "compact", "segment.bytes": "20000", "delete.retention.ms": "1"})
		rng := rand.New(rand.NewSource(7))
		pad := strings.Repeat("p", 80)
		produce := func(n int) {
			for i := 0; i < n; i++ {
				recs := make([]Record, 1+rng.Intn(5))
				for j := range recs {
					recs[j] = Record{Key: []byte(fmt.Sprint("k", rng.Intn(30))), Value: []byte(pad), Timestamp: int64(1000 + rng.Intn(5000))}
					if rng.Intn(8) == 0 {
						recs[j].Value = nil
					}
				}
				if _, err := e.b.AppendRecords(context.Background(), "kv", 0, recs...); err != nil {
					t.Fatal(err)
				}
			}
		}
		check := func(what string) {
			t.Helper()
			all := e.readAll("kv", 0, 0)
			_, end, _ := e.b.Offsets("kv", 0)
			for ts := int64(900); ts < 6100; ts += 37 {
				want := end
				for _, g := range all {
					if g.ts >= ts {
						want = g.offset
						break
					}
				}
				if off, err := e.b.OffsetForTime("kv", 0, ts); err != nil || off != want {
					t.Fatalf("%s: offset for time %d: %d %v, want %d", what, ts, off, err, want)
				}
			}
		}
		produce(300)
		check("fresh")
		e.reopen()
		check("reopened")
		produce(300)
		check("appended after reopen")
		e.clock.Advance(time.Hour)
		if _, err := e.b.Compact(); err != nil {
			t.Fatal(err)
		}
		check("compacted")
		e.reopen()
		check("compacted, reopened")
	})
}
