package log

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sluice-sql/sluice/broker"
	"github.com/sluice-sql/sluice/connectors"
	"github.com/sluice-sql/sluice/connectors/format"
	"github.com/sluice-sql/sluice/sql/types"
)

var testSchema = types.Schema{
	{Name: "id", Type: types.BigInt()},
	{Name: "name", Type: types.String()},
	{Name: "ts", Type: types.Timestamp(3)},
}

type fixedClock struct{ t time.Time }

func (c *fixedClock) Now() time.Time { return c.t }

func openBroker(t *testing.T, topic string, partitions int) *broker.Broker {
	t.Helper()
	b, err := broker.Open(t.TempDir(), broker.Options{MaintenanceInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	if err := b.CreateTopic(topic, partitions, nil); err != nil {
		t.Fatal(err)
	}
	return b
}

// rows builds a batch of n rows with ids from..from+n-1; every third name
// is NULL.
func rows(from, n int) *types.Batch {
	b := types.NewBatch(testSchema, n)
	for i := from; i < from+n; i++ {
		b.Cols[0].AppendInt(int64(i))
		if i%3 == 0 {
			b.Cols[1].AppendNull()
		} else {
			b.Cols[1].AppendString(fmt.Sprintf("n%d, \"q\"", i))
		}
		b.Cols[2].AppendInt(int64(i) * 1000)
	}
	b.SetLen(n)
	return b
}

func rowStrings(b *types.Batch) []string {
	var out []string
	b.ForEach(func(i int) {
		var parts []string
		for _, c := range b.Cols {
			parts = append(parts, fmt.Sprint(c.Value(i)))
		}
		out = append(out, strings.Join(parts, "|"))
	})
	return out
}

func write(t *testing.T, opts SinkOptions, batches ...*types.Batch) {
	t.Helper()
	ctx := context.Background()
	s, err := NewSink(opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Open(ctx); err != nil {
		t.Fatal(err)
	}
	for _, b := range batches {
		if err := s.Write(ctx, b); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}

// readAll runs a bounded source to Done and returns its rows.
func readAll(t *testing.T, opts SourceOptions) ([]string, error) {
	t.Helper()
	ctx := context.Background()
	opts.Bounded = true
	s, err := NewSource(opts)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Open(ctx); err != nil {
		return nil, err
	}
	var out []string
	for idle := 0; ; {
		b := types.NewBatch(opts.Schema, 4)
		st, err := s.Next(ctx, b, 4)
		out = append(out, rowStrings(b)...)
		if err != nil {
			return out, err
		}
		if st.State == connectors.Done {
			return out, nil
		}
		// Everything before a bounded source's end is readable at once:
		// a run of empty batches means it waits for what it must not.
		if idle++; b.Len() > 0 {
			idle = 0
		} else if idle > 100 {
			t.Fatalf("bounded source stuck at %v before its end", s.Position())
		}
		if err := s.Wait(ctx); err != nil {
			t.Fatal(err)
		}
	}
}

func sorted(s []string) []string {
	out := slices.Clone(s)
	slices.SortFunc(out, func(a, b string) int { return rowID(a) - rowID(b) })
	return out
}

func rowID(s string) int {
	var id int
	fmt.Sscanf(s, "%d|", &id)
	return id
}

func TestRoundTrip(t *testing.T) {
	for _, f := range []string{"json", "csv"} {
		for _, keyed := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/keyed=%v", f, keyed), func(t *testing.T) {
				b := openBroker(t, "t", 3)
				so := SinkOptions{Broker: b, Topic: "t", Schema: testSchema, Format: f, MaxInFlight: 2}
				if keyed {
					so.KeyColumns = []string{"id"}
				}
				in1, in2 := rows(0, 10), rows(10, 7)
				in2.Sel = []int32{0, 2, 5} // only live rows are written
				write(t, so, in1, in2, rows(17, 5))
				want := append(append(rowStrings(in1), rowStrings(in2)...), rowStrings(rows(17, 5))...)
				got, err := readAll(t, SourceOptions{Broker: b, Topic: "t", Schema: testSchema, Format: f})
				if err != nil {
					t.Fatal(err)
				}
				if g, w := strings.Join(sorted(got), "\n"), strings.Join(sorted(want), "\n"); g != w {
					t.Fatalf("read back:\n%s\nwant:\n%s", g, w)
				}
				// Keyless writes go whole to one partition each, in turn.
				for p := range 3 {
					_, end, _ := b.Offsets("t", int32(p))
					if end == 0 {
						t.Errorf("partition %d got no records", p)
					}
				}
			})
		}
	}
}

// Keys are the key columns in the sink's format, and land on the
// partition Kafka's default partitioner picks for those bytes.
func TestKeyedPartitioning(t *testing.T) {
	schema := types.Schema{{Name: "k", Type: types.String()}, {Name: "v", Type: types.BigInt()}}
	b := openBroker(t, "k", 7)
	in := types.NewBatch(schema, 0)
	for i, c := range kafkaMurmur2 {
		in.Cols[0].AppendString(string(c.in))
		in.Cols[1].AppendInt(int64(i))
	}
	in.SetLen(len(kafkaMurmur2))
	// CSV encodes a one-column key as the bare text, so the key bytes are
	// Kafka's test vectors themselves.
	write(t, SinkOptions{Broker: b, Topic: "k", Schema: schema, Format: "csv", KeyColumns: []string{"k"}}, in)
	seen := 0
	for p := range 7 {
		r := b.NewReader("k", int32(p), 0)
		for {
			rec, ok, err := r.TryNext()
			if err != nil {
				t.Fatal(err)
			}
			if !ok {
				break
			}
			seen++
			var c = kafkaMurmur2[0]
			found := false
			for _, c2 := range kafkaMurmur2 {
				if string(c2.in) == string(rec.Key) {
					c, found = c2, true
				}
			}
			if !found {
				t.Fatalf("partition %d: unexpected key %q", p, rec.Key)
			}
			if want := int(c.positive % 7); p != want {
				t.Errorf("key %q on partition %d, Kafka puts it on %d", rec.Key, p, want)
			}
		}
	}
	if seen != len(kafkaMurmur2) {
		t.Errorf("read %d records, wrote %d", seen, len(kafkaMurmur2))
	}
}

func TestJSONKey(t *testing.T) {
	b := openBroker(t, "j", 4)
	clock := &fixedClock{time.UnixMilli(1_700_000_000_123)}
	write(t, SinkOptions{Broker: b, Topic: "j", Schema: testSchema, Format: "json", KeyColumns: []string{"id"}, Clock: clock}, rows(4, 1))
	key := []byte(`{"id":4}`)
	r := b.NewReader("j", KeyPartition(key, 4), 0)
	rec, ok, err := r.TryNext()
	if err != nil || !ok {
		t.Fatalf("no record on partition %d: %v", KeyPartition(key, 4), err)
	}
	if string(rec.Key) != string(key) {
		t.Errorf("key = %s, want %s", rec.Key, key)
	}
	if rec.Timestamp != clock.t.UnixMilli() {
		t.Errorf("timestamp = %d, want the clock's %d", rec.Timestamp, clock.t.UnixMilli())
	}
}

func appendValues(t *testing.T, b *broker.Broker, topic string, p int32, ts int64, values ...string) {
	t.Helper()
	var recs []broker.Record
	for _, v := range values {
		recs = append(recs, broker.Record{Timestamp: ts, Value: []byte(v)})
	}
	if _, err := b.AppendRecords(context.Background(), topic, p, recs...); err != nil {
		t.Fatal(err)
	}
}

func TestStartPositions(t *testing.T) {
	b := openBroker(t, "s", 2)
	for i := range 6 {
		appendValues(t, b, "s", int32(i%2), int64(1000*i), fmt.Sprintf(`{"id":%d}`, i))
	}
	// partition 0 holds ids 0,2,4 at offsets 0..2 and times 0,2000,4000;
	// partition 1 ids 1,3,5.
	base := SourceOptions{Broker: b, Topic: "s", Schema: testSchema, Format: "json"}
	for _, c := range []struct {
		name  string
		start Start
		parts []int32
		want  string
	}{
		{"earliest", Start{Kind: Earliest}, nil, "0 1 2 3 4 5"},
		{"latest", Start{Kind: Latest}, nil, ""},
		{"offsets", Start{Kind: Offsets, Offsets: map[int32]int64{0: 2, 1: 1}}, nil, "3 4 5"},
		// A partition not given starts at its earliest offset.
		{"offsets of one partition", Start{Kind: Offsets, Offsets: map[int32]int64{1: 2}}, nil, "0 2 4 5"},
		{"timestamp", Start{Kind: Timestamp, Time: time.UnixMilli(2500)}, nil, "3 4 5"},
		{"subset", Start{Kind: Earliest}, []int32{1}, "1 3 5"},
	} {
		t.Run(c.name, func(t *testing.T) {
			o := base
			o.Start, o.Partitions = c.start, c.parts
			got, err := readAll(t, o)
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, r := range sorted(got) {
				ids = append(ids, fmt.Sprint(rowID(r)))
			}
			if g := strings.Join(ids, " "); g != c.want {
				t.Errorf("ids = %q, want %q", g, c.want)
			}
		})
	}
	o := base
	o.Start = Start{Kind: Offsets, Offsets: map[int32]int64{0: 9, 1: 0}}
	if _, err := readAll(t, o); !errors.Is(err, broker.ErrOffsetOutOfRange) {
		t.Errorf("offset past the end: err = %v, want ErrOffsetOutOfRange", err)
	}
	o.Start = Start{Kind: Offsets, Offsets: map[int32]int64{0: 0, 2: 0}}
	if _, err := readAll(t, o); !errors.Is(err, broker.ErrPartitionNotFound) || !strings.Contains(err.Error(), "partition 2") {
		t.Errorf("offset of a partition the topic lacks: err = %v, want ErrPartitionNotFound naming it", err)
	}
}

func TestStartAtGroupOffsets(t *testing.T) {
	b := openBroker(t, "g", 2)
	for i := range 6 {
		appendValues(t, b, "g", int32(i%2), int64(1000*i), fmt.Sprintf(`{"id":%d}`, i))
	}
	// The group read ids 0 and 2 of partition 0 (committed offset 2, the
	// next to read), nothing of partition 1.
	if err := b.CommitOffset(context.Background(), "readers", "g", 0, 2, ""); err != nil {
		t.Fatal(err)
	}
	base := SourceOptions{Broker: b, Topic: "g", Schema: testSchema, Format: "json"}
	for _, c := range []struct {
		name  string
		reset Reset
		want  string
	}{
		{"earliest", ResetEarliest, "1 3 4 5"},
		{"latest", ResetLatest, "4"},
	} {
		o := base
		o.Start = Start{Kind: GroupOffsets, Group: "readers", Reset: c.reset}
		got, err := readAll(t, o)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, r := range sorted(got) {
			ids = append(ids, fmt.Sprint(rowID(r)))
		}
		if g := strings.Join(ids, " "); g != c.want {
			t.Errorf("reset %s: ids = %q, want %q", c.name, g, c.want)
		}
	}
	o := base
	o.Start = Start{Kind: GroupOffsets, Group: "readers"}
	if _, err := readAll(t, o); !errors.Is(err, ErrNoCommittedOffset) || !strings.Contains(err.Error(), "partition 1") {
		t.Errorf("no reset: err = %v, want ErrNoCommittedOffset for partition 1", err)
	}
	o.Start.Group = ""
	if _, err := NewSource(o); err == nil {
		t.Error("group offsets without a group: no error")
	}
}

func TestSplitsPartitionTheTopic(t *testing.T) {
	b := openBroker(t, "p", 5)
	for p := range 5 {
		appendValues(t, b, "p", int32(p), 0, fmt.Sprintf(`{"id":%d}`, p))
	}
	var all []string
	for i := range 2 {
		got, err := readAll(t, SourceOptions{Broker: b, Topic: "p", Schema: testSchema, Format: "json",
			Split: connectors.Split{Index: i, Count: 2}})
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, got...)
	}
	if len(all) != 5 {
		t.Errorf("two splits read %d rows, want 5: %v", len(all), all)
	}
}

func TestBadRecordNamesOffset(t *testing.T) {
	b := openBroker(t, "bad", 2)
	appendValues(t, b, "bad", 1, 0, `{"id":1}`, `{"id":2}`, `{"id":"three"}`)
	got, err := readAll(t, SourceOptions{Broker: b, Topic: "bad", Schema: testSchema, Format: "json"})
	var re *connectors.RecordError
	if !errors.As(err, &re) {
		t.Fatalf("err = %v, want a *RecordError", err)
	}
	if re.Topic != "bad" || re.Partition != 1 || re.Offset != 2 {
		t.Errorf("error names %s/%d@%d, want bad/1@2", re.Topic, re.Partition, re.Offset)
	}
	var de *format.DecodeError
	if !errors.As(err, &de) || de.Column != "id" || !errors.Is(err, format.ErrWrongType) {
		t.Errorf("err = %v, want a DecodeError of column id", err)
	}
	if !strings.HasPrefix(err.Error(), "topic bad partition 1 offset 2: ") {
		t.Errorf("message %q does not lead with the record's place", err)
	}
	if len(got) != 2 {
		t.Errorf("rows before the bad record: %d, want 2", len(got))
	}
}

// A bounded source stops at the high watermark of Open, however much is
// appended after.
func TestBoundedStopsAtHighWatermark(t *testing.T) {
	ctx := context.Background()
	b := openBroker(t, "h", 1)
	appendValues(t, b, "h", 0, 0, `{"id":1}`, `{"id":2}`, `{"id":3}`)
	s, err := NewSource(SourceOptions{Broker: b, Topic: "h", Schema: testSchema, Format: "json", Bounded: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Open(ctx); err != nil {
		t.Fatal(err)
	}
	appendValues(t, b, "h", 0, 0, `{"id":4}`, `{"id":5}`)
	batch := types.NewBatch(testSchema, 0)
	st, err := s.Next(ctx, batch, 3)
	if err != nil {
		t.Fatal(err)
	}
	if st.State != connectors.Done || batch.Len() != 3 {
		t.Fatalf("first Next: %v with %d rows, want done with 3", st.State, batch.Len())
	}
	st, err = s.Next(ctx, batch, 10)
	if err != nil || st.State != connectors.Done || batch.Len() != 3 {
		t.Fatalf("after Done: %v, %d rows, %v", st.State, batch.Len(), err)
	}
	if pos := s.Position()[0].Offset; pos != 3 {
		t.Errorf("position %d, want 3", pos)
	}
}

// An unbounded source at the end reports Wait, and Wait returns once a
// record is appended to any of its partitions.
func TestUnboundedWaitsForAppend(t *testing.T) {
	ctx := context.Background()
	b := openBroker(t, "u", 3)
	s, err := NewSource(SourceOptions{Broker: b, Topic: "u", Schema: testSchema, Format: "json"})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Open(ctx); err != nil {
		t.Fatal(err)
	}
	batch := types.NewBatch(testSchema, 0)
	st, err := s.Next(ctx, batch, 10)
	if err != nil || st.State != connectors.Wait || batch.Len() != 0 {
		t.Fatalf("empty topic: %v, %d rows, %v", st.State, batch.Len(), err)
	}
	woke := make(chan error, 1)
	go func() { woke <- s.Wait(ctx) }()
	appendValues(t, b, "u", 2, 0, `{"id":7}`)
	if err := <-woke; err != nil {
		t.Fatal(err)
	}
	if st, err = s.Next(ctx, batch, 10); err != nil || batch.Len() != 1 || st.State != connectors.Wait {
		t.Fatalf("after append: %v, %d rows, %v", st.State, batch.Len(), err)
	}
	// Wait ends with its context.
	cctx, cancel := context.WithCancel(ctx)
	go cancel()
	if err := s.Wait(cctx); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled Wait: %v", err)
	}
}

func TestSinkRefusesRetractions(t *testing.T) {
	b := openBroker(t, "r", 1)
	s, err := NewSink(SinkOptions{Broker: b, Topic: "r", Schema: testSchema, Format: "json"})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Open(context.Background()); err != nil {
		t.Fatal(err)
	}
	in := rows(0, 2)
	in.SetKind(1, types.Delete)
	if err := s.Write(context.Background(), in); !errors.Is(err, connectors.ErrRetraction) {
		t.Errorf("err = %v, want ErrRetraction", err)
	}
}

func TestSinkReportsAppendFailure(t *testing.T) {
	ctx := context.Background()
	b := openBroker(t, "gone", 1)
	s, err := NewSink(SinkOptions{Broker: b, Topic: "gone", Schema: testSchema, Format: "json"})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Open(ctx); err != nil {
		t.Fatal(err)
	}
	if err := b.DeleteTopic("gone"); err != nil {
		t.Fatal(err)
	}
	_ = s.Write(ctx, rows(0, 2)) // may fail at once or in the callback
	if err := s.Flush(ctx); !errors.Is(err, broker.ErrTopicNotFound) {
		t.Errorf("Flush after the topic went: %v, want ErrTopicNotFound", err)
	}
}

// Keyless sinks of parallel instances start their round robin at
// different partitions, so they do not all append to partition 0 first.
func TestKeylessSinksStartApart(t *testing.T) {
	b := openBroker(t, "t", 3)
	for i := range 2 {
		so := SinkOptions{Broker: b, Topic: "t", Schema: testSchema, Format: "json", Split: connectors.Split{Index: i, Count: 2}}
		write(t, so, rows(0, 4))
	}
	for p, want := range []int64{4, 4, 0} {
		if _, end, _ := b.Offsets("t", int32(p)); end != want {
			t.Errorf("partition %d has %d records, want %d", p, end, want)
		}
	}
}

// A source names the partitions it owns from Open on, also one with no
// record, and attributes every row of a batch to its partition.
func TestSpansNamePartitions(t *testing.T) {
	ctx := context.Background()
	b := openBroker(t, "w", 4)
	// Partition 0 holds ids 0..4, partition 2 ids 10..11; 1 and 3 nothing.
	for i := range 5 {
		appendValues(t, b, "w", 0, 0, fmt.Sprintf(`{"id":%d}`, i))
	}
	appendValues(t, b, "w", 2, 0, `{"id":10}`, `{"id":11}`)
	s, err := NewSource(SourceOptions{Broker: b, Topic: "w", Schema: testSchema, Format: "json",
		Split: connectors.Split{Index: 0, Count: 2}, Bounded: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Open(ctx); err != nil {
		t.Fatal(err)
	}
	if got := s.Partitions(); !slices.Equal(got, []int32{0, 2}) {
		t.Fatalf("Partitions() = %v, want [0 2]", got)
	}
	byPart := map[int32][]int64{}
	for range 10 {
		batch := types.NewBatch(testSchema, 0)
		st, err := s.Next(ctx, batch, 3)
		if err != nil {
			t.Fatal(err)
		}
		at := 0
		for _, sp := range st.Spans {
			if sp.Start != at || sp.End <= sp.Start {
				t.Fatalf("spans %v do not cover rows 0 to %d in order", st.Spans, batch.Len())
			}
			for i := sp.Start; i < sp.End; i++ {
				byPart[sp.Partition] = append(byPart[sp.Partition], batch.Cols[0].Ints[i])
			}
			at = sp.End
		}
		if at != batch.Len() {
			t.Fatalf("spans %v cover %d of %d rows", st.Spans, at, batch.Len())
		}
		if st.State == connectors.Done {
			break
		}
	}
	want := map[int32][]int64{0: {0, 1, 2, 3, 4}, 2: {10, 11}}
	for p, ids := range want {
		if !slices.Equal(byPart[p], ids) {
			t.Errorf("partition %d: rows %v, want %v", p, byPart[p], ids)
		}
	}
	if len(byPart) != len(want) {
		t.Errorf("rows by partition: %v, want %v", byPart, want)
	}
}
