package log

import (
	"context"
	"fmt"
	"strings"
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

// A changelog sink writes each change as {"op","before","after"}, an
// update as one "u" record with both rows; a changelog source reads them
// back as the same changes.
func TestChangelogRoundTrip(t *testing.T) {
	b := openBroker(t, "t", 1)
	in := rows(0, 4)
	for i, k := range []types.ChangeKind{types.Insert, types.UpdateBefore, types.UpdateAfter, types.Delete} {
		in.SetKind(i, k)
	}
	write(t, SinkOptions{Broker: b, Topic: "t", Schema: testSchema, Format: "json", Changelog: true}, in)
	r := b.NewReader("t", 0, 0)
	var ops []string
	for {
		rec, ok, err := r.TryNext()
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			break
		}
		ops = append(ops, string(rec.Value[:9]))
	}
	if len(ops) != 3 || ops[0] != `{"op":"c"` || ops[1] != `{"op":"u"` || ops[2] != `{"op":"d"` {
		t.Fatalf("records %q, want c, u, d", ops)
	}
	src, err := NewSource(SourceOptions{Broker: b, Topic: "t", Schema: testSchema, Format: "json", Bounded: true, Changelog: true})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := src.Open(ctx); err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	out := types.NewBatch(testSchema, 8)
	if _, err := src.Next(ctx, out, 8); err != nil {
		t.Fatal(err)
	}
	var got []string
	out.ForEach(func(i int) { got = append(got, fmt.Sprintf("%s %d", out.Kind(i), out.Cols[0].Ints[i])) })
	want := "+I 0,-U 1,+U 2,-D 3"
	if strings.Join(got, ",") != want {
		t.Fatalf("read back %v, want %s", got, want)
	}
}
