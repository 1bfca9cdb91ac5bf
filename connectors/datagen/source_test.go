package datagen

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluice-sql/sluice/connectors"
	"github.com/sluice-sql/sluice/sql/types"
)

// fakeClock is a clock that moves only when told; After fires once the
// clock has been advanced past its deadline.
type fakeClock struct {
	mu struct {
		sync.Mutex
		now     time.Time
		waiters []waiter
	}
	waiting chan struct{} // receives when After is called
}

type waiter struct {
	at time.Time
	c  chan time.Time
}

func newFakeClock(t time.Time) *fakeClock {
	c := &fakeClock{waiting: make(chan struct{}, 100)}
	c.mu.now = t
	return c
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.mu.now
}

func (c *fakeClock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	ch := make(chan time.Time, 1)
	c.mu.waiters = append(c.mu.waiters, waiter{c.mu.now.Add(d), ch})
	select {
	case c.waiting <- struct{}{}:
	default:
	}
	return ch
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.mu.now = c.mu.now.Add(d)
	kept := c.mu.waiters[:0]
	for _, w := range c.mu.waiters {
		if !w.at.After(c.mu.now) {
			w.c <- c.mu.now
		} else {
			kept = append(kept, w)
		}
	}
	c.mu.waiters = kept
}

var allTypes = types.Schema{
	{Name: "b", Type: types.Boolean()},
	{Name: "i8", Type: types.TinyInt()},
	{Name: "i16", Type: types.SmallInt()},
	{Name: "i32", Type: types.Int()},
	{Name: "i64", Type: types.BigInt()},
	{Name: "f32", Type: types.Float()},
	{Name: "f64", Type: types.Double()},
	{Name: "d", Type: types.Decimal(10, 2)},
	{Name: "wide", Type: types.Decimal(30, 4)},
	{Name: "vc", Type: types.Varchar(12)},
	{Name: "s", Type: types.String()},
	{Name: "by", Type: types.Bytes()},
	{Name: "dt", Type: types.Date()},
	{Name: "ts", Type: types.Timestamp(3)},
	{Name: "iv", Type: types.Interval()},
	{Name: "js", Type: types.JSON()},
}

// source builds split of a table from WITH options, on clock.
func source(t *testing.T, opts map[string]string, schema types.Schema, split connectors.Split, clock Clock) *Source {
	t.Helper()
	cfg, err := ParseOptions(opts, schema)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Clock = clock
	s, err := NewSource(cfg, split)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Open(context.Background()); err != nil {
		t.Fatal(err)
	}
	return s
}

// drain reads a bounded split to its end in batches of size n and
// returns its rows, one string each.
func drain(t *testing.T, s *Source, schema types.Schema, n int) []string {
	t.Helper()
	var out []string
	b := types.NewBatch(schema, n)
	for range 1_000_000 {
		b.Reset(schema, n)
		st, err := s.Next(context.Background(), b, n)
		if err != nil {
			t.Fatal(err)
		}
		if b.Len() > n {
			t.Fatalf("Next gave %d rows, asked for %d", b.Len(), n)
		}
		out = append(out, rowStrings(b)...)
		switch st.State {
		case connectors.Done:
			return out
		case connectors.Wait:
			t.Fatal("an unpaced bounded source waits")
		}
	}
	t.Fatal("the source never ends")
	return nil
}

func rowStrings(b *types.Batch) []string {
	var out []string
	b.ForEach(func(i int) {
		parts := make([]string, len(b.Cols))
		for c, col := range b.Cols {
			parts[c] = types.Text(col.Value(i), col.Type)
		}
		out = append(out, strings.Join(parts, "|"))
	})
	return out
}

func TestSameSeedSameRows(t *testing.T) {
	clock := newFakeClock(time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC))
	opts := map[string]string{"number-of-rows": "300", "datagen.seed": "7",
		"fields.s.null-rate": "0.2", "fields.ts.max-past": "1 h"}
	one := drain(t, source(t, opts, allTypes, connectors.Split{}, clock), allTypes, 64)
	if len(one) != 300 {
		t.Fatalf("%d rows, want 300", len(one))
	}
	// Another batch size and three splits: the same rows.
	var three []string
	for i := range 3 {
		three = append(three, drain(t, source(t, opts, allTypes, connectors.Split{Index: i, Count: 3}, clock), allTypes, 7)...)
	}
	slices.Sort(three)
	sorted := slices.Sorted(slices.Values(one))
	if !slices.Equal(sorted, three) {
		t.Error("three splits made other rows than one")
	}
	again := drain(t, source(t, opts, allTypes, connectors.Split{}, clock), allTypes, 300)
	if !slices.Equal(one, again) {
		t.Error("the same seed made other rows")
	}
	opts["datagen.seed"] = "8"
	other := drain(t, source(t, opts, allTypes, connectors.Split{}, clock), allTypes, 300)
	if slices.Equal(one, other) {
		t.Error("another seed made the same rows")
	}
	if len(slices.Compact(sorted)) < 290 {
		t.Errorf("random rows repeat: %d distinct of 300", len(slices.Compact(sorted)))
	}
}

func TestSequencesAcrossSplits(t *testing.T) {
	schema := types.Schema{{Name: "id", Type: types.BigInt()}, {Name: "name", Type: types.String()}}
	opts := map[string]string{"fields.id.kind": "sequence", "fields.id.start": "-5", "fields.id.end": "994",
		"fields.name.kind": "sequence", "fields.name.start": "10", "fields.name.end": "100000"}
	for _, n := range []int{1, 2, 3, 7, 1500} {
		seen := make(map[string]bool)
		for i := range n {
			for _, r := range drain(t, source(t, opts, schema, connectors.Split{Index: i, Count: n}, nil), schema, 100) {
				if seen[r] {
					t.Fatalf("%d splits: row %s twice", n, r)
				}
				seen[r] = true
			}
		}
		if len(seen) != 1000 {
			t.Fatalf("%d splits: %d rows, want 1000 (the shorter sequence)", n, len(seen))
		}
		for id := int64(-5); id <= 994; id++ {
			if r := fmt.Sprintf("%d|%d", id, id+15); !seen[r] {
				t.Fatalf("%d splits: row %s missing", n, r)
			}
		}
	}
	// number-of-rows cuts the sequence short.
	opts["number-of-rows"] = "10"
	got := drain(t, source(t, opts, schema, connectors.Split{}, nil), schema, 4)
	if want := "-5|10 -4|11 -3|12 -2|13 -1|14 0|15 1|16 2|17 3|18 4|19"; strings.Join(got, " ") != want {
		t.Errorf("rows %q, want %q", got, want)
	}
}

func TestTypedSequences(t *testing.T) {
	schema := types.Schema{{Name: "d", Type: types.Decimal(6, 2)}, {Name: "f", Type: types.Double()},
		{Name: "dt", Type: types.Date()}, {Name: "ts", Type: types.Timestamp(3)}}
	opts := map[string]string{
		"fields.d.kind": "sequence", "fields.d.start": "1.5", "fields.d.end": "100",
		"fields.f.kind": "sequence", "fields.f.start": "0.25", "fields.f.end": "100",
		"fields.dt.kind": "sequence", "fields.dt.start": "2024-02-28", "fields.dt.end": "2024-03-01",
		"fields.ts.kind": "sequence", "fields.ts.start": "2024-01-01 00:00:00", "fields.ts.end": "2024-01-02", "fields.ts.step": "250ms",
	}
	got := drain(t, source(t, opts, schema, connectors.Split{}, nil), schema, 10)
	want := []string{ // the decimal steps by one unit of its scale
		"1.50|0.25|2024-02-28|2024-01-01 00:00:00.000",
		"1.51|1.25|2024-02-29|2024-01-01 00:00:00.250",
		"1.52|2.25|2024-03-01|2024-01-01 00:00:00.500",
	}
	if !slices.Equal(got, want) {
		t.Errorf("rows\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestRandomBounds(t *testing.T) {
	now := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	clock := newFakeClock(now)
	schema := types.Schema{{Name: "i", Type: types.TinyInt()}, {Name: "n", Type: types.Int()},
		{Name: "f", Type: types.Float()}, {Name: "d", Type: types.Decimal(5, 2)}, {Name: "s", Type: types.Varchar(5)},
		{Name: "by", Type: types.Bytes()}, {Name: "dt", Type: types.Date()}, {Name: "ts", Type: types.Timestamp(0)},
		{Name: "tb", Type: types.Timestamp(6)}, {Name: "js", Type: types.JSON()}}
	opts := map[string]string{"number-of-rows": "2000", "datagen.seed": "1",
		"fields.n.min": "-3", "fields.n.max": "3",
		"fields.f.min": "1.5", "fields.f.max": "2.5",
		"fields.d.min": "-1.25", "fields.d.max": "1.25",
		"fields.by.length": "3",
		"fields.dt.min":    "2024-01-01", "fields.dt.max": "2024-01-31",
		"fields.ts.max-past": "10 min",
		"fields.tb.min":      "2020-01-01 00:00:00", "fields.tb.max": "2020-01-01 00:00:01",
		"fields.js.min": "5", "fields.js.max": "5", "fields.js.length": "4",
	}
	s := source(t, opts, schema, connectors.Split{}, clock)
	b := types.NewBatch(schema, 2000)
	if st, err := s.Next(context.Background(), b, 5000); err != nil || st.State != connectors.Done || b.Len() != 2000 {
		t.Fatalf("Next: %v, %v, %d rows", st, err, b.Len())
	}
	ints := map[int64]bool{}
	for i := range b.Len() {
		if x := b.Cols[0].Ints[i]; x < -128 || x > 127 {
			t.Fatalf("TINYINT %d", x)
		}
		x := b.Cols[1].Ints[i]
		if x < -3 || x > 3 {
			t.Fatalf("INT %d outside -3..3", x)
		}
		ints[x] = true
		if f := b.Cols[2].Floats[i]; f < 1.5 || f >= 2.5 {
			t.Fatalf("FLOAT %v outside [1.5, 2.5)", f)
		}
		if d := b.Cols[3].Ints[i]; d < -125 || d > 125 {
			t.Fatalf("DECIMAL %d/100 outside -1.25..1.25", d)
		}
		if s := b.Cols[4].Bytes(i); len(s) != 5 || strings.Trim(string(s), hexDigits) != "" {
			t.Fatalf("VARCHAR(5) %q", s)
		}
		if by := b.Cols[5].Bytes(i); len(by) != 3 {
			t.Fatalf("BYTES %x", by)
		}
		if d := b.Cols[6].Value(i); types.Text(d, types.Date()) < "2024-01-01" || types.Text(d, types.Date()) > "2024-01-31" {
			t.Fatalf("DATE %s", types.Text(d, types.Date()))
		}
		ts := time.UnixMicro(b.Cols[7].Ints[i])
		if ts.After(now) || ts.Before(now.Add(-10*time.Minute)) || ts.Nanosecond() != 0 {
			t.Fatalf("TIMESTAMP(0) %v, want a whole second in the 10 minutes before %v", ts, now)
		}
		if tb := b.Cols[8].Ints[i]; tb < 1577836800_000000 || tb > 1577836801_000000 {
			t.Fatalf("TIMESTAMP(6) %d", tb)
		}
		if js := string(b.Cols[9].Bytes(i)); !strings.HasPrefix(js, `{"n":5,"s":"`) || len(js) != len(`{"n":5,"s":"abcd"}`) {
			t.Fatalf("JSON %s", js)
		}
	}
	if len(ints) != 7 {
		t.Errorf("INT took %d of the 7 values of -3..3", len(ints))
	}
}

func TestNullRate(t *testing.T) {
	schema := types.Schema{{Name: "a", Type: types.BigInt()}, {Name: "b", Type: types.String()}, {Name: "c", Type: types.Double()}}
	opts := map[string]string{"number-of-rows": "20000", "datagen.seed": "3",
		"fields.a.null-rate": "0.1", "fields.b.null-rate": "1"}
	s := source(t, opts, schema, connectors.Split{}, nil)
	b := types.NewBatch(schema, 20000)
	if _, err := s.Next(context.Background(), b, 20000); err != nil {
		t.Fatal(err)
	}
	if n := b.Cols[0].Nulls.Count(); n < 1800 || n > 2200 {
		t.Errorf("null-rate 0.1: %d NULLs of 20000", n)
	}
	if n := b.Cols[1].Nulls.Count(); n != 20000 {
		t.Errorf("null-rate 1: %d NULLs of 20000", n)
	}
	if b.Cols[2].HasNulls() {
		t.Error("no null-rate, yet NULLs")
	}
}

func TestRateLimit(t *testing.T) {
	clock := newFakeClock(time.Unix(1000, 0))
	schema := types.Schema{{Name: "id", Type: types.BigInt()}}
	opts := map[string]string{"rows-per-second": "100", "fields.id.kind": "sequence", "fields.id.start": "0", "fields.id.end": "999"}
	// Two splits share the rate: 50 rows a second each.
	s := source(t, opts, schema, connectors.Split{Index: 1, Count: 2}, clock)
	ctx := context.Background()
	b := types.NewBatch(schema, 1000)
	next := func(want int, state connectors.State) {
		t.Helper()
		b.Reset(schema, 1000)
		st, err := s.Next(ctx, b, 1000)
		if err != nil || st.State != state || b.Len() != want {
			t.Fatalf("Next: %d rows, %v, %v; want %d rows, %v", b.Len(), st.State, err, want, state)
		}
	}
	next(1, connectors.Wait) // row 1 is due at once
	if b.Cols[0].Ints[0] != 1 {
		t.Fatalf("first row %d, want 1", b.Cols[0].Ints[0])
	}
	clock.Advance(19 * time.Millisecond)
	next(0, connectors.Wait)
	clock.Advance(time.Millisecond) // 20ms: row 3
	next(1, connectors.Wait)
	clock.Advance(time.Second) // 1.02s: rows 5 to 103
	next(50, connectors.Wait)
	if got := b.Cols[0].Ints[49]; got != 103 {
		t.Fatalf("last row %d, want 103", got)
	}

	// Wait blocks on the clock until the next row is due, at 1.04s.
	done := make(chan error, 1)
	go func() { done <- s.Wait(ctx) }()
	<-clock.waiting // Wait is on the clock
	clock.Advance(19 * time.Millisecond)
	select {
	case err := <-done:
		t.Fatalf("Wait returned (%v) before the next row was due", err)
	default:
	}
	clock.Advance(time.Millisecond)
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Wait did not return when the next row was due")
	}
	next(1, connectors.Wait)
}

func TestWaitEndsWithContext(t *testing.T) {
	clock := newFakeClock(time.Unix(0, 0))
	schema := types.Schema{{Name: "id", Type: types.BigInt()}}
	s := source(t, map[string]string{"rows-per-second": "1"}, schema, connectors.Split{}, clock)
	b := types.NewBatch(schema, 10)
	if st, err := s.Next(context.Background(), b, 10); err != nil || st.State != connectors.Wait {
		t.Fatalf("Next: %v %v", st, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := s.Wait(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Wait = %v, want context.Canceled", err)
	}
}

func TestDefaultRate(t *testing.T) {
	schema := types.Schema{{Name: "id", Type: types.BigInt()}}
	for _, c := range []struct {
		opts map[string]string
		rate int64
	}{
		{map[string]string{}, DefaultRowsPerSecond},
		{map[string]string{"number-of-rows": "5"}, 0},
		{map[string]string{"fields.id.kind": "sequence", "fields.id.start": "1", "fields.id.end": "5"}, 0},
		{map[string]string{"number-of-rows": "5", "rows-per-second": "3"}, 3},
		{map[string]string{"rows-per-second": "0"}, 0},
	} {
		cfg, err := ParseOptions(c.opts, schema)
		if err != nil || cfg.Rate != c.rate {
			t.Errorf("%v: rate %d, %v; want %d", c.opts, cfg.Rate, err, c.rate)
		}
	}
}

func TestFillAllocatesNothing(t *testing.T) {
	opts := map[string]string{"datagen.seed": "1", "rows-per-second": "0", "fields.s.null-rate": "0.5"}
	s := source(t, opts, allTypes, connectors.Split{}, nil)
	b := types.NewBatch(allTypes, 256)
	fill := func() {
		b.Reset(allTypes, 256)
		if _, err := s.Next(context.Background(), b, 256); err != nil {
			t.Fatal(err)
		}
	}
	fill()
	if n := testing.AllocsPerRun(20, fill); n > 0 {
		t.Errorf("%v allocations a batch", n)
	}
}
