package runtime

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/sluice-sql/sluice/sql"
	"github.com/sluice-sql/sluice/sql/types"
	"github.com/sluice-sql/sluice/state"
)

// The changelog a GroupAggregate emits: +I for a new group, -U/+U pairs
// for a change, -D when the last row of a group is retracted, including
// over an updating input.
func TestGroupAggregateChangelog(t *testing.T) {
	in := types.Schema{{Name: "k", Type: types.String()}, {Name: "v", Type: types.BigInt()}}
	g, err := NewGroupAggregate(in, []int{0}, []sql.AggCall{
		{Fn: "COUNT", Arg: -1, T: types.BigInt().WithNotNull(true)},
		{Fn: "MAX", Arg: 1, T: types.BigInt()},
	}, true, nil)
	if err != nil {
		t.Fatal(err)
	}
	batch := func(rows ...string) *types.Batch {
		b := types.NewBatch(in, len(rows))
		for i, r := range rows {
			var op, k string
			var v int64
			fmt.Sscanf(r, "%s %s %d", &op, &k, &v)
			b.Cols[0].AppendString(k)
			b.Cols[1].AppendInt(v)
			b.SetLen(i + 1)
			switch op {
			case "-U":
				b.SetKind(i, types.UpdateBefore)
			case "+U":
				b.SetKind(i, types.UpdateAfter)
			case "-D":
				b.SetKind(i, types.Delete)
			}
		}
		return b
	}
	var got []string
	emit := func(b *types.Batch) error {
		var lines []string
		b.ForEach(func(i int) {
			lines = append(lines, fmt.Sprintf("%s %s %d %d", opText[b.Kind(i)], b.Cols[0].Bytes(i), b.Cols[1].Ints[i], b.Cols[2].Ints[i]))
		})
		got = append(got, strings.Join(lines, ", "))
		return nil
	}
	for _, b := range []*types.Batch{
		batch("+I a 1", "+I b 5", "+I a 3"),
		batch("+I a 2"),
		batch("-D a 3"),           // the MAX of a is retracted
		batch("-D b 5"),           // b's last row
		batch("-U a 1", "+U a 7"), // an update inside one batch
		batch("-D a 2", "-D a 7", "+I c 4"),
	} {
		if err := g.Process(b, emit); err != nil {
			t.Fatal(err)
		}
	}
	want := []string{
		"+I a 2 3, +I b 1 5",
		"-U a 2 3, +U a 3 3",
		"-U a 3 3, +U a 2 2",
		"-D b 1 5",
		"-U a 2 2, +U a 2 7",
		"-D a 2 7, +I c 1 4",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("changelog:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

type fakeClock struct{ t time.Time }

func (c *fakeClock) Now() time.Time { return c.t }

// With a state TTL, a group not written for that long is gone: its next
// row starts it afresh (+I), as Flink's state TTL does.
func TestGroupAggregateStateTTL(t *testing.T) {
	clock := &fakeClock{t: time.Unix(1000, 0)}
	db, err := state.Open(t.TempDir(), state.Options{Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	kv, err := (OperatorContext{Parallelism: 1, State: db, StateTTL: time.Hour}).keyedState(1)
	if err != nil {
		t.Fatal(err)
	}
	in := types.Schema{{Name: "k", Type: types.String()}}
	g, err := NewGroupAggregate(in, []int{0}, []sql.AggCall{{Fn: "COUNT", Arg: -1, T: types.BigInt().WithNotNull(true)}}, false, kv)
	if err != nil {
		t.Fatal(err)
	}
	g.residentGroups(0) // as GroupAggregateSpec does with a TTL
	var got []string
	emit := func(b *types.Batch) error {
		b.ForEach(func(i int) {
			got = append(got, fmt.Sprintf("%s %s %d", opText[b.Kind(i)], b.Cols[0].Bytes(i), b.Cols[1].Ints[i]))
		})
		return nil
	}
	row := func(k string) {
		b := types.NewBatch(in, 1)
		b.Cols[0].AppendString(k)
		b.SetLen(1)
		if err := g.Process(b, emit); err != nil {
			t.Fatal(err)
		}
	}
	row("a")
	clock.t = clock.t.Add(30 * time.Minute)
	row("a") // within the TTL: an update
	clock.t = clock.t.Add(2 * time.Hour)
	row("a") // expired: a new group
	want := "+I a 1,-U a 1,+U a 2,+I a 1"
	if strings.Join(got, ",") != want {
		t.Fatalf("changelog %q, want %q", strings.Join(got, ","), want)
	}
}

// A global aggregate restarted from a checkpoint taken after its input
// had all come, with no row left to read, ends without the empty input's
// row (COUNT 0): its row is out already. One that never saw a row ends
// with it.
func TestGlobalAggregateRestartedAtTheEnd(t *testing.T) {
	dir := t.TempDir()
	in := types.Schema{{Name: "v", Type: types.BigInt()}}
	spec := GroupAggregateSpec("count", 1, in, nil, []sql.AggCall{{Fn: "COUNT", Arg: -1, T: types.BigInt().WithNotNull(true)}}, false)
	var got []string
	emit := func(b *types.Batch) error {
		b.ForEach(func(i int) { got = append(got, rowText(b, i)) })
		return nil
	}
	run := func(rows int, epoch uint64) {
		db, err := state.Open(dir, state.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		op, err := spec.NewWith(OperatorContext{Parallelism: 1, State: db})
		if err != nil {
			t.Fatal(err)
		}
		if rows > 0 {
			b := types.NewBatch(in, rows)
			for i := range rows {
				b.Cols[0].AppendInt(int64(i))
			}
			b.SetLen(rows)
			if err := op.Process(b, emit); err != nil {
				t.Fatal(err)
			}
			if err := op.(Snapshotter).Snapshot(); err != nil {
				t.Fatal(err)
			}
			if err := db.Commit(epoch, nil); err != nil {
				t.Fatal(err)
			}
			return // killed after the checkpoint
		}
		if err := op.Finish(emit); err != nil {
			t.Fatal(err)
		}
	}
	run(3, 1)
	run(0, 0)
	if want := "+I 3"; strings.Join(got, ", ") != want {
		t.Errorf("restarted at the end: %q, want %q", strings.Join(got, ", "), want)
	}
	dir, got = t.TempDir(), nil
	run(0, 0)
	if want := "+I 0"; strings.Join(got, ", ") != want {
		t.Errorf("no input: %q, want %q", strings.Join(got, ", "), want)
	}
}
