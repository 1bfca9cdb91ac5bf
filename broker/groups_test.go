package broker

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"
)

func TestGroupOffsets(t *testing.T) {
	forEachFS(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		e.create("orders", 2, nil)
		e.create("users", 1, nil)
		if _, ok := e.b.CommittedOffset("g1", "orders", 0); ok {
			t.Fatal("offset before any commit")
		}
		for i := int64(1); i <= 50; i++ {
			if err := e.b.CommitOffset(ctx, "g1", "orders", 0, i, "meta"); err != nil {
				t.Fatal(err)
			}
		}
		must := func(err error) {
			t.Helper()
			if err != nil {
				t.Fatal(err)
			}
		}
		must(e.b.CommitOffset(ctx, "g1", "orders", 1, 7, ""))
		must(e.b.CommitOffset(ctx, "g2", "orders", 0, 3, ""))
		must(e.b.CommitOffset(ctx, "g2", "users", 0, 9, ""))
		if err := e.b.CommitOffset(ctx, "g1", "nope", 0, 1, ""); !errors.Is(err, ErrTopicNotFound) {
			t.Fatalf("commit on a missing topic: %v", err)
		}
		if err := e.b.CommitOffset(ctx, "g1", "orders", 5, 1, ""); !errors.Is(err, ErrPartitionNotFound) {
			t.Fatalf("commit on a missing partition: %v", err)
		}
		check := func() {
			t.Helper()
			o, ok := e.b.CommittedOffset("g1", "orders", 0)
			if !ok || o.Offset != 50 || o.Metadata != "meta" || o.Committed != e.clock.Now().UnixMilli() {
				t.Fatalf("g1 orders/0: %+v %v", o, ok)
			}
			if got := fmt.Sprint(offsetsOf(e.b.GroupOffsets("g1"))); got != "[orders/0=50 orders/1=7]" {
				t.Fatalf("g1: %s", got)
			}
			if got := fmt.Sprint(offsetsOf(e.b.GroupOffsets(""))); got != "[orders/0=50 orders/1=7 orders/0=3 users/0=9]" {
				t.Fatalf("all: %s", got)
			}
		}
		check()
		// The view is rebuilt from the compacted topic on open...
		e.reopen()
		check()
		// ...also after compaction dropped the superseded commits.
		p := e.b.mu.topics[OffsetsTopic].parts[0]
		p.mu.Lock()
		err := p.roll(e.clock.Now())
		p.mu.Unlock()
		if err != nil {
			t.Fatal(err)
		}
		st, err := e.b.Compact()
		if err != nil || st.RecordsRemoved < 49 {
			t.Fatalf("compacting %s: %+v %v", OffsetsTopic, st, err)
		}
		e.reopen()
		check()
		// Commits are stored in Kafka's own format.
		r := e.b.NewReader(OffsetsTopic, 0, 0)
		rec, ok, err := r.TryNext()
		if err != nil || !ok {
			t.Fatal(err)
		}
		var k kmsg.OffsetCommitKey
		var v kmsg.OffsetCommitValue
		if k.ReadFrom(rec.Key) != nil || v.ReadFrom(rec.Value) != nil || k.Group == "" {
			t.Fatalf("record is not a Kafka offset commit: key %x", rec.Key)
		}
		// Deleting a topic forgets its offsets, durably.
		if err := e.b.DeleteTopic("orders"); err != nil {
			t.Fatal(err)
		}
		e.reopen()
		if got := fmt.Sprint(offsetsOf(e.b.GroupOffsets(""))); got != "[users/0=9]" {
			t.Fatalf("after deleting orders: %s", got)
		}
	})
}

func offsetsOf(gs []GroupOffset) []string {
	var s []string
	for _, g := range gs {
		s = append(s, fmt.Sprintf("%s/%d=%d", g.Topic, g.Partition, g.Offset))
	}
	return s
}
