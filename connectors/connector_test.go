package connectors

import (
	"errors"
	"testing"
)

func TestSplitsCoverEveryPartitionOnce(t *testing.T) {
	for _, n := range []int{1, 2, 3, 7} {
		for p := range 20 {
			owners := 0
			for i := range n {
				if (Split{Index: i, Count: n}).Owns(p) {
					owners++
				}
			}
			if owners != 1 {
				t.Errorf("partition %d has %d owners among %d splits", p, owners, n)
			}
		}
	}
	if !(Split{}).Owns(5) || (Split{}).Validate() != nil {
		t.Error("the zero split is not the whole source")
	}
	if (Split{Index: 2, Count: 2}).Validate() == nil {
		t.Error("split 2 of 2 accepted")
	}
}

func TestRecordErrorNamesThePlace(t *testing.T) {
	cause := errors.New("bad")
	for _, c := range []struct {
		err  *RecordError
		want string
	}{
		{&RecordError{Topic: "bids", Partition: 3, Offset: 42, Err: cause}, "topic bids partition 3 offset 42: bad"},
		{&RecordError{File: "in.csv", Line: 7, Err: cause}, "in.csv:7: bad"},
	} {
		if c.err.Error() != c.want || !errors.Is(c.err, cause) {
			t.Errorf("%q, want %q wrapping the cause", c.err.Error(), c.want)
		}
	}
}
