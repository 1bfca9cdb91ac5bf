package broker

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"math"
	"path/filepath"
	"testing"
	"time"

	"github.com/sluice-sql/sluice/broker/vfs"
)

// Run a fuzzer with, for example:
//
//	go test ./broker -run XXX -fuzz FuzzRecordBatch -fuzztime 60s
//
// Inputs that once failed are kept in testdata/fuzz/<Fuzzer> and run as
// regression tests by a plain go test.

// fuzzSeedRecords returns record sets that cover the encoding: null and
// empty keys and values, headers, large and negative timestamps.
func fuzzSeedRecords() [][]Record {
	return [][]Record{
		{{Timestamp: 1000, Value: []byte("v")}},
		{
			{Timestamp: 5, Key: []byte("k1"), Value: []byte("hello")},
			{Timestamp: 3, Key: []byte{}, Value: nil},
			{Timestamp: 9, Key: nil, Value: []byte{}, Headers: []Header{{Key: "h", Value: []byte("x")}, {Key: "", Value: nil}}},
		},
		{{Timestamp: math.MaxInt64, Value: bytes.Repeat([]byte{0xab}, 300)}, {Timestamp: math.MinInt64, Key: []byte("neg")}},
		{{Timestamp: -1, Headers: []Header{{Key: "only", Value: []byte{}}}}},
	}
}

// fuzzBuild builds recs into a batch with base offset base, copied.
func fuzzBuild(base int64, recs []Record) []byte {
	var bb BatchBuilder
	bb.Reset()
	for i := range recs {
		bb.Add(&recs[i])
	}
	b := bytes.Clone(bb.Build())
	setBaseOffset(b, base)
	return b
}

// fuzzRecrc recomputes the checksum of a batch after a test edited it.
func fuzzRecrc(b []byte) []byte {
	binary.BigEndian.PutUint32(b[offCRC:], crc32.Checksum(b[crcStart:], crc32c))
	return b
}

// fuzzSeedBatches returns valid batches, and valid ones with odd headers
// (offsets near the limits, compression, control) whose checksums match.
func fuzzSeedBatches() [][]byte {
	var out [][]byte
	for i, recs := range fuzzSeedRecords() {
		out = append(out, fuzzBuild(int64(i)*10, recs))
	}
	b := fuzzBuild(0, fuzzSeedRecords()[1])
	binary.BigEndian.PutUint16(b[offAttributes:], 2) // snappy
	out = append(out, fuzzRecrc(b))
	b = fuzzBuild(0, fuzzSeedRecords()[0])
	binary.BigEndian.PutUint16(b[offAttributes:], attrControl|attrTransactional)
	out = append(out, fuzzRecrc(b))
	out = append(out, fuzzBuild(math.MaxInt64-1, fuzzSeedRecords()[1]))
	out = append(out, fuzzBuild(1<<40, fuzzSeedRecords()[0]))
	b = fuzzBuild(0, fuzzSeedRecords()[0])
	binary.BigEndian.PutUint32(b[offLastDelta:], math.MaxInt32)
	out = append(out, fuzzRecrc(b))
	b = fuzzBuild(0, fuzzSeedRecords()[1])
	binary.BigEndian.PutUint32(b[offRecordCount:], math.MaxInt32)
	out = append(out, fuzzRecrc(b))
	return out
}

func FuzzRecordBatch(f *testing.F) {
	for _, b := range fuzzSeedBatches() {
		f.Add(b)
		f.Add(b[:len(b)-1])
		f.Add(b[:batchHeaderSize])
		f.Add(b[:batchHeaderSize-1])
		for _, at := range []int{offBatchLength + 3, offMagic, offCRC, offRecordCount + 3, batchHeaderSize, len(b) - 1} {
			c := bytes.Clone(b)
			c[at] ^= 0x01
			f.Add(c)
		}
		f.Add(append(bytes.Clone(b), 0))
	}
	// Record specs for the builder round trip.
	f.Add([]byte{})
	f.Add([]byte("\x05\x18\x01some bytes that become keys, values and headers"))
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzCheckBatchBytes(t, data)
		fuzzBuilderRoundTrip(t, data)
	})
}

// fuzzRecord is a decoded record copied out of the batch.
type fuzzRecord struct {
	delta   int64
	ts      int64
	key     []byte
	value   []byte
	headers []Header
}

func fuzzCopyRecord(base int64, r *Record) fuzzRecord {
	fr := fuzzRecord{delta: r.Offset - base, ts: r.Timestamp, key: bytes.Clone(r.Key), value: bytes.Clone(r.Value)}
	for _, h := range r.Headers {
		fr.headers = append(fr.headers, Header{Key: string([]byte(h.Key)), Value: bytes.Clone(h.Value)})
	}
	return fr
}

func fuzzSameBytes(a, b []byte) bool { return (a == nil) == (b == nil) && bytes.Equal(a, b) }

func fuzzSameRecord(a, b fuzzRecord) bool {
	if a.delta != b.delta || a.ts != b.ts || !fuzzSameBytes(a.key, b.key) || !fuzzSameBytes(a.value, b.value) || len(a.headers) != len(b.headers) {
		return false
	}
	for i := range a.headers {
		if a.headers[i].Key != b.headers[i].Key || !fuzzSameBytes(a.headers[i].Value, b.headers[i].Value) {
			return false
		}
	}
	return true
}

// fuzzDecode iterates over the batch b; it fails the test if the iterator
// does not stop within a record per byte. ok is false when the batch or
// a record is rejected.
func fuzzDecode(t *testing.T, b []byte) (recs []fuzzRecord, h BatchHeader, ok bool) {
	var it RecordIter
	if err := it.Reset(b); err != nil {
		if !errors.Is(err, ErrCorruptBatch) && !errors.Is(err, ErrUnsupportedCompression) {
			t.Fatalf("Reset: unclassified error %v", err)
		}
		return nil, h, false
	}
	h = *it.Header()
	var r Record
	for it.Next(&r) {
		if len(recs) >= len(b) {
			t.Fatalf("iterator returned %d records from %d bytes", len(recs)+1, len(b))
		}
		// Offsets wrap as int64 arithmetic does: the header does not
		// bound the base offset.
		if d := r.Offset - h.BaseOffset; d < 0 || d > int64(h.LastOffsetDelta) {
			t.Fatalf("record offset %d outside the batch's %d to %d", r.Offset, h.BaseOffset, h.LastOffset())
		}
		recs = append(recs, fuzzCopyRecord(h.BaseOffset, &r))
	}
	if it.Next(&r) {
		t.Fatal("Next returned a record after returning false")
	}
	if err := it.Err(); err != nil {
		if !errors.Is(err, ErrCorruptBatch) {
			t.Fatalf("Next: unclassified error %v", err)
		}
		return recs, h, false
	}
	if len(recs) != int(h.NumRecords) {
		t.Fatalf("iterator returned %d records without error, the header says %d", len(recs), h.NumRecords)
	}
	return recs, h, true
}

// fuzzCheckBatchBytes runs the batch decoders over arbitrary bytes. When
// the bytes are a valid batch, the records rebuilt with BatchBuilder
// decode to the same records.
func fuzzCheckBatchBytes(t *testing.T, data []byte) {
	ph, perr := ParseBatchHeader(data)
	ch, cerr := CheckBatch(data)
	if perr != nil && !errors.Is(perr, ErrCorruptBatch) {
		t.Fatalf("ParseBatchHeader: unclassified error %v", perr)
	}
	if cerr != nil && !errors.Is(cerr, ErrCorruptBatch) {
		t.Fatalf("CheckBatch: unclassified error %v", cerr)
	}
	if perr != nil && cerr == nil {
		t.Fatalf("CheckBatch accepted a batch whose header fails: %v", perr)
	}
	if cerr == nil && (ch != ph || ch.Size() != len(data)) {
		t.Fatalf("CheckBatch header %+v, ParseBatchHeader %+v, %d bytes", ch, ph, len(data))
	}
	if sz, ok := peekBatchSize(data); ok && perr == nil && sz != ph.Size() {
		t.Fatalf("peekBatchSize %d, header size %d", sz, ph.Size())
	}
	recs, h, ok := fuzzDecode(t, data)
	if !ok || cerr != nil || len(recs) == 0 {
		return
	}
	// Rebuild and compare. The builder needs rising offset deltas.
	var bb BatchBuilder
	bb.Reset()
	bb.SetAttributes(h.Attributes)
	bb.SetProducer(h.ProducerID, h.ProducerEpoch, h.BaseSequence)
	bb.SetBaseTimestamp(h.BaseTimestamp)
	last := int64(-1)
	for _, fr := range recs {
		if fr.delta <= last {
			return
		}
		last = fr.delta
		bb.AddAt(int32(fr.delta), &Record{Timestamp: fr.ts, Key: fr.key, Value: fr.value, Headers: fr.headers})
	}
	bb.SetLastOffsetDelta(h.LastOffsetDelta)
	rebuilt := bytes.Clone(bb.Build())
	setBaseOffset(rebuilt, h.BaseOffset)
	rh, err := CheckBatch(rebuilt)
	if err != nil {
		t.Fatalf("rebuilt batch fails its check: %v", err)
	}
	if rh.BaseOffset != h.BaseOffset || rh.LastOffsetDelta != h.LastOffsetDelta || rh.BaseTimestamp != h.BaseTimestamp ||
		rh.Attributes != h.Attributes || rh.ProducerID != h.ProducerID || rh.ProducerEpoch != h.ProducerEpoch ||
		rh.BaseSequence != h.BaseSequence || rh.NumRecords != h.NumRecords {
		t.Fatalf("rebuilt header %+v, original %+v", rh, h)
	}
	again, _, ok := fuzzDecode(t, rebuilt)
	if !ok || len(again) != len(recs) {
		t.Fatalf("rebuilt batch decodes to %d records (ok %v), want %d", len(again), ok, len(recs))
	}
	for i := range recs {
		if !fuzzSameRecord(recs[i], again[i]) {
			t.Fatalf("record %d: %+v after the rebuild, %+v before", i, again[i], recs[i])
		}
	}
}

// fuzzReader hands out the fuzzer's bytes as values, then zeros.
type fuzzReader struct{ b []byte }

func (r *fuzzReader) byte() byte {
	if len(r.b) == 0 {
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

func (r *fuzzReader) int64() int64 {
	var v uint64
	for range 8 {
		v = v<<8 | uint64(r.byte())
	}
	return int64(v)
}

// bytes returns a slice of up to 31 bytes, or nil.
func (r *fuzzReader) bytes() []byte {
	c := r.byte()
	if c&0x80 != 0 {
		return nil
	}
	n := min(int(c&0x1f), len(r.b))
	out := bytes.Clone(r.b[:n])
	r.b = r.b[n:]
	if out == nil {
		out = []byte{}
	}
	return out
}

// fuzzBuilderRoundTrip reads a list of records from data, builds them
// into a batch, and checks that it decodes to them; then it damages the
// batch as data says and checks the damage is caught or harmless.
func fuzzBuilderRoundTrip(t *testing.T, data []byte) {
	r := &fuzzReader{b: data}
	n := int(r.byte()%6) + 1
	var bb BatchBuilder
	bb.Reset()
	bb.SetAttributes(int16(r.byte()) & (attrTimestampType | attrTransactional | attrControl | attrCompressionMask))
	fixed := r.byte()&1 == 1
	if fixed {
		bb.SetBaseTimestamp(r.int64())
	}
	var want []fuzzRecord
	delta := int64(-1)
	maxTs := int64(math.MinInt64)
	for range n {
		rec := Record{Timestamp: r.int64(), Key: r.bytes(), Value: r.bytes()}
		for range r.byte() % 3 {
			k := r.bytes()
			rec.Headers = append(rec.Headers, Header{Key: string(k), Value: r.bytes()})
		}
		if skip := int64(r.byte() % 4); skip > 0 {
			delta += 1 + skip
			bb.AddAt(int32(delta), &rec)
		} else {
			delta++
			bb.Add(&rec)
		}
		maxTs = max(maxTs, rec.Timestamp)
		want = append(want, fuzzRecord{delta: delta, ts: rec.Timestamp, key: rec.Key, value: rec.Value, headers: rec.Headers})
	}
	base := r.int64() & (1<<62 - 1)
	b := bytes.Clone(bb.Build())
	setBaseOffset(b, base)
	h, err := CheckBatch(b)
	if err != nil {
		t.Fatalf("built batch fails its check: %v", err)
	}
	if h.NumRecords != int32(n) || h.LastOffsetDelta != int32(delta) || h.MaxTimestamp != maxTs || h.BaseOffset != base {
		t.Fatalf("built header %+v: want %d records, last delta %d, max timestamp %d", h, n, delta, maxTs)
	}
	got, _, ok := fuzzDecode(t, b)
	if !ok || len(got) != n {
		t.Fatalf("built batch decodes to %d records (ok %v), want %d", len(got), ok, n)
	}
	for i := range want {
		if !fuzzSameRecord(got[i], want[i]) {
			t.Fatalf("record %d: decoded %+v, built %+v", i, got[i], want[i])
		}
	}

	// Damage: flip one byte, or cut the batch short.
	at := int(uint(r.int64()>>1) % uint(len(b)))
	x := r.byte() | 1
	damaged := bytes.Clone(b)
	damaged[at] ^= x
	fuzzCheckBatchBytes(t, damaged)
	dh, err := CheckBatch(damaged)
	switch {
	case at >= offMagic && err == nil:
		// The checksum covers every byte from the attributes on, and a
		// change to the magic or the checksum itself is caught too.
		t.Fatalf("a change at byte %d went unnoticed", at)
	case at >= offBatchLength && at < batchLengthStart && err == nil:
		t.Fatalf("a change to the length at byte %d went unnoticed", at)
	case at < offBatchLength && (err != nil || dh.BaseOffset == base):
		// The base offset is outside the checksum: the broker rewrites it.
		t.Fatalf("a change to the base offset at byte %d: %v, base %d", at, err, dh.BaseOffset)
	}
	cut := b[:at]
	fuzzCheckBatchBytes(t, cut)
	if _, err := CheckBatch(cut); err == nil {
		t.Fatalf("a batch cut to %d of %d bytes passed its check", at, len(b))
	}
}

// fuzzDataDir is the data directory of FuzzSegmentRecovery in its MemFS.
const fuzzDataDir = "/data"

// fuzzSegmentFile names a file of the segment at base of partition 0 of
// topic t.
func fuzzSegmentFile(base int64, suffix string) string {
	return segmentName(filepath.Join(fuzzDataDir, topicsDir, "t", "0"), base, suffix)
}

// fuzzValue is the value of the prefix record at offset off.
func fuzzValue(off int64) []byte { return []byte(fmt.Sprintf("value-%d", off)) }

// Ways FuzzSegmentRecovery puts its bytes into the partition.
const (
	fuzzAppendToLog  = iota // after the valid batches
	fuzzReplaceLog          // instead of them
	fuzzOverwriteLog        // over them, from a position
	fuzzNewSegment          // as a later segment file
	fuzzTruncateThen        // cut the log at a position, then append
	fuzzModes
	fuzzDropIndexes = 8 // bit: remove the sealed indexes too
)

func FuzzSegmentRecovery(f *testing.F) {
	garbage := []byte("\x00\x00\x00\x00\x00\x00\x00\x09\x00\x00\x01\x00garbage that is no batch")
	tails := [][]byte{nil, garbage, make([]byte, 100), {1, 2, 3}}
	for _, b := range fuzzSeedBatches() {
		tails = append(tails, b, b[:len(b)/2], b[:len(b)-1])
		c := bytes.Clone(b)
		c[len(c)-1] ^= 0xff
		tails = append(tails, c)
	}
	// A batch that continues the log exactly, and one that repeats it.
	tails = append(tails, fuzzBuild(3, []Record{{Timestamp: 1, Value: []byte("next")}}))
	tails = append(tails, fuzzBuild(0, []Record{{Timestamp: 1, Value: []byte("again")}}))
	for i, tail := range tails {
		for mode := range uint8(fuzzModes) {
			f.Add(uint8(i%4), mode|uint8(i%2)*fuzzDropIndexes, uint16(i*37), tail)
		}
	}
	f.Fuzz(func(t *testing.T, batches, mode uint8, at uint16, data []byte) {
		fuzzSegmentRecovery(t, int(batches%5), mode, int64(at), data)
	})
}

// fuzzSegmentRecovery writes nBatches valid batches to partition 0 of
// topic t in a MemFS data directory, puts data into the partition as mode
// says, and opens the broker on it.
func fuzzSegmentRecovery(t *testing.T, nBatches int, mode uint8, at int64, data []byte) {
	mem := vfs.NewMem()
	opts := Options{FS: mem, MaintenanceInterval: -1, Clock: fuzzClock{}}
	b, err := Open(fuzzDataDir, opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.CreateTopic("t", 1, nil); err != nil {
		t.Fatal(err)
	}
	var prefix int64 // records in the valid batches: offsets 0 to prefix-1
	for i := range nBatches {
		var recs []Record
		for range i%3 + 1 {
			recs = append(recs, Record{Timestamp: 1000 + prefix, Key: []byte("k"), Value: fuzzValue(prefix)})
			prefix++
		}
		if _, err := b.AppendRecords(context.Background(), "t", 0, recs...); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}

	log := fuzzSegmentFile(0, logSuffix)
	logData := fuzzFile(t, mem, log)
	intact := false // the valid batches are still all there
	switch int(mode&^fuzzDropIndexes) % fuzzModes {
	case fuzzAppendToLog:
		fuzzWrite(t, mem, log, append(logData, data...))
		intact = true
	case fuzzReplaceLog:
		fuzzWrite(t, mem, log, data)
	case fuzzOverwriteLog:
		pos := int(at % (int64(len(logData)) + 1))
		out := append(logData[:pos:pos], data...)
		if len(out) < len(logData) {
			out = append(out, logData[len(out):]...)
		}
		fuzzWrite(t, mem, log, out)
	case fuzzNewSegment:
		// Mostly where the log goes on; sometimes past it.
		base := prefix
		if at%4 == 3 {
			base += 1 + at%8/4
		}
		fuzzWrite(t, mem, fuzzSegmentFile(base, logSuffix), data)
		intact = true
	case fuzzTruncateThen:
		pos := int(at % (int64(len(logData)) + 1))
		fuzzWrite(t, mem, log, append(logData[:pos:pos], data...))
	}
	if mode&fuzzDropIndexes != 0 {
		for _, suf := range []string{indexSuffix, timeIndexSuffix} {
			if err := mem.Remove(fuzzSegmentFile(0, suf)); err != nil {
				t.Fatal(err)
			}
		}
	}

	done := make(chan error, 1)
	go func() { done <- fuzzOpenAndRead(opts, prefix, intact) }()
	timer := time.NewTimer(10 * time.Second)
	defer timer.Stop()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-timer.C:
		t.Fatal("opening and reading the partition did not finish in 10s")
	}
}

// fuzzClock keeps the broker's time still so that an input always does
// the same.
type fuzzClock struct{}

func (fuzzClock) Now() time.Time { return time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC) }

func fuzzFile(t *testing.T, fsys vfs.FS, name string) []byte {
	f, err := fsys.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	size, err := f.Size()
	if err != nil {
		t.Fatal(err)
	}
	b := make([]byte, size)
	if _, err := f.ReadAt(b, 0); err != nil && size > 0 {
		t.Fatal(err)
	}
	return b
}

func fuzzWrite(t *testing.T, fsys vfs.FS, name string, data []byte) {
	if err := writeFileSync(fsys, name, data); err != nil {
		t.Fatal(err)
	}
	if err := fsys.SyncDir(filepath.Dir(name)); err != nil {
		t.Fatal(err)
	}
}

// fuzzRead is a record as read back.
type fuzzRead struct {
	offset int64
	value  []byte
}

// fuzzOpenAndRead opens the broker, which may refuse, and reads partition
// 0 of t from its start: every record must come from a checked batch, in
// rising offsets below the end, and reading must stop cleanly. When the
// valid batches were left intact, they must all be read back first. The
// partition must then take an append at its end, and a second open must
// find nothing more to cut and read the same. It runs off the test's
// goroutine, so it returns what it found wrong.
func fuzzOpenAndRead(opts Options, prefix int64, intact bool) error {
	b, err := Open(fuzzDataDir, opts)
	if err != nil {
		return nil // refusing damaged data is allowed
	}
	defer func() { b.Close() }()
	got, end, rerr := fuzzReadAll(b)
	switch {
	case rerr != nil && !errors.Is(rerr, ErrCorruptBatch) && !errors.Is(rerr, ErrUnsupportedCompression):
		return rerr // not a read that stopped at damage or a codec
	case rerr != nil && intact && int64(len(got)) < prefix:
		return fmt.Errorf("read failed after %d of the %d intact records: %w", len(got), prefix, rerr)
	case rerr != nil:
		// Damage in data the broker trusts is reported, not cut; a
		// checked batch may hold records in a codec or framing the
		// reader rejects.
		return nil
	}
	if intact {
		if int64(len(got)) < prefix {
			return fmt.Errorf("read %d records, the %d valid ones were left intact", len(got), prefix)
		}
		for i, g := range got[:prefix] {
			if g.offset != int64(i) || !bytes.Equal(g.value, fuzzValue(int64(i))) {
				return fmt.Errorf("record %d: offset %d value %q", i, g.offset, g.value)
			}
		}
	}
	res, err := b.AppendRecords(context.Background(), "t", 0, Record{Timestamp: 1, Value: []byte("after")})
	if err != nil {
		return fmt.Errorf("append after recovery: %w", err)
	}
	if res.BaseOffset != end {
		return fmt.Errorf("append after recovery got offset %d, the end was %d", res.BaseOffset, end)
	}
	if err := b.Close(); err != nil {
		return fmt.Errorf("close: %w", err)
	}
	b, err = Open(fuzzDataDir, opts)
	if err != nil {
		return fmt.Errorf("second open: %w", err)
	}
	if evs := b.Recovery(); len(evs) != 0 {
		return fmt.Errorf("second open cut again: %v", evs)
	}
	again, end2, err := fuzzReadAll(b)
	if err != nil {
		return fmt.Errorf("read after the second open: %w", err)
	}
	if end2 != end+1 || len(again) != len(got)+1 {
		return fmt.Errorf("second open: %d records, end %d; first: %d records, end %d, then one append", len(again), end2, len(got), end)
	}
	for i, g := range got {
		if again[i].offset != g.offset || !bytes.Equal(again[i].value, g.value) {
			return fmt.Errorf("second open: record %d is offset %d %q, was offset %d %q", i, again[i].offset, again[i].value, g.offset, g.value)
		}
	}
	if a := again[len(got)]; a.offset != end || string(a.value) != "after" {
		return fmt.Errorf("second open: the appended record reads as offset %d %q", a.offset, a.value)
	}
	return nil
}

// errFuzzRead marks a read that broke the partition's invariants, as
// opposed to one that stopped at reported damage.
var errFuzzRead = errors.New("bad read")

// fuzzReadAll reads partition 0 of t from its start to its end.
func fuzzReadAll(b *Broker) ([]fuzzRead, int64, error) {
	start, end, err := b.Offsets("t", 0)
	if err != nil {
		return nil, 0, err
	}
	if start < 0 || end < start {
		return nil, 0, fmt.Errorf("%w: partition holds offsets %d to %d", errFuzzRead, start, end)
	}
	r := b.NewReader("t", 0, start)
	var got []fuzzRead
	last := start - 1
	for {
		rec, ok, err := r.TryNext()
		if err != nil {
			return got, end, err
		}
		if !ok {
			break
		}
		if rec.Offset <= last || rec.Offset >= end {
			return got, end, fmt.Errorf("%w: record at offset %d after %d, end %d", errFuzzRead, rec.Offset, last, end)
		}
		if len(got) > 1<<20 {
			return got, end, fmt.Errorf("%w: more than a million records from a fuzz input", errFuzzRead)
		}
		last = rec.Offset
		got = append(got, fuzzRead{rec.Offset, bytes.Clone(rec.Value)})
	}
	if r.Offset() != end {
		return got, end, fmt.Errorf("%w: reading stopped at offset %d, the end is %d", errFuzzRead, r.Offset(), end)
	}
	return got, end, nil
}

// TestFuzzAppendRejectsMalformedRecords appends a batch whose checksum
// is right but whose records do not parse, as a buggy or hostile Kafka
// client can send. The broker must refuse it, as Kafka does
// (InvalidRecordException), or every reader of the partition meets a
// batch it cannot decode.
func TestFuzzAppendRejectsMalformedRecords(t *testing.T) {
	b, err := Open(fuzzDataDir, Options{FS: vfs.NewMem(), MaintenanceInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if err := b.CreateTopic("t", 1, nil); err != nil {
		t.Fatal(err)
	}
	bad := fuzzBuild(0, []Record{{Value: []byte("a")}, {Value: []byte("b")}})
	bad[batchHeaderSize] = 0x7f // the first record's length runs past the batch
	fuzzRecrc(bad)
	if _, err := CheckBatch(bad); err != nil {
		t.Fatalf("the test batch must pass its check: %v", err)
	}
	res, err := b.Append(context.Background(), "t", 0, bad)
	if !errors.Is(err, ErrCorruptBatch) && !errors.Is(err, ErrInvalidRecord) {
		t.Fatalf("append of a batch with malformed records: %+v, %v", res, err)
	}
}
