package expr

import (
	"errors"
	"testing"
	"time"

	"github.com/sluice-sql/sluice/sql/types"
)

// fakeClock is a clock that moves only when told, counting its reads.
type fakeClock struct {
	t     time.Time
	reads int
}

func (c *fakeClock) now() time.Time {
	c.reads++
	return c.t
}

func TestCurrentTimestampReadsInjectedClockOncePerBatch(t *testing.T) {
	clock := &fakeClock{t: time.Date(2024, 3, 1, 12, 30, 45, 123456789, time.UTC)}
	bi := types.BigInt()
	now := call(t, FnCurrentTimestamp)
	if want := types.Timestamp(3).WithNotNull(true); !now.T.Equal(want) {
		t.Fatalf("CURRENT_TIMESTAMP type %s, want %s", now.T, want)
	}
	// Inside a call with a constant argument, as the binder builds
	// CURRENT_TIMESTAMP + INTERVAL '1' HOUR: still read per batch.
	later := call(t, FnTimestampAdd, lit("HOUR", types.String()), lit(int64(1), bi), now)
	ev, err := CompileWith(later, Options{Now: clock.now})
	if err != nil {
		t.Fatal(err)
	}
	b := newBatch(t, []types.Type{bi}, []any{1}, []any{2}, []any{3})
	var out types.Vector
	if err := ev.Eval(b, &out); err != nil {
		t.Fatal(err)
	}
	want := tsMicros(t, "2024-03-01 13:30:45.123") // truncated to milliseconds
	for i := range 3 {
		if got := out.Value(i); got != want {
			t.Fatalf("row %d = %v, want %d", i, got, want)
		}
	}
	if clock.reads != 1 {
		t.Fatalf("%d clock reads for one batch, want 1", clock.reads)
	}
	clock.t = clock.t.Add(2 * time.Second)
	if err := ev.Eval(b, &out); err != nil {
		t.Fatal(err)
	}
	if got, want := out.Value(0), tsMicros(t, "2024-03-01 13:30:47.123"); got != want || clock.reads != 2 {
		t.Fatalf("second batch = %v after %d reads, want %d after 2", got, clock.reads, want)
	}
	// The caller's tree is left as it was.
	if later.Args[2] != now {
		t.Fatalf("CompileWith modified its argument: %s", later)
	}
}

func TestCurrentTimestampIsNotConstant(t *testing.T) {
	now := call(t, FnCurrentTimestamp)
	if !Volatile(FnCurrentTimestamp) || Volatile(FnAdd) || Volatile(FnToTimestamp) {
		t.Fatal("Volatile: want CURRENT_TIMESTAMP only")
	}
	if !varies(now) || !varies(&Cast{Arg: now, T: types.String()}) {
		t.Fatal("CURRENT_TIMESTAMP does not vary")
	}
	if _, ok, _ := fold(call(t, FnUnixTimestamp, now)); ok {
		t.Fatal("UNIX_TIMESTAMP(CURRENT_TIMESTAMP) folded at compile time")
	}
	if _, err := ResultType(FnCurrentTimestamp, []types.Type{types.Int()}); !errors.Is(err, ErrArgumentType) {
		t.Fatalf("CURRENT_TIMESTAMP(3): %v", err)
	}
	// Compile, with no options, reads the wall clock.
	before := time.Now().UnixMicro()
	got, err := evalShow(t, now, newBatch(t, []types.Type{types.BigInt()}, []any{1}))
	if err != nil {
		t.Fatal(err)
	}
	var us int64
	for _, c := range got[0] {
		us = us*10 + int64(c-'0')
	}
	if us < before/1000*1000 || us > time.Now().UnixMicro() {
		t.Fatalf("CURRENT_TIMESTAMP = %s, not between %d and now", got[0], before)
	}
}
