package format

import (
	"fmt"
	"testing"

	"github.com/sluice-sql/sluice/sql/types"
)

// scanSchemas are schemas without a JSON column, which the scan path
// serves.
func scanSchemas() []types.Schema {
	var flat types.Schema
	for _, f := range allTypes {
		if f.Type.Kind != types.KindJSON {
			flat = append(flat, f)
		}
	}
	strict := types.Schema{
		{Name: "id", Type: types.BigInt().WithNotNull(true)},
		{Name: `we"ird\key`, Type: types.String()},
		{Name: "ts", Type: types.Timestamp(6)},
	}
	return []types.Schema{flat, bidSchema, strict}
}

// decodeBoth decodes data with Decode (the scan path first) and with the
// fastjson path alone, and describes each outcome.
func decodeBoth(t testing.TB, schema types.Schema, data []byte) (got, want string, scanned bool) {
	t.Helper()
	outcome := func(decode func(*jsonDecoder, []byte, *types.Batch) error) (string, *jsonDecoder) {
		dec, err := NewDecoder("json", schema, nil)
		if err != nil {
			t.Fatal(err)
		}
		d := dec.(*jsonDecoder)
		b := types.NewBatch(schema, 1)
		if err := decode(d, data, b); err != nil {
			return fmt.Sprintf("error %v (%d rows)", err, b.Len()), d
		}
		return fmt.Sprintf("row %s (%d rows)", rowText(b, 0), b.Len()), d
	}
	got, d := outcome((*jsonDecoder).Decode)
	want, _ = outcome((*jsonDecoder).decodeParsed)
	return got, want, d.scannable && d.scan(data)
}

func TestJSONScanAgreesWithParser(t *testing.T) {
	records := []string{
		string(bidJSON),
		` { "price" : 5 , "auction":1,"bidder" :2,"url":"u","channel":"c","extra":"","date_time":"2026-01-01 00:00:00"} `,
		"{\n\t\"auction\":1,\r\n\"auction\":2}",
		`{"auction":1,"unknown":"x","also":[1,{"a":2}],"bidder":null}`,
		`{"auction":1,"unknown":{"nested":true}}`,
		`{"channel":"a\"b","extra":"tab\there"}`,
		`{"extra":"a\\b\"c\/d\n\r\t\b\f","x":"\\","url":"\\\""}`, `{"extra":"\\"}`, `{"extra":"\"}`,
		`{"extra":"\u0041\ud83d\ude00"}`, `{"extra":"\q"}`, `{"extra":"x\`, `{"unknown":"a\nb","extra":"c"}`,
		`{"extra":"a\nb","extra":"c\td"}`, `{"extra":"\\\\\"\\"}`,
		`{"chan\u006eel":"escaped key"}`,
		`{"auction":1e3}`, `{"auction":-0}`, `{"auction":+5}`, `{"auction":1-2}`, `{"auction":"7"}`,
		`{"auction":NaN}`, `{"auction":nan}`, `{"auction":-Infinity}`, `{"auction":inf}`,
		`{"auction":tru}`, `{"auction":truex}`, `{"auction":nul}`, `{"auction":}`, `{"auction"}`,
		`{"auction":1,}`, `{,}`, `{}`, ` {} `, `{}x`, `{"auction":1}}`, `[]`, `"x"`, `1`, ``, ` `, `{`,
		`{"auction":1`, `{"auction":"unterminated}`, `{"auction` + "\x00" + `":1}`,
		`{"b":true,"ti":127,"si":-32768,"i":2147483647,"bi":-9223372036854775808,"f":1.5e38,"d":-1e308,` +
			`"dec":"12345678.905","wide":1e-5,"s":"日本語","vc":"abcde","by":"AAE=","dt":"2026-02-28","ts":1767225600123}`,
		`{"ti":128}`, `{"f":1e39}`, `{"f":"NaN"}`, `{"f":"-Infinity"}`, `{"f":"nope"}`, `{"vc":"abcdef"}`,
		`{"by":"!!"}`, `{"dt":"2026-13-01"}`, `{"ts":"2026-01-01T00:00:00.5+01:00"}`, `{"ts":false}`,
		`{"id":null}`, `{"ts":1}`, `{"id":5,"we\"ird\\key":"x"}`, `{"we"ird\key":"x"}`,
		`{"id":5,"ts":"2026-01-01 00:00:00.1234567"}`, "{\"s\":\"\xff\xfe\"}",
	}
	for _, schema := range scanSchemas() {
		took := 0
		for _, rec := range records {
			got, want, scanned := decodeBoth(t, schema, []byte(rec))
			if scanned {
				took++
			}
			if got != want {
				t.Errorf("%s\nrecord %q: scan path gives\n  %s\nfastjson gives\n  %s", schema, rec, got, want)
			}
		}
		if took == 0 {
			t.Errorf("%s: the scan path took none of the records", schema)
		}
	}
}

// TestJSONScanTakesBids holds the point of the scan path: the bids
// sources write never reach fastjson.
func TestJSONScanTakesBids(t *testing.T) {
	d, _ := NewDecoder("json", bidSchema, nil)
	if !d.(*jsonDecoder).scan(bidJSON) {
		t.Fatalf("the scan path does not take %s", bidJSON)
	}
}

func FuzzJSONScan(f *testing.F) {
	f.Add(bidJSON)
	f.Add([]byte(`{"id":5,"we\"ird\\key":"x","ts":1}`))
	f.Add([]byte(`{"b":true,"dec":"-1e-3","wide":1e40,"ts":"2026-01-01T00:00:00.5+01:00","by":"AAE="}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, schema := range scanSchemas() {
			if got, want, _ := decodeBoth(t, schema, data); got != want {
				t.Fatalf("record %q: scan path gives\n  %s\nfastjson gives\n  %s", data, got, want)
			}
		}
	})
}
