package log

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/sluice-sql/sluice/broker"
	"github.com/sluice-sql/sluice/connectors"
	"github.com/sluice-sql/sluice/connectors/format"
	"github.com/sluice-sql/sluice/sql/types"
)

// Clock tells the time; the sink stamps records with it.
type Clock interface {
	Now() time.Time
}

type systemClock struct{}

func (systemClock) Now() time.Time { return time.Now() }

// DefaultMaxInFlight is how many appends a Sink keeps unacknowledged by
// default: enough to overlap encoding with the broker's group commit
// while an fsync takes many batches' encoding time, as on a busy disk. An
// append in flight holds no buffer (the broker has written it when
// AppendAsync returns), so the bound costs little memory; what it bounds
// is the data a Flush waits to see synced.
const DefaultMaxInFlight = 64

// SinkOptions configure a Sink.
type SinkOptions struct {
	Broker *broker.Broker
	Topic  string
	// Schema is the columns of the rows written.
	Schema types.Schema
	// Format and FormatOptions choose the record format, for values and
	// keys alike.
	Format        string
	FormatOptions map[string]string
	// KeyColumns, if any, name the columns that make the record key;
	// rows are then partitioned by KeyPartition of the key. Without them
	// records have a null key and each Write goes whole to the next
	// partition in turn, starting at partition Split.Index (mod the
	// partition count), so that parallel sinks start apart.
	KeyColumns []string
	// Split is this sink instance's place among the job's.
	Split connectors.Split
	// Upsert makes the topic a table keyed by KeyColumns (the table's
	// primary key): an insert or update-after writes the row under its
	// key, an update-before writes nothing (the update-after that
	// follows replaces it), a delete writes a tombstone (a null value).
	// Compaction then keeps each key's latest row.
	Upsert bool
	// Changelog writes every change as a record
	// {"op":"c|u|d","before":row|null,"after":row|null} (Debezium's
	// shape; rows in Format): an update-before is held and written with
	// the update-after that follows it, as one "u".
	Changelog bool
	// MaxInFlight bounds the unacknowledged appends; default
	// DefaultMaxInFlight.
	MaxInFlight int
	// Clock stamps records; default the system clock.
	Clock Clock
	// TransactionalIDPrefix, for a TransactionalSink only, is where its
	// transactional ids start: split i writes under <prefix>/<i>/a and
	// <prefix>/<i>/b in turn (see TransactionalIDs). It must be unique
	// to the job and sink table and stable across the job's restarts;
	// the registry makes it sluice/<job id>/<table>.
	TransactionalIDPrefix string
}

// EnsureDefaults fills in unset options.
func (o *SinkOptions) EnsureDefaults() {
	if o.MaxInFlight == 0 {
		o.MaxInFlight = DefaultMaxInFlight
	}
	if o.Clock == nil {
		o.Clock = systemClock{}
	}
}

// Validate checks the options.
func (o *SinkOptions) Validate() error {
	if o.Broker == nil {
		return errors.New("log sink: no broker")
	}
	if o.Topic == "" {
		return errors.New("log sink: no topic")
	}
	if o.MaxInFlight < 1 {
		return fmt.Errorf("log sink: max in flight %d is below 1", o.MaxInFlight)
	}
	if o.Upsert && len(o.KeyColumns) == 0 {
		return errors.New("log sink: an upsert sink needs key columns")
	}
	if o.Upsert && o.Changelog {
		return errors.New("log sink: a sink is an upsert table or a changelog, not both")
	}
	return nil
}

// Sink appends rows to a topic as records. It implements connectors.Sink.
type Sink struct {
	opts    SinkOptions
	enc     format.Encoder
	keyEnc  format.Encoder
	keyCols []int
	parts   int
	rr      int // the next keyless partition

	// slots holds one token per append in flight; Flush fills it to know
	// that none is.
	slots chan struct{}
	mu    struct {
		sync.Mutex
		err error // the first append failure, sticky
	}

	builders []broker.BatchBuilder // one per partition, reused
	touched  []int                 // partitions with records in this Write
	keyBatch types.Batch
	value    []byte
	key      []byte
	// before is a changelog's held update-before row, encoded; hasBefore
	// says one is held.
	before    []byte
	hasBefore bool
	row       []byte

	// txn, for the Sink inside a TransactionalSink, makes the batches
	// transactional; nil otherwise.
	txn *TransactionalSink
}

var _ connectors.Sink = (*Sink)(nil)

// NewSink returns a Sink over opts. It checks the options, the format and
// the key columns; the topic is looked up in Open.
func NewSink(opts SinkOptions) (*Sink, error) {
	if opts.TransactionalIDPrefix != "" {
		return nil, errors.New("log sink: a transactional id prefix is for NewTransactionalSink")
	}
	return newSink(opts)
}

func newSink(opts SinkOptions) (*Sink, error) {
	opts.EnsureDefaults()
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	enc, err := format.NewEncoder(opts.Format, opts.Schema, opts.FormatOptions)
	if err != nil {
		return nil, fmt.Errorf("log sink %s: %w", opts.Topic, err)
	}
	s := &Sink{opts: opts, enc: enc, slots: make(chan struct{}, opts.MaxInFlight)}
	if len(opts.KeyColumns) > 0 {
		var keySchema types.Schema
		for _, name := range opts.KeyColumns {
			i := opts.Schema.Index(name)
			if i < 0 {
				return nil, fmt.Errorf("log sink %s: key column %q is not in %s", opts.Topic, name, opts.Schema)
			}
			s.keyCols = append(s.keyCols, i)
			keySchema = append(keySchema, opts.Schema[i])
		}
		if s.keyEnc, err = format.NewEncoder(opts.Format, keySchema, opts.FormatOptions); err != nil {
			return nil, fmt.Errorf("log sink %s: key: %w", opts.Topic, err)
		}
	}
	return s, nil
}

// Open looks up the topic's partition count.
func (s *Sink) Open(ctx context.Context) error {
	n, err := s.opts.Broker.Partitions(s.opts.Topic)
	if err != nil {
		return fmt.Errorf("log sink: %w", err)
	}
	s.parts = n
	s.builders = make([]broker.BatchBuilder, n)
	if n > 0 {
		s.rr = s.opts.Split.Index % n
	}
	return nil
}

// Write encodes the live rows of b and appends them, one batch per
// partition touched, without waiting for acknowledgements.
func (s *Sink) Write(ctx context.Context, b *types.Batch) error {
	if err := s.failed(); err != nil {
		return err
	}
	if b.Live() == 0 {
		return nil
	}
	ts := s.opts.Clock.Now().UnixMilli()
	// Builders are empty between Writes; only the touched ones grow a
	// buffer, so a topic with many partitions costs memory only for those
	// it is written to.
	defer func() {
		for _, p := range s.touched {
			s.builders[p].Reset()
		}
		s.touched = s.touched[:0]
	}()
	keyless := s.rr
	if s.keyEnc == nil {
		s.rr = (s.rr + 1) % s.parts
	} else {
		s.keyBatch.Cols = s.keyBatch.Cols[:0]
		for _, c := range s.keyCols {
			s.keyBatch.Cols = append(s.keyBatch.Cols, b.Cols[c])
		}
		s.keyBatch.SetLen(b.Len())
	}
	var err error
	b.ForEach(func(i int) {
		if err != nil {
			return
		}
		kind := b.Kind(i)
		if s.opts.Changelog {
			var done bool
			if done, err = s.changelogValue(b, i, kind); err != nil || done {
				return
			}
		} else if kind != types.Insert && !s.opts.Upsert {
			err = fmt.Errorf("log sink %s: %w (row is %v)", s.opts.Topic, connectors.ErrRetraction, kind)
			return
		}
		rec := broker.Record{Timestamp: ts}
		switch {
		case s.opts.Changelog:
			rec.Value = s.value
		case kind == types.UpdateBefore:
			return // the update-after replaces it under the same key
		case kind != types.Delete:
			if s.value, err = s.enc.Encode(s.value[:0], b, i); err != nil {
				err = fmt.Errorf("log sink %s: %w", s.opts.Topic, err)
				return
			}
			rec.Value = s.value
		}
		p := keyless
		if s.keyEnc != nil {
			if s.key, err = s.keyEnc.Encode(s.key[:0], &s.keyBatch, i); err != nil {
				err = fmt.Errorf("log sink %s: key: %w", s.opts.Topic, err)
				return
			}
			rec.Key = s.key
			p = int(KeyPartition(s.key, s.parts))
		}
		if s.builders[p].Len() == 0 {
			s.touched = append(s.touched, p)
		}
		s.builders[p].Add(&rec)
	})
	if err != nil {
		return err
	}
	if s.txn != nil {
		if err := s.txn.begin(ctx, s.touched); err != nil {
			s.fail(err)
			return err
		}
	}
	for _, p := range s.touched {
		if err := s.append(ctx, p); err != nil {
			return err
		}
	}
	return nil
}

// append takes a slot, blocking while MaxInFlight appends are
// unacknowledged, and hands partition p's batch to the broker, which has
// written it (so the builder may be reused) when AppendAsync returns.
// A transactional batch gets its producer and sequence only once it has
// its slot, so a Write cancelled while waiting leaves no gap in the
// sequence.
func (s *Sink) append(ctx context.Context, p int) error {
	select {
	case s.slots <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	bb := &s.builders[p]
	if s.txn != nil {
		s.txn.stamp(bb, p)
	}
	s.opts.Broker.AppendAsync(s.opts.Topic, int32(p), bb.Build(), func(r broker.AppendResult) {
		if r.Err != nil {
			s.fail(fmt.Errorf("log sink: append to %s partition %d: %w", s.opts.Topic, p, r.Err))
		}
		<-s.slots // never blocks: this append holds a token
	})
	return nil
}

// fail makes err the sink's sticky failure, unless it has one.
func (s *Sink) fail(err error) {
	s.mu.Lock()
	if s.mu.err == nil {
		s.mu.err = err
	}
	s.mu.Unlock()
}

func (s *Sink) failed() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.mu.err
}

// Flush waits until every append is acknowledged and returns the first
// error any of them met. After an error the sink stays failed.
func (s *Sink) Flush(ctx context.Context) error {
	taken := 0
	defer func() {
		for range taken {
			<-s.slots
		}
	}()
	for range cap(s.slots) {
		select {
		case s.slots <- struct{}{}:
			taken++
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return s.failed()
}

// Close does not wait for appends in flight; their callbacks only touch
// the sink's own state, so nothing leaks. The broker stays open.
func (s *Sink) Close() error { return nil }

// changelogValue encodes row i's change as a changelog record into
// s.value; done reports that the row is held instead (an update-before,
// written with its update-after).
func (s *Sink) changelogValue(b *types.Batch, i int, kind types.ChangeKind) (done bool, err error) {
	if s.row, err = s.enc.Encode(s.row[:0], b, i); err != nil {
		return false, fmt.Errorf("log sink %s: %w", s.opts.Topic, err)
	}
	row := bytes.TrimRight(s.row, "\n")
	v := s.value[:0]
	switch kind {
	case types.UpdateBefore:
		s.before = append(s.before[:0], row...)
		s.hasBefore = true
		return true, nil
	case types.Insert:
		v = append(v, `{"op":"c","before":null,"after":`...)
		v = append(v, row...)
	case types.UpdateAfter:
		v = append(v, `{"op":"u","before":`...)
		if s.hasBefore {
			v = append(v, s.before...)
		} else {
			v = append(v, "null"...)
		}
		v = append(v, `,"after":`...)
		v = append(v, row...)
	case types.Delete:
		v = append(v, `{"op":"d","before":`...)
		v = append(v, row...)
		v = append(v, `,"after":null`...)
	}
	s.hasBefore = false
	s.value = append(v, '}')
	return false, nil
}
