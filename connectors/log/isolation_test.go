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
	"github.com/sluice-sql/sluice/sql/types"
)

// ids returns the ids of rows, sorted and space-separated.
func ids(rows []string) string {
	var out []string
	for _, r := range sorted(rows) {
		out = append(out, fmt.Sprint(rowID(r)))
	}
	return strings.Join(out, " ")
}

// idRange returns "from from+1 ... to-1".
func idRange(from, to int) string {
	var out []string
	for i := from; i < to; i++ {
		out = append(out, fmt.Sprint(i))
	}
	return strings.Join(out, " ")
}

func producer(t *testing.T, b *broker.Broker, id string) *broker.Producer {
	t.Helper()
	p, err := b.NewProducer(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// txnAppend appends rows with ids from..to-1 to partition 0 in p's open
// transaction.
func txnAppend(t *testing.T, p *broker.Producer, topic string, from, to int) {
	t.Helper()
	var recs []broker.Record
	for i := from; i < to; i++ {
		recs = append(recs, broker.Record{Value: fmt.Appendf(nil, `{"id":%d}`, i)})
	}
	if _, err := p.Append(context.Background(), topic, 0, recs...); err != nil {
		t.Fatal(err)
	}
}

// markedLog makes partition 0 of topic hold, in offset order: ids 0-2
// committed, 100-102 aborted, 3-4 plain, 5-7 committed, and 200-202 in a
// transaction left open, whose producer it returns. Commit and abort
// markers lie between them, and the aborted transaction interleaves with
// the second committed one.
func markedLog(t *testing.T, b *broker.Broker, topic string) *broker.Producer {
	t.Helper()
	ctx := context.Background()
	p1, p2 := producer(t, b, "p1"), producer(t, b, "p2")
	txnAppend(t, p1, topic, 0, 3)
	if err := p1.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	txnAppend(t, p2, topic, 100, 102)
	txnAppend(t, p1, topic, 5, 6)
	txnAppend(t, p2, topic, 102, 103)
	if err := p2.Abort(ctx); err != nil {
		t.Fatal(err)
	}
	appendValues(t, b, topic, 0, 0, `{"id":3}`, `{"id":4}`)
	txnAppend(t, p1, topic, 6, 8)
	if err := p1.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	p3 := producer(t, b, "p3")
	txnAppend(t, p3, topic, 200, 203)
	return p3
}

// A bounded source reads committed records up to the last stable offset
// of Open: not the aborted ones, not the open transaction, and it ends
// without waiting for that. Reading uncommitted sees everything.
func TestBoundedReadsCommitted(t *testing.T) {
	b := openBroker(t, "m", 1)
	open := markedLog(t, b, "m")
	base := SourceOptions{Broker: b, Topic: "m", Schema: testSchema, Format: "json"}
	got, err := readAll(t, base)
	if err != nil {
		t.Fatal(err)
	}
	if g, want := ids(got), idRange(0, 8); g != want {
		t.Errorf("read_committed: ids %q, want %q", g, want)
	}
	unc := base
	unc.ReadUncommitted = true
	if got, err = readAll(t, unc); err != nil {
		t.Fatal(err)
	}
	if g, want := ids(got), idRange(0, 8)+" 100 101 102 200 201 202"; g != want {
		t.Errorf("read_uncommitted: ids %q, want %q", g, want)
	}
	// Committed after Open: still past the end of a bounded read.
	s, err := NewSource(SourceOptions{Broker: b, Topic: "m", Schema: testSchema, Format: "json", Bounded: true})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := s.Open(ctx); err != nil {
		t.Fatal(err)
	}
	if err := open.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	batch := types.NewBatch(testSchema, 0)
	for st := (connectors.SourceStatus{}); st.State != connectors.Done; {
		if st, err = s.Next(ctx, batch, 100); err != nil {
			t.Fatal(err)
		}
	}
	if g, want := ids(rowStrings(batch)), idRange(0, 8); g != want {
		t.Errorf("bounded at the LSO of Open: ids %q, want %q", g, want)
	}
}

// readUntilWait reads an unbounded source, max rows per Next, until it
// says Wait, and returns the rows.
func readUntilWait(t *testing.T, s *Source, max int) []string {
	t.Helper()
	var out []string
	for {
		b := types.NewBatch(testSchema, 0)
		st, err := s.Next(context.Background(), b, max)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, rowStrings(b)...)
		if st.State == connectors.Wait {
			return out
		}
	}
}

// A source's position taken after any row, across commit and abort
// markers and skipped aborted records, resumes with exactly the rows
// after it.
func TestPositionAcrossMarkersResumesExactly(t *testing.T) {
	ctx := context.Background()
	b := openBroker(t, "m", 1)
	open := markedLog(t, b, "m")
	opts := SourceOptions{Broker: b, Topic: "m", Schema: testSchema, Format: "json"}
	want := idRange(0, 8)
	for cut := 0; cut <= 8; cut++ {
		// Read exactly cut rows, one per Next, then take the position.
		a, err := NewSource(opts)
		if err != nil {
			t.Fatal(err)
		}
		if err := a.Open(ctx); err != nil {
			t.Fatal(err)
		}
		var first []string
		for len(first) < cut {
			batch := types.NewBatch(testSchema, 0)
			st, err := a.Next(ctx, batch, 1)
			if err != nil {
				t.Fatal(err)
			}
			if batch.Len() == 0 && st.State == connectors.Wait {
				t.Fatalf("cut after %d rows: the source waits after %d", cut, len(first))
			}
			first = append(first, rowStrings(batch)...)
		}
		pos := a.Position()
		a.Close()

		r, err := NewSource(opts)
		if err != nil {
			t.Fatal(err)
		}
		if err := r.Open(ctx); err != nil {
			t.Fatal(err)
		}
		if err := r.Seek(pos); err != nil {
			t.Fatal(err)
		}
		rest := readUntilWait(t, r, 2)
		if g := ids(append(first, rest...)); g != want || len(first)+len(rest) != 8 {
			t.Errorf("cut after %d rows at %v: read %q then %q, want %q once each", cut, pos, ids(first), ids(rest), want)
		}
		if cut == 8 && !t.Failed() {
			// At the end: the open transaction commits, and the resumed
			// source reads it, once.
			if err := open.Commit(ctx); err != nil {
				t.Fatal(err)
			}
			if err := r.Wait(ctx); err != nil {
				t.Fatal(err)
			}
			if g := ids(readUntilWait(t, r, 10)); g != "200 201 202" {
				t.Errorf("after the commit: ids %q, want 200 201 202", g)
			}
		}
		r.Close()
	}
}

// At read_committed an unbounded source's Wait sleeps through the appends
// of an open transaction and wakes when it commits; a Latest start
// begins at the last stable offset, so that transaction is read.
func TestWaitForCommit(t *testing.T) {
	ctx := context.Background()
	b := openBroker(t, "w", 1)
	p := producer(t, b, "w")
	txnAppend(t, p, "w", 0, 2) // open before the source starts
	for _, start := range []StartKind{Earliest, Latest} {
		s, err := NewSource(SourceOptions{Broker: b, Topic: "w", Schema: testSchema, Format: "json", Start: Start{Kind: start}})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		if err := s.Open(ctx); err != nil {
			t.Fatal(err)
		}
		if got := readUntilWait(t, s, 10); len(got) != 0 {
			t.Fatalf("start %d: read %v of an open transaction", start, got)
		}
		if start == Earliest {
			continue
		}
		txnAppend(t, p, "w", 2, 4)
		// No row comes, so Wait must still be waiting when its deadline
		// passes.
		wctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
		err = s.Wait(wctx)
		cancel()
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Wait during an open transaction: %v, want it to wait", err)
		}
		woke := make(chan error, 1)
		go func() { woke <- s.Wait(ctx) }()
		if err := p.Commit(ctx); err != nil {
			t.Fatal(err)
		}
		if err := <-woke; err != nil {
			t.Fatal(err)
		}
		if g := ids(readUntilWait(t, s, 10)); g != "0 1 2 3" {
			t.Errorf("latest at the LSO: ids %q after the commit, want 0 1 2 3", g)
		}
		if pos := s.Position(); !slices.Equal(pos, []connectors.PartitionPosition{{Partition: 0, Offset: 5}}) {
			t.Errorf("position %v, want offset 5 (past the commit marker at 4)", pos)
		}
	}
}

// Reading uncommitted, Wait wakes for an open transaction's records.
func TestReadUncommittedWakes(t *testing.T) {
	ctx := context.Background()
	b := openBroker(t, "u", 2)
	s, err := NewSource(SourceOptions{Broker: b, Topic: "u", Schema: testSchema, Format: "json", ReadUncommitted: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Open(ctx); err != nil {
		t.Fatal(err)
	}
	readUntilWait(t, s, 10)
	woke := make(chan error, 1)
	go func() { woke <- s.Wait(ctx) }()
	txnAppend(t, producer(t, b, "u"), "u", 0, 3)
	if err := <-woke; err != nil {
		t.Fatal(err)
	}
	if pos := s.Position(); pos[0].Offset != 0 {
		t.Errorf("position after Wait %v: want offset 0, the record Wait saw is not read yet", pos)
	}
	if g := ids(readUntilWait(t, s, 10)); g != "0 1 2" {
		t.Errorf("ids %q, want 0 1 2", g)
	}
}
