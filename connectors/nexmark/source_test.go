package nexmark

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/sluice-sql/sluice/connectors"
	"github.com/sluice-sql/sluice/sql/types"
)

// readSource reads up to limit rows' ids (the first column) of src (all
// when limit < 0).
func readSource(t *testing.T, src *Source, limit int) []int64 {
	t.Helper()
	var ids []int64
	b := types.NewBatch(src.gen.Schema(), 16)
	for limit < 0 || len(ids) < limit {
		b.Reset(src.gen.Schema(), 16)
		st, err := src.Next(context.Background(), b, 16)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, b.Cols[0].Ints[:b.Len()]...)
		if st.State == connectors.Done {
			break
		}
	}
	return ids
}

func openSource(t *testing.T, split connectors.Split) *Source {
	t.Helper()
	s, err := NewSource(Config{MaxEvents: 4000}, TableAuction, split)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Open(context.Background()); err != nil {
		t.Fatal(err)
	}
	return s
}

// Each split of a source resumes where its Position said, given the
// positions of every split; positions of another parallelism are
// refused.
func TestSourceSeek(t *testing.T) {
	var pos []connectors.PartitionPosition
	var want [2][]int64
	for i := range 2 {
		s := openSource(t, connectors.Split{Index: i, Count: 2})
		all := readSource(t, openSource(t, connectors.Split{Index: i, Count: 2}), -1)
		head := readSource(t, s, 48)
		pos = append(pos, s.Position()...)
		want[i] = all[len(head):]
	}
	for i := range 2 {
		s := openSource(t, connectors.Split{Index: i, Count: 2})
		if err := s.Seek(pos); err != nil {
			t.Fatal(err)
		}
		if got := readSource(t, s, -1); !slices.Equal(got, want[i]) || len(got) == 0 {
			t.Errorf("split %d resumed: %d rows, want %d", i, len(got), len(want[i]))
		}
	}
	for _, split := range []connectors.Split{{Index: 0, Count: 1}, {Index: 0, Count: 3}} {
		s := openSource(t, split)
		if err := s.Seek(pos); err == nil || !strings.Contains(err.Error(), "another parallelism") {
			t.Errorf("split %+v seeking positions of 2 splits: %v", split, err)
		}
	}
}
