package broker

import (
	"errors"
	"fmt"
	"math"
	"sort"
)

// Each partition keeps, in memory, what idempotence and transactions need
// of its producers (Kafka's producer state):
//
//   - per producer id: the epoch it last wrote with, the sequence number of
//     its last record, its last dedupWindow batches (so that a retried
//     batch is acknowledged with its first offsets instead of appended
//     again), and the first offset of its open transaction, if any;
//   - the aborted-transactions index: for every aborted transaction whose
//     marker is in the log, the producer id, the first offset of its data
//     and the offset of its abort marker. read_committed readers drop a
//     transactional batch of producer P at offset o when an entry (P,
//     first, marker) has first <= o < marker.
//
// Both are rebuilt when the partition opens, by reading every batch header
// of the log from its start (and the one record of each control batch):
// the log is the only source of truth, so a crash can never leave them
// out of step with it. That costs one small read per batch at open;
// snapshots of the state, as Kafka keeps, would bound it and are left for
// when logs grow large enough to need them.
//
// The last stable offset (LSO) is the first offset of the earliest
// transaction not yet ended by a durable marker, or the high watermark if
// there is none. A transaction counts as open until its marker is below the
// high watermark, so a read_committed reader never sees a transaction's
// records before its outcome would survive a crash.

// ProducerID identifies an idempotent or transactional producer. Batches
// without one carry -1.
type ProducerID int64

// Epoch is a producer id's generation: InitProducer bumps it, and a
// producer with an older epoch is fenced.
type Epoch int16

// dedupWindow is how many of a producer's latest batches a partition
// remembers to recognize a retry: as Kafka, which allows at most five
// batches in flight per partition for an idempotent producer.
const dedupWindow = 5

// Sentinel errors of idempotent and transactional appends.
var (
	// ErrProducerFenced is returned (wrapped) for an append, commit or
	// abort by a producer whose epoch is older than the current one of its
	// producer id or transactional id: another instance has called
	// InitProducer with the same transactional id since (or the
	// transaction timed out and was aborted). The fenced producer must stop.
	ErrProducerFenced = errors.New("producer fenced")
	// ErrOutOfOrderSequence is returned (wrapped) for an idempotent batch
	// whose base sequence does not follow the producer's last one in the
	// partition and is not a retry of one of its recent batches.
	ErrOutOfOrderSequence = errors.New("out of order sequence number")
	// ErrInvalidTransaction is returned (wrapped, saying why) for a
	// transactional operation the transaction's state does not allow: an
	// unknown transactional id, a transactional batch from a producer
	// without one, a commit of a transaction the producer aborted, or an
	// append while the transaction is being ended.
	ErrInvalidTransaction = errors.New("invalid transaction operation")
)

// AbortedTransaction is one entry of a partition's aborted-transactions
// index: the records of ProducerID at offsets from FirstOffset up to (not
// including) LastOffset, the offset of its abort marker, belong to an
// aborted transaction.
type AbortedTransaction struct {
	ProducerID  ProducerID
	FirstOffset int64
	LastOffset  int64
}

// Covers reports whether the batch h belongs to this aborted transaction.
func (a *AbortedTransaction) Covers(h *BatchHeader) bool {
	return h.IsTransactional() && !h.IsControl() && ProducerID(h.ProducerID) == a.ProducerID &&
		h.BaseOffset >= a.FirstOffset && h.BaseOffset < a.LastOffset
}

type batchMeta struct {
	firstSeq, lastSeq int32
	base, last        int64
}

type producerEntry struct {
	epoch    Epoch
	lastSeq  int32 // sequence of the last record appended; -1: none in this epoch
	recent   [dedupWindow]batchMeta
	nRecent  int
	txnFirst int64 // first offset of the open transaction; -1: none
}

func (e *producerEntry) newEpoch(epoch Epoch) {
	e.epoch, e.lastSeq, e.nRecent = epoch, -1, 0
}

func (e *producerEntry) remember(m batchMeta) {
	copy(e.recent[1:], e.recent[:dedupWindow-1])
	e.recent[0] = m
	e.nRecent = min(e.nRecent+1, dedupWindow)
	e.lastSeq = m.lastSeq
}

// endingTxn is a transaction whose marker is written but not yet below
// the high watermark: it still holds the LSO back.
type endingTxn struct {
	first, marker int64
}

// abortedIndex is an immutable view of the aborted-transactions index,
// sorted by marker offset, replaced whole under partition.mu. maxSpan is
// the largest LastOffset-FirstOffset in it (never lowered), which bounds
// the search for the entries that overlap a range.
type abortedIndex struct {
	list    []AbortedTransaction
	maxSpan int64
}

// producerState is a partition's producer state; guarded by partition.mu.
type producerState struct {
	producers map[ProducerID]*producerEntry
	open      map[ProducerID]int64 // first offset of each open transaction
	ending    []endingTxn
}

func newProducerState() producerState {
	return producerState{producers: make(map[ProducerID]*producerEntry), open: make(map[ProducerID]int64)}
}

// seqAdd adds n to a sequence number, which wraps from MaxInt32 to 0.
func seqAdd(seq int32, n int32) int32 {
	return int32((int64(seq) + int64(n)) % (math.MaxInt32 + 1))
}

// checkProducer validates an idempotent or transactional data batch
// against the producer's state. A retry of a recent batch returns its
// metadata in dup and no error.
func (st *producerState) checkProducer(h *BatchHeader) (dup *batchMeta, err error) {
	if h.IsControl() {
		return nil, fmt.Errorf("%w: control batches are written by the broker only", ErrInvalidRecord)
	}
	if h.ProducerID < 0 {
		if h.IsTransactional() {
			return nil, fmt.Errorf("%w: transactional batch without a producer id", ErrInvalidRecord)
		}
		return nil, nil
	}
	if h.BaseSequence < 0 {
		return nil, fmt.Errorf("%w: batch of producer %d has base sequence %d", ErrInvalidRecord, h.ProducerID, h.BaseSequence)
	}
	e := st.producers[ProducerID(h.ProducerID)]
	if e == nil {
		// Unknown here: a new producer, or one whose batches retention has
		// removed. Any sequence starts it.
		return nil, nil
	}
	epoch := Epoch(h.ProducerEpoch)
	last := seqAdd(h.BaseSequence, h.LastOffsetDelta)
	switch {
	case epoch < e.epoch:
		return nil, fmt.Errorf("%w: producer %d has epoch %d, the partition has seen %d", ErrProducerFenced, h.ProducerID, epoch, e.epoch)
	case epoch > e.epoch:
		if e.txnFirst >= 0 {
			return nil, fmt.Errorf("%w: producer %d writes with epoch %d while its transaction of epoch %d is open", ErrInvalidTransaction, h.ProducerID, epoch, e.epoch)
		}
		if h.BaseSequence != 0 {
			return nil, fmt.Errorf("%w: producer %d starts epoch %d at sequence %d, not 0", ErrOutOfOrderSequence, h.ProducerID, epoch, h.BaseSequence)
		}
		return nil, nil
	}
	for i := range e.nRecent {
		if m := &e.recent[i]; m.firstSeq == h.BaseSequence && m.lastSeq == last {
			return m, nil
		}
	}
	if want := seqAdd(e.lastSeq, 1); h.BaseSequence != want {
		return nil, fmt.Errorf("%w: producer %d sent sequence %d, expected %d", ErrOutOfOrderSequence, h.ProducerID, h.BaseSequence, want)
	}
	return nil, nil
}

// applyData records a data batch written to the log, whose offsets are
// set. Used by appends after checkProducer and by recovery.
func (st *producerState) applyData(h *BatchHeader) {
	if h.ProducerID < 0 {
		return
	}
	id := ProducerID(h.ProducerID)
	e := st.producers[id]
	if e == nil {
		e = &producerEntry{txnFirst: -1}
		e.newEpoch(Epoch(h.ProducerEpoch))
		st.producers[id] = e
	} else if Epoch(h.ProducerEpoch) != e.epoch {
		e.newEpoch(Epoch(h.ProducerEpoch))
	}
	if h.BaseSequence >= 0 {
		e.remember(batchMeta{firstSeq: h.BaseSequence, lastSeq: seqAdd(h.BaseSequence, h.LastOffsetDelta), base: h.BaseOffset, last: h.LastOffset()})
	}
	if h.IsTransactional() && e.txnFirst < 0 {
		e.txnFirst = h.BaseOffset
		st.open[id] = h.BaseOffset
	}
}

// hasOpen reports whether producer id has a transaction open here.
func (st *producerState) hasOpen(id ProducerID) bool {
	_, ok := st.open[id]
	return ok
}

// applyMarker records the marker at offset that ends producer id's open
// transaction, returning the aborted-index entry it makes (ok false for a
// commit, or when no transaction was open).
func (st *producerState) applyMarker(id ProducerID, epoch Epoch, commit bool, offset int64) (AbortedTransaction, bool) {
	e := st.producers[id]
	if e == nil {
		e = &producerEntry{txnFirst: -1}
		e.newEpoch(epoch)
		st.producers[id] = e
	} else if epoch > e.epoch {
		e.newEpoch(epoch)
	}
	first := e.txnFirst
	if first < 0 {
		return AbortedTransaction{}, false
	}
	e.txnFirst = -1
	delete(st.open, id)
	st.ending = append(st.ending, endingTxn{first: first, marker: offset})
	if commit {
		return AbortedTransaction{}, false
	}
	return AbortedTransaction{ProducerID: id, FirstOffset: first, LastOffset: offset}, true
}

// lso returns the last stable offset at high watermark hw, forgetting the
// ending transactions whose markers hw has passed.
func (st *producerState) lso(hw int64) int64 {
	lso := hw
	for _, first := range st.open {
		lso = min(lso, first)
	}
	kept := st.ending[:0]
	for _, t := range st.ending {
		if t.marker >= hw {
			kept = append(kept, t)
			lso = min(lso, t.first)
		}
	}
	clear(st.ending[len(kept):])
	st.ending = kept
	return lso
}

// openTxn is a transaction open in a partition.
type openTxn struct {
	producer ProducerID
	epoch    Epoch
	first    int64
}

func (st *producerState) openTxns() []openTxn {
	var out []openTxn
	for id, first := range st.open {
		out = append(out, openTxn{producer: id, epoch: st.producers[id].epoch, first: first})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].first < out[j].first })
	return out
}

// withAborted returns idx with a the entry added.
func (idx *abortedIndex) withAborted(a AbortedTransaction) *abortedIndex {
	n := &abortedIndex{list: append(idx.list, a), maxSpan: max(idx.maxSpan, a.LastOffset-a.FirstOffset)}
	return n
}

// since returns idx without the entries whose markers are below start.
func (idx *abortedIndex) since(start int64) *abortedIndex {
	i := sort.Search(len(idx.list), func(i int) bool { return idx.list[i].LastOffset >= start })
	if i == 0 {
		return idx
	}
	return &abortedIndex{list: append([]AbortedTransaction(nil), idx.list[i:]...), maxSpan: idx.maxSpan}
}

// overlapping returns the aborted transactions with records in offsets
// from up to (not including) to.
func (idx *abortedIndex) overlapping(from, to int64) []AbortedTransaction {
	l := idx.list
	i := sort.Search(len(l), func(i int) bool { return l[i].LastOffset > from })
	var out []AbortedTransaction
	// An entry's marker is at most maxSpan past its first offset, so
	// none with a marker beyond to+maxSpan starts below to.
	for ; i < len(l) && l[i].LastOffset <= to+idx.maxSpan; i++ {
		if l[i].FirstOffset < to {
			out = append(out, l[i])
		}
	}
	return out
}
