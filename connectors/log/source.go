package log

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/valyala/fastjson"

	"github.com/sluice-sql/sluice/broker"
	"github.com/sluice-sql/sluice/connectors"
	"github.com/sluice-sql/sluice/connectors/format"
	"github.com/sluice-sql/sluice/sql/types"
)

// StartKind says where a Source starts reading each partition.
type StartKind uint8

// The start positions.
const (
	// Earliest starts at the first offset each partition holds.
	Earliest StartKind = iota
	// Latest starts at each partition's end at Open: its last stable
	// offset when reading committed records (so a transaction open at
	// Open is read once it commits), its high watermark otherwise. Only
	// records appended (or committed) after Open are read.
	Latest
	// Offsets starts each partition at the offset given for it, and a
	// partition not given at its earliest offset (Flink's
	// 'specific-offsets').
	Offsets
	// Timestamp starts each partition at its first record whose
	// timestamp is at or after the given time (broker.OffsetForTime).
	Timestamp
	// GroupOffsets starts each partition at the offset a consumer group
	// committed for it (broker.CommittedOffset), and a partition without
	// one, or whose committed offset is no longer in the log, where
	// Start.Reset says. The source does not commit offsets itself.
	GroupOffsets
)

// ErrNoCommittedOffset is returned by Open for a GroupOffsets start when a
// partition has no usable committed offset and Start.Reset is NoReset.
var ErrNoCommittedOffset = errors.New("no committed offset")

// Reset says where a GroupOffsets start begins a partition the group has
// no usable offset for, as Kafka's auto.offset.reset does.
type Reset uint8

// The resets.
const (
	// NoReset fails Open with ErrNoCommittedOffset.
	NoReset Reset = iota
	ResetEarliest
	ResetLatest
)

// Start is a Source's start position.
type Start struct {
	Kind StartKind
	// Offsets holds, for Kind Offsets, the start offset of partitions;
	// one the topic does not have is an error at Open.
	Offsets map[int32]int64
	// Group and Reset are, for Kind GroupOffsets, the consumer group
	// whose committed offsets to start from and where to start without
	// one.
	Group string
	Reset Reset
	// Time is the start time for Kind Timestamp (millisecond precision,
	// as record timestamps have).
	Time time.Time
}

// SourceOptions configure a Source.
type SourceOptions struct {
	Broker *broker.Broker
	Topic  string
	// Schema is the table's columns, which record values decode into.
	Schema types.Schema
	// Format names the value format ("json", "csv"); FormatOptions are
	// its options (see format.NewDecoder).
	Format        string
	FormatOptions map[string]string
	// Partitions, if not nil, is the subset of partitions to read;
	// otherwise every partition of the topic. Either way the instance
	// reads only those its Split owns.
	Partitions []int32
	Split      connectors.Split
	Start      Start
	// Bounded makes the source stop at the ends seen at Open: each
	// partition's last stable offset, or with ReadUncommitted its high
	// watermark.
	Bounded bool
	// ReadUncommitted reads the records of open and aborted transactions
	// too, up to the high watermark (Kafka's isolation.level
	// read_uncommitted). By default a source reads committed: it never
	// returns a record at or past a partition's last stable offset, nor
	// one of an aborted transaction, so it sees an exactly-once sink's
	// output only once the checkpoint that wrote it has completed.
	ReadUncommitted bool
	// Upsert reads the topic as an upsert table (what an upsert sink
	// writes): a record is an insert of its row, a tombstone a delete of
	// the row its key names (decoded from the key, in the value's format,
	// other columns NULL). Making a changelog of that, with the rows
	// each key had before, is the job's UpsertNormalize.
	Upsert bool
	// Changelog reads records a changelog sink wrote,
	// {"op":"c|u|d","before":...,"after":...}, as changes: "c" an insert
	// of after, "u" an update-before of before (when there is one) and
	// an update-after of after, "d" a delete of before. Rows are in
	// Format.
	Changelog bool
}

// Validate checks the options.
func (o *SourceOptions) Validate() error {
	if o.Broker == nil {
		return errors.New("log source: no broker")
	}
	if o.Topic == "" {
		return errors.New("log source: no topic")
	}
	if o.Start.Kind > GroupOffsets {
		return fmt.Errorf("log source: unknown start kind %d", o.Start.Kind)
	}
	if o.Start.Kind == GroupOffsets && o.Start.Group == "" {
		return errors.New("log source: a start at group offsets needs a group")
	}
	return o.Split.Validate()
}

// Source reads a topic's records as rows. It implements connectors.Source.
type Source struct {
	opts SourceOptions
	dec  format.Decoder
	// env and buf parse changelog records.
	env   fastjson.Parser
	buf   []byte
	parts []*partReader
	next  int // the partition Next starts with, for fairness
	// ids are the partitions read, in parts' order; spans is the storage
	// of SourceStatus.Spans, reused by each Next.
	ids   []int32
	spans []connectors.PartitionSpan
}

type partReader struct {
	id  int32
	r   *broker.Reader
	end int64 // bounded: the end at Open (LSO, or high watermark)
	// pending is a record Wait read to know that one was there: Next
	// returns it first. It points into r, valid until r's next read.
	pending *broker.Record
	done    bool
}

// offset is the offset of the next record the partition will return.
func (p *partReader) offset() int64 {
	if p.pending != nil {
		return p.pending.Offset
	}
	return p.r.Offset()
}

var (
	_ connectors.PartitionedSource  = (*Source)(nil)
	_ connectors.CheckpointedSource = (*Source)(nil)
)

// NewSource returns a Source over opts. It checks the options and the
// format; the topic is looked up in Open.
func NewSource(opts SourceOptions) (*Source, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	dec, err := format.NewDecoder(opts.Format, opts.Schema, opts.FormatOptions)
	if err != nil {
		return nil, fmt.Errorf("log source %s: %w", opts.Topic, err)
	}
	return &Source{opts: opts, dec: dec}, nil
}

// Open resolves the partitions and their start offsets.
func (s *Source) Open(ctx context.Context) error {
	b, topic := s.opts.Broker, s.opts.Topic
	n, err := b.Partitions(topic)
	if err != nil {
		return fmt.Errorf("log source: %w", err)
	}
	ids := s.opts.Partitions
	if ids == nil {
		for p := range n {
			ids = append(ids, int32(p))
		}
	}
	if s.opts.Start.Kind == Offsets {
		for id := range s.opts.Start.Offsets {
			if id < 0 || int(id) >= n {
				return fmt.Errorf("log source: %w: a start offset is given for partition %d, but %s has partitions 0 to %d",
					broker.ErrPartitionNotFound, id, topic, n-1)
			}
		}
	}
	for _, id := range ids {
		if id < 0 || int(id) >= n {
			return fmt.Errorf("log source: %w: %s has partitions 0 to %d, not %d", broker.ErrPartitionNotFound, topic, n-1, id)
		}
		if !s.opts.Split.Owns(int(id)) {
			continue
		}
		start, hw, end, err := s.offsets(id)
		if err != nil {
			return err
		}
		var off int64
		switch s.opts.Start.Kind {
		case Earliest:
			off = start
		case Latest:
			off = end
		case Offsets:
			o, ok := s.opts.Start.Offsets[id]
			if !ok {
				o = start
			}
			if o < start || o > hw {
				return fmt.Errorf("log source: %w: start offset %d of %s partition %d is outside %d to %d",
					broker.ErrOffsetOutOfRange, o, topic, id, start, hw)
			}
			off = o
		case Timestamp:
			if off, err = b.OffsetForTime(topic, id, s.opts.Start.Time.UnixMilli()); err != nil {
				return fmt.Errorf("log source: %w", err)
			}
		case GroupOffsets:
			if off, err = s.groupOffset(id, start, hw, end); err != nil {
				return err
			}
		}
		s.parts = append(s.parts, &partReader{
			id: id, r: b.NewReader(topic, id, off, broker.WithIsolation(s.isolation())), end: end,
			done: s.opts.Bounded && off >= end,
		})
		s.ids = append(s.ids, id)
	}
	return nil
}

// Partitions returns the partitions the source reads, fixed at Open:
// those of the topic (or of SourceOptions.Partitions) its split owns.
// It implements connectors.PartitionedSource.
func (s *Source) Partitions() []int32 { return s.ids }

func (s *Source) isolation() broker.IsolationLevel {
	if s.opts.ReadUncommitted {
		return broker.ReadUncommitted
	}
	return broker.ReadCommitted
}

// offsets returns the first offset partition id holds, its high
// watermark, and its end for this source: the last stable offset when
// reading committed records, else the high watermark. A bounded source
// stops at that end and a Latest start begins there, so that neither
// waits on nor includes a transaction not yet decided, and none that
// commits later is skipped. (The LSO is read first: it never passes the
// high watermark read after it.)
func (s *Source) offsets(id int32) (start, hw, end int64, err error) {
	end = -1
	if !s.opts.ReadUncommitted {
		if end, err = s.opts.Broker.LastStableOffset(s.opts.Topic, id); err != nil {
			return 0, 0, 0, fmt.Errorf("log source: %w", err)
		}
	}
	if start, hw, err = s.opts.Broker.Offsets(s.opts.Topic, id); err != nil {
		return 0, 0, 0, fmt.Errorf("log source: %w", err)
	}
	if end < 0 {
		end = hw
	}
	return start, hw, end, nil
}

// groupOffset returns where a GroupOffsets start begins partition id,
// whose log holds offsets start to hw and whose end for this source is
// end.
func (s *Source) groupOffset(id int32, start, hw, end int64) (int64, error) {
	g := s.opts.Start.Group
	o, ok := s.opts.Broker.CommittedOffset(g, s.opts.Topic, id)
	if ok && o.Offset >= start && o.Offset <= hw {
		return o.Offset, nil
	}
	switch s.opts.Start.Reset {
	case ResetEarliest:
		return start, nil
	case ResetLatest:
		return end, nil
	}
	if ok {
		return 0, fmt.Errorf("log source: %w: group %s committed offset %d for %s partition %d, outside %d to %d, and there is no reset",
			ErrNoCommittedOffset, g, o.Offset, s.opts.Topic, id, start, hw)
	}
	return 0, fmt.Errorf("log source: %w: group %s has none for %s partition %d, and there is no reset",
		ErrNoCommittedOffset, g, s.opts.Topic, id)
}

// Position returns the next offset to read of every partition the source
// reads: the position a checkpoint saves. It implements
// connectors.CheckpointedSource. Control batches and the batches of
// aborted transactions carry no row, so the position may be past them
// (the reader skipped them) or before them (reading from there skips
// them again): either way a Seek to it returns exactly the rows after
// the last one returned.
func (s *Source) Position() []connectors.PartitionPosition {
	pos := make([]connectors.PartitionPosition, len(s.parts))
	for i, p := range s.parts {
		pos[i] = connectors.PartitionPosition{Partition: p.id, Offset: p.offset()}
	}
	return pos
}

// Seek resumes the partitions the source reads at the positions given
// for them. A position outside what the partition holds now (retention
// removed it, or the topic was recreated) is an error: resuming
// elsewhere would lose or repeat rows silently.
func (s *Source) Seek(pos []connectors.PartitionPosition) error {
	for _, q := range pos {
		for _, p := range s.parts {
			if p.id != q.Partition {
				continue
			}
			start, end, err := s.opts.Broker.Offsets(s.opts.Topic, p.id)
			if err != nil {
				return fmt.Errorf("log source: %w", err)
			}
			if q.Offset < start || q.Offset > end {
				return fmt.Errorf("log source: %w: cannot resume %s partition %d at offset %d, which the checkpoint saved: the partition now holds %d to %d",
					broker.ErrOffsetOutOfRange, s.opts.Topic, p.id, q.Offset, start, end)
			}
			p.r.SetOffset(q.Offset)
			p.pending = nil
			p.done = s.opts.Bounded && q.Offset >= p.end
		}
	}
	return nil
}

// Next appends up to max rows, taking partitions in turn.
func (s *Source) Next(ctx context.Context, b *types.Batch, max int) (connectors.SourceStatus, error) {
	st := connectors.SourceStatus{EventTime: connectors.NoEventTime}
	s.spans = s.spans[:0]
	rows := 0
	for range len(s.parts) {
		if rows >= max {
			break
		}
		p := s.parts[s.next]
		s.next = (s.next + 1) % len(s.parts)
		from := b.Len()
		for !p.done && rows < max {
			rec := p.pending
			p.pending = nil
			if rec == nil {
				if s.opts.Bounded && p.r.Offset() >= p.end {
					p.done = true // compaction gaps and control batches count too
					break
				}
				var ok bool
				var err error
				if rec, ok, err = p.r.TryNext(); err != nil {
					return st, fmt.Errorf("log source: %w", err)
				}
				if !ok {
					break
				}
			}
			if s.opts.Bounded && rec.Offset >= p.end {
				p.done = true
				break
			}
			if rec.Value == nil {
				if !s.opts.Upsert || rec.Key == nil {
					continue // a tombstone carries no row
				}
				if err := s.dec.Decode(rec.Key, b); err != nil {
					return st, &connectors.RecordError{Topic: s.opts.Topic, Partition: p.id, Offset: rec.Offset, Err: fmt.Errorf("tombstone key: %w", err)}
				}
				b.SetKind(b.Len()-1, types.Delete)
				rows++
				continue
			}
			if s.opts.Changelog {
				n, err := s.decodeChange(rec.Value, b)
				if err != nil {
					return st, &connectors.RecordError{Topic: s.opts.Topic, Partition: p.id, Offset: rec.Offset, Err: err}
				}
				rows += n
				continue
			}
			if err := s.dec.Decode(rec.Value, b); err != nil {
				return st, &connectors.RecordError{Topic: s.opts.Topic, Partition: p.id, Offset: rec.Offset, Err: err}
			}
			rows++
		}
		if s.opts.Bounded && p.r.Offset() >= p.end {
			p.done = true // so the last batch already says Done
		}
		if to := b.Len(); to > from {
			s.spans = append(s.spans, connectors.PartitionSpan{Partition: p.id, Start: from, End: to})
		}
	}
	if len(s.spans) > 0 {
		st.Spans = s.spans
	}
	switch {
	case !slices.ContainsFunc(s.parts, func(p *partReader) bool { return !p.done }) && s.opts.Bounded:
		st.State = connectors.Done
	case rows >= max:
		st.State = connectors.More
	default:
		st.State = connectors.Wait
	}
	return st, nil
}

// Wait blocks until a partition the source reads has a record for Next,
// or ctx ends. A bounded source's remaining records are all below its
// end, readable now, so for it Wait returns at once.
func (s *Source) Wait(ctx context.Context) error {
	switch {
	case s.opts.Bounded:
		return ctx.Err()
	case len(s.parts) == 0:
		<-ctx.Done() // an instance that owns no partition never has rows
		return ctx.Err()
	case len(s.parts) == 1:
		return s.wait(ctx, s.parts[0])
	}
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errs := make(chan error, len(s.parts))
	var wg sync.WaitGroup
	for _, p := range s.parts {
		wg.Go(func() { errs <- s.wait(wctx, p) })
	}
	err := <-errs // the first partition to wake, or ctx's end
	cancel()
	wg.Wait()
	if err != nil && ctx.Err() != nil {
		return ctx.Err()
	}
	return err
}

// wait reads p's next record, blocking until there is one, and keeps it
// for Next. Reading it is how a wait at the source's isolation is
// exact: at read_committed, appends of an open transaction or an abort
// marker move the high watermark but bring no row, and the reader waits
// on for the last stable offset (the broker's notification, no polling).
func (s *Source) wait(ctx context.Context, p *partReader) error {
	if p.pending != nil {
		return nil
	}
	rec, err := p.r.Next(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("log source: %w", err)
	}
	p.pending = rec
	return nil
}

// Close releases the readers. The broker stays open: it is not the
// source's.
func (s *Source) Close() error {
	s.parts, s.ids = nil, nil
	return nil
}

// decodeChange appends the rows of one changelog record to b and returns
// how many.
func (s *Source) decodeChange(value []byte, b *types.Batch) (int, error) {
	v, err := s.env.ParseBytes(value)
	if err != nil {
		return 0, fmt.Errorf("changelog record: %w", err)
	}
	row := func(field string, kind types.ChangeKind) (bool, error) {
		r := v.Get(field)
		if r == nil || r.Type() == fastjson.TypeNull {
			return false, nil
		}
		s.buf = r.MarshalTo(s.buf[:0])
		if err := s.dec.Decode(s.buf, b); err != nil {
			return false, fmt.Errorf("changelog %s: %w", field, err)
		}
		b.SetKind(b.Len()-1, kind)
		return true, nil
	}
	need := func(field string, kind types.ChangeKind) (int, error) {
		ok, err := row(field, kind)
		if err == nil && !ok {
			err = fmt.Errorf("changelog record without %q", field)
		}
		return 1, err
	}
	switch op := string(v.GetStringBytes("op")); op {
	case "c", "r":
		return need("after", types.Insert)
	case "d":
		return need("before", types.Delete)
	case "u":
		n := 0
		ok, err := row("before", types.UpdateBefore)
		if err != nil {
			return 0, err
		}
		if ok {
			n++
		}
		m, err := need("after", types.UpdateAfter)
		return n + m, err
	default:
		return 0, fmt.Errorf("changelog record with op %q (want c, u or d)", op)
	}
}
