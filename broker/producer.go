package broker

import (
	"context"
	"fmt"
	"sync"
)

// Producer appends to the log as one idempotent or transactional producer:
// it keeps the sequence numbers per partition, so that a batch it retries
// after an error is written once, and, with a transactional id, groups its
// appends into transactions that Commit or Abort end. Records appended
// before a Commit are invisible to ReadCommitted readers until it returns.
//
// A Producer is safe for concurrent use, but appends to one partition must
// be issued in order: the sequence number of a batch is taken when Append
// is called.
type Producer struct {
	b     *Broker
	txnID string
	id    ProducerID
	epoch Epoch

	mu  sync.Mutex
	seq map[TopicPartition]int32 // next sequence per partition
}

// NewProducer initializes a producer (InitProducer) and returns it. With an
// empty transactionalID the producer is idempotent only. With one, any
// earlier producer of the same id is fenced and its open transaction
// aborted.
func (b *Broker) NewProducer(ctx context.Context, transactionalID string) (*Producer, error) {
	id, epoch, err := b.InitProducer(ctx, transactionalID)
	if err != nil {
		return nil, err
	}
	return &Producer{b: b, txnID: transactionalID, id: id, epoch: epoch, seq: make(map[TopicPartition]int32)}, nil
}

// ID is the producer's id.
func (p *Producer) ID() ProducerID { return p.id }

// Epoch is the producer's epoch.
func (p *Producer) Epoch() Epoch { return p.epoch }

// TransactionalID is the producer's transactional id, or "".
func (p *Producer) TransactionalID() string { return p.txnID }

// Build encodes recs as one batch of this producer for tp, with the next
// sequence number, and advances the sequence. The batch can be appended
// (and retried) with Broker.Append or AppendAsync.
func (p *Producer) Build(tp TopicPartition, recs ...Record) ([]byte, error) {
	if len(recs) == 0 {
		return nil, fmt.Errorf("%w: empty batch", ErrInvalidRecord)
	}
	p.mu.Lock()
	seq := p.seq[tp]
	p.seq[tp] = seqAdd(seq, int32(len(recs)))
	p.mu.Unlock()
	var bb BatchBuilder
	bb.Reset()
	bb.SetProducer(int64(p.id), int16(p.epoch), seq)
	bb.SetTransactional(p.txnID != "")
	for i := range recs {
		bb.Add(&recs[i])
	}
	return append([]byte(nil), bb.Build()...), nil
}

// Append appends recs to topic/partition as one batch and waits until it
// is durable; with a transactional id, inside the open transaction
// (starting one if none is open).
func (p *Producer) Append(ctx context.Context, topic string, partition int32, recs ...Record) (AppendResult, error) {
	batch, err := p.Build(TopicPartition{topic, partition}, recs...)
	if err != nil {
		return AppendResult{}, err
	}
	return p.b.Append(ctx, topic, partition, batch)
}

// Commit commits the open transaction (CommitTransaction).
func (p *Producer) Commit(ctx context.Context) error {
	return p.b.CommitTransaction(ctx, p.txnID, p.id, p.epoch)
}

// Abort aborts the open transaction (AbortTransaction).
func (p *Producer) Abort(ctx context.Context) error {
	return p.b.AbortTransaction(ctx, p.txnID, p.id, p.epoch)
}
