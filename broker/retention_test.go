package broker

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// segmentFiles lists a partition's log files.
func (e *env) segmentFiles(topic string, part int) []string {
	e.t.Helper()
	names, err := e.fs.ReadDir(filepath.Join(e.dir, topicsDir, topic, fmt.Sprint(part)))
	if err != nil {
		e.t.Fatal(err)
	}
	var logs []string
	for _, n := range names {
		if strings.HasSuffix(n, logSuffix) {
			logs = append(logs, n)
		}
	}
	return logs
}

func TestRetentionByTime(t *testing.T) {
	forEachFS(t, func(t *testing.T, e *env) {
		e.create("t", 1, map[string]string{"retention.ms": "60000", "segment.bytes": "300"})
		now := e.clock.Now().UnixMilli()
		// Ten batches, one segment each (a batch is ~80 bytes, a segment
		// takes three), the first ones an hour old.
		for i := 0; i < 10; i++ {
			ts := now - 3600_000 + int64(i)*60_000*3 // batch i is 60-i*3 minutes old
			if i >= 6 {
				ts = now
			}
			e.produce("t", 0, ts, "", fmt.Sprint(i))
		}
		before := len(e.segmentFiles("t", 0))
		if err := e.b.EnforceRetention(); err != nil {
			t.Fatal(err)
		}
		start, _, _ := e.b.Offsets("t", 0)
		gs := e.readAll("t", 0, start)
		// Segments are removed whole, oldest first: a segment is kept while
		// any record in it is within retention. Batches 0-5 are expired.
		if start == 0 || start > 6 || gs[0].offset != start || len(gs) != int(10-start) || gs[len(gs)-1].value != "9" {
			t.Fatalf("after retention: start %d, %s", start, values(gs))
		}
		if after := len(e.segmentFiles("t", 0)); after >= before {
			t.Fatalf("segment files %d -> %d", before, after)
		}
		if _, err := e.b.Fetch("t", 0, 0, 1<<20, nil); !errors.Is(err, ErrOffsetOutOfRange) {
			t.Fatalf("fetch below the start: %v", err)
		}
		// Everything expires once time moves on, the active segment too;
		// offsets keep counting.
		e.clock.Advance(2 * time.Hour)
		if err := e.b.EnforceRetention(); err != nil {
			t.Fatal(err)
		}
		start, end, _ := e.b.Offsets("t", 0)
		if start != 10 || end != 10 {
			t.Fatalf("after full expiry the partition holds %d to %d", start, end)
		}
		if r := e.produce("t", 0, e.clock.Now().UnixMilli(), "", "new"); r.BaseOffset != 10 {
			t.Fatalf("next offset %d", r.BaseOffset)
		}
		e.reopen()
		if start, end, _ := e.b.Offsets("t", 0); start != 10 || end != 11 {
			t.Fatalf("after reopen the partition holds %d to %d", start, end)
		}
	})
}

func TestRetentionByTimeKeepsSegmentsWithRecentRecords(t *testing.T) {
	forEachFS(t, func(t *testing.T, e *env) {
		e.create("t", 1, map[string]string{"retention.ms": "60000", "segment.bytes": "150"})
		now := e.clock.Now().UnixMilli()
		old, recent := now-120_000, now-1_000
		e.produce("t", 0, old, "", "a")       // segment 0
		e.produce("t", 0, old, "", "b")       // segment 1
		e.produce("t", 0, recent, "", "c")    // segment 2
		e.produce("t", 0, old, "", "d-late")  // segment 3: old timestamp after a recent one
		e.produce("t", 0, recent, "", "tail") // active
		if err := e.b.EnforceRetention(); err != nil {
			t.Fatal(err)
		}
		// Retention deletes from the oldest and stops at the first segment
		// to keep, so the late record behind "c" stays.
		start, _, _ := e.b.Offsets("t", 0)
		if gs := e.readAll("t", 0, start); start != 2 || values(gs) != "c,d-late,tail" {
			t.Fatalf("start %d: %s", start, values(gs))
		}
	})
}

func TestRetentionBySize(t *testing.T) {
	forEachFS(t, func(t *testing.T, e *env) {
		e.create("t", 1, map[string]string{"retention.bytes": "1000", "segment.bytes": "400"})
		for i := 0; i < 30; i++ {
			e.produce("t", 0, e.clock.Now().UnixMilli(), "", fmt.Sprintf("record-%02d", i), "pad-pad-pad-pad")
		}
		if err := e.b.EnforceRetention(); err != nil {
			t.Fatal(err)
		}
		ti, _ := e.b.DescribeTopic("t")
		p := ti.Partitions[0]
		if p.Bytes > 1000+400 || p.Bytes < 1000-400 {
			t.Fatalf("partition keeps %d bytes in %d segments", p.Bytes, p.Segments)
		}
		gs := e.readAll("t", 0, p.StartOffset)
		if len(gs) == 0 || gs[len(gs)-1].value != "pad-pad-pad-pad" || gs[len(gs)-2].value != "record-29" || int64(len(gs)) != 60-p.StartOffset {
			t.Fatalf("kept %d records from %d", len(gs), p.StartOffset)
		}
		if len(e.segmentFiles("t", 0)) != p.Segments {
			t.Fatalf("files %v, segments %d", e.segmentFiles("t", 0), p.Segments)
		}
	})
}

func TestRetentionSkipsCompactOnlyTopics(t *testing.T) {
	forEachFS(t, func(t *testing.T, e *env) {
		e.create("kv", 1, map[string]string{"cleanup.policy": "compact", "retention.ms": "1", "retention.bytes": "1", "segment.bytes": "200"})
		for i := 0; i < 10; i++ {
			e.produce("kv", 0, 0, fmt.Sprint("k", i), "v")
		}
		if err := e.b.EnforceRetention(); err != nil {
			t.Fatal(err)
		}
		if start, end, _ := e.b.Offsets("kv", 0); start != 0 || end != 10 {
			t.Fatalf("compacted topic lost data to retention: %d..%d", start, end)
		}
	})
}

func TestSegmentRollsByAge(t *testing.T) {
	forEachFS(t, func(t *testing.T, e *env) {
		e.create("t", 1, map[string]string{"segment.ms": "1000"})
		e.produce("t", 0, 0, "", "a")
		e.produce("t", 0, 0, "", "b")
		if n := len(e.segmentFiles("t", 0)); n != 1 {
			t.Fatalf("%d segments before the segment's age passed", n)
		}
		e.clock.Advance(1001 * time.Millisecond)
		e.produce("t", 0, 0, "", "c")
		if n := len(e.segmentFiles("t", 0)); n != 2 {
			t.Fatalf("%d segments after segment.ms passed", n)
		}
		if gs := e.readAll("t", 0, 0); values(gs) != "a,b,c" {
			t.Fatalf("read %s", values(gs))
		}
	})
}
