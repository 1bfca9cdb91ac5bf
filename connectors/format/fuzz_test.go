package format

import (
	"testing"
	"unicode/utf8"

	"github.com/sluice-sql/sluice/sql/types"
)

// FuzzDecode checks that no input panics a decoder, that a failed decode
// appends nothing, and that a decoded row encodes and decodes back to
// the same values.
func FuzzDecode(f *testing.F) {
	f.Add(bidJSON)
	f.Add(bidCSV)
	f.Add([]byte(`{"b":true,"dec":"-1e-3","wide":1e40,"ts":"2026-01-01T00:00:00.5+01:00","j":{"x":[1,"a"]},"by":"AAE="}`))
	f.Add([]byte(`"a""b",1,,2026-01-01,"x` + "\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, name := range []string{"json", "csv"} {
			for _, schema := range []types.Schema{allTypes, bidSchema} {
				d, _ := NewDecoder(name, schema, nil)
				e, _ := NewEncoder(name, schema, nil)
				b := types.NewBatch(schema, 2)
				if err := d.Decode(data, b); err != nil {
					if b.Len() != 0 {
						t.Fatalf("%s: failed decode left %d rows", name, b.Len())
					}
					continue
				}
				rec, err := e.Encode(nil, b, 0)
				if err != nil {
					t.Fatalf("%s: encode: %v", name, err)
				}
				if err := d.Decode(rec, b); err != nil {
					t.Fatalf("%s: re-decoding %q (from %q): %v", name, rec, data, err)
				}
				// Invalid UTF-8 in a string is encoded as U+FFFD: lossy by design.
				if !utf8.Valid(data) {
					continue
				}
				if got, want := rowText(b, 1), rowText(b, 0); got != want {
					t.Fatalf("%s: round trip of %q via %q\n got %s\nwant %s", name, data, rec, got, want)
				}
			}
		}
	})
}
