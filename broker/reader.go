package broker

import (
	"context"
	"fmt"
)

// DefaultFetchBytes is how much a Reader fetches at a time.
const DefaultFetchBytes = 1 << 20

// IsolationLevel says which records a read may return, with Kafka's
// numbers.
type IsolationLevel int8

const (
	// ReadUncommitted returns every record below the high watermark,
	// including those of open and aborted transactions (but never control
	// records).
	ReadUncommitted IsolationLevel = 0
	// ReadCommitted returns only records below the last stable offset,
	// and none of aborted transactions: what no crash or abort can take
	// back. Without transactions it reads exactly what ReadUncommitted does.
	ReadCommitted IsolationLevel = 1
)

func (l IsolationLevel) String() string {
	switch l {
	case ReadUncommitted:
		return "read_uncommitted"
	case ReadCommitted:
		return "read_committed"
	}
	return fmt.Sprintf("IsolationLevel(%d)", int8(l))
}

// ParseIsolationLevel parses "read_committed" or "read_uncommitted".
func ParseIsolationLevel(s string) (IsolationLevel, error) {
	switch s {
	case "read_committed":
		return ReadCommitted, nil
	case "read_uncommitted":
		return ReadUncommitted, nil
	}
	return 0, fmt.Errorf("isolation level %q: use read_committed or read_uncommitted", s)
}

// ReaderOption configures a Reader.
type ReaderOption func(*Reader)

// WithIsolation sets the reader's isolation level; the default is
// ReadUncommitted, as a Kafka consumer's.
func WithIsolation(l IsolationLevel) ReaderOption {
	return func(r *Reader) { r.iso = l }
}

// Reader reads one partition record by record from an offset, waiting at
// the end for more. It decodes in place: the *Record it returns, and the
// slices in it, are valid until the next call to Next. A Reader is not
// safe for concurrent use.
//
// Control records are never returned. Under ReadCommitted the reader's
// end is the last stable offset, and the batches of aborted transactions
// are skipped: Offset moves past them.
type Reader struct {
	b         *Broker
	topic     string
	partition int32
	offset    int64 // next offset to return
	maxBytes  int
	iso       IsolationLevel

	buf     []byte
	batches []byte // fetched batches not yet decoded
	aborted []AbortedTransaction
	it      RecordIter
	inBatch bool
	rec     Record
}

// NewReader returns a Reader of topic/partition starting at offset.
func (b *Broker) NewReader(topic string, partition int32, offset int64, opts ...ReaderOption) *Reader {
	r := &Reader{b: b, topic: topic, partition: partition, offset: offset, maxBytes: DefaultFetchBytes}
	for _, o := range opts {
		o(r)
	}
	return r
}

// Offset is the offset of the next record Next will return (or of the
// next one held, past compacted gaps).
func (r *Reader) Offset() int64 { return r.offset }

// Isolation is the reader's isolation level.
func (r *Reader) Isolation() IsolationLevel { return r.iso }

// SetOffset moves the reader to offset.
func (r *Reader) SetOffset(offset int64) {
	r.offset = offset
	r.batches, r.inBatch, r.aborted = nil, false, nil
}

// Next returns the next record, waiting for one if the reader is at the
// end of the partition, until ctx ends.
func (r *Reader) Next(ctx context.Context) (*Record, error) {
	for {
		rec, ok, err := r.TryNext()
		if err != nil || ok {
			return rec, err
		}
		p, err := r.b.partition(r.topic, r.partition)
		if err != nil {
			return nil, err
		}
		if err := p.waitFor(ctx, r.offset, r.iso); err != nil {
			return nil, err
		}
	}
}

// TryNext returns the next record if one is readable now; ok is false at
// the end of the partition (the last stable offset, under ReadCommitted).
func (r *Reader) TryNext() (rec *Record, ok bool, err error) {
	for {
		if r.inBatch {
			for r.it.Next(&r.rec) {
				if r.rec.Offset < r.offset {
					continue // the fetch started inside this batch
				}
				r.offset = r.rec.Offset + 1
				return &r.rec, true, nil
			}
			r.inBatch = false
			if err := r.it.Err(); err != nil {
				return nil, false, fmt.Errorf("%s/%d: %w", r.topic, r.partition, err)
			}
			// Compaction may leave offsets unused at a batch's end.
			r.offset = max(r.offset, r.it.Header().NextOffset())
		}
		if len(r.batches) == 0 {
			res, err := r.b.FetchIsolated(r.topic, r.partition, r.offset, r.maxBytes, r.iso, r.buf)
			if err != nil {
				return nil, false, err
			}
			if len(res.Batches) == 0 {
				return nil, false, nil
			}
			if cap(res.Batches) > cap(r.buf) {
				r.buf = res.Batches[:0]
			}
			r.batches = res.Batches
			r.aborted = append(r.aborted[:0], res.AbortedTransactions...)
		}
		size, _ := peekBatchSize(r.batches)
		batch := r.batches[:size]
		r.batches = r.batches[size:]
		if err := r.it.Reset(batch); err != nil {
			return nil, false, fmt.Errorf("%s/%d: %w", r.topic, r.partition, err)
		}
		h := r.it.Header()
		if h.IsControl() || r.abortedBatch(h) {
			r.offset = max(r.offset, h.NextOffset())
			continue
		}
		r.inBatch = true
	}
}

func (r *Reader) abortedBatch(h *BatchHeader) bool {
	if !h.IsTransactional() {
		return false
	}
	for i := range r.aborted {
		if r.aborted[i].Covers(h) {
			return true
		}
	}
	return false
}
