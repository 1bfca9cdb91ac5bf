package log

import (
	"testing"

	"github.com/sluice-sql/sluice/sql/types"
)

// An upsert sink writes inserts and update-afters under their key, skips
// update-befores and writes a tombstone for a delete.
func TestUpsertSinkRecords(t *testing.T) {
	b := openBroker(t, "t", 1)
	in := rows(0, 4)
	for i, k := range []types.ChangeKind{types.Insert, types.UpdateBefore, types.UpdateAfter, types.Delete} {
		in.SetKind(i, k)
	}
	write(t, SinkOptions{Broker: b, Topic: "t", Schema: testSchema, Format: "json", KeyColumns: []string{"id"}, Upsert: true}, in)
	r := b.NewReader("t", 0, 0)
	var got []string
	for {
		rec, ok, err := r.TryNext()
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			break
		}
		v := "<tombstone>"
		if rec.Value != nil {
			v = "row"
		}
		got = append(got, string(rec.Key)+" "+v)
	}
	want := []string{`{"id":0} row`, `{"id":2} row`, `{"id":3} <tombstone>`}
	if len(got) != len(want) {
		t.Fatalf("records %q, want %q", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("records %q, want %q", got, want)
		}
	}
	if _, err := NewSink(SinkOptions{Broker: b, Topic: "t", Schema: testSchema, Format: "json", Upsert: true}); err == nil {
		t.Error("an upsert sink without key columns was accepted")
	}
}
