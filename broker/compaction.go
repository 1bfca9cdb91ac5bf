package broker

import (
	"bufio"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"time"
)

// Compaction keeps, in the sealed segments of a partition whose
// cleanup.policy includes compact, only the latest record of each key,
// and drops tombstones (null values) once delete.retention.ms has passed
// since the newest record of their segment. Offsets never change: a
// rewritten batch keeps its base offset, each record's offset delta and
// the batch's last offset delta, so readers see gaps, never renumbering.
//
// A pass runs in two scans over the sealed segments, in bounded memory:
// the first maps each key's hash to its latest offset (at most
// CleanerMaxKeys keys; past that, the pass covers only the segments whose
// keys fit), the second rewrites each segment that loses records into a
// ".cleaned" file, syncs it and renames it over the original. Appends go
// to the active segment and are never blocked; readers holding the old
// file finish reading it.

// CompactStats reports one compaction pass.
type CompactStats struct {
	Segments       int   // segments rewritten
	RecordsRemoved int64 // superseded records and expired tombstones dropped
	BytesBefore    int64
	BytesAfter     int64
}

// keyHash is a 128-bit hash of a key: two 64-bit hashes with independent
// seeds, so a collision (which would drop a live key) is negligible.
type keyHash [2]uint64

type keyHasher struct{ a, b maphash.Seed }

func newKeyHasher() keyHasher { return keyHasher{maphash.MakeSeed(), maphash.MakeSeed()} }

func (h keyHasher) sum(key []byte) keyHash {
	return keyHash{maphash.Bytes(h.a, key), maphash.Bytes(h.b, key)}
}

// Compact runs one compaction pass now over every partition whose cleanup
// policy includes compact. The background pass runs only where enough has
// been written since the last one.
func (b *Broker) Compact() (CompactStats, error) { return b.compact(true) }

func (b *Broker) compact(force bool) (CompactStats, error) {
	var total CompactStats
	var errs []error
	now := b.opts.Clock.Now()
	for _, p := range b.partitions() {
		st, err := p.compact(now, b.opts.CleanerMaxKeys, force)
		if err != nil {
			errs = append(errs, err)
		}
		total.Segments += st.Segments
		total.RecordsRemoved += st.RecordsRemoved
		total.BytesBefore += st.BytesBefore
		total.BytesAfter += st.BytesAfter
	}
	return total, errors.Join(errs...)
}

// compact runs one pass. Without force it runs only when the dirty part
// (sealed segments written since the last pass) is at least as large as
// the clean part, as Kafka's min.cleanable.dirty.ratio of 0.5, or when
// tombstones may have expired.
func (p *partition) compact(now time.Time, maxKeys int, force bool) (CompactStats, error) {
	var st CompactStats
	cfg := p.config()
	if !cfg.Compact() {
		return st, nil
	}
	p.maintMu.Lock()
	defer p.maintMu.Unlock()
	if p.isClosed() {
		return st, nil
	}
	p.flush()
	all := *p.segs.Load()
	segs := all[:sealedPrefix(all)]
	// Only what lies below the last stable offset has a final outcome:
	// a record of an open transaction must neither supersede an older
	// value (the transaction may abort) nor be removed.
	for lso := p.lso.Load(); len(segs) > 0 && segs[len(segs)-1].next > lso; {
		segs = segs[:len(segs)-1]
	}
	if len(segs) == 0 {
		return st, nil
	}
	horizon := now.UnixMilli() - cfg.DeleteRetentionMs
	first := 0 // first dirty segment
	var clean, dirty int64
	expiring := false
	for i, s := range segs {
		if s.base < p.cleanedTo {
			first = i + 1
			clean += s.size
			expiring = expiring || !s.tombstonesDone && s.maxTimestamp() < horizon
		} else {
			dirty += s.size
		}
	}
	if !force && dirty < clean && !expiring || dirty == 0 && !expiring {
		return st, nil
	}
	h := newKeyHasher()
	latest, upto := map[keyHash]int64{}, first
	if first < len(segs) {
		m, n, err := p.mapKeys(segs[first:], h, maxKeys)
		if err != nil {
			return st, err
		}
		latest, upto = m, first+n
	}
	for i, s := range segs[:upto] {
		// A clean segment needs reading only if new keys were mapped that
		// may supersede its records, or its tombstones may expire.
		if i < first && len(latest) == 0 && (s.tombstonesDone || s.maxTimestamp() >= horizon) {
			continue
		}
		ns, removed, err := p.cleanSegment(s, h, latest, horizon)
		if err != nil {
			return st, err
		}
		if ns == nil {
			s.tombstonesDone = s.tombstonesDone || s.maxTimestamp() < horizon
			continue
		}
		st.Segments++
		st.RecordsRemoved += removed
		st.BytesBefore += s.size
		st.BytesAfter += ns.size
		p.mu.Lock()
		cur := *p.segs.Load()
		next := make([]*segment, len(cur))
		for i, c := range cur {
			if c == s {
				c = ns
			}
			next[i] = c
		}
		p.segs.Store(&next)
		p.mu.Unlock()
		s.release() // the list's reference; its files now belong to ns
	}
	p.cleanedTo = all[upto].base
	return st, nil
}

// mapKeys maps each key in segs to its latest offset, stopping before the
// segment that would take the map past maxKeys (the first segment is
// always mapped, whatever its key count). It returns the number of
// segments covered.
func (p *partition) mapKeys(segs []*segment, h keyHasher, maxKeys int) (map[keyHash]int64, int, error) {
	latest := make(map[keyHash]int64)
	for i, s := range segs {
		err := forEachRecord(s, p.abortedIn(s), func(r *Record) { latest[h.sum(r.Key)] = r.Offset })
		if err != nil {
			return nil, 0, err
		}
		if len(latest) > maxKeys && i > 0 {
			// This segment's keys do not fit, and the map now holds
			// offsets from it: map the segments before it again.
			return p.mapKeys(segs[:i], h, maxKeys)
		}
	}
	return latest, len(segs), nil
}

// abortedIn returns the aborted transactions with records in sealed
// segment s.
func (p *partition) abortedIn(s *segment) []AbortedTransaction {
	return p.aborted.Load().overlapping(s.base, s.next)
}

// abortedBatch reports whether h belongs to one of the aborted
// transactions.
func abortedBatch(aborted []AbortedTransaction, h *BatchHeader) bool {
	if !h.IsTransactional() {
		return false
	}
	for i := range aborted {
		if aborted[i].Covers(h) {
			return true
		}
	}
	return false
}

// forEachRecord calls fn for every record of a sealed segment, checking
// each batch; control batches and those of the aborted transactions are
// skipped.
func forEachRecord(s *segment, aborted []AbortedTransaction, fn func(*Record)) error {
	sc := newScanner(s.log, s.name, 0, s.readable.Load(), true)
	var it RecordIter
	var r Record
	for {
		h, batch, err := sc.next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if h.IsControl() || abortedBatch(aborted, &h) {
			continue
		}
		if err := it.Reset(batch); err != nil {
			return &CorruptionError{File: s.name, Pos: sc.pos - int64(len(batch)), Err: err}
		}
		for it.Next(&r) {
			fn(&r)
		}
		if err := it.Err(); err != nil {
			return &CorruptionError{File: s.name, Pos: sc.pos - int64(len(batch)), Err: err}
		}
	}
}

// forEachBatch calls fn with the header of every batch of a sealed
// segment, checking each.
func forEachBatch(s *segment, fn func(*BatchHeader)) error {
	sc := newScanner(s.log, s.name, 0, s.readable.Load(), true)
	for {
		h, _, err := sc.next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		fn(&h)
	}
}

// cleanSegment rewrites s without superseded records and expired
// tombstones. It returns nil when nothing would be removed.
func (p *partition) cleanSegment(s *segment, h keyHasher, latest map[keyHash]int64, horizon int64) (*segment, int64, error) {
	dropTombstones := s.maxTimestamp() < horizon
	keep := func(r *Record) bool {
		if off, ok := latest[h.sum(r.Key)]; ok && off != r.Offset {
			return false
		}
		return r.Value != nil || !dropTombstones
	}
	// Records of aborted transactions are removed whole: no reader may
	// ever see them (read_uncommitted readers lose them too, as in Kafka).
	// Transaction markers are kept.
	aborted := p.abortedIn(s)
	removed := int64(0)
	if err := forEachBatch(s, func(h *BatchHeader) {
		if abortedBatch(aborted, h) {
			removed += int64(h.NumRecords)
		}
	}); err != nil {
		return nil, 0, err
	}
	if err := forEachRecord(s, aborted, func(r *Record) {
		if !keep(r) {
			removed++
		}
	}); err != nil {
		return nil, 0, err
	}
	if removed == 0 {
		return nil, 0, nil
	}

	fsys := p.b.opts.FS
	tmpName := s.name + cleanedSuffix
	f, err := fsys.Create(tmpName)
	if err != nil {
		return nil, 0, err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	mem := &memIndex{}
	var size int64
	var bb BatchBuilder
	var it RecordIter
	var r Record
	sc := newScanner(s.log, s.name, 0, s.readable.Load(), true)
	write := func(batch []byte, hd *BatchHeader) error {
		if _, err := w.Write(batch); err != nil {
			return err
		}
		mem.add(uint32(hd.BaseOffset-s.base), size, len(batch), hd.MaxTimestamp)
		size += int64(len(batch))
		return nil
	}
	fail := func(err error) (*segment, int64, error) {
		f.Close()
		fsys.Remove(tmpName)
		return nil, 0, fmt.Errorf("%s/%d: compact %s: %w", p.topic, p.id, s.name, err)
	}
	var lastDropped *BatchHeader // the last batch read, if dropped whole
	for {
		hd, batch, err := sc.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return fail(err)
		}
		lastDropped = nil
		if hd.IsControl() {
			if err := write(batch, &hd); err != nil {
				return fail(err)
			}
			continue
		}
		if abortedBatch(aborted, &hd) {
			lastDropped = &hd
			continue
		}
		if err := it.Reset(batch); err != nil {
			return fail(err)
		}
		bb.Reset()
		bb.SetBaseTimestamp(hd.BaseTimestamp)
		bb.SetProducer(hd.ProducerID, hd.ProducerEpoch, hd.BaseSequence)
		bb.SetAttributes(hd.Attributes)
		kept := 0
		for it.Next(&r) {
			if keep(&r) {
				bb.AddAt(int32(r.Offset-hd.BaseOffset), &r)
				kept++
			}
		}
		if err := it.Err(); err != nil {
			return fail(err)
		}
		if kept == int(hd.NumRecords) {
			if err := write(batch, &hd); err != nil {
				return fail(err)
			}
			continue
		}
		if kept == 0 {
			lastDropped = &hd
			continue
		}
		bb.SetLastOffsetDelta(hd.LastOffsetDelta)
		nb := bb.Build()
		setBaseOffset(nb, hd.BaseOffset)
		nh, err := ParseBatchHeader(nb)
		if err != nil {
			return fail(err)
		}
		if err := write(nb, &nh); err != nil {
			return fail(err)
		}
	}
	if lastDropped != nil {
		// Keep the segment's end offset: the next segment starts there.
		if err := write(emptyBatch(lastDropped), lastDropped); err != nil {
			return fail(err)
		}
	}
	if err := w.Flush(); err != nil {
		return fail(err)
	}
	if err := f.Sync(); err != nil {
		return fail(err)
	}
	// The rename is atomic: a crash leaves the old segment or the new one.
	// Old readers keep the old file open.
	if err := fsys.Rename(tmpName, s.name); err != nil {
		return fail(err)
	}
	if err := fsys.SyncDir(p.dir); err != nil {
		f.Close()
		return nil, 0, err
	}
	ns := &segment{fs: fsys, dir: p.dir, base: s.base, log: f, name: s.name, size: size, synced: size, next: s.next, created: s.created, mem: mem, maxTs: -1,
		tombstonesDone: dropTombstones}
	if size > 0 {
		ns.maxTs = mem.maxTs
	}
	ns.readable.Store(size)
	ns.refs.Store(1)
	ns.retired.Store(true)
	if err := ns.seal(); err != nil {
		// The log is in place; its index is rebuilt on the next open.
		p.b.opts.Logger.Warn("writing compacted segment index failed", "segment", ns.name, "err", err)
	}
	return ns, removed, nil
}
