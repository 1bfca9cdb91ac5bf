package runtime

import (
	"fmt"
	"strings"
	"testing"

	"github.com/sluice-sql/sluice/sql"
	"github.com/sluice-sql/sluice/sql/types"
)

// A Top-2 per key: rows entering move the others down (-U/+U with their
// new number) and push the last out (-D); a row that does not make the
// top changes nothing.
func TestTopNChangelog(t *testing.T) {
	in := types.Schema{{Name: "k", Type: types.String()}, {Name: "v", Type: types.BigInt()}}
	top, err := NewTopN(in, &sql.Rank{Partition: []int{0}, Order: []sql.SortKey{{Col: 1, Desc: true}}, Limit: 2}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	emit := func(b *types.Batch) error {
		b.ForEach(func(i int) {
			got = append(got, fmt.Sprintf("%s %s %d #%d", opText[b.Kind(i)], b.Cols[0].Bytes(i), b.Cols[1].Ints[i], b.Cols[2].Ints[i]))
		})
		return nil
	}
	for _, rows := range [][]string{{"a 5"}, {"a 3", "b 1"}, {"a 9"}, {"a 1"}, {"a 4"}} {
		b := types.NewBatch(in, len(rows))
		for i, r := range rows {
			var k string
			var v int64
			fmt.Sscanf(r, "%s %d", &k, &v)
			b.Cols[0].AppendString(k)
			b.Cols[1].AppendInt(v)
			b.SetLen(i + 1)
		}
		if err := top.Process(b, emit); err != nil {
			t.Fatal(err)
		}
	}
	want := []string{
		"+I a 5 #1",
		"+I a 3 #2", "+I b 1 #1",
		// 9 comes first: 5 moves to #2, 3 leaves.
		"-D a 3 #2", "-U a 5 #1", "+U a 5 #2", "+I a 9 #1",
		// 1 does not make the top 2: nothing.
		// 4 does not either (9, 5 stay).
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("changelog:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
