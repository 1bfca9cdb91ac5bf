package log

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/sluice-sql/sluice/broker"
	"github.com/sluice-sql/sluice/connectors"
	"github.com/sluice-sql/sluice/sql/types"
)

// RecommendedTransactionTimeout is the broker transaction timeout
// (broker.Options.TransactionTimeout) a process running exactly-once
// sinks should open its broker with.
//
// Why: the broker aborts a transaction open for longer than its timeout,
// counted from the transaction's first write (and, for one open when the
// broker starts, from the start). A sink's transaction lives from its
// first Write after a Commit to the Commit after the next completed
// checkpoint: one checkpoint interval (1 s by default) plus the round,
// which the runtime lets run for up to a minute, plus, when a round
// fails, further intervals until one completes; after a crash of the job
// (not of the process), the pre-committed transaction must survive until
// the restarted job's Recover commits it. If the broker aborts a
// transaction before its checkpoint completes, the job fails and replays
// from the previous checkpoint (nothing is lost); if it aborts it after,
// the checkpoint's output is lost (ErrTransactionLost). The broker's
// default, one minute as Kafka's, equals the runtime's checkpoint
// timeout and leaves no margin; fifteen minutes (Kafka's maximum by
// default, transaction.max.timeout.ms) covers slow rounds and restarts,
// and costs only that a transaction abandoned by a job that never comes
// back holds read_committed readers of its partitions back that long.
const RecommendedTransactionTimeout = 15 * time.Minute

// ErrTransactionLost is returned (wrapped, naming the transaction) by
// Recover when the transaction the last completed checkpoint
// pre-committed was aborted instead of committed: the output of a
// completed checkpoint is lost, and exactly-once cannot be kept.
var ErrTransactionLost = errors.New("output of a completed checkpoint was lost")

// TransactionalIDs returns the two transactional ids split index of a
// transactional sink uses in turn: <prefix>/<index>/a and
// <prefix>/<index>/b.
func TransactionalIDs(prefix string, index int) [2]string {
	base := prefix + "/" + strconv.Itoa(index) + "/"
	return [2]string{base + "a", base + "b"}
}

// TransactionToken is what TransactionalSink.PreCommit returns, JSON
// encoded, for a checkpoint to keep: the transaction to commit once the
// checkpoint is durable, or again on recovery.
//
//	{"v":1,"transactional_id":"sluice/j-1/out/0/a","producer_id":3,"epoch":0,"written":true}
type TransactionToken struct {
	// Version is 1.
	Version int `json:"v"`
	// TransactionalID, ProducerID and Epoch name the transaction: the
	// one open on the id at that producer id and epoch.
	TransactionalID string            `json:"transactional_id"`
	ProducerID      broker.ProducerID `json:"producer_id"`
	Epoch           broker.Epoch      `json:"epoch"`
	// Written says that records were written in the transaction. PreCommit
	// returns no token for a transaction without any, so it is always
	// true in the tokens it returns; a token with false names nothing to
	// commit.
	Written bool `json:"written"`
}

// ParseTransactionToken decodes a token PreCommit returned.
func ParseTransactionToken(b []byte) (TransactionToken, error) {
	var t TransactionToken
	if err := json.Unmarshal(b, &t); err != nil {
		return t, fmt.Errorf("transaction token %q: %w", b, err)
	}
	if t.Version != 1 || t.TransactionalID == "" {
		return t, fmt.Errorf("transaction token %q: not a version 1 token with a transactional id", b)
	}
	return t, nil
}

// TransactionalSink is a Sink that writes exactly once, in a broker
// transaction per checkpoint. It implements connectors.TransactionalSink.
//
// Each split writes under two transactional ids in turn
// (TransactionalIDs): a transaction is pre-committed at a checkpoint
// barrier, named in the checkpoint, committed once the checkpoint is
// durable, and only then does the next one begin, on the other id. So
// while a checkpoint's transaction may still need committing (it is the
// last one recorded), no newer transaction has started on its id, and
// committing (id, producer id, epoch) again on recovery is unambiguous.
//
// Records, partitioning, batching and appends in flight are the Sink's;
// the batches are transactional, with the id's producer id, epoch and
// per-partition sequence numbers.
type TransactionalSink struct {
	s *Sink
	// ids are the split's two transactional ids; cur indexes the one the
	// open (or next) transaction uses.
	ids [2]txnProducer
	cur int
	// written says records were written since the last Commit: the
	// transaction on ids[cur] is open. preCommitted says PreCommit named
	// it and Commit has not run since.
	written, preCommitted bool
}

// txnProducer is one transactional id as the sink uses it.
type txnProducer struct {
	id     string
	inited bool // InitProducer has given pid and epoch to this sink
	pid    broker.ProducerID
	epoch  broker.Epoch
	// seq is the next base sequence per partition, continuing across the
	// transactions of one epoch as the broker expects; inTxn marks the
	// partitions added to the open transaction.
	seq   []int32
	inTxn []bool
}

var _ connectors.TransactionalSink = (*TransactionalSink)(nil)

// NewTransactionalSink returns a TransactionalSink over opts, which must
// name a TransactionalIDPrefix. It checks what NewSink checks.
func NewTransactionalSink(opts SinkOptions) (*TransactionalSink, error) {
	if opts.TransactionalIDPrefix == "" {
		return nil, errors.New("log sink: a transactional sink needs a transactional id prefix")
	}
	if err := opts.Split.Validate(); err != nil {
		return nil, fmt.Errorf("log sink: %w", err)
	}
	s, err := newSink(opts)
	if err != nil {
		return nil, err
	}
	t := &TransactionalSink{s: s}
	for i, id := range TransactionalIDs(opts.TransactionalIDPrefix, opts.Split.Index) {
		t.ids[i].id = id
	}
	s.txn = t
	return t, nil
}

// TransactionalIDs returns the sink's two transactional ids.
func (t *TransactionalSink) TransactionalIDs() [2]string {
	return [2]string{t.ids[0].id, t.ids[1].id}
}

// Open looks up the topic's partition count.
func (t *TransactionalSink) Open(ctx context.Context) error {
	if err := t.s.Open(ctx); err != nil {
		return err
	}
	for i := range t.ids {
		t.ids[i].seq = make([]int32, t.s.parts)
		t.ids[i].inTxn = make([]bool, t.s.parts)
	}
	return nil
}

// Recover commits the transaction token names, if any, again, and then
// initializes both of the split's transactional ids, which aborts what
// an earlier run left open on them and fences that run's writers. The
// next transaction goes to the id the token does not name.
//
// Committing again is harmless: a transaction already committed stays
// so, also when a Recover before this one committed it and then
// re-initialized its id (the broker then reports the token's epoch as
// fenced, and the id's state is not an abort). If the transaction was
// aborted instead (by the broker's transaction timeout), Recover fails
// with ErrTransactionLost.
//
// A token naming another split's id (the job restarted with another
// sink parallelism) is committed all the same, but only this split's
// ids are re-initialized: what a split that no longer exists left open
// waits for the broker's timeout.
func (t *TransactionalSink) Recover(ctx context.Context, token []byte) error {
	next := 0
	if token != nil {
		tok, err := ParseTransactionToken(token)
		if err != nil {
			return fmt.Errorf("log sink %s: recover: %w", t.s.opts.Topic, err)
		}
		if tok.Written {
			if err := t.recommit(ctx, tok); err != nil {
				return err
			}
		}
		if tok.TransactionalID == t.ids[0].id {
			next = 1
		}
	}
	for i := range t.ids {
		if err := t.init(ctx, &t.ids[i]); err != nil {
			return err
		}
	}
	t.cur, t.written, t.preCommitted = next, false, false
	return nil
}

// recommit commits tok's transaction again after a restart.
func (t *TransactionalSink) recommit(ctx context.Context, tok TransactionToken) error {
	b := t.s.opts.Broker
	err := b.CommitTransaction(ctx, tok.TransactionalID, tok.ProducerID, tok.Epoch)
	if err == nil {
		return nil
	}
	var info *broker.TransactionInfo
	for _, ti := range b.Transactions() {
		if ti.TransactionalID == tok.TransactionalID {
			info = &ti
			break
		}
	}
	// An abort of the transaction leaves its id in an abort state at its
	// epoch (an AbortTransaction) or the next (the timeout, which fences).
	aborted := info != nil && (info.State == "CompleteAbort" || info.State == "PrepareAbort") &&
		info.ProducerID == tok.ProducerID && (info.Epoch == tok.Epoch || info.Epoch == tok.Epoch+1)
	switch {
	case aborted:
		return fmt.Errorf("log sink %s: %w: transaction %q (producer %d, epoch %d), which the last completed checkpoint pre-committed, was aborted, most likely by the broker's transaction timeout before the job came back to commit it (broker %v)",
			t.s.opts.Topic, ErrTransactionLost, tok.TransactionalID, tok.ProducerID, tok.Epoch, err)
	case info != nil && errors.Is(err, broker.ErrProducerFenced):
		// A Recover before this one committed it and re-initialized the
		// id: only a Recover moves the id on while its transaction is
		// the last one recorded.
		return nil
	}
	return fmt.Errorf("log sink %s: recover: commit transaction %q (producer %d, epoch %d): %w",
		t.s.opts.Topic, tok.TransactionalID, tok.ProducerID, tok.Epoch, err)
}

// init gets a producer id and a new epoch for p.
func (t *TransactionalSink) init(ctx context.Context, p *txnProducer) error {
	pid, epoch, err := t.s.opts.Broker.InitProducer(ctx, p.id)
	if err != nil {
		return fmt.Errorf("log sink %s: init transactional id %q: %w", t.s.opts.Topic, p.id, err)
	}
	p.inited, p.pid, p.epoch = true, pid, epoch
	clear(p.seq) // a new epoch starts at sequence 0
	clear(p.inTxn)
	return nil
}

// Write encodes the live rows of b and appends them in the open
// transaction, beginning one if none is, without waiting for
// acknowledgements.
func (t *TransactionalSink) Write(ctx context.Context, b *types.Batch) error {
	return t.s.Write(ctx, b)
}

// begin makes sure the open transaction includes partitions parts,
// beginning it if there is none; the Sink calls it before appending. The
// partitions new to the transaction are added in one durable step, not
// one per partition as the appends would.
func (t *TransactionalSink) begin(ctx context.Context, parts []int) error {
	if len(parts) == 0 {
		return nil
	}
	p := &t.ids[t.cur]
	if !p.inited {
		// Without Recover (a sink of a job that has not checkpointed):
		// the first use of an id aborts what it had open.
		if err := t.init(ctx, p); err != nil {
			return err
		}
	}
	var add []broker.TopicPartition
	for _, q := range parts {
		if !p.inTxn[q] {
			add = append(add, broker.TopicPartition{Topic: t.s.opts.Topic, Partition: int32(q)})
		}
	}
	if len(add) > 0 {
		if err := t.s.opts.Broker.AddPartitionsToTransaction(ctx, p.id, p.pid, p.epoch, add...); err != nil {
			return fmt.Errorf("log sink %s: transaction %q: %w", t.s.opts.Topic, p.id, fenced(err))
		}
		for _, tp := range add {
			p.inTxn[tp.Partition] = true
		}
	}
	t.written = true
	return nil
}

// stamp makes bb a batch of the open transaction with the next sequence
// of partition q.
func (t *TransactionalSink) stamp(bb *broker.BatchBuilder, q int) {
	p := &t.ids[t.cur]
	bb.SetProducer(int64(p.pid), int16(p.epoch), p.seq[q])
	bb.SetTransactional(true)
	p.seq[q] = int32((int64(p.seq[q]) + int64(bb.Len())) % (math.MaxInt32 + 1))
}

// fenced explains ErrProducerFenced, which a sink meets when a newer
// instance recovered or the broker aborted the transaction on timeout.
func fenced(err error) error {
	if errors.Is(err, broker.ErrProducerFenced) {
		return fmt.Errorf("aborted, by a newer instance of the sink or the broker's transaction timeout: %w", err)
	}
	return err
}

// Flush waits until every append is durable (not visible: that is
// Commit's) and returns the first error any of them met.
func (t *TransactionalSink) Flush(ctx context.Context) error { return t.s.Flush(ctx) }

// PreCommit waits until every append is durable and returns the token of
// the open transaction (a TransactionToken, JSON). With no record written
// since the last Commit there is no transaction: it returns nil, and the
// Commit that follows does nothing.
//
// Rows written after PreCommit and before the Commit of its checkpoint
// belong to the same transaction; the runtime pauses a sink's task from
// the barrier to the end of the round, so there are none unless the
// round fails, and then the next PreCommit names the transaction again.
func (t *TransactionalSink) PreCommit(ctx context.Context) ([]byte, error) {
	if err := t.s.Flush(ctx); err != nil {
		return nil, err
	}
	if !t.written {
		t.preCommitted = false
		return nil, nil
	}
	p := &t.ids[t.cur]
	tok, err := json.Marshal(TransactionToken{Version: 1, TransactionalID: p.id, ProducerID: p.pid, Epoch: p.epoch, Written: true})
	if err != nil {
		return nil, fmt.Errorf("log sink %s: %w", t.s.opts.Topic, err)
	}
	t.preCommitted = true
	return tok, nil
}

// Commit commits the transaction PreCommit last named, making its
// records visible to read_committed readers; the next Write begins a
// transaction on the other transactional id.
func (t *TransactionalSink) Commit(ctx context.Context) error {
	if !t.preCommitted {
		return nil
	}
	p := &t.ids[t.cur]
	if err := t.s.opts.Broker.CommitTransaction(ctx, p.id, p.pid, p.epoch); err != nil {
		err = fmt.Errorf("log sink %s: commit transaction %q: %w", t.s.opts.Topic, p.id, fenced(err))
		t.s.fail(err)
		return err
	}
	clear(p.inTxn)
	t.written, t.preCommitted = false, false
	t.cur ^= 1
	return nil
}

// Close does not wait for appends in flight. A transaction PreCommit
// named is left open for the next run's Recover to commit or abort (or
// for the broker's transaction timeout): its checkpoint may have
// completed. One with rows written after the last checkpoint is aborted,
// as no checkpoint can name it, so that read_committed readers of its
// partitions are not held back until the timeout. The broker stays open.
func (t *TransactionalSink) Close() error {
	err := t.s.Close()
	if p := &t.ids[t.cur]; t.written && !t.preCommitted && p.inited {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if aerr := t.s.opts.Broker.AbortTransaction(ctx, p.id, p.pid, p.epoch); aerr != nil && !errors.Is(aerr, broker.ErrProducerFenced) && err == nil {
			err = fmt.Errorf("log sink %s: abort transaction %q: %w", t.s.opts.Topic, p.id, aerr)
		}
		t.written = false
	}
	return err
}
