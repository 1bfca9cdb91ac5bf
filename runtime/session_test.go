package runtime

import (
	"fmt"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/sluice-sql/sluice/sql"
	"github.com/sluice-sql/sluice/sql/types"
)

// Sessions with a 10 s gap, driven by hand: a row extends its key's
// session, a late-arriving row bridges two sessions into one (their
// states merged, FIRST_VALUE keeping the earliest), a session is emitted
// once the watermark passes its end, and a row for a session already
// emitted is late.
func TestSessionAggregateVirtualTime(t *testing.T) {
	const sec, gap = int64(1_000_000), int64(10)
	in := types.Schema{{Name: "k", Type: types.String()}, {Name: "ws", Type: types.Timestamp(3)},
		{Name: "we", Type: types.Timestamp(3)}, {Name: "v", Type: types.BigInt()}}
	var late atomic.Int64
	a, err := NewSessionAggregate(in, []int{0, 1, 2}, 1, 2, []sql.AggCall{
		{Fn: "COUNT", Arg: -1, T: types.BigInt().WithNotNull(true)},
		{Fn: "FIRST_VALUE", Arg: 3, T: types.BigInt()},
	}, &late)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	emit := func(b *types.Batch) error {
		b.ForEach(func(i int) {
			out = append(out, fmt.Sprintf("%s [%d,%d) n=%d first=%d", b.Cols[0].Bytes(i), b.Cols[1].Ints[i]/sec, b.Cols[2].Ints[i]/sec, b.Cols[3].Ints[i], b.Cols[4].Ints[i]))
		})
		return nil
	}
	// step ingests rows "key time v" (their windows [time, time+gap))
	// then a watermark, in seconds.
	step := func(wm int64, rows ...string) {
		b := types.NewBatch(in, len(rows))
		for i, r := range rows {
			var k string
			var ts, v int64
			fmt.Sscanf(r, "%s %d %d", &k, &ts, &v)
			b.Cols[0].AppendString(k)
			b.Cols[1].AppendInt(ts * sec)
			b.Cols[2].AppendInt((ts + gap) * sec)
			b.Cols[3].AppendInt(v)
			b.SetLen(i + 1)
		}
		b.Watermark = wm * sec
		if err := a.Process(b, emit); err != nil {
			t.Fatal(err)
		}
	}
	step(0, "a 1 100", "a 5 101", "b 2 200") // a: [1,15), b: [2,12)
	step(1, "a 22 102")                      // a: [1,15) and [22,32)
	step(2, "a 14 103")                      // [14,24) bridges both: [1,32)
	step(13, "b 3 201")                      // b is [2,13) now
	step(14)                                 // b's session ends at 13: out
	step(20, "b 2 202")                      // late for b's emitted session
	step(45, "a 44 104")                     // a's [1,32) closes; [44,54) opens
	step(types.EndOfTime / sec)
	got := strings.Join(out, "\n")
	want := strings.Join([]string{
		"b [2,13) n=2 first=200",
		"a [1,32) n=4 first=100",
		"a [44,54) n=1 first=104",
	}, "\n")
	if got != want {
		t.Fatalf("got:\n%s\nwant:\n%s", got, want)
	}
	if late.Load() != 1 {
		t.Errorf("%d late rows, want 1", late.Load())
	}
	if len(a.keyed) != 0 {
		t.Errorf("%d keys still hold state after the end of time", len(a.keyed))
	}
}
