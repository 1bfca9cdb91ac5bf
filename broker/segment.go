package broker

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sluice-sql/sluice/broker/vfs"
)

const (
	logSuffix       = ".log"
	indexSuffix     = ".index"
	timeIndexSuffix = ".timeindex"
	cleanedSuffix   = ".cleaned" // a compacted copy not yet swapped in
)

// CorruptionError reports damaged data in a segment file, naming the file
// and the byte offset where the damage starts.
type CorruptionError struct {
	File string
	Pos  int64
	Err  error
}

func (e *CorruptionError) Error() string {
	return fmt.Sprintf("%s at byte %d: %v", e.File, e.Pos, e.Err)
}

func (e *CorruptionError) Unwrap() error { return e.Err }

// errTruncated is the cause when a batch runs past the end of its file.
var errTruncated = fmt.Errorf("%w: batch runs past the end of the file", ErrCorruptBatch)

func segmentName(dir string, base int64, suffix string) string {
	return filepath.Join(dir, fmt.Sprintf("%020d%s", base, suffix))
}

// parseSegmentName returns the base offset of a "<20 digits>.log" name.
func parseSegmentName(name string) (int64, bool) {
	stem, ok := strings.CutSuffix(name, logSuffix)
	if !ok || len(stem) != 20 {
		return 0, false
	}
	n, err := strconv.ParseInt(stem, 10, 64)
	return n, err == nil && n >= 0
}

// segment is one log file of a partition and its indexes.
//
// Concurrency: the fields under "append state" are written only by the
// partition's appender, which holds partition.mu; readers use readable
// and the indexes under idxMu. A segment is reference counted: the
// partition holds one reference while the segment is in its list, and a
// reader holds one while it reads, so removal closes the files only after
// the last reader is done.
type segment struct {
	fs   vfs.FS
	dir  string
	base int64
	log  vfs.File
	name string

	// append state, guarded by partition.mu
	size    int64
	next    int64 // offset after the last batch
	created time.Time

	synced   int64        // bytes known durable; used by the syncer only
	readable atomic.Int64 // bytes readers may see
	// retired: rolled, and the syncer is done with it (synced, sealed or
	// failed to seal), so maintenance may remove or replace it.
	retired atomic.Bool
	refs    atomic.Int32
	removed atomic.Bool // files unlinked; close on last release

	idxMu   sync.RWMutex
	mem     *memIndex // while active
	offIdx  *indexFile
	timeIdx *indexFile
	maxTs   int64 // largest record timestamp, -1 when empty

	// tombstonesDone: compaction removed every tombstone it may (guarded
	// by partition.maintMu).
	tombstonesDone bool
}

func createSegment(fsys vfs.FS, dir string, base int64, now time.Time) (*segment, error) {
	name := segmentName(dir, base, logSuffix)
	f, err := fsys.Create(name)
	if err != nil {
		return nil, fmt.Errorf("create segment: %w", err)
	}
	// Appends go through a handle that writes at the end of the file, so
	// that after a failed write is cut back the next one follows the cut.
	f.Close()
	if f, err = fsys.OpenReadWrite(name); err != nil {
		return nil, fmt.Errorf("create segment: %w", err)
	}
	// A stale index of an earlier segment with this base must not be
	// taken for this one's.
	_ = fsys.Remove(segmentName(dir, base, indexSuffix))
	_ = fsys.Remove(segmentName(dir, base, timeIndexSuffix))
	s := &segment{fs: fsys, dir: dir, base: base, log: f, name: name, next: base, created: now, mem: &memIndex{}, maxTs: -1}
	s.refs.Store(1)
	return s, nil
}

// openSegment opens an existing segment. It trusts indexes whose trailers
// match the log (trusted is then true) and otherwise scans the log,
// checking every batch and rebuilding the index in memory. Such a scan
// stops at the first damaged batch and reports it as damage, with the
// segment holding the good prefix: size and index cover only that prefix,
// the file itself is not changed. err is for failures that leave no
// usable segment.
func openSegment(fsys vfs.FS, dir string, base int64, now time.Time) (s *segment, trusted bool, damage *CorruptionError, err error) {
	name := segmentName(dir, base, logSuffix)
	f, err := fsys.OpenReadWrite(name)
	if err != nil {
		return nil, false, nil, fmt.Errorf("open segment: %w", err)
	}
	size, err := f.Size()
	if err != nil {
		f.Close()
		return nil, false, nil, fmt.Errorf("open segment %s: %w", name, err)
	}
	s = &segment{fs: fsys, dir: dir, base: base, log: f, name: name, next: base, created: now, size: size, synced: size, maxTs: -1}
	s.refs.Store(1)
	if s.loadIndexes() {
		// The indexes vouch for the whole file, and name its end offset.
		s.next = s.offIdx.next
		if s.next < base || s.next-base > math.MaxUint32+1 || (size == 0) != (s.next == base) {
			s.close()
			return nil, false, nil, &CorruptionError{File: segmentName(dir, base, indexSuffix), Pos: 0, Err: fmt.Errorf("%w: end offset %d for a segment at %d", errIndexMismatch, s.next, base)}
		}
		s.readable.Store(size)
		return s, true, nil, nil
	}
	// Scan and rebuild the index in memory.
	s.mem = &memIndex{}
	sc := newScanner(f, name, 0, size, true)
	for {
		h, _, err := sc.next()
		if err == io.EOF {
			break
		}
		if err == nil {
			if oerr := s.checkOffsets(&h, s.next); oerr != nil {
				sc.pos -= int64(h.Size()) // cut at the batch's start
				err = &CorruptionError{File: name, Pos: sc.pos, Err: oerr}
			}
		}
		if err != nil {
			if !errors.As(err, &damage) {
				s.close()
				return nil, false, nil, err
			}
			break
		}
		pos := sc.pos - int64(h.Size())
		s.mem.add(uint32(h.BaseOffset-base), pos, h.Size(), h.MaxTimestamp)
		s.next = h.NextOffset()
		s.maxTs = max(s.maxTs, h.MaxTimestamp)
	}
	s.size, s.synced = sc.pos, sc.pos
	s.readable.Store(sc.pos)
	return s, false, damage, nil
}

// checkOffsets checks that a batch's offsets can follow prev in this
// segment: not going back, and within the range the segment's 32-bit
// relative offsets reach. The base offset is outside the checksum, so
// this is the only check it gets.
func (s *segment) checkOffsets(h *BatchHeader, prev int64) error {
	switch {
	case h.BaseOffset < prev:
		return fmt.Errorf("%w: batch offset %d goes back (expected at least %d)", ErrCorruptBatch, h.BaseOffset, prev)
	case h.BaseOffset > math.MaxInt64-int64(h.LastOffsetDelta)-1:
		return fmt.Errorf("%w: batch offset %d overflows", ErrCorruptBatch, h.BaseOffset)
	case h.LastOffset()-s.base > math.MaxUint32:
		return fmt.Errorf("%w: batch offset %d is out of range for the segment at %d", ErrCorruptBatch, h.BaseOffset, s.base)
	}
	return nil
}

// loadIndexes opens the sealed indexes if both match the log.
func (s *segment) loadIndexes() bool {
	off, err := openIndexFile(s.fs, segmentName(s.dir, s.base, indexSuffix), offsetEntrySize, s.size)
	if err != nil {
		return false
	}
	tim, err := openIndexFile(s.fs, segmentName(s.dir, s.base, timeIndexSuffix), timeEntrySize, s.size)
	if err != nil {
		off.close()
		return false
	}
	last, ok, err := tim.lastTime()
	if err != nil || (!ok && s.size > 0) {
		off.close()
		tim.close()
		return false
	}
	if ok {
		s.maxTs = last.ts
	}
	s.offIdx, s.timeIdx = off, tim
	return true
}

// activate makes a segment the one that takes appends. Sealed indexes move
// into memory and their files are removed, so that a stale index can never
// be taken for the grown log after a crash.
func (s *segment) activate() error {
	s.idxMu.Lock()
	defer s.idxMu.Unlock()
	if s.mem != nil {
		return s.removeIndexFiles()
	}
	m := &memIndex{}
	for i := 0; i < s.offIdx.n; i++ {
		b, err := s.offIdx.entry(i)
		if err != nil {
			return err
		}
		m.offsets = append(m.offsets, offsetEntry{rel: binary.BigEndian.Uint32(b), pos: binary.BigEndian.Uint32(b[4:])})
	}
	for i := 0; i < s.timeIdx.n; i++ {
		b, err := s.timeIdx.entry(i)
		if err != nil {
			return err
		}
		m.times = append(m.times, timeEntry{ts: int64(binary.BigEndian.Uint64(b)), rel: binary.BigEndian.Uint32(b[8:])})
	}
	if n := len(m.offsets); n > 0 {
		m.sinceLast = s.size - int64(m.offsets[n-1].pos)
	}
	if n := len(m.times); n > 0 {
		m.maxTs, m.maxTsRel = m.times[n-1].ts, m.times[n-1].rel
	}
	s.offIdx.close()
	s.timeIdx.close()
	s.offIdx, s.timeIdx, s.mem = nil, nil, m
	return s.removeIndexFiles()
}

func (s *segment) removeIndexFiles() error {
	for _, suf := range []string{indexSuffix, timeIndexSuffix} {
		if err := s.fs.Remove(segmentName(s.dir, s.base, suf)); err != nil && !isNotExist(err) {
			return err
		}
	}
	return nil
}

// append writes a checked batch whose base offset is already set. On a
// failed write the file is cut back to its old size; if that fails too the
// segment is left in an unknown state and the error says so.
func (s *segment) append(batch []byte, h *BatchHeader) error {
	n, err := s.log.Write(batch)
	if err != nil {
		if n > 0 {
			if terr := s.log.Truncate(s.size); terr != nil {
				return fmt.Errorf("write %s: %w (and cutting back the partial write failed: %v)", s.name, err, terr)
			}
		}
		return fmt.Errorf("write %s: %w", s.name, err)
	}
	s.idxMu.Lock()
	s.mem.add(uint32(h.BaseOffset-s.base), s.size, len(batch), h.MaxTimestamp)
	s.maxTs = max(s.maxTs, h.MaxTimestamp)
	s.idxMu.Unlock()
	s.size += int64(len(batch))
	s.next = h.NextOffset()
	return nil
}

// seal writes the indexes of a segment whose log is durable, syncs them and
// switches lookups to them.
func (s *segment) seal() error {
	s.idxMu.RLock()
	m := s.mem
	s.idxMu.RUnlock()
	if m == nil {
		return nil
	}
	size := s.readable.Load()
	offName := segmentName(s.dir, s.base, indexSuffix)
	timeName := segmentName(s.dir, s.base, timeIndexSuffix)
	t := indexTrailer{logSize: size, next: s.next}
	if err := writeFileAtomic(s.fs, offName, encodeOffsetIndex(m.offsets, t)); err != nil {
		return err
	}
	if err := writeFileAtomic(s.fs, timeName, encodeTimeIndex(m.finalTimes(), t)); err != nil {
		return err
	}
	off, err := openIndexFile(s.fs, offName, offsetEntrySize, size)
	if err != nil {
		return err
	}
	tim, err := openIndexFile(s.fs, timeName, timeEntrySize, size)
	if err != nil {
		off.close()
		return err
	}
	s.idxMu.Lock()
	s.offIdx, s.timeIdx, s.mem = off, tim, nil
	s.idxMu.Unlock()
	return nil
}

// writeFileAtomic replaces name with data through a synced temporary file
// and a rename, so a reader of the old file never sees it change.
func writeFileAtomic(fsys vfs.FS, name string, data []byte) error {
	tmp := name + ".tmp"
	if err := writeFileSync(fsys, tmp, data); err != nil {
		return err
	}
	return fsys.Rename(tmp, name)
}

func writeFileSync(fsys vfs.FS, name string, data []byte) error {
	f, err := fsys.Create(name)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// acquire takes a reader's reference; it fails once the segment is closed.
func (s *segment) acquire() bool {
	for {
		n := s.refs.Load()
		if n <= 0 {
			return false
		}
		if s.refs.CompareAndSwap(n, n+1) {
			return true
		}
	}
}

func (s *segment) release() {
	if s.refs.Add(-1) == 0 {
		s.close()
	}
}

func (s *segment) close() {
	s.log.Close()
	s.idxMu.Lock()
	s.offIdx.close()
	s.timeIdx.close()
	s.idxMu.Unlock()
}

// remove unlinks the segment's files; the partition's reference is dropped
// after, so open readers finish on the unlinked files.
func (s *segment) remove() error {
	s.removed.Store(true)
	var errs []error
	for _, suf := range []string{logSuffix, indexSuffix, timeIndexSuffix} {
		if err := s.fs.Remove(segmentName(s.dir, s.base, suf)); err != nil && !isNotExist(err) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// findPos returns the byte position of the batch holding offset, or of the
// first batch after it, scanning from the floor index entry. limit bounds
// the scan; when no batch at or after offset is below limit it returns
// limit.
func (s *segment) findPos(offset int64, limit int64) (int64, error) {
	rel := uint32(max(offset-s.base, 0))
	s.idxMu.RLock()
	var e offsetEntry
	var err error
	if s.mem != nil {
		e = s.mem.floorOffset(rel)
	} else {
		e, err = s.offIdx.floorOffset(rel)
	}
	s.idxMu.RUnlock()
	if err != nil {
		return 0, fmt.Errorf("%s: %w", segmentName(s.dir, s.base, indexSuffix), err)
	}
	return s.scanTo(int64(e.pos), s.base+int64(e.rel), limit, func(h *BatchHeader) bool { return h.LastOffset() >= offset })
}

// scanTo walks batch headers from pos, where a batch at or after offset
// from starts, and returns the position of the first batch for which stop
// is true, or limit. Offsets that go back are damage: the base offset is
// outside the checksum.
func (s *segment) scanTo(pos, from, limit int64, stop func(*BatchHeader) bool) (int64, error) {
	prev := from
	var hb [batchHeaderSize]byte
	for pos < limit {
		if limit-pos < batchHeaderSize {
			return 0, &CorruptionError{File: s.name, Pos: pos, Err: errTruncated}
		}
		if _, err := s.log.ReadAt(hb[:], pos); err != nil {
			return 0, fmt.Errorf("read %s at byte %d: %w", s.name, pos, err)
		}
		h, err := ParseBatchHeader(hb[:])
		if err == nil {
			err = s.checkOffsets(&h, prev)
		}
		if err != nil {
			return 0, &CorruptionError{File: s.name, Pos: pos, Err: err}
		}
		if stop(&h) {
			return pos, nil
		}
		pos += int64(h.Size())
		prev = h.NextOffset()
	}
	return limit, nil
}

// timePos returns the position from which to scan for the first record
// with a timestamp at or after ts.
func (s *segment) timePos(ts int64, limit int64) (int64, error) {
	s.idxMu.RLock()
	var rel uint32
	var ok bool
	var err error
	if s.mem != nil {
		rel, ok = s.mem.floorTime(ts)
	} else {
		rel, ok, err = s.timeIdx.floorTime(ts)
	}
	s.idxMu.RUnlock()
	if err != nil {
		return 0, err
	}
	if !ok {
		return 0, nil
	}
	return s.findPos(s.base+int64(rel), limit)
}

func (s *segment) maxTimestamp() int64 {
	s.idxMu.RLock()
	defer s.idxMu.RUnlock()
	return s.maxTs
}

// scanner reads the batches of a file in order through a read-ahead
// window, so recovery and compaction read a segment sequentially with
// bounded memory: the window, or one batch if a batch is larger.
type scanner struct {
	f      vfs.File
	name   string
	pos    int64 // position of the next batch
	end    int64
	verify bool
	win    []byte
	winAt  int64
}

const scanWindow = 1 << 20

func newScanner(f vfs.File, name string, from, end int64, verify bool) *scanner {
	return &scanner{f: f, name: name, pos: from, end: end, verify: verify, winAt: -1}
}

// window returns the n bytes at pos, reading ahead.
func (sc *scanner) window(pos int64, n int) ([]byte, error) {
	if sc.winAt >= 0 && pos >= sc.winAt && pos+int64(n) <= sc.winAt+int64(len(sc.win)) {
		return sc.win[pos-sc.winAt : pos-sc.winAt+int64(n)], nil
	}
	want := int(min(max(int64(n), scanWindow), sc.end-pos))
	if cap(sc.win) < want {
		sc.win = make([]byte, want)
	}
	sc.win = sc.win[:want]
	if _, err := sc.f.ReadAt(sc.win, pos); err != nil {
		sc.winAt = -1
		return nil, fmt.Errorf("read %s at byte %d: %w", sc.name, pos, err)
	}
	sc.winAt = pos
	return sc.win[:n], nil
}

// next returns the next batch, io.EOF at the end, or a *CorruptionError.
// The batch bytes are valid until the next call.
func (sc *scanner) next() (BatchHeader, []byte, error) {
	if sc.pos >= sc.end {
		return BatchHeader{}, nil, io.EOF
	}
	if sc.end-sc.pos < batchHeaderSize {
		return BatchHeader{}, nil, &CorruptionError{File: sc.name, Pos: sc.pos, Err: errTruncated}
	}
	hb, err := sc.window(sc.pos, batchHeaderSize)
	if err != nil {
		return BatchHeader{}, nil, err
	}
	h, err := ParseBatchHeader(hb)
	if err != nil {
		return h, nil, &CorruptionError{File: sc.name, Pos: sc.pos, Err: err}
	}
	size := int64(h.Size())
	if sc.pos+size > sc.end {
		return h, nil, &CorruptionError{File: sc.name, Pos: sc.pos, Err: errTruncated}
	}
	b, err := sc.window(sc.pos, int(size))
	if err != nil {
		return h, nil, err
	}
	if sc.verify {
		if got := crc32.Checksum(b[crcStart:], crc32c); got != h.CRC {
			return h, nil, &CorruptionError{File: sc.name, Pos: sc.pos, Err: fmt.Errorf("%w: checksum %08x, want %08x", ErrCorruptBatch, got, h.CRC)}
		}
	}
	sc.pos += size
	return h, b, nil
}
