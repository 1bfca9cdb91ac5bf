package broker

import (
	"bytes"
	"errors"
	"fmt"
	"hash/crc32"
	"math"
	"testing"

	"github.com/twmb/franz-go/pkg/kbin"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func sampleRecords() []Record {
	return []Record{
		{Timestamp: 1700000000000, Key: []byte("k1"), Value: []byte("v1")},
		{Timestamp: 1699999999000, Key: nil, Value: []byte("no key, earlier timestamp")},
		{Timestamp: 1700000005000, Key: []byte{}, Value: nil}, // empty key, null value
		{Timestamp: 1700000001000, Key: []byte("h"), Value: bytes.Repeat([]byte("x"), 300),
			Headers: []Header{{Key: "trace", Value: []byte("abc")}, {Key: "nil", Value: nil}, {Key: "", Value: []byte{}}}},
	}
}

func buildBatch(t testing.TB, base int64, recs []Record) []byte {
	t.Helper()
	var bb BatchBuilder
	for i := range recs {
		bb.Add(&recs[i])
	}
	b := append([]byte(nil), bb.Build()...)
	setBaseOffset(b, base)
	return b
}

func TestBatchRoundTrip(t *testing.T) {
	recs := sampleRecords()
	b := buildBatch(t, 42, recs)
	h, err := CheckBatch(b)
	if err != nil {
		t.Fatal(err)
	}
	if h.BaseOffset != 42 || h.NumRecords != 4 || h.LastOffsetDelta != 3 || h.LastOffset() != 45 {
		t.Fatalf("header %+v", h)
	}
	if h.BaseTimestamp != 1700000000000 || h.MaxTimestamp != 1700000005000 {
		t.Fatalf("timestamps base %d max %d", h.BaseTimestamp, h.MaxTimestamp)
	}
	var it RecordIter
	if err := it.Reset(b); err != nil {
		t.Fatal(err)
	}
	var r Record
	i := 0
	for it.Next(&r) {
		want := recs[i]
		if r.Offset != 42+int64(i) || r.Timestamp != want.Timestamp {
			t.Errorf("record %d: offset %d ts %d", i, r.Offset, r.Timestamp)
		}
		if !sameBytes(r.Key, want.Key) || !sameBytes(r.Value, want.Value) {
			t.Errorf("record %d: key %q value %q, want %q %q", i, r.Key, r.Value, want.Key, want.Value)
		}
		if len(r.Headers) != len(want.Headers) {
			t.Fatalf("record %d: %d headers", i, len(r.Headers))
		}
		for j, hd := range r.Headers {
			if hd.Key != want.Headers[j].Key || !sameBytes(hd.Value, want.Headers[j].Value) {
				t.Errorf("record %d header %d: %q=%q", i, j, hd.Key, hd.Value)
			}
		}
		i++
	}
	if err := it.Err(); err != nil || i != len(recs) {
		t.Fatalf("decoded %d records, err %v", i, err)
	}
}

// sameBytes compares with nil and empty kept apart, as Kafka does.
func sameBytes(a, b []byte) bool { return (a == nil) == (b == nil) && bytes.Equal(a, b) }

// TestBatchKafkaInterop decodes our batches with franz-go's kmsg, the wire
// format every Kafka client speaks, and ours from kmsg's encoding.
func TestBatchKafkaInterop(t *testing.T) {
	recs := sampleRecords()
	b := buildBatch(t, 7, recs)
	var kb kmsg.RecordBatch
	if err := kb.ReadFrom(b); err != nil {
		t.Fatal(err)
	}
	if kb.FirstOffset != 7 || kb.NumRecords != 4 || kb.Magic != 2 {
		t.Fatalf("kmsg header %+v", kb)
	}
	if got := int32(crc32.Checksum(b[21:], crc32c)); got != kb.CRC {
		t.Fatalf("crc %x vs %x", got, kb.CRC)
	}
	rest := kb.Records
	for i := range recs {
		var kr kmsg.Record
		l, sz := kbin.Varint(rest)
		if sz <= 0 {
			t.Fatalf("record %d length", i)
		}
		if err := kr.ReadFrom(rest[:sz+int(l)]); err != nil {
			t.Fatalf("record %d: %v", i, err)
		}
		rest = rest[sz+int(l):]
		if int64(kr.OffsetDelta) != int64(i) || kb.FirstTimestamp+kr.TimestampDelta64 != recs[i].Timestamp {
			t.Errorf("record %d: delta %d ts %d", i, kr.OffsetDelta, kr.TimestampDelta64)
		}
		if !sameBytes(kr.Key, recs[i].Key) || !sameBytes(kr.Value, recs[i].Value) || len(kr.Headers) != len(recs[i].Headers) {
			t.Errorf("record %d: key %q value %q headers %d", i, kr.Key, kr.Value, len(kr.Headers))
		}
	}

	// And the other way: a batch encoded by kmsg decodes here.
	var raw []byte
	for i, r := range recs {
		kr := kmsg.NewRecord()
		kr.TimestampDelta64 = r.Timestamp - recs[0].Timestamp
		kr.OffsetDelta = int32(i)
		kr.Key, kr.Value = r.Key, r.Value
		for _, h := range r.Headers {
			kr.Headers = append(kr.Headers, kmsg.Header{Key: h.Key, Value: h.Value})
		}
		// AppendTo writes Length as given: encode once with 0 (one
		// byte) to learn the body's size.
		kr.Length = int32(len(kr.AppendTo(nil)) - 1)
		raw = kr.AppendTo(raw)
	}
	kb2 := kmsg.RecordBatch{FirstOffset: 100, Magic: 2, LastOffsetDelta: int32(len(recs) - 1), FirstTimestamp: recs[0].Timestamp,
		MaxTimestamp: 1700000005000, ProducerID: -1, ProducerEpoch: -1, FirstSequence: -1, NumRecords: int32(len(recs)), Records: raw}
	enc := kb2.AppendTo(nil)
	binaryPutLen(enc)
	binaryPutCRC(enc)
	if _, err := CheckBatch(enc); err != nil {
		t.Fatal(err)
	}
	var it RecordIter
	if err := it.Reset(enc); err != nil {
		t.Fatal(err)
	}
	var r Record
	n := 0
	for it.Next(&r) {
		if r.Offset != 100+int64(n) || !sameBytes(r.Value, recs[n].Value) || r.Timestamp != recs[n].Timestamp {
			t.Errorf("kmsg record %d: offset %d value %q ts %d", n, r.Offset, r.Value, r.Timestamp)
		}
		n++
	}
	if it.Err() != nil || n != len(recs) {
		t.Fatalf("decoded %d, err %v", n, it.Err())
	}
}

func binaryPutLen(b []byte) {
	n := uint32(len(b) - 12)
	b[8], b[9], b[10], b[11] = byte(n>>24), byte(n>>16), byte(n>>8), byte(n)
}

func binaryPutCRC(b []byte) {
	c := crc32.Checksum(b[21:], crc32c)
	b[17], b[18], b[19], b[20] = byte(c>>24), byte(c>>16), byte(c>>8), byte(c)
}

func TestCheckBatchRejects(t *testing.T) {
	good := buildBatch(t, 0, sampleRecords())
	cases := map[string]func([]byte) []byte{
		"flipped value byte":  func(b []byte) []byte { b[len(b)-10] ^= 1; return b },
		"wrong magic":         func(b []byte) []byte { b[16] = 1; return b },
		"truncated":           func(b []byte) []byte { return b[:len(b)-1] },
		"length too long":     func(b []byte) []byte { b[11]++; return b },
		"header only":         func(b []byte) []byte { return b[:30] },
		"negative last delta": func(b []byte) []byte { b[23] = 0x80; return b },
	}
	for name, mutate := range cases {
		t.Run(name, func(t *testing.T) {
			b := mutate(append([]byte(nil), good...))
			if _, err := CheckBatch(b); !errors.Is(err, ErrCorruptBatch) {
				t.Fatalf("got %v, want ErrCorruptBatch", err)
			}
		})
	}
	// The base offset is outside the checksum: the broker rewrites it.
	b := append([]byte(nil), good...)
	setBaseOffset(b, 1<<40)
	if _, err := CheckBatch(b); err != nil {
		t.Fatal(err)
	}
}

func TestRecordIterRejectsBadFraming(t *testing.T) {
	good := buildBatch(t, 0, sampleRecords())
	// Claim one more record than the batch holds: the iterator must stop
	// with an error, not read past the end.
	b := append([]byte(nil), good...)
	b[60]++
	var it RecordIter
	if err := it.Reset(b); err != nil {
		t.Fatal(err)
	}
	var r Record
	n := 0
	for it.Next(&r) {
		n++
	}
	if n != 4 || !errors.Is(it.Err(), ErrCorruptBatch) {
		t.Fatalf("read %d records, err %v", n, it.Err())
	}
	// One record fewer: the leftover bytes are an error too.
	b = append([]byte(nil), good...)
	b[60]--
	it.Reset(b)
	for it.Next(&r) {
	}
	if !errors.Is(it.Err(), ErrCorruptBatch) {
		t.Fatalf("err %v", it.Err())
	}
	// A compressed batch is refused by name.
	b = append([]byte(nil), good...)
	b[22] |= 1
	if err := it.Reset(b); !errors.Is(err, ErrUnsupportedCompression) {
		t.Fatalf("err %v", err)
	}
}

func TestVarint(t *testing.T) {
	for _, v := range []int64{0, 1, -1, 63, -64, 64, 1 << 20, -(1 << 40), math.MaxInt64, math.MinInt64} {
		b := appendVarint(nil, v)
		if len(b) != varintLen(v) {
			t.Errorf("%d: len %d, varintLen %d", v, len(b), varintLen(v))
		}
		got, n := readVarint(b)
		if got != v || n != len(b) {
			t.Errorf("%d: read %d (%d bytes)", v, got, n)
		}
		// Agree with kbin's encoding.
		if kb := kbin.AppendVarlong(nil, v); !bytes.Equal(kb, b) {
			t.Errorf("%d: %x, kbin %x", v, b, kb)
		}
	}
	if _, n := readVarint([]byte{0x80, 0x80}); n != 0 {
		t.Errorf("short varint: n %d", n)
	}
	if _, n := readVarint(bytes.Repeat([]byte{0xff}, 11)); n >= 0 {
		t.Errorf("overlong varint: n %d", n)
	}
}

func TestBatchBuilderNoAllocs(t *testing.T) {
	var bb BatchBuilder
	rec := Record{Value: make([]byte, 100), Timestamp: 1}
	bb.Reset()
	for i := 0; i < 1000; i++ {
		bb.Add(&rec)
	}
	bb.Build()
	allocs := testing.AllocsPerRun(20, func() {
		bb.Reset()
		for i := 0; i < 1000; i++ {
			bb.Add(&rec)
		}
		bb.Build()
	})
	if allocs != 0 {
		t.Fatalf("building a batch allocated %v times", allocs)
	}
	b := bb.Build()
	var it RecordIter
	var r Record
	allocs = testing.AllocsPerRun(20, func() {
		it.Reset(b)
		for it.Next(&r) {
		}
	})
	if allocs != 0 {
		t.Fatalf("decoding a batch allocated %v times", allocs)
	}
}

func ExampleBatchBuilder() {
	var bb BatchBuilder
	bb.Add(&Record{Key: []byte("k"), Value: []byte("hello"), Timestamp: 1000})
	batch := bb.Build()
	var it RecordIter
	it.Reset(batch)
	var r Record
	for it.Next(&r) {
		fmt.Printf("%d %s=%s\n", r.Offset, r.Key, r.Value)
	}
	// Output: 0 k=hello
}
