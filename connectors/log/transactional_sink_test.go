package log

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluice-sql/sluice/broker"
	"github.com/sluice-sql/sluice/connectors"
	"github.com/sluice-sql/sluice/sql/types"
)

// txnSink opens a transactional sink instance of split 0 of 1, as a job
// run would, with prefix sluice/job/t.
func txnSink(t *testing.T, so SinkOptions) *TransactionalSink {
	t.Helper()
	so.TransactionalIDPrefix = "sluice/job/t"
	s, err := NewTransactionalSink(so)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Open(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func mustWrite(t *testing.T, s connectors.Sink, b *types.Batch) {
	t.Helper()
	if err := s.Write(context.Background(), b); err != nil {
		t.Fatal(err)
	}
}

func preCommit(t *testing.T, s *TransactionalSink) []byte {
	t.Helper()
	tok, err := s.PreCommit(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func commit(t *testing.T, s *TransactionalSink) {
	t.Helper()
	if err := s.Commit(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func recoverSink(t *testing.T, s *TransactionalSink, tok []byte) {
	t.Helper()
	if err := s.Recover(context.Background(), tok); err != nil {
		t.Fatal(err)
	}
}

// readIDs reads topic to its end (bounded) at read_committed, or
// uncommitted, and returns the sorted ids.
func readIDs(t *testing.T, b *broker.Broker, topic string, uncommitted bool) string {
	t.Helper()
	got, err := readAll(t, SourceOptions{Broker: b, Topic: topic, Schema: testSchema, Format: "json", ReadUncommitted: uncommitted})
	if err != nil {
		t.Fatal(err)
	}
	return ids(got)
}

func wantIDs(t *testing.T, what, got, want string) {
	t.Helper()
	if got != want {
		t.Errorf("%s: ids %q, want %q", what, got, want)
	}
}

// txnStates returns the state of each of the sink's transactional ids,
// "a=Empty b=Ongoing".
func txnStates(b *broker.Broker, prefix string) string {
	var out []string
	for _, ti := range b.Transactions() {
		if rest, ok := strings.CutPrefix(ti.TransactionalID, prefix+"/0/"); ok {
			out = append(out, rest+"="+ti.State)
		}
	}
	return strings.Join(out, " ")
}

// A transactional sink's rows are invisible to read_committed readers
// until Commit, and visible after; the next transaction uses the other
// transactional id.
func TestTransactionalSinkVisibleOnCommit(t *testing.T) {
	b := openBroker(t, "t", 3)
	s := txnSink(t, SinkOptions{Broker: b, Topic: "t", Schema: testSchema, Format: "json", KeyColumns: []string{"id"}, MaxInFlight: 2})
	recoverSink(t, s, nil)
	mustWrite(t, s, rows(0, 10))
	mustWrite(t, s, rows(10, 5))
	wantIDs(t, "written, not pre-committed", readIDs(t, b, "t", false), "")
	tok := preCommit(t, s)
	wantIDs(t, "pre-committed", readIDs(t, b, "t", false), "")
	wantIDs(t, "pre-committed, read uncommitted", readIDs(t, b, "t", true), idRange(0, 15))
	tt, err := ParseTransactionToken(tok)
	if err != nil {
		t.Fatal(err)
	}
	if tt.TransactionalID != "sluice/job/t/0/a" || !tt.Written {
		t.Errorf("token %s: want transactional id sluice/job/t/0/a, written", tok)
	}
	commit(t, s)
	wantIDs(t, "committed", readIDs(t, b, "t", false), idRange(0, 15))

	mustWrite(t, s, rows(15, 5))
	tok2 := preCommit(t, s)
	wantIDs(t, "second transaction pre-committed", readIDs(t, b, "t", false), idRange(0, 15))
	if tt2, _ := ParseTransactionToken(tok2); tt2.TransactionalID != "sluice/job/t/0/b" {
		t.Errorf("second token %s: want transactional id sluice/job/t/0/b", tok2)
	}
	commit(t, s)
	wantIDs(t, "second committed", readIDs(t, b, "t", false), idRange(0, 20))

	// A checkpoint with nothing written names no transaction, and its
	// Commit does nothing.
	before := txnStates(b, "sluice/job/t")
	if tok := preCommit(t, s); tok != nil {
		t.Errorf("PreCommit with nothing written: token %s, want nil", tok)
	}
	commit(t, s)
	if after := txnStates(b, "sluice/job/t"); after != before {
		t.Errorf("empty checkpoint changed the transactions: %s, then %s", before, after)
	}
	// Another round, back on id a: same producer, sequences go on.
	mustWrite(t, s, rows(20, 3))
	if tt3, _ := ParseTransactionToken(preCommit(t, s)); tt3.TransactionalID != "sluice/job/t/0/a" || tt3.Epoch != tt.Epoch {
		t.Errorf("third token %+v: want id a at epoch %d", tt3, tt.Epoch)
	}
	commit(t, s)
	wantIDs(t, "third committed", readIDs(t, b, "t", false), idRange(0, 23))
	wantIDs(t, "read uncommitted", readIDs(t, b, "t", true), idRange(0, 23))
}

// After a crash between the checkpoint and the Commit, a new instance's
// Recover commits the checkpoint's transaction; recovering again from
// the same checkpoint (the recovered run crashed too) commits nothing
// twice, and aborts what the crashed runs left open after it.
func TestRecoverCommitsOnce(t *testing.T) {
	b := openBroker(t, "t", 2)
	so := SinkOptions{Broker: b, Topic: "t", Schema: testSchema, Format: "json", KeyColumns: []string{"id"}}

	run1 := txnSink(t, so)
	recoverSink(t, run1, nil)
	mustWrite(t, run1, rows(0, 10))
	tok := preCommit(t, run1) // the checkpoint records tok, then the crash
	run1.Close()

	run2 := txnSink(t, so)
	recoverSink(t, run2, tok)
	wantIDs(t, "recovered", readIDs(t, b, "t", false), idRange(0, 10))
	mustWrite(t, run2, rows(10, 5)) // after the checkpoint: on id b, open
	if err := run2.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	// run 2 crashes: it is not closed (Close would abort its open
	// transaction; see TestCloseAbortsOpenTransaction).
	if st := txnStates(b, "sluice/job/t"); st != "a=Empty b=Ongoing" {
		t.Errorf("after run 2: %s, want a=Empty b=Ongoing", st)
	}

	run3 := txnSink(t, so)
	recoverSink(t, run3, tok)
	wantIDs(t, "recovered twice", readIDs(t, b, "t", false), idRange(0, 10))
	for p := range int32(2) {
		lso, _ := b.LastStableOffset("t", p)
		if _, hw, _ := b.Offsets("t", p); lso != hw {
			t.Errorf("partition %d: last stable offset %d below high watermark %d: run 2's transaction is still open", p, lso, hw)
		}
	}
	mustWrite(t, run3, rows(15, 5))
	tok3 := preCommit(t, run3)
	if tt, _ := ParseTransactionToken(tok3); tt.TransactionalID != "sluice/job/t/0/b" {
		t.Errorf("after recovering a's transaction, the next is on %s, want b", tt.TransactionalID)
	}
	commit(t, run3)
	wantIDs(t, "run 3 committed", readIDs(t, b, "t", false), idRange(0, 10)+" "+idRange(15, 20))
}

// A crash after the checkpoint's transaction was committed, while the
// next one (on the other id) was open: Recover commits the first again,
// harmlessly, and aborts the second.
func TestRecoverAbortsLaterTransaction(t *testing.T) {
	b := openBroker(t, "t", 1)
	so := SinkOptions{Broker: b, Topic: "t", Schema: testSchema, Format: "json"}
	run1 := txnSink(t, so)
	recoverSink(t, run1, nil)
	mustWrite(t, run1, rows(0, 4))
	tok := preCommit(t, run1)
	commit(t, run1)
	mustWrite(t, run1, rows(4, 4))
	preCommit(t, run1) // a checkpoint that never completes
	run1.Close()

	run2 := txnSink(t, so)
	recoverSink(t, run2, tok)
	wantIDs(t, "recovered", readIDs(t, b, "t", false), idRange(0, 4))
	if lso, _ := b.LastStableOffset("t", 0); lso != 10 { // 4 + marker + 4 + marker
		t.Errorf("last stable offset %d, want 10: the later transaction is aborted", lso)
	}
	mustWrite(t, run2, rows(8, 2))
	preCommit(t, run2)
	commit(t, run2)
	wantIDs(t, "run 2 committed", readIDs(t, b, "t", false), idRange(0, 4)+" 8 9")
}

// An old instance still running after a new one recovered (a zombie) is
// fenced: it can neither write nor commit, and nothing it wrote after
// the checkpoint becomes visible to read_committed readers.
func TestZombieSinkIsFenced(t *testing.T) {
	b := openBroker(t, "t", 3)
	so := SinkOptions{Broker: b, Topic: "t", Schema: testSchema, Format: "json", KeyColumns: []string{"id"}}
	zombie := txnSink(t, so)
	recoverSink(t, zombie, nil)
	mustWrite(t, zombie, rows(0, 5))
	tok := preCommit(t, zombie)
	commit(t, zombie)
	mustWrite(t, zombie, rows(100, 5)) // the next transaction, on b

	fresh := txnSink(t, so)
	recoverSink(t, fresh, tok)

	ctx := context.Background()
	// The zombie's pre-commit may meet the fencing in its appends or at
	// the commit; either way it fails with ErrProducerFenced.
	_ = zombie.Write(ctx, rows(200, 5))
	_, perr := zombie.PreCommit(ctx)
	cerr := zombie.Commit(ctx)
	if !errors.Is(perr, broker.ErrProducerFenced) && !errors.Is(cerr, broker.ErrProducerFenced) {
		t.Errorf("zombie: pre-commit %v, commit %v, want ErrProducerFenced", perr, cerr)
	}
	if err := zombie.Write(ctx, rows(300, 1)); err == nil {
		t.Error("a fenced sink went on writing")
	}
	wantIDs(t, "after the zombie's commit", readIDs(t, b, "t", false), idRange(0, 5))
	if got := readIDs(t, b, "t", true); strings.Contains(got, "200") || strings.Contains(got, "300") {
		t.Errorf("the zombie's appends after the fencing reached the log: %s", got)
	}

	mustWrite(t, fresh, rows(5, 5))
	preCommit(t, fresh)
	commit(t, fresh)
	wantIDs(t, "the new instance committed", readIDs(t, b, "t", false), idRange(0, 10))
}

// A fenced instance that keeps writing concurrently with the new one's
// recovery gets no row past read_committed readers once Recover has
// returned: its appends after the recovery's commit are refused, or go
// into a transaction that the recovery's re-initialization aborts.
func TestZombieRacingRecovery(t *testing.T) {
	b := openBroker(t, "t", 2)
	so := SinkOptions{Broker: b, Topic: "t", Schema: testSchema, Format: "json", KeyColumns: []string{"id"}}
	zombie := txnSink(t, so)
	recoverSink(t, zombie, nil)
	mustWrite(t, zombie, rows(0, 4))
	tok := preCommit(t, zombie)

	ctx := context.Background()
	started := make(chan struct{})
	var wg sync.WaitGroup
	var werr error
	wg.Go(func() {
		// Not paused after its pre-commit, as a run's task would be: it
		// goes on in the checkpoint's transaction until fenced.
		for i := 0; werr == nil && i < 5000; i++ {
			if i == 1 {
				close(started)
			}
			if werr = zombie.Write(ctx, rows(1000+10*i, 10)); werr == nil && i%8 == 7 {
				_, werr = zombie.PreCommit(ctx) // meets a fenced append
			}
		}
		zombie.Commit(ctx)
	})
	<-started
	fresh := txnSink(t, so)
	recoverSink(t, fresh, tok)
	atRecovery := readIDs(t, b, "t", false)
	wg.Wait()
	if !errors.Is(werr, broker.ErrProducerFenced) {
		t.Errorf("the zombie ended with %v, want ErrProducerFenced", werr)
	}
	if !strings.HasPrefix(atRecovery, "0 1 2 3") {
		t.Errorf("committed ids %s: the checkpoint's rows 0-3 are missing", atRecovery)
	}
	wantIDs(t, "after the zombie stopped", readIDs(t, b, "t", false), atRecovery)
	again := txnSink(t, so)
	recoverSink(t, again, tok)
	wantIDs(t, "recovered twice", readIDs(t, b, "t", false), atRecovery)
}

// Upsert and changelog sinks write transactionally as they write plainly.
func TestTransactionalUpsertAndChangelog(t *testing.T) {
	ctx := context.Background()
	for _, changelog := range []bool{false, true} {
		name := map[bool]string{false: "upsert", true: "changelog"}[changelog]
		t.Run(name, func(t *testing.T) {
			b := openBroker(t, "t", 1)
			so := SinkOptions{Broker: b, Topic: "t", Schema: testSchema, Format: "json", Changelog: changelog}
			if !changelog {
				so.KeyColumns, so.Upsert = []string{"id"}, true
			}
			s := txnSink(t, so)
			recoverSink(t, s, nil)
			in := rows(0, 4)
			for i, k := range []types.ChangeKind{types.Insert, types.UpdateBefore, types.UpdateAfter, types.Delete} {
				in.SetKind(i, k)
			}
			mustWrite(t, s, in)
			read := func() string {
				src, err := NewSource(SourceOptions{Broker: b, Topic: "t", Schema: testSchema, Format: "json", Bounded: true,
					Upsert: !changelog, Changelog: changelog})
				if err != nil {
					t.Fatal(err)
				}
				defer src.Close()
				if err := src.Open(ctx); err != nil {
					t.Fatal(err)
				}
				out := types.NewBatch(testSchema, 8)
				if _, err := src.Next(ctx, out, 8); err != nil {
					t.Fatal(err)
				}
				var got []string
				out.ForEach(func(i int) { got = append(got, out.Kind(i).String()+" "+rowStrings(out)[i][:1]) })
				return strings.Join(got, ",")
			}
			preCommit(t, s)
			if got := read(); got != "" {
				t.Fatalf("before the commit: read %q", got)
			}
			commit(t, s)
			want := "+I 0,+I 2,-D 3" // upsert: the update-before is not written
			if changelog {
				want = "+I 0,-U 1,+U 2,-D 3"
			}
			if got := read(); got != want {
				t.Errorf("after the commit: read %q, want %q", got, want)
			}
		})
	}
}

// syncClock is a clock tests move by hand.
type syncClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *syncClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *syncClock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// A transaction the broker aborted on its timeout after the checkpoint
// recorded it: its Commit fails fenced, and Recover says the
// checkpoint's output is lost instead of pretending it committed.
func TestRecoverLostTransaction(t *testing.T) {
	ctx := context.Background()
	clock := &syncClock{t: time.Unix(1_700_000_000, 0)}
	b, err := broker.Open(t.TempDir(), broker.Options{MaintenanceInterval: -1, Clock: clock, TransactionTimeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if err := b.CreateTopic("t", 1, nil); err != nil {
		t.Fatal(err)
	}
	so := SinkOptions{Broker: b, Topic: "t", Schema: testSchema, Format: "json", Clock: clock}
	s := txnSink(t, so)
	recoverSink(t, s, nil)
	mustWrite(t, s, rows(0, 3))
	tok := preCommit(t, s)
	clock.add(2 * time.Minute)
	if n, err := b.AbortExpiredTransactions(ctx); err != nil || n != 1 {
		t.Fatalf("expired transactions aborted: %d, %v; want 1", n, err)
	}
	if err := s.Commit(ctx); !errors.Is(err, broker.ErrProducerFenced) || !strings.Contains(err.Error(), "timeout") {
		t.Errorf("commit after the timeout: %v, want ErrProducerFenced explained", err)
	}
	next := txnSink(t, so)
	err = next.Recover(ctx, tok)
	if !errors.Is(err, ErrTransactionLost) || !strings.Contains(err.Error(), "sluice/job/t/0/a") {
		t.Errorf("Recover of an aborted transaction: %v, want ErrTransactionLost naming it", err)
	}
	wantIDs(t, "lost", readIDs(t, b, "t", false), "")
}

func TestTransactionalSinkOptions(t *testing.T) {
	b := openBroker(t, "t", 1)
	so := SinkOptions{Broker: b, Topic: "t", Schema: testSchema, Format: "json"}
	if _, err := NewTransactionalSink(so); err == nil {
		t.Error("a transactional sink without a transactional id prefix was accepted")
	}
	so.TransactionalIDPrefix = "sluice/j/t"
	if _, err := NewSink(so); err == nil {
		t.Error("NewSink took a transactional id prefix")
	}
	so.Split = connectors.Split{Index: 2, Count: 3}
	s, err := NewTransactionalSink(so)
	if err != nil {
		t.Fatal(err)
	}
	if got := s.TransactionalIDs(); got != [2]string{"sluice/j/t/2/a", "sluice/j/t/2/b"} {
		t.Errorf("ids %v", got)
	}
	var plain connectors.Sink
	if plain, err = NewSink(SinkOptions{Broker: b, Topic: "t", Schema: testSchema, Format: "json"}); err != nil {
		t.Fatal(err)
	}
	if _, ok := plain.(connectors.TransactionalSink); ok {
		t.Error("the at-least-once sink implements TransactionalSink")
	}
	for _, bad := range []string{"", `{"v":2,"transactional_id":"x"}`, `{"v":1}`, "junk"} {
		if _, err := ParseTransactionToken([]byte(bad)); err == nil {
			t.Errorf("token %q parsed", bad)
		}
	}
	if err := s.Open(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := s.Recover(context.Background(), []byte("junk")); err == nil {
		t.Error("Recover took a bad token")
	}
}

// A crash of the whole process: the broker reopens with the checkpoint's
// transaction still open, and the restarted job's Recover commits it.
func TestRecoverAfterBrokerRestart(t *testing.T) {
	dir := t.TempDir()
	b, err := broker.Open(dir, broker.Options{MaintenanceInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.CreateTopic("t", 2, nil); err != nil {
		t.Fatal(err)
	}
	so := SinkOptions{Broker: b, Topic: "t", Schema: testSchema, Format: "json", KeyColumns: []string{"id"}}
	s := txnSink(t, so)
	recoverSink(t, s, nil)
	mustWrite(t, s, rows(0, 6))
	tok := preCommit(t, s)
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}

	if b, err = broker.Open(dir, broker.Options{MaintenanceInterval: -1}); err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	wantIDs(t, "reopened", readIDs(t, b, "t", false), "")
	so.Broker = b
	s = txnSink(t, so)
	recoverSink(t, s, tok)
	wantIDs(t, "recovered", readIDs(t, b, "t", false), idRange(0, 6))
	mustWrite(t, s, rows(6, 2))
	preCommit(t, s)
	commit(t, s)
	wantIDs(t, "next checkpoint", readIDs(t, b, "t", false), idRange(0, 8))
}

// Close aborts a transaction with rows no checkpoint names, so that it
// does not hold read_committed readers back, and leaves the one PreCommit
// named for Recover.
func TestCloseAbortsOpenTransaction(t *testing.T) {
	b := openBroker(t, "t", 1)
	so := SinkOptions{Broker: b, Topic: "t", Schema: testSchema, Format: "json"}
	s := txnSink(t, so)
	recoverSink(t, s, nil)
	mustWrite(t, s, rows(0, 4))
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if st := txnStates(b, "sluice/job/t"); st != "a=CompleteAbort b=Empty" {
		t.Errorf("after Close with rows written: %s, want a=CompleteAbort b=Empty", st)
	}
	lso, _ := b.LastStableOffset("t", 0)
	if _, hw, _ := b.Offsets("t", 0); lso != hw {
		t.Errorf("last stable offset %d below high watermark %d after Close", lso, hw)
	}

	s2 := txnSink(t, so)
	recoverSink(t, s2, nil)
	mustWrite(t, s2, rows(4, 4))
	tok := preCommit(t, s2)
	if err := s2.Close(); err != nil {
		t.Fatal(err)
	}
	if st := txnStates(b, "sluice/job/t"); st != "a=Ongoing b=Empty" {
		t.Errorf("after Close of a pre-committed transaction: %s, want a=Ongoing b=Empty", st)
	}
	s3 := txnSink(t, so)
	recoverSink(t, s3, tok)
	wantIDs(t, "recovered", readIDs(t, b, "t", false), idRange(4, 8))
}
