package broker

import (
	"context"
	"fmt"
	"sort"
	"sync"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// OffsetsTopic is the compacted internal topic that keeps consumer
// groups' committed offsets. Its records use Kafka's own encoding
// (OffsetCommitKey v1, OffsetCommitValue v3), keyed by group, topic and
// partition; a tombstone forgets an offset.
const OffsetsTopic = "__consumer_offsets"

// GroupOffset is a consumer group's committed position in one partition:
// the offset of the next record the group will read.
type GroupOffset struct {
	Group     string
	Topic     string
	Partition int32
	Offset    int64
	Metadata  string
	Committed int64 // commit time, ms since the epoch
}

type groupKey struct {
	group, topic string
	partition    int32
}

// groupOffsets is the in-memory view of OffsetsTopic, rebuilt on open by
// reading the topic from its start. Writes go to the log first and reach
// the view only once durable, so the view never shows an offset a restart
// would lose.
type groupOffsets struct {
	mu struct {
		sync.RWMutex
		m map[groupKey]GroupOffset
	}
	writeMu sync.Mutex // orders appends with view updates
}

func (g *groupOffsets) load(b *Broker) error {
	g.mu.Lock()
	g.mu.m = make(map[groupKey]GroupOffset)
	g.mu.Unlock()
	_, end, err := b.Offsets(OffsetsTopic, 0)
	if err != nil {
		return err
	}
	r := b.NewReader(OffsetsTopic, 0, 0)
	for r.Offset() < end {
		rec, err := r.Next(context.Background())
		if err != nil {
			return fmt.Errorf("load %s: %w", OffsetsTopic, err)
		}
		g.apply(rec)
	}
	return nil
}

// apply folds one record of OffsetsTopic into the view. Records it does
// not understand (other key versions, group metadata) are skipped.
func (g *groupOffsets) apply(rec *Record) {
	var k kmsg.OffsetCommitKey
	if err := k.ReadFrom(rec.Key); err != nil || k.Version > 1 {
		return
	}
	key := groupKey{k.Group, k.Topic, k.Partition}
	g.mu.Lock()
	defer g.mu.Unlock()
	if rec.Value == nil {
		delete(g.mu.m, key)
		return
	}
	var v kmsg.OffsetCommitValue
	if err := v.ReadFrom(rec.Value); err != nil {
		return
	}
	g.mu.m[key] = GroupOffset{Group: k.Group, Topic: k.Topic, Partition: k.Partition, Offset: v.Offset, Metadata: v.Metadata, Committed: v.CommitTimestamp}
}

// CommitOffset durably records that group has consumed topic/partition up
// to (not including) offset.
func (b *Broker) CommitOffset(ctx context.Context, group, topic string, partition int32, offset int64, metadata string) error {
	return b.CommitOffsets(ctx, group, []GroupOffset{{Topic: topic, Partition: partition, Offset: offset, Metadata: metadata}})
}

// CommitOffsets durably records several of a group's offsets at once, in
// one batch: all of them are committed or none.
func (b *Broker) CommitOffsets(ctx context.Context, group string, offsets []GroupOffset) error {
	if group == "" {
		return fmt.Errorf("commit offset: empty group name")
	}
	if len(offsets) == 0 {
		return nil
	}
	now := b.opts.Clock.Now().UnixMilli()
	recs := make([]Record, 0, len(offsets))
	for _, o := range offsets {
		if _, err := b.partition(o.Topic, o.Partition); err != nil {
			return err
		}
		if o.Offset < 0 {
			return fmt.Errorf("commit offset: negative offset %d for %s/%d", o.Offset, o.Topic, o.Partition)
		}
		k := kmsg.NewOffsetCommitKey()
		k.Version = 1
		k.Group, k.Topic, k.Partition = group, o.Topic, o.Partition
		v := kmsg.NewOffsetCommitValue()
		v.Version = 3
		v.Offset, v.LeaderEpoch, v.Metadata, v.CommitTimestamp = o.Offset, -1, o.Metadata, now
		recs = append(recs, Record{Key: k.AppendTo(nil), Value: v.AppendTo(nil), Timestamp: now})
	}
	return b.writeGroupRecords(ctx, recs)
}

func (b *Broker) writeGroupRecords(ctx context.Context, recs []Record) error {
	g := &b.groups
	g.writeMu.Lock()
	defer g.writeMu.Unlock()
	// Wait for the outcome even if ctx ends: the view must follow the log.
	if _, err := b.AppendRecords(context.WithoutCancel(ctx), OffsetsTopic, 0, recs...); err != nil {
		return fmt.Errorf("commit offset: %w", err)
	}
	for i := range recs {
		g.apply(&recs[i])
	}
	return nil
}

// CommittedOffset returns a group's committed offset for a partition.
func (b *Broker) CommittedOffset(group, topic string, partition int32) (GroupOffset, bool) {
	g := &b.groups
	g.mu.RLock()
	defer g.mu.RUnlock()
	o, ok := g.mu.m[groupKey{group, topic, partition}]
	return o, ok
}

// GroupOffsets lists the offsets committed by group, sorted by topic and
// partition; an empty group lists every group's.
func (b *Broker) GroupOffsets(group string) []GroupOffset {
	g := &b.groups
	g.mu.RLock()
	var out []GroupOffset
	for k, o := range g.mu.m {
		if group == "" || k.group == group {
			out = append(out, o)
		}
	}
	g.mu.RUnlock()
	sort.Slice(out, func(i, j int) bool {
		a, c := out[i], out[j]
		if a.Group != c.Group {
			return a.Group < c.Group
		}
		if a.Topic != c.Topic {
			return a.Topic < c.Topic
		}
		return a.Partition < c.Partition
	})
	return out
}

// forgetTopic writes tombstones for every offset committed on a deleted
// topic, so a topic created later under the same name starts fresh.
func (g *groupOffsets) forgetTopic(b *Broker, topic string) error {
	g.mu.RLock()
	var recs []Record
	for k := range g.mu.m {
		if k.topic == topic {
			key := kmsg.NewOffsetCommitKey()
			key.Version = 1
			key.Group, key.Topic, key.Partition = k.group, k.topic, k.partition
			recs = append(recs, Record{Key: key.AppendTo(nil), Timestamp: b.opts.Clock.Now().UnixMilli()})
		}
	}
	g.mu.RUnlock()
	if len(recs) == 0 {
		return nil
	}
	return b.writeGroupRecords(context.Background(), recs)
}
