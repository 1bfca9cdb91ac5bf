package format

import (
	"testing"

	"github.com/sluice-sql/sluice/sql/types"
)

// bidSchema is the Nexmark bid table as DESIGN.md declares it.
var bidSchema = types.Schema{
	{Name: "auction", Type: types.BigInt()},
	{Name: "bidder", Type: types.BigInt()},
	{Name: "price", Type: types.BigInt()},
	{Name: "channel", Type: types.String()},
	{Name: "url", Type: types.String()},
	{Name: "date_time", Type: types.Timestamp(3)},
	{Name: "extra", Type: types.String()},
}

var bidJSON = []byte(`{"auction":1000,"bidder":2001,"price":1234567,"channel":"Google","url":"https://www.nexmark.com/item.htm?query=1&channel_id=2468","date_time":"2026-01-01 00:00:00.123","extra":"abcdefghijklmnopqrstuvwxyzabcdefghijklmnop"}`)

var bidCSV = []byte(`1000,2001,1234567,Google,https://www.nexmark.com/item.htm?query=1&channel_id=2468,2026-01-01 00:00:00.123,abcdefghijklmnopqrstuvwxyzabcdefghijklmnop`)

func TestBid(t *testing.T) {
	const want = "1000 | 2001 | 1234567 | Google | https://www.nexmark.com/item.htm?query=1&channel_id=2468 | 1767225600123000 | abcdefghijklmnopqrstuvwxyzabcdefghijklmnop"
	for _, tc := range []struct {
		format string
		rec    []byte
	}{{"json", bidJSON}, {"csv", bidCSV}} {
		d, err := NewDecoder(tc.format, bidSchema, nil)
		if err != nil {
			t.Fatal(err)
		}
		e, err := NewEncoder(tc.format, bidSchema, nil)
		if err != nil {
			t.Fatal(err)
		}
		b := types.NewBatch(bidSchema, 4)
		if err := d.Decode(tc.rec, b); err != nil {
			t.Fatal(err)
		}
		if got := rowText(b, 0); got != want {
			t.Errorf("%s: got %s, want %s", tc.format, got, want)
		}
		out, err := e.Encode(nil, b, 0)
		if err != nil {
			t.Fatal(err)
		}
		if string(out) != string(tc.rec) {
			t.Errorf("%s: encoded\n%s\nwant\n%s", tc.format, out, tc.rec)
		}
	}
}

// TestBidNoAllocs holds the steady-state promise of doc.go: decoding and
// encoding a bid allocate nothing once buffers have grown.
func TestBidNoAllocs(t *testing.T) {
	for _, tc := range []struct {
		format string
		rec    []byte
	}{{"json", bidJSON}, {"csv", bidCSV}} {
		d, _ := NewDecoder(tc.format, bidSchema, nil)
		e, _ := NewEncoder(tc.format, bidSchema, nil)
		const rows = 1024
		b := types.NewBatch(bidSchema, rows)
		fill := func() {
			b.Reset(bidSchema, rows)
			for range rows {
				if err := d.Decode(tc.rec, b); err != nil {
					t.Fatal(err)
				}
			}
		}
		fill() // grow every buffer once
		if n := testing.AllocsPerRun(20, fill); n != 0 {
			t.Errorf("%s: decoding %d bids allocates %v times", tc.format, rows, n)
		}
		dst := make([]byte, 0, 4096)
		if n := testing.AllocsPerRun(100, func() {
			dst, _ = e.Encode(dst[:0], b, 7)
		}); n != 0 {
			t.Errorf("%s: encoding a bid allocates %v times", tc.format, n)
		}
	}
}

func BenchmarkDecodeBidJSON(b *testing.B) {
	d, err := NewDecoder("json", bidSchema, nil)
	if err != nil {
		b.Fatal(err)
	}
	batch := types.NewBatch(bidSchema, 1024)
	b.SetBytes(int64(len(bidJSON)))
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if i%1024 == 0 {
			batch.Reset(bidSchema, 1024)
		}
		if err := d.Decode(bidJSON, batch); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
}

func BenchmarkEncodeBidJSON(b *testing.B) {
	d, _ := NewDecoder("json", bidSchema, nil)
	e, err := NewEncoder("json", bidSchema, nil)
	if err != nil {
		b.Fatal(err)
	}
	batch := types.NewBatch(bidSchema, 1)
	if err := d.Decode(bidJSON, batch); err != nil {
		b.Fatal(err)
	}
	dst := make([]byte, 0, 512)
	b.SetBytes(int64(len(bidJSON)))
	b.ReportAllocs()
	for b.Loop() {
		dst, _ = e.Encode(dst[:0], batch, 0)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
}

func BenchmarkDecodeBidCSV(b *testing.B) {
	d, _ := NewDecoder("csv", bidSchema, nil)
	batch := types.NewBatch(bidSchema, 1024)
	b.SetBytes(int64(len(bidCSV)))
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if i%1024 == 0 {
			batch.Reset(bidSchema, 1024)
		}
		if err := d.Decode(bidCSV, batch); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
}
