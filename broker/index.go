package broker

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"sort"

	"github.com/sluice-sql/sluice/broker/vfs"
)

// A segment has two sparse indexes beside its log:
//
//   - the offset index (.index): entries (offset - segment base, byte
//     position) for the batch starting there, one at least every
//     indexIntervalBytes of log;
//   - the time index (.timeindex): entries (largest timestamp so far,
//     offset - segment base of the batch holding it), added with offset
//     entries when the largest timestamp grows.
//
// While a segment is active its indexes live in memory. When it is sealed
// (rolled, or the broker closes), each is written to its file followed by
// a trailer (log size, entry count, CRC-32C of all before), so that on the
// next open an index whose trailer matches the log file is trusted and the
// log is not scanned. A missing or mismatched index is rebuilt from the
// log. Sealed indexes are searched on disk with ReadAt: memory does not
// grow with the size of the log.

const (
	indexIntervalBytes = 4096
	offsetEntrySize    = 8
	timeEntrySize      = 12
	indexTrailerSize   = 24
)

type offsetEntry struct {
	rel uint32 // offset - segment base
	pos uint32
}

type timeEntry struct {
	ts  int64
	rel uint32
}

// errIndexMismatch marks an index file that does not describe its log.
var errIndexMismatch = errors.New("index does not match log")

// indexTrailer is what an index file says of the log it describes.
type indexTrailer struct {
	logSize int64
	next    int64 // the offset after the segment's last batch
}

// encodeIndexFile writes entries followed by the trailer.
func encodeIndexFile(body []byte, t indexTrailer, count int) []byte {
	body = binary.BigEndian.AppendUint64(body, uint64(t.logSize))
	body = binary.BigEndian.AppendUint64(body, uint64(t.next))
	body = binary.BigEndian.AppendUint32(body, uint32(count))
	crc := crc32.Checksum(body, crc32c)
	return binary.BigEndian.AppendUint32(body, crc)
}

func encodeOffsetIndex(es []offsetEntry, t indexTrailer) []byte {
	b := make([]byte, 0, len(es)*offsetEntrySize+indexTrailerSize)
	for _, e := range es {
		b = binary.BigEndian.AppendUint32(b, e.rel)
		b = binary.BigEndian.AppendUint32(b, e.pos)
	}
	return encodeIndexFile(b, t, len(es))
}

func encodeTimeIndex(es []timeEntry, t indexTrailer) []byte {
	b := make([]byte, 0, len(es)*timeEntrySize+indexTrailerSize)
	for _, e := range es {
		b = binary.BigEndian.AppendUint64(b, uint64(e.ts))
		b = binary.BigEndian.AppendUint32(b, e.rel)
	}
	return encodeIndexFile(b, t, len(es))
}

// indexFile is a sealed index searched on disk.
type indexFile struct {
	f         vfs.File
	n         int // entries
	entrySize int
	next      int64 // from the trailer
}

// openIndexFile opens a sealed index and checks its trailer against the
// log size and its checksum, reading it once in bounded chunks.
func openIndexFile(fsys vfs.FS, name string, entrySize int, logSize int64) (*indexFile, error) {
	f, err := fsys.Open(name)
	if err != nil {
		return nil, err
	}
	ix, err := checkIndexFile(f, entrySize, logSize)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return ix, nil
}

func checkIndexFile(f vfs.File, entrySize int, logSize int64) (*indexFile, error) {
	size, err := f.Size()
	if err != nil {
		return nil, err
	}
	if size < indexTrailerSize || (size-indexTrailerSize)%int64(entrySize) != 0 {
		return nil, fmt.Errorf("%w: size %d", errIndexMismatch, size)
	}
	var t [indexTrailerSize]byte
	if _, err := f.ReadAt(t[:], size-indexTrailerSize); err != nil {
		return nil, err
	}
	n := int((size - indexTrailerSize) / int64(entrySize))
	if got := int64(binary.BigEndian.Uint64(t[0:])); got != logSize {
		return nil, fmt.Errorf("%w: written for a log of %d bytes, log has %d", errIndexMismatch, got, logSize)
	}
	next := int64(binary.BigEndian.Uint64(t[8:]))
	if int(binary.BigEndian.Uint32(t[16:])) != n {
		return nil, fmt.Errorf("%w: entry count", errIndexMismatch)
	}
	crc := uint32(0)
	buf := make([]byte, 64<<10)
	for pos := int64(0); pos < size-4; {
		m := min(int64(len(buf)), size-4-pos)
		if _, err := f.ReadAt(buf[:m], pos); err != nil {
			return nil, err
		}
		crc = crc32.Update(crc, crc32c, buf[:m])
		pos += m
	}
	if crc != binary.BigEndian.Uint32(t[20:]) {
		return nil, fmt.Errorf("%w: checksum", errIndexMismatch)
	}
	return &indexFile{f: f, n: n, entrySize: entrySize, next: next}, nil
}

func (ix *indexFile) entry(i int) ([]byte, error) {
	b := make([]byte, ix.entrySize)
	_, err := ix.f.ReadAt(b, int64(i*ix.entrySize))
	return b, err
}

// floorOffset returns the last entry whose offset is at most rel, or the
// zero entry (the segment's start) when there is none.
func (ix *indexFile) floorOffset(rel uint32) (offsetEntry, error) {
	var err error
	i := sort.Search(ix.n, func(i int) bool {
		if err != nil {
			return true
		}
		var b []byte
		b, err = ix.entry(i)
		return err == nil && binary.BigEndian.Uint32(b) > rel
	})
	if err != nil || i == 0 {
		return offsetEntry{}, err
	}
	b, err := ix.entry(i - 1)
	if err != nil {
		return offsetEntry{}, err
	}
	return offsetEntry{rel: binary.BigEndian.Uint32(b), pos: binary.BigEndian.Uint32(b[4:])}, nil
}

// floorTime returns the offset of the last entry whose timestamp is below
// ts: every record before it is older than ts. ok is false when there is
// none.
func (ix *indexFile) floorTime(ts int64) (rel uint32, ok bool, err error) {
	i := sort.Search(ix.n, func(i int) bool {
		if err != nil {
			return true
		}
		var b []byte
		b, err = ix.entry(i)
		return err == nil && int64(binary.BigEndian.Uint64(b)) >= ts
	})
	if err != nil || i == 0 {
		return 0, false, err
	}
	b, err := ix.entry(i - 1)
	if err != nil {
		return 0, false, err
	}
	return binary.BigEndian.Uint32(b[8:]), true, nil
}

// lastTime returns the last entry of a time index.
func (ix *indexFile) lastTime() (timeEntry, bool, error) {
	if ix.n == 0 {
		return timeEntry{}, false, nil
	}
	b, err := ix.entry(ix.n - 1)
	if err != nil {
		return timeEntry{}, false, err
	}
	return timeEntry{ts: int64(binary.BigEndian.Uint64(b)), rel: binary.BigEndian.Uint32(b[8:])}, true, nil
}

func (ix *indexFile) close() error {
	if ix == nil {
		return nil
	}
	return ix.f.Close()
}

// memIndex is an active segment's indexes.
type memIndex struct {
	offsets   []offsetEntry
	times     []timeEntry
	sinceLast int64  // log bytes since the last offset entry
	maxTs     int64  // largest timestamp in the segment
	maxTsRel  uint32 // the batch that holds it
}

// add records the batch of size bytes at pos, whose records have offsets
// from base+rel and timestamps up to maxTs. Batches must be added in log
// order.
func (m *memIndex) add(rel uint32, pos int64, size int, maxTs int64) {
	if pos == 0 || m.sinceLast >= indexIntervalBytes {
		m.offsets = append(m.offsets, offsetEntry{rel: rel, pos: uint32(pos)})
		m.sinceLast = 0
		// The time entry describes every batch before this one: none of
		// them holds a timestamp above maxTs.
		if pos > 0 && (len(m.times) == 0 || m.maxTs > m.times[len(m.times)-1].ts) {
			m.times = append(m.times, timeEntry{ts: m.maxTs, rel: m.maxTsRel})
		}
	}
	m.sinceLast += int64(size)
	if pos == 0 || maxTs > m.maxTs {
		m.maxTs, m.maxTsRel = maxTs, rel
	}
}

// finalTimes returns the time entries with a last one covering the whole
// segment, as written when it is sealed.
func (m *memIndex) finalTimes() []timeEntry {
	ts := m.times
	if len(m.offsets) > 0 && (len(ts) == 0 || m.maxTs > ts[len(ts)-1].ts) {
		ts = append(ts[:len(ts):len(ts)], timeEntry{ts: m.maxTs, rel: m.maxTsRel})
	}
	return ts
}

func (m *memIndex) floorOffset(rel uint32) offsetEntry {
	i := sort.Search(len(m.offsets), func(i int) bool { return m.offsets[i].rel > rel })
	if i == 0 {
		return offsetEntry{}
	}
	return m.offsets[i-1]
}

func (m *memIndex) floorTime(ts int64) (uint32, bool) {
	i := sort.Search(len(m.times), func(i int) bool { return m.times[i].ts >= ts })
	if i == 0 {
		return 0, false
	}
	return m.times[i-1].rel, true
}
