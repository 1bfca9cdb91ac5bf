package broker

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sort"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// TransactionStateTopic is the compacted internal topic that keeps the
// transaction coordinator's state: one record per transactional id,
// Kafka's own encoding (TxnMetadataKey v0, TxnMetadataValue v0), with the
// id's producer id and epoch, its transaction's state and partitions, and
// when the transaction started. The latest record of an id is its state.
//
// Why a log topic rather than a small file: it is durable exactly as the
// data it describes (the same group-committed fsync, the same torn-tail
// recovery), compaction bounds its size, a restart replays it the way
// __consumer_offsets is replayed, and a Kafka tool reading it sees what it
// expects.
const TransactionStateTopic = "__transaction_state"

// DefaultTransactionTimeout is Options.TransactionTimeout's default, as
// Kafka's transaction.timeout.ms.
const DefaultTransactionTimeout = time.Minute

// TopicPartition names one partition of a topic.
type TopicPartition struct {
	Topic     string
	Partition int32
}

// txnState is a transaction's state, with Kafka's numbers.
type txnState int8

const (
	txnEmpty          txnState = 0 // no transaction since the last one ended
	txnOngoing        txnState = 1
	txnPrepareCommit  txnState = 2 // decided: markers being written
	txnPrepareAbort   txnState = 3
	txnCompleteCommit txnState = 4
	txnCompleteAbort  txnState = 5
)

func (s txnState) String() string {
	return [...]string{"Empty", "Ongoing", "PrepareCommit", "PrepareAbort", "CompleteCommit", "CompleteAbort"}[s]
}

// txnEntry is one transactional id. mu is held across a whole transition,
// including its writes to the log, so the transitions of one id are
// serial; a transactional append holds it while it checks the epoch and
// writes its batch, so that no batch of an old epoch can land after the
// markers that fence it.
type txnEntry struct {
	mu      sync.Mutex
	id      string
	pid     ProducerID
	epoch   Epoch
	state   txnState
	parts   map[TopicPartition]bool
	started time.Time // when the open transaction began (or the broker opened)
}

// coordinator is the broker's transaction coordinator. Lock order:
// txnEntry.mu, then coordinator.mu, then a partition's locks.
type coordinator struct {
	b  *Broker
	mu struct {
		sync.Mutex
		byID    map[string]*txnEntry
		byPID   map[ProducerID]*txnEntry // also the previous producer ids of an id
		nextPID ProducerID
	}
}

// load replays TransactionStateTopic, finishes the transactions a crash
// left decided but unmarked, and reconciles the open transactions found in
// the partitions with the state (see doc.go, Transactions).
func (c *coordinator) load(ctx context.Context, b *Broker) error {
	c.b = b
	c.mu.byID = make(map[string]*txnEntry)
	c.mu.byPID = make(map[ProducerID]*txnEntry)
	c.mu.nextPID = 0
	// The topic is created by the first InitProducer with a
	// transactional id: brokers that never see one do without it.
	_, end, err := b.Offsets(TransactionStateTopic, 0)
	if errors.Is(err, ErrTopicNotFound) {
		end = 0
	} else if err != nil {
		return err
	}
	r := b.NewReader(TransactionStateTopic, 0, 0)
	for r.Offset() < end {
		rec, err := r.Next(ctx)
		if err != nil {
			return fmt.Errorf("load %s: %w", TransactionStateTopic, err)
		}
		c.apply(rec)
	}
	now := b.opts.Clock.Now()
	for _, p := range b.partitions() {
		p.mu.Lock()
		for id := range p.mu.producers.producers {
			c.mu.nextPID = max(c.mu.nextPID, id+1)
		}
		p.mu.Unlock()
	}
	entries := c.entries()
	for _, e := range entries {
		e.mu.Lock()
		var err error
		switch e.state {
		case txnPrepareCommit:
			err = c.finish(ctx, e, true)
		case txnPrepareAbort:
			err = c.finish(ctx, e, false)
		case txnOngoing:
			// The timeout counts from now: a crash alone never aborts a
			// transaction its producer may come back to commit.
			e.started = now
		}
		e.mu.Unlock()
		if err != nil {
			return fmt.Errorf("complete transaction %q: %w", e.id, err)
		}
	}
	return c.reconcile(ctx)
}

// reconcile makes every transaction open in a partition known to the
// coordinator, so that a re-initialization or the timeout ends it. One the
// coordinator cannot end (no transactional id owns it at that epoch) is
// aborted now: nothing could ever commit it.
func (c *coordinator) reconcile(ctx context.Context) error {
	for _, p := range c.b.partitions() {
		tp := TopicPartition{p.topic, p.id}
		for _, t := range p.openTxns() {
			c.mu.Lock()
			e := c.mu.byPID[t.producer]
			c.mu.Unlock()
			if e != nil {
				e.mu.Lock()
				if e.pid == t.producer && e.epoch == t.epoch && e.state == txnOngoing {
					if !e.parts[tp] {
						e.parts[tp] = true
						if err := c.persist(ctx, e); err != nil {
							e.mu.Unlock()
							return err
						}
					}
					e.mu.Unlock()
					continue
				}
				e.mu.Unlock()
			}
			c.b.opts.Logger.Warn("aborting a transaction no transactional id owns", "partition", fmt.Sprintf("%s/%d", p.topic, p.id), "producer", t.producer, "epoch", t.epoch, "first", t.first)
			if err := waitMarker(ctx, p, t.producer, t.epoch, false); err != nil {
				return err
			}
		}
	}
	return nil
}

func (c *coordinator) entries() []*txnEntry {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]*txnEntry, 0, len(c.mu.byID))
	for _, e := range c.mu.byID {
		out = append(out, e)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].id < out[j].id })
	return out
}

// apply folds one record of TransactionStateTopic into the state.
func (c *coordinator) apply(rec *Record) {
	var k kmsg.TxnMetadataKey
	if err := k.ReadFrom(rec.Key); err != nil || k.Version != 0 || rec.Value == nil {
		return
	}
	var v kmsg.TxnMetadataValue
	if err := v.ReadFrom(rec.Value); err != nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e := c.mu.byID[k.TransactionalID]
	if e == nil {
		e = &txnEntry{id: k.TransactionalID}
		c.mu.byID[e.id] = e
	}
	e.pid, e.epoch, e.state = ProducerID(v.ProducerID), Epoch(v.ProducerEpoch), txnState(v.State)
	if e.state > txnCompleteAbort || e.state < 0 {
		e.state = txnEmpty
	}
	e.parts = make(map[TopicPartition]bool)
	for _, t := range v.Topics {
		for _, p := range t.Partitions {
			e.parts[TopicPartition{t.Topic, p}] = true
		}
	}
	e.started = time.Time{}
	if v.StartTimestamp >= 0 {
		e.started = time.UnixMilli(v.StartTimestamp)
	}
	c.mu.byPID[e.pid] = e
	c.mu.nextPID = max(c.mu.nextPID, e.pid+1)
}

// persist durably writes e's state. Called with e.mu held.
func (c *coordinator) persist(ctx context.Context, e *txnEntry) error {
	k := kmsg.NewTxnMetadataKey()
	k.TransactionalID = e.id
	v := kmsg.NewTxnMetadataValue()
	v.ProducerID, v.ProducerEpoch, v.State = int64(e.pid), int16(e.epoch), kmsg.TransactionState(e.state)
	v.TimeoutMillis = int32(min(c.b.opts.TransactionTimeout.Milliseconds(), math.MaxInt32))
	now := c.b.opts.Clock.Now().UnixMilli()
	v.LastUpdateTimestamp, v.StartTimestamp = now, -1
	if !e.started.IsZero() {
		v.StartTimestamp = e.started.UnixMilli()
	}
	byTopic := make(map[string][]int32)
	for tp := range e.parts {
		byTopic[tp.Topic] = append(byTopic[tp.Topic], tp.Partition)
	}
	for _, t := range sortedKeys(byTopic) {
		ps := byTopic[t]
		sort.Slice(ps, func(i, j int) bool { return ps[i] < ps[j] })
		vt := kmsg.NewTxnMetadataValueTopic()
		vt.Topic, vt.Partitions = t, ps
		v.Topics = append(v.Topics, vt)
	}
	// Wait for the outcome even if ctx ends: the state in memory must not
	// run ahead of the log by more than this one write.
	_, err := c.b.AppendRecords(context.WithoutCancel(ctx), TransactionStateTopic, 0,
		Record{Key: k.AppendTo(nil), Value: v.AppendTo(nil), Timestamp: now})
	if err != nil {
		return fmt.Errorf("write transaction state of %q: %w", e.id, err)
	}
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

func (c *coordinator) allocPID() ProducerID {
	c.mu.Lock()
	defer c.mu.Unlock()
	id := c.mu.nextPID
	c.mu.nextPID++
	return id
}

// InitProducer returns a producer id and epoch for transactionalID. The
// first call for an id allocates a producer id with epoch 0; each later
// call returns the same producer id with the epoch bumped, which fences
// every holder of an older epoch (ErrProducerFenced). If the id has a
// transaction open, it is aborted first, durably; if a commit was decided
// but not finished, it is finished. An empty transactionalID returns a
// fresh producer id for an idempotent producer, which cannot use
// transactions.
func (b *Broker) InitProducer(ctx context.Context, transactionalID string) (ProducerID, Epoch, error) {
	if err := b.checkOpen(); err != nil {
		return 0, 0, err
	}
	c := &b.txns
	if transactionalID == "" {
		return c.allocPID(), 0, nil
	}
	if err := b.CreateInternalTopic(TransactionStateTopic, 1, map[string]string{"cleanup.policy": PolicyCompact}); err != nil {
		return 0, 0, err
	}
	c.mu.Lock()
	e := c.mu.byID[transactionalID]
	if e == nil {
		e = &txnEntry{id: transactionalID, pid: c.mu.nextPID, epoch: -1, parts: map[TopicPartition]bool{}}
		c.mu.nextPID++
		c.mu.byID[transactionalID] = e
		c.mu.byPID[e.pid] = e
	}
	c.mu.Unlock()
	e.mu.Lock()
	defer e.mu.Unlock()
	switch e.state {
	case txnPrepareCommit, txnPrepareAbort:
		if err := c.finish(ctx, e, e.state == txnPrepareCommit); err != nil {
			return 0, 0, err
		}
	case txnOngoing:
		if err := c.abortFencing(ctx, e, txnEmpty); err != nil {
			return 0, 0, err
		}
		return e.pid, e.epoch, nil
	}
	c.bump(e)
	e.state, e.parts, e.started = txnEmpty, map[TopicPartition]bool{}, time.Time{}
	if err := c.persist(ctx, e); err != nil {
		return 0, 0, err
	}
	return e.pid, e.epoch, nil
}

// bump moves e to its next epoch, or to a new producer id at epoch 0 when
// the epoch is exhausted. Called with e.mu held.
func (c *coordinator) bump(e *txnEntry) {
	if e.epoch < math.MaxInt16-1 {
		e.epoch++
		return
	}
	c.mu.Lock()
	e.pid, e.epoch = c.mu.nextPID, 0
	c.mu.nextPID++
	c.mu.byPID[e.pid] = e
	c.mu.Unlock()
}

// abortFencing aborts e's ongoing transaction under a new epoch, so that
// its producer is fenced, and leaves e in state then. Called with e.mu
// held.
func (c *coordinator) abortFencing(ctx context.Context, e *txnEntry, then txnState) error {
	oldPID, oldEpoch := e.pid, e.epoch
	c.bump(e)
	e.state = txnPrepareAbort
	if err := c.persist(ctx, e); err != nil {
		e.pid, e.epoch, e.state = oldPID, oldEpoch, txnOngoing
		return err
	}
	// The markers go out with the producer id the transaction wrote with;
	// if the epoch ran out and the id changed, with its last epoch.
	pid, epoch := e.pid, e.epoch
	if pid != oldPID {
		pid, epoch = oldPID, oldEpoch
	}
	if err := c.writeMarkers(ctx, pid, epoch, e.parts, false); err != nil {
		return err
	}
	e.state, e.parts, e.started = then, map[TopicPartition]bool{}, time.Time{}
	return c.persist(ctx, e)
}

// finish writes the markers of a decided transaction (state
// PrepareCommit or PrepareAbort) and completes it. Called with e.mu held.
func (c *coordinator) finish(ctx context.Context, e *txnEntry, commit bool) error {
	if err := c.writeMarkers(ctx, e.pid, e.epoch, e.parts, commit); err != nil {
		return err
	}
	e.state = txnCompleteAbort
	if commit {
		e.state = txnCompleteCommit
	}
	e.parts, e.started = map[TopicPartition]bool{}, time.Time{}
	return c.persist(ctx, e)
}

// writeMarkers writes a commit or abort marker to every partition of
// parts, at once, and waits until all are durable. A deleted topic's
// partitions are skipped.
func (c *coordinator) writeMarkers(ctx context.Context, pid ProducerID, epoch Epoch, parts map[TopicPartition]bool, commit bool) error {
	results := make(chan error, len(parts))
	n := 0
	for tp := range parts {
		p, err := c.b.partition(tp.Topic, tp.Partition)
		if errors.Is(err, ErrTopicNotFound) || errors.Is(err, ErrPartitionNotFound) {
			continue
		}
		if err != nil {
			return err
		}
		n++
		p.appendMarker(pid, epoch, commit, func(r AppendResult) { results <- r.Err })
	}
	var errs []error
	for range n {
		// Markers cannot be taken back once written: wait for every one,
		// whatever ctx says, so the caller knows the outcome.
		if err := <-results; err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func waitMarker(ctx context.Context, p *partition, pid ProducerID, epoch Epoch, commit bool) error {
	ch := make(chan error, 1)
	p.appendMarker(pid, epoch, commit, func(r AppendResult) { ch <- r.Err })
	return <-ch
}

// lookup returns the entry of transactionalID, checking that pid and
// epoch are its current ones. On success e.mu is held.
func (c *coordinator) lookup(transactionalID string, pid ProducerID, epoch Epoch) (*txnEntry, error) {
	c.mu.Lock()
	e := c.mu.byID[transactionalID]
	c.mu.Unlock()
	if e == nil {
		return nil, fmt.Errorf("%w: unknown transactional id %q (call InitProducer first)", ErrInvalidTransaction, transactionalID)
	}
	e.mu.Lock()
	if err := e.checkEpoch(pid, epoch); err != nil {
		e.mu.Unlock()
		return nil, err
	}
	return e, nil
}

func (e *txnEntry) checkEpoch(pid ProducerID, epoch Epoch) error {
	switch {
	case pid != e.pid || epoch < e.epoch:
		return fmt.Errorf("%w: transactional id %q has producer %d epoch %d, the caller %d epoch %d", ErrProducerFenced, e.id, e.pid, e.epoch, pid, epoch)
	case epoch > e.epoch:
		return fmt.Errorf("%w: transactional id %q is at epoch %d, not %d", ErrInvalidTransaction, e.id, e.epoch, epoch)
	}
	return nil
}

// CommitTransaction commits the open transaction of transactionalID: it
// durably records the decision, writes a commit marker to every partition
// the transaction wrote to, waits until all are durable and only then
// returns nil. The transaction's records become visible to ReadCommitted
// readers as the markers do. It is idempotent: committing again a
// transaction that is committed (or retrying after an error, even after a
// restart) succeeds, as long as no new transaction has started under the
// id. With no transaction open it does nothing. A producer whose epoch is
// not the id's current one gets ErrProducerFenced; committing a
// transaction the producer aborted is ErrInvalidTransaction.
func (b *Broker) CommitTransaction(ctx context.Context, transactionalID string, pid ProducerID, epoch Epoch) error {
	return b.endTransaction(ctx, transactionalID, pid, epoch, true)
}

// AbortTransaction aborts the open transaction of transactionalID, as
// CommitTransaction commits it: its records are never visible to
// ReadCommitted readers, and compaction removes them.
func (b *Broker) AbortTransaction(ctx context.Context, transactionalID string, pid ProducerID, epoch Epoch) error {
	return b.endTransaction(ctx, transactionalID, pid, epoch, false)
}

func (b *Broker) endTransaction(ctx context.Context, id string, pid ProducerID, epoch Epoch, commit bool) error {
	if err := b.checkOpen(); err != nil {
		return err
	}
	c := &b.txns
	e, err := c.lookup(id, pid, epoch)
	if err != nil {
		return err
	}
	defer e.mu.Unlock()
	want, done, other, otherDone := txnPrepareAbort, txnCompleteAbort, txnPrepareCommit, txnCompleteCommit
	if commit {
		want, done, other, otherDone = txnPrepareCommit, txnCompleteCommit, txnPrepareAbort, txnCompleteAbort
	}
	switch e.state {
	case txnEmpty, done:
		return nil
	case other, otherDone:
		return fmt.Errorf("%w: transaction of %q is %v, it cannot now be %s", ErrInvalidTransaction, id, e.state, map[bool]string{true: "committed", false: "aborted"}[commit])
	case txnOngoing:
		e.state = want
		if err := c.persist(ctx, e); err != nil {
			e.state = txnOngoing
			return err
		}
	}
	return c.finish(ctx, e, commit)
}

// AddPartitionsToTransaction durably adds partitions to the open
// transaction of transactionalID (starting one if none is open), so its
// end writes markers there. Transactional appends add their partition
// themselves; this is for callers that declare them first, as Kafka's
// protocol does.
func (b *Broker) AddPartitionsToTransaction(ctx context.Context, transactionalID string, pid ProducerID, epoch Epoch, parts ...TopicPartition) error {
	if err := b.checkOpen(); err != nil {
		return err
	}
	c := &b.txns
	e, err := c.lookup(transactionalID, pid, epoch)
	if err != nil {
		return err
	}
	defer e.mu.Unlock()
	for _, tp := range parts {
		if _, err := b.partition(tp.Topic, tp.Partition); err != nil {
			return err
		}
	}
	return c.addLocked(ctx, e, parts)
}

// addLocked adds parts to e's transaction. Called with e.mu held.
func (c *coordinator) addLocked(ctx context.Context, e *txnEntry, parts []TopicPartition) error {
	switch e.state {
	case txnPrepareCommit, txnPrepareAbort:
		return fmt.Errorf("%w: transaction of %q is being ended (%v)", ErrInvalidTransaction, e.id, e.state)
	}
	var added []TopicPartition
	for _, tp := range parts {
		if !e.parts[tp] {
			added = append(added, tp)
		}
	}
	if len(added) == 0 && e.state == txnOngoing {
		return nil
	}
	prevState, prevStarted := e.state, e.started
	if e.state != txnOngoing {
		e.state, e.parts, e.started = txnOngoing, map[TopicPartition]bool{}, c.b.opts.Clock.Now()
	}
	for _, tp := range added {
		e.parts[tp] = true
	}
	if err := c.persist(ctx, e); err != nil {
		for _, tp := range added {
			delete(e.parts, tp)
		}
		e.state, e.started = prevState, prevStarted
		return err
	}
	return nil
}

// beginAppend checks a transactional batch of pid at epoch for tp against
// the coordinator and adds tp to its transaction. On success the caller
// writes the batch and then calls the returned unlock.
func (c *coordinator) beginAppend(pid ProducerID, epoch Epoch, tp TopicPartition) (unlock func(), err error) {
	c.mu.Lock()
	e := c.mu.byPID[pid]
	c.mu.Unlock()
	if e == nil {
		return nil, fmt.Errorf("%s/%d: %w: producer %d has no transactional id", tp.Topic, tp.Partition, ErrInvalidTransaction, pid)
	}
	e.mu.Lock()
	err = e.checkEpoch(pid, epoch)
	if err == nil {
		err = c.addLocked(context.Background(), e, []TopicPartition{tp})
	}
	if err != nil {
		e.mu.Unlock()
		return nil, fmt.Errorf("%s/%d: %w", tp.Topic, tp.Partition, err)
	}
	return e.mu.Unlock, nil
}

// AbortExpiredTransactions aborts every transaction open for longer than
// Options.TransactionTimeout, bumping its id's epoch so that its producer
// is fenced, and returns how many it aborted. The background maintenance
// pass calls it; the timeout of a transaction open when the broker starts
// counts from the start.
func (b *Broker) AbortExpiredTransactions(ctx context.Context) (int, error) {
	if err := b.checkOpen(); err != nil {
		return 0, err
	}
	c := &b.txns
	now := b.opts.Clock.Now()
	n := 0
	var errs []error
	for _, e := range c.entries() {
		e.mu.Lock()
		if e.state == txnOngoing && now.Sub(e.started) >= b.opts.TransactionTimeout {
			b.opts.Logger.Warn("aborting a transaction past its timeout", "transactional.id", e.id, "started", e.started)
			if err := c.abortFencing(ctx, e, txnCompleteAbort); err != nil {
				errs = append(errs, err)
			} else {
				n++
			}
		}
		e.mu.Unlock()
	}
	return n, errors.Join(errs...)
}

// TransactionInfo describes a transactional id.
type TransactionInfo struct {
	TransactionalID string
	ProducerID      ProducerID
	Epoch           Epoch
	State           string // Kafka's name: Empty, Ongoing, CompleteCommit, ...
	Partitions      []TopicPartition
	Started         time.Time // zero when no transaction is open
}

// Transactions lists the transactional ids, sorted.
func (b *Broker) Transactions() []TransactionInfo {
	var out []TransactionInfo
	for _, e := range b.txns.entries() {
		e.mu.Lock()
		ti := TransactionInfo{TransactionalID: e.id, ProducerID: e.pid, Epoch: e.epoch, State: e.state.String(), Started: e.started}
		for tp := range e.parts {
			ti.Partitions = append(ti.Partitions, tp)
		}
		e.mu.Unlock()
		sort.Slice(ti.Partitions, func(i, j int) bool {
			a, c := ti.Partitions[i], ti.Partitions[j]
			return a.Topic < c.Topic || a.Topic == c.Topic && a.Partition < c.Partition
		})
		out = append(out, ti)
	}
	return out
}
