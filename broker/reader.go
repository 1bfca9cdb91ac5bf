package broker

import (
	"context"
	"fmt"
)

// DefaultFetchBytes is how much a Reader fetches at a time.
const DefaultFetchBytes = 1 << 20

// Reader reads one partition record by record from an offset, waiting at
// the end for more. It decodes in place: the *Record it returns, and the
// slices in it, are valid until the next call to Next. A Reader is not
// safe for concurrent use.
type Reader struct {
	b         *Broker
	topic     string
	partition int32
	offset    int64 // next offset to return
	maxBytes  int

	buf     []byte
	batches []byte // fetched batches not yet decoded
	it      RecordIter
	inBatch bool
	rec     Record
}

// NewReader returns a Reader of topic/partition starting at offset.
func (b *Broker) NewReader(topic string, partition int32, offset int64) *Reader {
	return &Reader{b: b, topic: topic, partition: partition, offset: offset, maxBytes: DefaultFetchBytes}
}

// Offset is the offset of the next record Next will return (or of the
// next one held, past compacted gaps).
func (r *Reader) Offset() int64 { return r.offset }

// SetOffset moves the reader to offset.
func (r *Reader) SetOffset(offset int64) {
	r.offset = offset
	r.batches, r.inBatch = nil, false
}

// Next returns the next record, waiting for one if the reader is at the
// end of the partition, until ctx ends.
func (r *Reader) Next(ctx context.Context) (*Record, error) {
	for {
		rec, ok, err := r.TryNext()
		if err != nil || ok {
			return rec, err
		}
		if err := r.b.Wait(ctx, r.topic, r.partition, r.offset); err != nil {
			return nil, err
		}
	}
}

// TryNext returns the next record if one is readable now; ok is false at
// the end of the partition.
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
			res, err := r.b.Fetch(r.topic, r.partition, r.offset, r.maxBytes, r.buf)
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
		}
		size, _ := peekBatchSize(r.batches)
		batch := r.batches[:size]
		r.batches = r.batches[size:]
		if err := r.it.Reset(batch); err != nil {
			return nil, false, fmt.Errorf("%s/%d: %w", r.topic, r.partition, err)
		}
		if r.it.Header().IsControl() {
			r.offset = max(r.offset, r.it.Header().NextOffset())
			continue
		}
		r.inBatch = true
	}
}
