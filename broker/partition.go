package broker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// AppendResult is the outcome of one append: the offsets the batch got, or
// the error that kept it out of the log.
type AppendResult struct {
	BaseOffset int64
	LastOffset int64
	Err        error
}

// waiter is an append waiting for its data to become durable.
type waiter struct {
	base, last int64
	done       func(AppendResult)
}

// partition is one partition's log: an ordered list of segments, the last
// of which takes appends.
//
// Appends are serialized by mu: the batch gets its offsets and is written
// to the active segment's file (the page cache) under the lock, so the
// caller's buffer is free again when append returns. Durability is the
// syncer's job: under the default policy one goroutine per partition
// repeatedly takes every append written since its last round, syncs the
// files once, and only then raises the high watermark and acknowledges
// them all. That is the group commit: however many producers and batches
// in flight, one fdatasync covers all that was written while the previous
// one ran.
//
// Readers see the segment list through segs, an immutable slice replaced
// under mu, and never read past a segment's readable size or the high
// watermark, both raised only after the data is durable.
//
// Lock order: maintMu, then mu, then a segment's idxMu; notifyMu is taken
// alone.
type partition struct {
	b     *Broker
	topic string
	id    int32
	dir   string
	cfg   *atomic.Pointer[TopicConfig]

	mu struct {
		sync.Mutex
		active   *segment
		next     int64      // offset the next record gets
		unsynced []*segment // rolled segments not yet synced and sealed, in order
		dirDirty bool       // segment files created since the directory was synced
		waiters  []waiter
		spare    []waiter // recycled waiter slice
		failed   error    // set when the partition can no longer take appends
		closed   bool
		// producers is the idempotence and transaction state
		// (producer_state.go), changed as batches are written.
		producers producerState
	}
	segs atomic.Pointer[[]*segment]
	hw   atomic.Int64 // offsets below it are readable and, by default, durable
	// assigned mirrors mu.next for readers: no batch on disk may reach
	// it, which catches a damaged base offset (outside the checksum).
	assigned atomic.Int64
	// lso is the last stable offset: at most hw, published with it.
	lso atomic.Int64
	// aborted is the aborted-transactions index, replaced under mu.
	aborted atomic.Pointer[abortedIndex]

	notifyMu sync.Mutex
	notify   chan struct{} // closed and replaced when hw moves or the partition closes

	maintMu   sync.Mutex // serializes retention and compaction
	cleanedTo int64      // compaction has mapped every key below; guarded by maintMu

	syncReq  chan struct{}
	flushReq chan chan struct{} // run a round now and say when done
	stop     chan struct{}
	finished chan struct{}
}

// ErrOffsetOutOfRange is returned (wrapped, with the partition's range)
// for a read or a lookup at an offset the partition does not hold.
var ErrOffsetOutOfRange = errors.New("offset out of range")

// ErrRecordTooLarge is returned (wrapped) for a batch above the topic's
// max.message.bytes.
var ErrRecordTooLarge = errors.New("record batch too large")

// ErrInvalidRecord is returned (wrapped) for a batch the topic cannot take,
// such as a record without a key in a compacted topic.
var ErrInvalidRecord = errors.New("invalid record")

// ErrClosed is returned for operations on a closed broker or a deleted
// topic's partition.
var ErrClosed = errors.New("broker closed")

func isNotExist(err error) bool { return errors.Is(err, fs.ErrNotExist) }

// openPartition opens or creates the partition in dir, validating its
// tail. Damage in the untrusted tail (data written after the last
// completed sync) is cut off and reported; the segments after it are
// removed.
func openPartition(b *Broker, topic string, id int32, dir string, cfg *atomic.Pointer[TopicConfig]) (*partition, error) {
	p := &partition{
		b: b, topic: topic, id: id, dir: dir, cfg: cfg,
		notify:   make(chan struct{}),
		syncReq:  make(chan struct{}, 1),
		flushReq: make(chan chan struct{}),
		stop:     make(chan struct{}),
		finished: make(chan struct{}),
	}
	fsys := b.opts.FS
	if err := fsys.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	names, err := fsys.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var bases []int64
	logs := make(map[string]bool)
	for _, n := range names {
		if base, ok := parseSegmentName(n); ok {
			bases = append(bases, base)
			logs[strings.TrimSuffix(n, logSuffix)] = true
		}
	}
	for _, n := range names {
		ext := filepath.Ext(n)
		stale := ext == cleanedSuffix || ext == ".tmp" // an unfinished compaction or index write
		if ext == indexSuffix || ext == timeIndexSuffix {
			stale = !logs[strings.TrimSuffix(n, ext)] // left by a crash while removing a segment
		}
		if stale {
			if err := fsys.Remove(filepath.Join(dir, n)); err != nil {
				return nil, err
			}
		}
	}
	sort.Slice(bases, func(i, j int) bool { return bases[i] < bases[j] })
	now := b.opts.Clock.Now()
	var segs []*segment
	fail := func(err error) (*partition, error) {
		for _, s := range segs {
			s.close()
		}
		return nil, fmt.Errorf("open partition %s/%d: %w", topic, id, err)
	}
	prevTrusted := true
	for i, base := range bases {
		if len(segs) > 0 {
			prev := segs[len(segs)-1]
			if base > prev.next && !prevTrusted {
				// The segment before lost its unsynced tail in a crash,
				// but this later one reached the disk: nothing from the
				// hole on was acknowledged (acknowledging it needed the
				// tail synced), and the log must stay contiguous.
				ev := RecoveryEvent{Topic: p.topic, Partition: p.id, File: segmentName(dir, base, logSuffix), FirstLostOffset: prev.next,
					Cause: fmt.Errorf("offsets %d to %d were lost in a crash; the segments after them were never acknowledged", prev.next, base-1)}
				if err := p.removeLater(bases[i:], &ev); err != nil {
					return fail(err)
				}
				p.b.recovered(ev)
				break
			}
			if base != prev.next {
				return fail(&CorruptionError{File: segmentName(dir, base, logSuffix), Pos: 0,
					Err: fmt.Errorf("segment starts at offset %d, but the segment before it ends at %d", base, prev.next)})
			}
		}
		s, trusted, damage, err := openSegment(fsys, dir, base, now)
		if err != nil {
			return fail(err)
		}
		segs = append(segs, s)
		prevTrusted = trusted
		if !trusted {
			// Written after the last sync the broker knows completed: it
			// may be in the page cache only. Make it durable before any
			// reader sees it.
			if damage != nil {
				if err := p.cutTail(s, damage, bases[i+1:]); err != nil {
					return fail(err)
				}
			}
			if err := s.log.Sync(); err != nil {
				return fail(err)
			}
			if damage != nil {
				break
			}
		}
	}
	if len(segs) == 0 {
		s, err := createSegment(fsys, dir, 0, now)
		if err != nil {
			return fail(err)
		}
		if err := s.log.Sync(); err != nil {
			return fail(err)
		}
		segs = append(segs, s)
	}
	// Every segment but the last is sealed: its indexes are on disk.
	for _, s := range segs[:len(segs)-1] {
		if s.mem != nil {
			if err := s.seal(); err != nil {
				return fail(err)
			}
		}
		s.retired.Store(true)
	}
	act := segs[len(segs)-1]
	if err := act.activate(); err != nil {
		return fail(err)
	}
	if err := fsys.SyncDir(dir); err != nil {
		return fail(err)
	}
	p.mu.active = act
	p.mu.next = act.next
	p.assigned.Store(act.next)
	p.hw.Store(act.next)
	p.segs.Store(&segs)
	p.loadProducerState(segs)
	p.lso.Store(p.mu.producers.lso(act.next))
	go p.syncLoop()
	return p, nil
}

// cutTail truncates s at the damage and removes the segments after it,
// reporting what was discarded.
func (p *partition) cutTail(s *segment, damage *CorruptionError, later []int64) error {
	size, err := s.log.Size()
	if err != nil {
		return err
	}
	ev := RecoveryEvent{Topic: p.topic, Partition: p.id, File: damage.File, Pos: damage.Pos, Discarded: size - damage.Pos, Cause: damage.Err, FirstLostOffset: s.next}
	// Remove the later segments first, so that a crash in the middle
	// leaves the damage in place to be found again, never a gap.
	if err := p.removeLater(later, &ev); err != nil {
		return err
	}
	if err := s.log.Truncate(damage.Pos); err != nil {
		return fmt.Errorf("truncate %s at byte %d: %w", s.name, damage.Pos, err)
	}
	p.b.recovered(ev)
	return nil
}

// removeLater removes the segments with the given bases during recovery,
// newest first, adding them to ev.
func (p *partition) removeLater(bases []int64, ev *RecoveryEvent) error {
	fsys := p.b.opts.FS
	for i := len(bases) - 1; i >= 0; i-- {
		for _, suf := range []string{logSuffix, indexSuffix, timeIndexSuffix} {
			name := segmentName(p.dir, bases[i], suf)
			if st, err := fsys.Stat(name); err == nil && suf == logSuffix {
				ev.Discarded += st.Size()
				ev.RemovedFiles = append(ev.RemovedFiles, name)
			}
			if err := fsys.Remove(name); err != nil && !isNotExist(err) {
				return err
			}
		}
	}
	if len(bases) == 0 {
		return nil
	}
	return fsys.SyncDir(p.dir)
}

func (p *partition) config() *TopicConfig { return p.cfg.Load() }

// append checks batch, gives it offsets and writes it. done is called once
// with the result: at once on failure, and otherwise when the batch is
// durable (default policy) or written (interval policy). done may run on
// the partition's syncer goroutine: it must not block.
//
// A batch of an idempotent or transactional producer is checked against
// the producer's state first: an older epoch is fenced, a sequence gap
// refused, and a retry of one of its recent batches is acknowledged with
// the offsets the first copy got, once that is durable, without writing it
// again.
func (p *partition) append(batch []byte, done func(AppendResult)) {
	h, err := CheckBatch(batch)
	if err != nil {
		done(AppendResult{Err: fmt.Errorf("%s/%d: %w", p.topic, p.id, err)})
		return
	}
	cfg := p.config()
	if int64(len(batch)) > cfg.MaxMessageBytes {
		done(AppendResult{Err: fmt.Errorf("%s/%d: %w: %d bytes, max.message.bytes is %d", p.topic, p.id, ErrRecordTooLarge, len(batch), cfg.MaxMessageBytes)})
		return
	}
	if err := validateRecords(batch, &h, cfg.Compact()); err != nil {
		done(AppendResult{Err: fmt.Errorf("%s/%d: %w", p.topic, p.id, err)})
		return
	}

	p.mu.Lock()
	if err := p.appendable(); err != nil {
		p.mu.Unlock()
		done(AppendResult{Err: err})
		return
	}
	dup, err := p.mu.producers.checkProducer(&h)
	if err != nil {
		p.mu.Unlock()
		done(AppendResult{Err: fmt.Errorf("%s/%d: %w", p.topic, p.id, err)})
		return
	}
	if dup != nil {
		setBaseOffset(batch, dup.base)
		res := AppendResult{BaseOffset: dup.base, LastOffset: dup.last}
		if p.b.opts.FsyncInterval > 0 || p.hw.Load() > dup.last {
			p.mu.Unlock()
			done(res)
			return
		}
		// The first copy is written but not yet durable: acknowledge the
		// retry with it.
		p.finishLocked(res, done)
		return
	}
	if err := p.writeLocked(batch, &h, cfg); err != nil {
		p.mu.Unlock()
		done(AppendResult{Err: err})
		return
	}
	p.mu.producers.applyData(&h)
	p.finishLocked(AppendResult{BaseOffset: h.BaseOffset, LastOffset: h.LastOffset()}, done)
}

// writeLocked gives a checked batch its offsets and writes it to the
// active segment, rolling first if needed. Called with mu held.
func (p *partition) writeLocked(batch []byte, h *BatchHeader, cfg *TopicConfig) error {
	now := p.b.opts.Clock.Now()
	if err := p.maybeRoll(len(batch), h.LastOffsetDelta, now, cfg); err != nil {
		return err
	}
	h.BaseOffset = p.mu.next
	setBaseOffset(batch, h.BaseOffset)
	act := p.mu.active
	if err := act.append(batch, h); err != nil {
		if act.size != mustSize(act) {
			p.mu.failed = fmt.Errorf("%s/%d failed: %w", p.topic, p.id, err)
		}
		return err
	}
	p.mu.next = h.NextOffset()
	p.assigned.Store(p.mu.next)
	return nil
}

// finishLocked arranges for done to get res once what is written is
// durable (default policy) or at once (interval policy), and unlocks mu.
func (p *partition) finishLocked(res AppendResult, done func(AppendResult)) {
	if p.b.opts.FsyncInterval > 0 {
		act := p.mu.active
		act.readable.Store(act.size)
		p.hw.Store(p.mu.next)
		p.publishLSOLocked()
		p.mu.Unlock()
		p.wake()
		done(res)
		return
	}
	p.mu.waiters = append(p.mu.waiters, waiter{base: res.BaseOffset, last: res.LastOffset, done: done})
	p.mu.Unlock()
	select {
	case p.syncReq <- struct{}{}:
	default:
	}
}

// publishLSOLocked recomputes the last stable offset from the high
// watermark. Called with mu held, after hw moves and before readers are
// woken.
func (p *partition) publishLSOLocked() {
	p.lso.Store(p.mu.producers.lso(p.hw.Load()))
}

// appendMarker writes the control batch that ends producer id's open
// transaction in this partition: a commit or an abort marker, with epoch,
// which must not be older than the producer's here. done gets the
// marker's offset once it is durable. If the producer has no transaction
// open here (nothing was written in it, or the marker is already in the
// log: a retried commit), nothing is written, older epochs are fenced from
// now on, and done gets offsets -1 at once.
func (p *partition) appendMarker(id ProducerID, epoch Epoch, commit bool, done func(AppendResult)) {
	cfg := p.config()
	p.mu.Lock()
	if err := p.appendable(); err != nil {
		p.mu.Unlock()
		done(AppendResult{Err: err})
		return
	}
	st := &p.mu.producers
	e := st.producers[id]
	if e != nil && epoch < e.epoch {
		p.mu.Unlock()
		done(AppendResult{Err: fmt.Errorf("%s/%d: %w: marker of producer %d has epoch %d, the partition has seen %d", p.topic, p.id, ErrProducerFenced, id, epoch, e.epoch)})
		return
	}
	if !st.hasOpen(id) {
		if e != nil && epoch > e.epoch {
			e.newEpoch(epoch)
		}
		p.mu.Unlock()
		done(AppendResult{BaseOffset: -1, LastOffset: -1})
		return
	}
	batch := markerBatch(id, epoch, commit, p.b.opts.Clock.Now().UnixMilli())
	h, err := ParseBatchHeader(batch)
	if err == nil {
		err = p.writeLocked(batch, &h, cfg)
	}
	if err != nil {
		p.mu.Unlock()
		done(AppendResult{Err: err})
		return
	}
	if a, ok := st.applyMarker(id, epoch, commit, h.BaseOffset); ok {
		p.aborted.Store(p.aborted.Load().withAborted(a))
	}
	p.finishLocked(AppendResult{BaseOffset: h.BaseOffset, LastOffset: h.LastOffset()}, done)
}

// openTxns lists the transactions open in the partition.
func (p *partition) openTxns() []openTxn {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.mu.producers.openTxns()
}

// loadProducerState rebuilds the producer state and the aborted index
// from the batch headers of segs, and the record of each control batch.
// Batches of producers are checked whole (their checksum) before they
// count, so a damaged header cannot invent a transaction; damage stops the
// scan of that segment with a warning, and is reported to whoever reads
// there.
func (p *partition) loadProducerState(segs []*segment) {
	p.mu.producers = newProducerState()
	st := &p.mu.producers
	idx := &abortedIndex{}
	var hb [batchHeaderSize]byte
	var buf []byte
	for _, s := range segs {
		limit := s.readable.Load()
		pos, prev := int64(0), s.base
		scan := func() error {
			for pos < limit {
				if limit-pos < batchHeaderSize {
					return &CorruptionError{File: s.name, Pos: pos, Err: errTruncated}
				}
				if _, err := s.log.ReadAt(hb[:], pos); err != nil {
					return err
				}
				h, err := ParseBatchHeader(hb[:])
				if err == nil {
					err = s.checkOffsets(&h, prev)
				}
				if err == nil && int64(h.Size()) > limit-pos {
					err = errTruncated
				}
				if err != nil {
					return &CorruptionError{File: s.name, Pos: pos, Err: err}
				}
				if h.ProducerID >= 0 || h.IsTransactional() || h.IsControl() {
					if cap(buf) < h.Size() {
						buf = make([]byte, h.Size())
					}
					b := buf[:h.Size()]
					if _, err := s.log.ReadAt(b, pos); err != nil {
						return err
					}
					if _, err := CheckBatch(b); err != nil {
						return &CorruptionError{File: s.name, Pos: pos, Err: err}
					}
					if h.IsControl() {
						marker, commit, err := markerKind(b)
						if err != nil {
							return &CorruptionError{File: s.name, Pos: pos, Err: err}
						}
						if marker && h.ProducerID >= 0 {
							if a, ok := st.applyMarker(ProducerID(h.ProducerID), Epoch(h.ProducerEpoch), commit, h.BaseOffset); ok {
								idx = idx.withAborted(a)
							}
						}
					} else {
						st.applyData(&h)
					}
				}
				pos += int64(h.Size())
				prev = h.NextOffset()
			}
			return nil
		}
		if err := scan(); err != nil {
			p.b.opts.Logger.Warn("reading producer state stopped at damage", "segment", s.name, "err", err)
		}
	}
	p.aborted.Store(idx)
}

func mustSize(s *segment) int64 {
	n, err := s.log.Size()
	if err != nil {
		return -1
	}
	return n
}

func (p *partition) isClosed() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.mu.closed
}

func (p *partition) appendable() error {
	if p.mu.closed {
		return fmt.Errorf("%s/%d: %w", p.topic, p.id, ErrClosed)
	}
	return p.mu.failed
}

// validateRecords checks every record of a batch being appended, as Kafka
// does: the framing, offset deltas 0 to n-1, and, in a compacted topic
// (which keeps the latest record per key), a key on every record.
func validateRecords(batch []byte, h *BatchHeader, needKeys bool) error {
	if h.NumRecords == 0 {
		return fmt.Errorf("%w: empty batch", ErrInvalidRecord)
	}
	if h.LastOffsetDelta != h.NumRecords-1 {
		return fmt.Errorf("%w: batch of %d records has last offset delta %d", ErrInvalidRecord, h.NumRecords, h.LastOffsetDelta)
	}
	var it RecordIter
	if err := it.Reset(batch); err != nil {
		return err
	}
	var r Record
	for want := h.BaseOffset; it.Next(&r); want++ {
		if r.Offset != want {
			return fmt.Errorf("%w: record %d has offset delta %d", ErrInvalidRecord, want-h.BaseOffset, r.Offset-h.BaseOffset)
		}
		if needKeys && r.Key == nil {
			return fmt.Errorf("%w: record without a key in a compacted topic (cleanup.policy=compact)", ErrInvalidRecord)
		}
	}
	return it.Err()
}

// maybeRoll starts a new segment when the active one is full, too old, or
// cannot index the batch's offsets. Called with mu held.
func (p *partition) maybeRoll(size int, lastDelta int32, now time.Time, cfg *TopicConfig) error {
	act := p.mu.active
	if act.size == 0 {
		return nil
	}
	full := act.size+int64(size) > cfg.SegmentBytes
	old := now.Sub(act.created).Milliseconds() >= cfg.SegmentMs
	overflow := p.mu.next+int64(lastDelta)-act.base > math.MaxUint32 || act.size+int64(size) > math.MaxUint32
	if !full && !old && !overflow {
		return nil
	}
	return p.roll(now)
}

// roll seals the active segment (its sync and index are left to the
// syncer) and starts a new one at the next offset. Called with mu held.
func (p *partition) roll(now time.Time) error {
	s, err := createSegment(p.b.opts.FS, p.dir, p.mu.next, now)
	if err != nil {
		return fmt.Errorf("%s/%d: roll: %w", p.topic, p.id, err)
	}
	p.mu.unsynced = append(p.mu.unsynced, p.mu.active)
	p.mu.active = s
	p.mu.dirDirty = true
	old := *p.segs.Load()
	segs := make([]*segment, len(old), len(old)+1)
	copy(segs, old)
	segs = append(segs, s)
	p.segs.Store(&segs)
	select {
	case p.syncReq <- struct{}{}:
	default:
	}
	return nil
}

// syncLoop is the partition's syncer. Under the default policy it runs a
// round whenever appends are waiting; under the interval policy, every
// interval.
func (p *partition) syncLoop() {
	defer close(p.finished)
	var tick <-chan time.Time
	if d := p.b.opts.FsyncInterval; d > 0 {
		t := time.NewTicker(d)
		defer t.Stop()
		tick = t.C
	}
	for {
		select {
		case <-p.syncReq:
			if p.b.opts.FsyncInterval > 0 {
				// Under the interval policy a request only asks for a
				// rolled segment to be sealed; data waits for the tick.
				p.syncRound(true)
				continue
			}
		case <-tick:
		case done := <-p.flushReq:
			p.syncRound(false)
			close(done)
			continue
		case <-p.stop:
			p.syncRound(false)
			return
		}
		p.syncRound(false)
	}
}

// syncRound makes everything written so far durable; under the default
// policy it then publishes and acknowledges it. With sealOnly, only rolled
// segments are synced and sealed.
func (p *partition) syncRound(sealOnly bool) {
	durable := p.b.opts.FsyncInterval == 0
	p.mu.Lock()
	segs := p.mu.unsynced
	p.mu.unsynced = nil
	act := p.mu.active
	size := act.size
	end := p.mu.next
	dirDirty := p.mu.dirDirty
	p.mu.dirDirty = false
	waiters := p.mu.waiters
	p.mu.waiters = p.mu.spare[:0]
	p.mu.spare = nil
	err := p.mu.failed
	p.mu.Unlock()
	defer p.recycle(waiters)

	syncAct := !sealOnly && act.synced != size
	if err == nil && len(segs) == 0 && len(waiters) == 0 && !dirDirty && !syncAct {
		return
	}
	for _, s := range segs {
		if err == nil {
			err = s.log.Sync()
		}
	}
	if err == nil && syncAct {
		if err = act.log.Sync(); err == nil {
			act.synced = size
		}
	}
	if err == nil && dirDirty {
		err = p.b.opts.FS.SyncDir(p.dir)
	}
	if err != nil {
		// After a failed fsync the state of the written pages is unknown:
		// nothing more is acknowledged or accepted until the broker is
		// reopened and the tail revalidated.
		p.mu.Lock()
		if p.mu.failed == nil {
			p.mu.failed = fmt.Errorf("%s/%d: sync failed, partition stopped until restart: %w", p.topic, p.id, err)
		}
		err = p.mu.failed
		p.mu.Unlock()
		for _, w := range waiters {
			w.done(AppendResult{Err: err})
		}
		p.wake()
		return
	}
	if durable {
		for _, s := range segs {
			s.readable.Store(s.size)
		}
		if !sealOnly {
			act.readable.Store(size)
			p.hw.Store(end)
			p.mu.Lock()
			p.publishLSOLocked()
			p.mu.Unlock()
		}
		p.wake()
		for _, w := range waiters {
			w.done(AppendResult{BaseOffset: w.base, LastOffset: w.last})
		}
	}
	for _, s := range segs {
		s.synced = s.size
		if err := s.seal(); err != nil {
			// Not data loss: lookups go on through the index in memory,
			// and the index file is rebuilt from the log on open.
			p.b.opts.Logger.Warn("writing segment index failed", "segment", s.name, "err", err)
		}
		s.retired.Store(true)
	}
	if len(segs) > 0 {
		// Make the new index files' entries durable, so a crash does not
		// leave a synced segment to be scanned again.
		if err := p.b.opts.FS.SyncDir(p.dir); err != nil {
			p.b.opts.Logger.Warn("syncing partition directory failed", "dir", p.dir, "err", err)
		}
	}
}

// flush runs a sync round on the syncer and waits for it, so that every
// rolled segment is sealed when it returns. It returns at once if the
// partition is closed.
func (p *partition) flush() {
	done := make(chan struct{})
	select {
	case p.flushReq <- done:
		<-done
	case <-p.finished:
	}
}

func (p *partition) recycle(ws []waiter) {
	clear(ws)
	p.mu.Lock()
	if p.mu.spare == nil {
		p.mu.spare = ws[:0]
	}
	p.mu.Unlock()
}

// wake tells waiting readers that the high watermark moved.
func (p *partition) wake() {
	p.notifyMu.Lock()
	close(p.notify)
	p.notify = make(chan struct{})
	p.notifyMu.Unlock()
}

// close stops the syncer after a final round and seals the active segment
// so the next open trusts its index.
func (p *partition) close() error {
	// Wait out a running retention or compaction pass: it must not swap
	// files into a directory that is about to be deleted or reused.
	p.maintMu.Lock()
	defer p.maintMu.Unlock()
	p.mu.Lock()
	if p.mu.closed {
		p.mu.Unlock()
		return nil
	}
	p.mu.closed = true
	p.mu.Unlock()
	close(p.stop)
	<-p.finished
	p.wake()
	p.mu.Lock()
	failed := p.mu.failed
	act := p.mu.active
	p.mu.Unlock()
	err := failed
	if failed == nil && act.readable.Load() == act.size {
		if err = act.seal(); err == nil {
			err = p.b.opts.FS.SyncDir(p.dir)
		}
	}
	for _, s := range *p.segs.Load() {
		s.release()
	}
	return err
}

// logStart is the first offset the partition holds.
func (p *partition) logStart() int64 { return (*p.segs.Load())[0].base }

// acquireSegment returns the segment that holds offset (the last one whose
// base is at or below it, or the first) with a reader's reference.
func (p *partition) acquireSegment(offset int64) (*segment, error) {
	for {
		segs := *p.segs.Load()
		i := sort.Search(len(segs), func(i int) bool { return segs[i].base > offset }) - 1
		if i < 0 {
			// Retention removed the segment since the caller checked.
			return nil, fmt.Errorf("%s/%d: %w: offset %d, the partition starts at %d", p.topic, p.id, ErrOffsetOutOfRange, offset, segs[0].base)
		}
		if s := segs[i]; s.acquire() {
			return s, nil
		}
		// Removed under us by retention or compaction (look again), or
		// the partition closed.
		if p.isClosed() {
			return nil, fmt.Errorf("%s/%d: %w", p.topic, p.id, ErrClosed)
		}
	}
}

// FetchResult is the outcome of a fetch.
type FetchResult struct {
	// Batches holds whole record batches, the first one holding the
	// requested offset (it may start before it). It aliases the caller's
	// buffer when that was large enough.
	Batches []byte
	// NextOffset is the offset that follows the last batch returned.
	NextOffset     int64
	HighWatermark  int64
	LogStartOffset int64
	// LastStableOffset is the partition's last stable offset: below it
	// every transaction has a durable outcome.
	LastStableOffset int64
	// AbortedTransactions, for a ReadCommitted fetch, lists the aborted
	// transactions with records among Batches, in marker order: a
	// read_committed reader drops each transactional batch that one of
	// them Covers, as Kafka's clients do with a fetch response's list.
	AbortedTransactions []AbortedTransaction
}

// fetch reads whole batches from offset, at most maxBytes unless the first
// batch alone is larger, into buf. It returns no batches at the high
// watermark, or for ReadCommitted at the last stable offset.
func (p *partition) fetch(offset int64, maxBytes int, iso IsolationLevel, buf []byte) (FetchResult, error) {
	// The LSO is published after the high watermark it was computed from,
	// so loading it first keeps lso <= hw.
	lso := p.lso.Load()
	hw := p.hw.Load()
	res := FetchResult{HighWatermark: hw, LastStableOffset: lso, NextOffset: offset}
	start := p.logStart()
	res.LogStartOffset = start
	if offset < start || offset > hw {
		return res, fmt.Errorf("%s/%d: %w: offset %d, the partition holds %d to %d", p.topic, p.id, ErrOffsetOutOfRange, offset, start, hw)
	}
	limit := hw
	if iso == ReadCommitted {
		limit = lso
	}
	if offset >= limit {
		return res, nil
	}
	s, err := p.acquireSegment(offset)
	if err != nil {
		return res, err
	}
	defer s.release()
	batches, next, err := s.read(offset, limit, p.assigned.Load(), maxBytes, buf)
	if err != nil {
		return res, fmt.Errorf("%s/%d: %w", p.topic, p.id, err)
	}
	if len(batches) == 0 {
		// Every segment ends with a batch holding its last offset (appends
		// are dense, and compaction keeps an empty batch where it removed a
		// segment's last one), and the readable size covers the high
		// watermark: below it, a batch is always found.
		return res, fmt.Errorf("%s/%d: %w", p.topic, p.id, &CorruptionError{File: s.name, Pos: s.readable.Load(),
			Err: fmt.Errorf("%w: no batch holds offset %d, below the high watermark %d", ErrCorruptBatch, offset, hw)})
	}
	res.Batches, res.NextOffset = batches, next
	if iso == ReadCommitted {
		first := offset
		if h, err := ParseBatchHeader(batches); err == nil {
			first = h.BaseOffset
		}
		res.AbortedTransactions = p.aborted.Load().overlapping(first, next)
	}
	return res, nil
}

// read returns whole batches from the one holding offset, below the
// readable size and the high watermark hw, checking each one's checksum
// and that its offsets go up and stay below assigned, the partition's
// next offset.
func (s *segment) read(offset, hw, assigned int64, maxBytes int, buf []byte) ([]byte, int64, error) {
	limit := s.readable.Load()
	pos, err := s.findPos(offset, limit)
	if err != nil || pos >= limit {
		return nil, offset, err
	}
	n := int(min(int64(maxBytes), limit-pos))
	if n < batchHeaderSize {
		n = min(batchHeaderSize, int(limit-pos))
	}
	if cap(buf) < n {
		buf = make([]byte, n)
	}
	buf = buf[:n]
	if _, err := s.log.ReadAt(buf, pos); err != nil {
		return nil, offset, fmt.Errorf("read %s at byte %d: %w", s.name, pos, err)
	}
	if size, ok := peekBatchSize(buf); ok && size > n && int64(size) <= limit-pos {
		// The first batch alone is larger than maxBytes: return it whole.
		if cap(buf) < size {
			buf = make([]byte, size)
		}
		buf = buf[:size]
		if _, err := s.log.ReadAt(buf, pos); err != nil {
			return nil, offset, fmt.Errorf("read %s at byte %d: %w", s.name, pos, err)
		}
	}
	// Keep whole, checked batches below hw.
	end, next, prev := 0, offset, s.base
	for end < len(buf) {
		size, ok := peekBatchSize(buf[end:])
		if ok && size < batchHeaderSize {
			return nil, offset, &CorruptionError{File: s.name, Pos: pos + int64(end), Err: fmt.Errorf("%w: batch length %d", ErrCorruptBatch, size-batchLengthStart)}
		}
		if !ok || size > len(buf)-end {
			if end == 0 {
				// Readable data always ends at a batch boundary.
				return nil, offset, &CorruptionError{File: s.name, Pos: pos, Err: errTruncated}
			}
			break
		}
		h, err := CheckBatch(buf[end : end+size])
		if err == nil {
			err = s.checkOffsets(&h, prev)
		}
		if err == nil && h.NextOffset() > assigned {
			err = fmt.Errorf("%w: batch offsets %d to %d, past the partition's end %d", ErrCorruptBatch, h.BaseOffset, h.LastOffset(), assigned)
		}
		if err != nil {
			return nil, offset, &CorruptionError{File: s.name, Pos: pos + int64(end), Err: err}
		}
		if h.BaseOffset >= hw {
			break
		}
		end += size
		next, prev = h.NextOffset(), h.NextOffset()
	}
	return buf[:end], next, nil
}

// waitFor blocks until the high watermark (for ReadCommitted, the last
// stable offset) passes offset, the context ends or the partition closes.
func (p *partition) waitFor(ctx context.Context, offset int64, iso IsolationLevel) error {
	end := &p.hw
	if iso == ReadCommitted {
		end = &p.lso
	}
	for {
		p.notifyMu.Lock()
		ch := p.notify
		p.notifyMu.Unlock()
		if end.Load() > offset {
			return nil
		}
		p.mu.Lock()
		closed, failed := p.mu.closed, p.mu.failed
		p.mu.Unlock()
		if closed {
			return fmt.Errorf("%s/%d: %w", p.topic, p.id, ErrClosed)
		}
		if failed != nil {
			return failed
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// offsetForTime returns the first offset whose record timestamp is at or
// after ts, or the high watermark when there is none.
func (p *partition) offsetForTime(ts int64) (int64, error) {
	hw := p.hw.Load()
	segs := *p.segs.Load()
	for _, s := range segs {
		if !s.acquire() {
			// Removed by retention or compaction under us, or closed.
			if p.isClosed() {
				return 0, fmt.Errorf("%s/%d: %w", p.topic, p.id, ErrClosed)
			}
			return p.offsetForTime(ts)
		}
		off, found, err := s.offsetForTime(ts, hw)
		s.release()
		if err != nil {
			return 0, fmt.Errorf("%s/%d: %w", p.topic, p.id, err)
		}
		if found {
			return off, nil
		}
	}
	return hw, nil
}

func (s *segment) offsetForTime(ts, hw int64) (int64, bool, error) {
	limit := s.readable.Load()
	if limit == 0 || s.maxTimestamp() < ts {
		return 0, false, nil
	}
	pos, err := s.timePos(ts, limit)
	if err != nil {
		return 0, false, err
	}
	pos, err = s.scanTo(pos, s.base, limit, func(h *BatchHeader) bool { return h.MaxTimestamp >= ts || h.BaseOffset >= hw })
	if err != nil || pos >= limit {
		return 0, false, err
	}
	sc := newScanner(s.log, s.name, pos, limit, true)
	for {
		h, batch, err := sc.next()
		if err != nil {
			if err == io.EOF {
				return 0, false, nil
			}
			return 0, false, err
		}
		if h.BaseOffset >= hw {
			return 0, false, nil
		}
		if h.MaxTimestamp < ts {
			continue
		}
		var it RecordIter
		if err := it.Reset(batch); err != nil {
			return 0, false, &CorruptionError{File: s.name, Pos: sc.pos - int64(len(batch)), Err: err}
		}
		var r Record
		for it.Next(&r) {
			if r.Timestamp >= ts {
				return r.Offset, true, nil
			}
		}
		if err := it.Err(); err != nil {
			return 0, false, &CorruptionError{File: s.name, Pos: sc.pos - int64(len(batch)), Err: err}
		}
	}
}
