package runtime

import (
	"fmt"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/sluice-sql/sluice/sql"
	"github.com/sluice-sql/sluice/sql/types"
)

// A window aggregation driven by hand: rows and watermarks in, windows
// out once the watermark passes their end; a row for a window already
// emitted is late, counted and dropped; the state of emitted windows is
// freed and reused.
func TestWindowAggregateVirtualTime(t *testing.T) {
	const sec = int64(1_000_000)
	in := types.Schema{{Name: "k", Type: types.String()}, {Name: "end", Type: types.Timestamp(3)}, {Name: "v", Type: types.BigInt()}}
	var late atomic.Int64
	w, err := NewWindowAggregate(in, []int{0, 1}, 1, []sql.AggCall{
		{Fn: "COUNT", Arg: -1, T: types.BigInt().WithNotNull(true)},
		{Fn: "SUM", Arg: 2, T: types.BigInt()},
	}, &late)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	emit := func(b *types.Batch) error {
		b.ForEach(func(i int) {
			out = append(out, fmt.Sprintf("%s@%d n=%d sum=%d", b.Cols[0].Bytes(i), b.Cols[1].Ints[i]/sec, b.Cols[2].Ints[i], b.Cols[3].Ints[i]))
		})
		if b.Watermark != types.NoWatermark {
			out = append(out, fmt.Sprintf("wm=%d", b.Watermark/sec))
		}
		return nil
	}
	// step ingests rows "key end v" then a watermark (seconds).
	step := func(wm int64, rows ...string) {
		b := types.NewBatch(in, len(rows))
		for i, r := range rows {
			var k string
			var end, v int64
			fmt.Sscanf(r, "%s %d %d", &k, &end, &v)
			b.Cols[0].AppendString(k)
			b.Cols[1].AppendInt(end * sec)
			b.Cols[2].AppendInt(v)
			b.SetLen(i + 1)
		}
		b.Watermark = wm * sec
		if err := w.Process(b, emit); err != nil {
			t.Fatal(err)
		}
	}
	step(3, "a 10 1", "b 10 2", "a 20 5")
	step(9, "a 10 3")
	step(10, "b 20 1")           // the window ending at 10 closes
	step(12, "a 10 7", "a 20 1") // a 10 is late now
	step(25)                     // the window ending at 20 closes
	step(26, "c 30 4")           // a new window reuses a freed slot
	step(types.EndOfTime / sec)
	got := strings.Join(out, "\n")
	want := strings.Join([]string{
		"wm=3", "wm=9",
		"a@10 n=2 sum=4", "b@10 n=1 sum=2", "wm=10",
		"wm=12",
		"a@20 n=2 sum=6", "b@20 n=1 sum=1", "wm=25",
		"wm=26",
		"c@30 n=1 sum=4", fmt.Sprintf("wm=%d", types.EndOfTime/sec),
	}, "\n")
	if got != want {
		t.Fatalf("got:\n%s\nwant:\n%s", got, want)
	}
	if late.Load() != 1 {
		t.Errorf("%d late rows, want 1", late.Load())
	}
	// Four groups were open at once (a and b, in the windows ending at 10
	// and 20); c reused a freed slot.
	if len(w.key) != 4 {
		t.Errorf("%d slots made, want 4 (freed slots reused)", len(w.key))
	}
}
