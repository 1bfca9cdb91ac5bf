package broker

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"math"
	"unsafe"
)

// The Kafka record batch, magic v2, as it is on the wire and on disk:
//
//	off  size field
//	  0     8 baseOffset
//	  8     4 batchLength (bytes after this field)
//	 12     4 partitionLeaderEpoch
//	 16     1 magic (2)
//	 17     4 crc (CRC-32C of bytes 21..end)
//	 21     2 attributes
//	 23     4 lastOffsetDelta
//	 27     8 baseTimestamp
//	 35     8 maxTimestamp
//	 43     8 producerId
//	 51     2 producerEpoch
//	 53     4 baseSequence
//	 57     4 record count
//	 61       records
//
// The base offset and the leader epoch sit before the CRC'd region, so the
// broker can assign offsets without recomputing the checksum.
const (
	batchHeaderSize  = 61
	batchLengthStart = 12 // bytes counted before batchLength's region
	crcStart         = 21
	offBatchLength   = 8
	offMagic         = 16
	offCRC           = 17
	offAttributes    = 21
	offLastDelta     = 23
	offBaseTime      = 27
	offMaxTime       = 35
	offProducerID    = 43
	offProducerEpoch = 51
	offBaseSequence  = 53
	offRecordCount   = 57

	// attribute bits
	attrCompressionMask = 0x07
	attrTimestampType   = 0x08
	attrTransactional   = 0x10
	attrControl         = 0x20
)

var crc32c = crc32.MakeTable(crc32.Castagnoli)

// ErrCorruptBatch is returned (wrapped, with the place) when a record batch
// fails its checks: a bad length, magic, checksum or record framing.
var ErrCorruptBatch = errors.New("corrupt record batch")

// ErrUnsupportedCompression is returned (wrapped) when a batch's records
// are compressed with a codec the reader cannot decode.
var ErrUnsupportedCompression = errors.New("unsupported compression codec")

// Header is one record header. When decoded, Key and Value alias the
// buffer the batch was read into.
type Header struct {
	Key   string
	Value []byte
}

// Record is one record. A nil Key is a null key; a nil Value is a null
// value, which in a compacted topic is a tombstone. Timestamp is in
// milliseconds since the Unix epoch. When decoded by a RecordIter, Key,
// Value and Headers alias the batch buffer and the iterator's scratch
// space: copy what must outlive the next call to Next.
type Record struct {
	Offset    int64
	Timestamp int64
	Key       []byte
	Value     []byte
	Headers   []Header
}

// BatchHeader is the decoded fixed part of a record batch.
type BatchHeader struct {
	BaseOffset      int64
	Length          int32 // bytes after the length field
	LeaderEpoch     int32
	Magic           int8
	CRC             uint32
	Attributes      int16
	LastOffsetDelta int32
	BaseTimestamp   int64
	MaxTimestamp    int64
	ProducerID      int64
	ProducerEpoch   int16
	BaseSequence    int32
	NumRecords      int32
}

// Size is the total size of the batch in bytes.
func (h *BatchHeader) Size() int { return int(h.Length) + batchLengthStart }

// LastOffset is the offset of the batch's last record.
func (h *BatchHeader) LastOffset() int64 { return h.BaseOffset + int64(h.LastOffsetDelta) }

// NextOffset is the offset that follows the batch.
func (h *BatchHeader) NextOffset() int64 { return h.LastOffset() + 1 }

// Compression is the codec number in the attributes (0 = none).
func (h *BatchHeader) Compression() int { return int(h.Attributes & attrCompressionMask) }

// IsControl reports whether the batch holds transaction control records.
func (h *BatchHeader) IsControl() bool { return h.Attributes&attrControl != 0 }

// IsTransactional reports whether the batch was written in a transaction.
func (h *BatchHeader) IsTransactional() bool { return h.Attributes&attrTransactional != 0 }

// peekBatchSize returns the total size of the batch at the start of b, from
// its length field, or 0 and false when b is too short to hold the field.
func peekBatchSize(b []byte) (int, bool) {
	if len(b) < batchLengthStart {
		return 0, false
	}
	return int(int32(binary.BigEndian.Uint32(b[offBatchLength:]))) + batchLengthStart, true
}

// ParseBatchHeader decodes the fixed header at the start of b and checks
// the length and magic. It does not verify the checksum.
func ParseBatchHeader(b []byte) (BatchHeader, error) {
	var h BatchHeader
	if len(b) < batchHeaderSize {
		return h, fmt.Errorf("%w: %d bytes is shorter than a batch header (%d)", ErrCorruptBatch, len(b), batchHeaderSize)
	}
	h.BaseOffset = int64(binary.BigEndian.Uint64(b[0:]))
	h.Length = int32(binary.BigEndian.Uint32(b[offBatchLength:]))
	h.LeaderEpoch = int32(binary.BigEndian.Uint32(b[12:]))
	h.Magic = int8(b[offMagic])
	h.CRC = binary.BigEndian.Uint32(b[offCRC:])
	h.Attributes = int16(binary.BigEndian.Uint16(b[offAttributes:]))
	h.LastOffsetDelta = int32(binary.BigEndian.Uint32(b[offLastDelta:]))
	h.BaseTimestamp = int64(binary.BigEndian.Uint64(b[offBaseTime:]))
	h.MaxTimestamp = int64(binary.BigEndian.Uint64(b[offMaxTime:]))
	h.ProducerID = int64(binary.BigEndian.Uint64(b[offProducerID:]))
	h.ProducerEpoch = int16(binary.BigEndian.Uint16(b[offProducerEpoch:]))
	h.BaseSequence = int32(binary.BigEndian.Uint32(b[offBaseSequence:]))
	h.NumRecords = int32(binary.BigEndian.Uint32(b[offRecordCount:]))
	if h.Magic != 2 {
		return h, fmt.Errorf("%w: magic %d, want 2", ErrCorruptBatch, h.Magic)
	}
	if h.Length < batchHeaderSize-batchLengthStart {
		return h, fmt.Errorf("%w: batch length %d is shorter than its header", ErrCorruptBatch, h.Length)
	}
	if h.LastOffsetDelta < 0 || h.NumRecords < 0 {
		return h, fmt.Errorf("%w: negative last offset delta %d or record count %d", ErrCorruptBatch, h.LastOffsetDelta, h.NumRecords)
	}
	return h, nil
}

// CheckBatch parses the header of the batch that is exactly b and verifies
// its length and checksum.
func CheckBatch(b []byte) (BatchHeader, error) {
	h, err := ParseBatchHeader(b)
	if err != nil {
		return h, err
	}
	if h.Size() != len(b) {
		return h, fmt.Errorf("%w: batch length field says %d bytes, have %d", ErrCorruptBatch, h.Size(), len(b))
	}
	if got := crc32.Checksum(b[crcStart:], crc32c); got != h.CRC {
		return h, fmt.Errorf("%w: checksum %08x, want %08x", ErrCorruptBatch, got, h.CRC)
	}
	return h, nil
}

// setBaseOffset rewrites the base offset of the batch in b; the checksum
// does not cover it.
func setBaseOffset(b []byte, off int64) { binary.BigEndian.PutUint64(b, uint64(off)) }

// BatchBuilder encodes records into one uncompressed v2 record batch. The
// zero value is ready to use; Reset makes it reusable without allocating.
type BatchBuilder struct {
	buf       []byte
	n         int32
	lastDelta int32
	baseTime  int64
	maxTime   int64
	attrs     int16
	producer  int64
	epoch     int16
	sequence  int32
	fixedBase bool // base timestamp set by SetBaseTimestamp
}

// Reset empties the builder, keeping its buffer.
func (b *BatchBuilder) Reset() {
	if cap(b.buf) < batchHeaderSize {
		b.buf = make([]byte, batchHeaderSize, 64<<10)
	}
	b.buf = b.buf[:batchHeaderSize]
	b.n, b.lastDelta = 0, -1
	b.baseTime, b.maxTime = 0, 0
	b.attrs = 0
	b.producer, b.epoch, b.sequence = -1, -1, -1
	b.fixedBase = false
}

// Len is the number of records added since the last Reset.
func (b *BatchBuilder) Len() int { return int(b.n) }

// Size is the size in bytes the batch has so far.
func (b *BatchBuilder) Size() int {
	if b.buf == nil {
		return batchHeaderSize
	}
	return len(b.buf)
}

// Add appends r with the next offset delta (the number of records already
// added); r.Offset is ignored.
func (b *BatchBuilder) Add(r *Record) {
	if b.buf == nil {
		b.Reset()
	}
	b.addAt(b.lastDelta+1, r)
}

// AddAt appends r at an explicit offset delta, which must exceed every
// delta used before. Compaction uses it to keep offsets while dropping
// records.
func (b *BatchBuilder) AddAt(delta int32, r *Record) {
	if b.buf == nil {
		b.Reset()
	}
	if delta <= b.lastDelta {
		panic(fmt.Sprintf("broker: offset delta %d after %d", delta, b.lastDelta))
	}
	b.addAt(delta, r)
}

func (b *BatchBuilder) addAt(delta int32, r *Record) {
	if b.n == 0 {
		if !b.fixedBase {
			b.baseTime = r.Timestamp
		}
		b.maxTime = r.Timestamp
	} else if r.Timestamp > b.maxTime {
		b.maxTime = r.Timestamp
	}
	tsDelta := r.Timestamp - b.baseTime
	body := 1 + varlongLen(tsDelta) + varintLen(int64(delta)) +
		bytesFieldLen(r.Key) + bytesFieldLen(r.Value) + varintLen(int64(len(r.Headers)))
	for i := range r.Headers {
		h := &r.Headers[i]
		body += varintLen(int64(len(h.Key))) + len(h.Key) + bytesFieldLen(h.Value)
	}
	buf := b.buf
	buf = appendVarint(buf, int64(body))
	buf = append(buf, 0) // record attributes, unused
	buf = appendVarint(buf, tsDelta)
	buf = appendVarint(buf, int64(delta))
	buf = appendBytesField(buf, r.Key)
	buf = appendBytesField(buf, r.Value)
	buf = appendVarint(buf, int64(len(r.Headers)))
	for i := range r.Headers {
		h := &r.Headers[i]
		buf = appendVarint(buf, int64(len(h.Key)))
		buf = append(buf, h.Key...)
		buf = appendBytesField(buf, h.Value)
	}
	b.buf = buf
	b.n++
	b.lastDelta = delta
}

// SetLastOffsetDelta raises the batch's last offset delta past the last
// record added, so a compacted batch keeps the offset range of the batch
// it was rewritten from.
func (b *BatchBuilder) SetLastOffsetDelta(d int32) {
	if d > b.lastDelta {
		b.lastDelta = d
	}
}

// SetProducer records the producer id, epoch and base sequence of an
// idempotent or transactional producer. The builder starts with -1s.
func (b *BatchBuilder) SetProducer(id int64, epoch int16, baseSequence int32) {
	b.producer, b.epoch, b.sequence = id, epoch, baseSequence
}

// SetAttributes sets the batch attributes (timestamp type, transactional,
// control). Compression bits are ignored: the builder writes uncompressed
// batches.
func (b *BatchBuilder) SetAttributes(a int16) { b.attrs = a &^ attrCompressionMask }

// SetTransactional marks the batch as written in a transaction (with
// SetProducer giving the transactional producer's id and epoch).
func (b *BatchBuilder) SetTransactional(on bool) {
	if on {
		b.attrs |= attrTransactional
	} else {
		b.attrs &^= attrTransactional
	}
}

// SetBaseTimestamp fixes the base timestamp before the first record is
// added, so compaction keeps each record's timestamp delta exact.
func (b *BatchBuilder) SetBaseTimestamp(ts int64) {
	if b.buf == nil {
		b.Reset()
	}
	b.baseTime, b.maxTime = ts, ts
	b.fixedBase = true
}

// Build finishes the batch with base offset 0 and returns its bytes, which
// stay valid until the next Reset or Add. An empty builder builds nil.
func (b *BatchBuilder) Build() []byte {
	if b.n == 0 {
		return nil
	}
	putBatchHeader(b.buf, &BatchHeader{
		Length: int32(len(b.buf) - batchLengthStart), LeaderEpoch: -1, Attributes: b.attrs,
		LastOffsetDelta: b.lastDelta, BaseTimestamp: b.baseTime, MaxTimestamp: b.maxTime,
		ProducerID: b.producer, ProducerEpoch: b.epoch, BaseSequence: b.sequence, NumRecords: b.n,
	})
	return b.buf
}

// putBatchHeader writes h (magic 2, without its CRC field) into the first
// bytes of b, whose records follow, and then the checksum of b.
func putBatchHeader(b []byte, h *BatchHeader) {
	binary.BigEndian.PutUint64(b[0:], uint64(h.BaseOffset))
	binary.BigEndian.PutUint32(b[offBatchLength:], uint32(h.Length))
	binary.BigEndian.PutUint32(b[12:], uint32(h.LeaderEpoch))
	b[offMagic] = 2
	binary.BigEndian.PutUint16(b[offAttributes:], uint16(h.Attributes))
	binary.BigEndian.PutUint32(b[offLastDelta:], uint32(h.LastOffsetDelta))
	binary.BigEndian.PutUint64(b[offBaseTime:], uint64(h.BaseTimestamp))
	binary.BigEndian.PutUint64(b[offMaxTime:], uint64(h.MaxTimestamp))
	binary.BigEndian.PutUint64(b[offProducerID:], uint64(h.ProducerID))
	binary.BigEndian.PutUint16(b[offProducerEpoch:], uint16(h.ProducerEpoch))
	binary.BigEndian.PutUint32(b[offBaseSequence:], uint32(h.BaseSequence))
	binary.BigEndian.PutUint32(b[offRecordCount:], uint32(h.NumRecords))
	binary.BigEndian.PutUint32(b[offCRC:], crc32.Checksum(b[crcStart:], crc32c))
}

// emptyBatch returns a batch with h's offsets, timestamps, producer and
// attributes but no records. Compaction leaves one where it removed every
// record of a segment's last batch, so the segment still ends where it
// did and offsets stay contiguous across segments.
func emptyBatch(h *BatchHeader) []byte {
	e := *h
	e.Length = batchHeaderSize - batchLengthStart
	e.Attributes &^= attrCompressionMask
	e.NumRecords = 0
	b := make([]byte, batchHeaderSize)
	putBatchHeader(b, &e)
	return b
}

// RecordIter decodes the records of one uncompressed batch without
// allocating. Usage:
//
//	var it RecordIter
//	if err := it.Reset(batch); err != nil { ... }
//	var r Record
//	for it.Next(&r) { ... }
//	if err := it.Err(); err != nil { ... }
type RecordIter struct {
	h       BatchHeader
	rest    []byte
	left    int32
	err     error
	headers []Header
}

// Reset points the iterator at the batch that is exactly b. It checks the
// header and the codec, but not the checksum (see CheckBatch).
func (it *RecordIter) Reset(b []byte) error {
	it.err = nil
	it.rest, it.left = nil, 0
	h, err := ParseBatchHeader(b)
	if err != nil {
		it.err = err
		return err
	}
	if h.Size() != len(b) {
		it.err = fmt.Errorf("%w: batch length field says %d bytes, have %d", ErrCorruptBatch, h.Size(), len(b))
		return it.err
	}
	if c := h.Compression(); c != 0 {
		it.err = fmt.Errorf("%w: codec %d in batch at offset %d", ErrUnsupportedCompression, c, h.BaseOffset)
		return it.err
	}
	it.h = h
	it.rest = b[batchHeaderSize:]
	it.left = h.NumRecords
	return nil
}

// Header is the header of the current batch.
func (it *RecordIter) Header() *BatchHeader { return &it.h }

// Err is the first decoding error met, if any.
func (it *RecordIter) Err() error { return it.err }

// Next decodes the next record into r and reports whether there was one.
func (it *RecordIter) Next(r *Record) bool {
	if it.left <= 0 || it.err != nil {
		if it.err == nil && len(it.rest) != 0 {
			it.err = fmt.Errorf("%w: %d bytes after the last record of batch at offset %d", ErrCorruptBatch, len(it.rest), it.h.BaseOffset)
		}
		return false
	}
	it.left--
	b := it.rest
	length, n := readVarint(b)
	if n <= 0 || length < 0 || int64(len(b)-n) < length {
		return it.fail("record length")
	}
	rec := b[n : n+int(length)]
	it.rest = b[n+int(length):]
	if len(rec) < 1 {
		return it.fail("record attributes")
	}
	rec = rec[1:]
	tsDelta, n := readVarint(rec)
	if n <= 0 {
		return it.fail("timestamp delta")
	}
	rec = rec[n:]
	offDelta, n := readVarint(rec)
	if n <= 0 || offDelta < 0 || offDelta > int64(it.h.LastOffsetDelta) {
		return it.fail("offset delta")
	}
	rec = rec[n:]
	var ok bool
	if r.Key, rec, ok = readBytesField(rec); !ok {
		return it.fail("key")
	}
	if r.Value, rec, ok = readBytesField(rec); !ok {
		return it.fail("value")
	}
	nh, n := readVarint(rec)
	if n <= 0 || nh < 0 || nh > int64(len(rec)) {
		return it.fail("header count")
	}
	rec = rec[n:]
	hs := it.headers[:0]
	for i := int64(0); i < nh; i++ {
		var k, v []byte
		if k, rec, ok = readBytesField(rec); !ok || k == nil {
			return it.fail("header key")
		}
		if v, rec, ok = readBytesField(rec); !ok {
			return it.fail("header value")
		}
		hs = append(hs, Header{Key: unsafe.String(unsafe.SliceData(k), len(k)), Value: v})
	}
	it.headers = hs
	if len(rec) != 0 {
		return it.fail("record length (trailing bytes)")
	}
	if nh == 0 {
		r.Headers = nil
	} else {
		r.Headers = hs
	}
	r.Offset = it.h.BaseOffset + offDelta
	r.Timestamp = it.h.BaseTimestamp + tsDelta
	return true
}

func (it *RecordIter) fail(what string) bool {
	it.err = fmt.Errorf("%w: bad %s in record %d of batch at offset %d", ErrCorruptBatch, what, it.h.NumRecords-it.left-1, it.h.BaseOffset)
	it.left = 0
	return false
}

// Varints are zig-zag encoded, as protobuf's sint64.

func varintLen(v int64) int {
	u := uint64((v << 1) ^ (v >> 63))
	n := 1
	for u >= 0x80 {
		u >>= 7
		n++
	}
	return n
}

func varlongLen(v int64) int { return varintLen(v) }

func appendVarint(b []byte, v int64) []byte {
	u := uint64((v << 1) ^ (v >> 63))
	for u >= 0x80 {
		b = append(b, byte(u)|0x80)
		u >>= 7
	}
	return append(b, byte(u))
}

// readVarint decodes a zig-zag varint; n is 0 if b is too short and
// negative on overflow.
func readVarint(b []byte) (int64, int) {
	var u uint64
	var shift uint
	for i, c := range b {
		if i == 10 {
			return 0, -1
		}
		u |= uint64(c&0x7f) << shift
		if c < 0x80 {
			return int64(u>>1) ^ -int64(u&1), i + 1
		}
		shift += 7
	}
	return 0, 0
}

func bytesFieldLen(p []byte) int {
	if p == nil {
		return 1
	}
	return varintLen(int64(len(p))) + len(p)
}

func appendBytesField(b, p []byte) []byte {
	if p == nil {
		return append(b, 1) // zig-zag -1
	}
	b = appendVarint(b, int64(len(p)))
	return append(b, p...)
}

func readBytesField(b []byte) (field, rest []byte, ok bool) {
	l, n := readVarint(b)
	if n <= 0 || l < -1 || l > math.MaxInt32 {
		return nil, nil, false
	}
	b = b[n:]
	if l == -1 {
		return nil, b, true
	}
	if int64(len(b)) < l {
		return nil, nil, false
	}
	return b[:l:l], b[l:], true
}
