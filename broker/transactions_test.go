package broker

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/sluice-sql/sluice/broker/vfs"
)

// readIso reads a partition from offset 0 to its end at isolation level
// iso (the high watermark, or the last stable offset) and returns the
// values, comma-separated.
func (e *env) readIso(topic string, part int32, iso IsolationLevel) string {
	e.t.Helper()
	r := e.b.NewReader(topic, part, 0, WithIsolation(iso))
	var vs []string
	for {
		rec, ok, err := r.TryNext()
		if err != nil {
			e.t.Fatal(err)
		}
		if !ok {
			break
		}
		vs = append(vs, string(rec.Value))
	}
	return strings.Join(vs, ",")
}

func (e *env) producer(id string) *Producer {
	e.t.Helper()
	p, err := e.b.NewProducer(context.Background(), id)
	if err != nil {
		e.t.Fatal(err)
	}
	return p
}

func (e *env) txnAppend(p *Producer, topic string, part int32, values ...string) AppendResult {
	e.t.Helper()
	recs := make([]Record, len(values))
	for i, v := range values {
		recs[i] = Record{Value: []byte(v), Key: []byte(v), Timestamp: e.clock.Now().UnixMilli()}
	}
	r, err := p.Append(context.Background(), topic, part, recs...)
	if err != nil {
		e.t.Fatal(err)
	}
	return r
}

func (e *env) lso(topic string, part int32) int64 {
	e.t.Helper()
	l, err := e.b.LastStableOffset(topic, part)
	if err != nil {
		e.t.Fatal(err)
	}
	return l
}

func (e *env) hw(topic string, part int32) int64 {
	e.t.Helper()
	_, end, err := e.b.Offsets(topic, part)
	if err != nil {
		e.t.Fatal(err)
	}
	return end
}

func wantString(t *testing.T, what, got, want string) {
	t.Helper()
	if got != want {
		t.Fatalf("%s: got %q, want %q", what, got, want)
	}
}

func TestTransactionVisibility(t *testing.T) {
	forEachFS(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		e.create("t", 2, nil)
		committer, aborter := e.producer("committer"), e.producer("aborter")
		e.produce("t", 0, 1, "", "plain1")
		e.txnAppend(committer, "t", 0, "c1", "c2")
		e.txnAppend(aborter, "t", 0, "a1")
		e.txnAppend(committer, "t", 1, "c3")
		e.produce("t", 0, 1, "", "plain2")

		// Open: read_committed stops at the first open transaction.
		wantString(t, "p0 uncommitted", e.readIso("t", 0, ReadUncommitted), "plain1,c1,c2,a1,plain2")
		wantString(t, "p0 committed", e.readIso("t", 0, ReadCommitted), "plain1")
		wantString(t, "p1 committed", e.readIso("t", 1, ReadCommitted), "")
		if l := e.lso("t", 0); l != 1 {
			t.Fatalf("LSO %d, want 1", l)
		}

		if err := aborter.Abort(ctx); err != nil {
			t.Fatal(err)
		}
		// Still held back by the committer's transaction.
		wantString(t, "p0 committed, after abort", e.readIso("t", 0, ReadCommitted), "plain1")
		if err := committer.Commit(ctx); err != nil {
			t.Fatal(err)
		}
		if l, h := e.lso("t", 0), e.hw("t", 0); l != h {
			t.Fatalf("LSO %d, high watermark %d: nothing is open", l, h)
		}
		wantString(t, "p0 committed", e.readIso("t", 0, ReadCommitted), "plain1,c1,c2,plain2")
		wantString(t, "p1 committed", e.readIso("t", 1, ReadCommitted), "c3")
		// read_uncommitted sees the aborted record, never the markers.
		wantString(t, "p0 uncommitted", e.readIso("t", 0, ReadUncommitted), "plain1,c1,c2,a1,plain2")
		// Offsets: 0 plain1, 1-2 c, 3 a1, 4 plain2, 5 and 6 markers.
		if h := e.hw("t", 0); h != 7 {
			t.Fatalf("high watermark %d, want 7 (5 records, 2 markers)", h)
		}
		// A committed fetch lists the aborted transaction it overlaps.
		res, err := e.b.FetchIsolated("t", 0, 0, 1<<20, ReadCommitted, nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(res.AbortedTransactions) != 1 || res.AbortedTransactions[0] != (AbortedTransaction{aborter.ID(), 3, 5}) {
			t.Fatalf("aborted transactions %+v", res.AbortedTransactions)
		}
		// Committing again is idempotent; committing the aborted one is not.
		if err := committer.Commit(ctx); err != nil {
			t.Fatalf("second commit: %v", err)
		}
		// And it all survives a restart: the index is rebuilt from the log.
		e.reopen()
		wantString(t, "p0 committed after reopen", e.readIso("t", 0, ReadCommitted), "plain1,c1,c2,plain2")
		if ti := e.b.Transactions(); len(ti) != 2 || ti[0].State != "CompleteAbort" || ti[1].State != "CompleteCommit" {
			t.Fatalf("transactions after reopen: %+v", ti)
		}
	})
}

func TestCommitAfterAbortRefused(t *testing.T) {
	forEachFS(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		e.create("t", 1, nil)
		p := e.producer("x")
		e.txnAppend(p, "t", 0, "a")
		if err := p.Abort(ctx); err != nil {
			t.Fatal(err)
		}
		if err := p.Commit(ctx); !errors.Is(err, ErrInvalidTransaction) {
			t.Fatalf("commit of an aborted transaction: %v", err)
		}
		if err := e.b.CommitTransaction(ctx, "nobody", 0, 0); !errors.Is(err, ErrInvalidTransaction) {
			t.Fatalf("commit of an unknown id: %v", err)
		}
		// A new transaction under the same producer after the abort.
		e.txnAppend(p, "t", 0, "b")
		if err := p.Commit(ctx); err != nil {
			t.Fatal(err)
		}
		wantString(t, "committed", e.readIso("t", 0, ReadCommitted), "b")
	})
}

func TestLastStableOffsetInterleaved(t *testing.T) {
	forEachFS(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		e.create("t", 1, nil)
		t1, t2, t3 := e.producer("t1"), e.producer("t2"), e.producer("t3")
		e.txnAppend(t1, "t", 0, "1a")          // 0
		e.produce("t", 0, 1, "", "p")          // 1
		e.txnAppend(t2, "t", 0, "2a")          // 2
		e.txnAppend(t1, "t", 0, "1b")          // 3
		e.txnAppend(t3, "t", 0, "3a")          // 4
		if err := t2.Commit(ctx); err != nil { // marker 5
			t.Fatal(err)
		}
		if l := e.lso("t", 0); l != 0 {
			t.Fatalf("LSO %d, want 0: t1 is open", l)
		}
		wantString(t, "t1 open", e.readIso("t", 0, ReadCommitted), "")
		if err := t1.Commit(ctx); err != nil { // marker 6
			t.Fatal(err)
		}
		if l := e.lso("t", 0); l != 4 {
			t.Fatalf("LSO %d, want 4: t3 is open from there", l)
		}
		wantString(t, "t3 open", e.readIso("t", 0, ReadCommitted), "1a,p,2a,1b")
		e.txnAppend(t2, "t", 0, "2b")         // 7: a second transaction of t2
		if err := t3.Abort(ctx); err != nil { // marker 8
			t.Fatal(err)
		}
		if l := e.lso("t", 0); l != 7 {
			t.Fatalf("LSO %d, want 7", l)
		}
		wantString(t, "t2 open again", e.readIso("t", 0, ReadCommitted), "1a,p,2a,1b")
		if err := t2.Commit(ctx); err != nil {
			t.Fatal(err)
		}
		wantString(t, "all ended", e.readIso("t", 0, ReadCommitted), "1a,p,2a,1b,2b")
		if l, h := e.lso("t", 0), e.hw("t", 0); l != h || h != 10 {
			t.Fatalf("LSO %d, high watermark %d, want both 10", l, h)
		}
	})
}

func TestReaderWaitsForLastStableOffset(t *testing.T) {
	forEachFS(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		e.create("t", 1, nil)
		p := e.producer("w")
		e.txnAppend(p, "t", 0, "x")
		r := e.b.NewReader("t", 0, 0, WithIsolation(ReadCommitted))
		short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
		defer cancel()
		if rec, err := r.Next(short); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("read_committed reader returned %v, %v before the commit", rec, err)
		}
		got := make(chan string, 1)
		go func() {
			rec, err := r.Next(ctx)
			if err != nil {
				got <- err.Error()
				return
			}
			got <- string(rec.Value)
		}()
		if err := p.Commit(ctx); err != nil {
			t.Fatal(err)
		}
		select {
		case v := <-got:
			wantString(t, "after commit", v, "x")
		case <-time.After(10 * time.Second):
			t.Fatal("the reader did not wake at the commit")
		}
	})
}

func TestZombieProducerFenced(t *testing.T) {
	forEachFS(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		e.create("t", 2, nil)
		zombie := e.producer("sink")
		e.txnAppend(zombie, "t", 0, "z1")
		e.txnAppend(zombie, "t", 1, "z2")
		// A batch the zombie built before its successor came, sent after.
		late, err := zombie.Build(TopicPartition{"t", 0}, Record{Value: []byte("z3")})
		if err != nil {
			t.Fatal(err)
		}

		fresh := e.producer("sink")
		if fresh.ID() != zombie.ID() || fresh.Epoch() != zombie.Epoch()+1 {
			t.Fatalf("re-init gave producer %d epoch %d, want %d epoch %d", fresh.ID(), fresh.Epoch(), zombie.ID(), zombie.Epoch()+1)
		}
		// Its open transaction was aborted by the re-init.
		if l, h := e.lso("t", 0), e.hw("t", 0); l != h {
			t.Fatalf("LSO %d, high watermark %d after re-init", l, h)
		}
		if _, err := e.b.Append(ctx, "t", 0, late); !errors.Is(err, ErrProducerFenced) {
			t.Fatalf("zombie append: %v", err)
		}
		if _, err := zombie.Append(ctx, "t", 1, Record{Value: []byte("z4")}); !errors.Is(err, ErrProducerFenced) {
			t.Fatalf("zombie append: %v", err)
		}
		if err := zombie.Commit(ctx); !errors.Is(err, ErrProducerFenced) {
			t.Fatalf("zombie commit: %v", err)
		}
		if err := zombie.Abort(ctx); !errors.Is(err, ErrProducerFenced) {
			t.Fatalf("zombie abort: %v", err)
		}
		e.txnAppend(fresh, "t", 0, "f1")
		if err := fresh.Commit(ctx); err != nil {
			t.Fatal(err)
		}
		wantString(t, "p0", e.readIso("t", 0, ReadCommitted), "f1")
		wantString(t, "p1", e.readIso("t", 1, ReadCommitted), "")
		wantString(t, "p0 uncommitted", e.readIso("t", 0, ReadUncommitted), "z1,f1")
		// Fencing survives a restart.
		e.reopen()
		if err := e.b.CommitTransaction(ctx, "sink", zombie.ID(), zombie.Epoch()); !errors.Is(err, ErrProducerFenced) {
			t.Fatalf("zombie commit after restart: %v", err)
		}
		late2 := append([]byte(nil), late...)
		if _, err := e.b.Append(ctx, "t", 0, late2); !errors.Is(err, ErrProducerFenced) {
			t.Fatalf("zombie append after restart: %v", err)
		}
	})
}

func TestIdempotentRetry(t *testing.T) {
	forEachFS(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		e.create("t", 1, nil)
		for _, id := range []string{"", "txn"} {
			p := e.producer(id)
			tp := TopicPartition{"t", 0}
			b1, _ := p.Build(tp, Record{Value: []byte(id + "a")}, Record{Value: []byte(id + "b")})
			b2, _ := p.Build(tp, Record{Value: []byte(id + "c")})
			first, err := e.b.Append(ctx, "t", 0, append([]byte(nil), b1...))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := e.b.Append(ctx, "t", 0, append([]byte(nil), b2...)); err != nil {
				t.Fatal(err)
			}
			// A retry of a recent batch gets the offsets of the first copy.
			again, err := e.b.Append(ctx, "t", 0, append([]byte(nil), b1...))
			if err != nil {
				t.Fatal(err)
			}
			if again.BaseOffset != first.BaseOffset || again.LastOffset != first.LastOffset {
				t.Fatalf("retry got %d-%d, first copy %d-%d", again.BaseOffset, again.LastOffset, first.BaseOffset, first.LastOffset)
			}
			// A gap in the sequence is refused.
			p.Build(tp, Record{Value: []byte("lost")})
			b4, _ := p.Build(tp, Record{Value: []byte("gap")})
			if _, err := e.b.Append(ctx, "t", 0, b4); !errors.Is(err, ErrOutOfOrderSequence) {
				t.Fatalf("append after a gap: %v", err)
			}
			if id != "" {
				if err := p.Commit(ctx); err != nil {
					t.Fatal(err)
				}
			}
		}
		wantString(t, "log", e.readIso("t", 0, ReadCommitted), "a,b,c,txna,txnb,txnc")
		// Retries are recognized after a restart too: the state is rebuilt
		// from the log.
		e.reopen()
		p := e.producer("")
		tp := TopicPartition{"t", 0}
		b1, _ := p.Build(tp, Record{Value: []byte("r")})
		r1, err := e.b.Append(ctx, "t", 0, append([]byte(nil), b1...))
		if err != nil {
			t.Fatal(err)
		}
		e.reopen()
		r2, err := e.b.Append(ctx, "t", 0, append([]byte(nil), b1...))
		if err != nil || r2 != r1 {
			t.Fatalf("retry after restart: %+v %v, first %+v", r2, err, r1)
		}
		wantString(t, "log", e.readIso("t", 0, ReadCommitted), "a,b,c,txna,txnb,txnc,r")
	})
}

func TestIdempotentRetryWhileInFlight(t *testing.T) {
	e := newEnv(t, vfs.NewMem(), "/data")
	e.create("t", 1, nil)
	p := e.producer("")
	batch, _ := p.Build(TopicPartition{"t", 0}, Record{Value: []byte("v")})
	results := make(chan AppendResult, 2)
	e.b.AppendAsync("t", 0, append([]byte(nil), batch...), func(r AppendResult) { results <- r })
	e.b.AppendAsync("t", 0, append([]byte(nil), batch...), func(r AppendResult) { results <- r })
	a, b := <-results, <-results
	if a.Err != nil || b.Err != nil || a.BaseOffset != b.BaseOffset {
		t.Fatalf("results %+v %+v", a, b)
	}
	wantString(t, "log", e.readIso("t", 0, ReadUncommitted), "v")
}

func TestTransactionOpenAcrossRestart(t *testing.T) {
	forEachFS(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		e.create("t", 2, nil)
		p := e.producer("sink")
		e.txnAppend(p, "t", 0, "a")
		e.txnAppend(p, "t", 1, "b")
		e.reopen()
		// The transaction is still open: it blocks the LSO until its
		// producer decides.
		if l := e.lso("t", 0); l != 0 {
			t.Fatalf("LSO %d after restart, want 0", l)
		}
		ti := e.b.Transactions()
		if len(ti) != 1 || ti[0].State != "Ongoing" || len(ti[0].Partitions) != 2 {
			t.Fatalf("transactions %+v", ti)
		}
		// The producer, restarted, commits it with the id and epoch it had
		// (a sink recovering a pre-committed checkpoint).
		if err := e.b.CommitTransaction(ctx, "sink", p.ID(), p.Epoch()); err != nil {
			t.Fatal(err)
		}
		wantString(t, "p0", e.readIso("t", 0, ReadCommitted), "a")
		wantString(t, "p1", e.readIso("t", 1, ReadCommitted), "b")

		// Or it re-initializes, which aborts it.
		p = e.producer("sink")
		e.txnAppend(p, "t", 0, "c")
		e.reopen()
		p2 := e.producer("sink")
		if p2.Epoch() != p.Epoch()+1 {
			t.Fatalf("epoch %d after %d", p2.Epoch(), p.Epoch())
		}
		if l, h := e.lso("t", 0), e.hw("t", 0); l != h {
			t.Fatalf("LSO %d, high watermark %d", l, h)
		}
		wantString(t, "p0", e.readIso("t", 0, ReadCommitted), "a")
	})
}

func TestTransactionTimeout(t *testing.T) {
	forEachFS(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		e.create("t", 1, nil)
		p := e.producer("slow")
		e.txnAppend(p, "t", 0, "a")
		e.clock.Advance(DefaultTransactionTimeout - time.Second)
		if n, err := e.b.AbortExpiredTransactions(ctx); n != 0 || err != nil {
			t.Fatalf("aborted %d before the timeout: %v", n, err)
		}
		// A restart gives the transaction a whole timeout again.
		e.reopen()
		e.clock.Advance(DefaultTransactionTimeout - time.Second)
		if n, err := e.b.AbortExpiredTransactions(ctx); n != 0 || err != nil {
			t.Fatalf("aborted %d before the timeout: %v", n, err)
		}
		e.clock.Advance(time.Second)
		if n, err := e.b.AbortExpiredTransactions(ctx); n != 1 || err != nil {
			t.Fatalf("aborted %d: %v", n, err)
		}
		if l, h := e.lso("t", 0), e.hw("t", 0); l != h {
			t.Fatalf("LSO %d, high watermark %d", l, h)
		}
		if err := e.b.CommitTransaction(ctx, "slow", p.ID(), p.Epoch()); !errors.Is(err, ErrProducerFenced) {
			t.Fatalf("commit after the timeout: %v", err)
		}
		wantString(t, "committed", e.readIso("t", 0, ReadCommitted), "")
	})
}

func TestCompactionWithTransactions(t *testing.T) {
	forEachFS(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		e.create("kv", 1, map[string]string{"cleanup.policy": "compact", "segment.bytes": "1024"})
		put := func(p *Producer, k, v string) {
			recs := []Record{{Key: []byte(k), Value: []byte(v), Timestamp: e.clock.Now().UnixMilli()}}
			if p == nil {
				if _, err := e.b.AppendRecords(ctx, "kv", 0, recs...); err != nil {
					t.Fatal(err)
				}
				return
			}
			if _, err := p.Append(ctx, "kv", 0, recs...); err != nil {
				t.Fatal(err)
			}
		}
		c, a, o := e.producer("committer"), e.producer("aborter"), e.producer("open")
		put(nil, "k", "k1")
		put(c, "j", "j1")
		put(a, "k", "k-aborted")
		put(a, "new", "new-aborted")
		if err := c.Commit(ctx); err != nil {
			t.Fatal(err)
		}
		if err := a.Abort(ctx); err != nil {
			t.Fatal(err)
		}
		put(o, "j", "j-open") // open: must neither win nor vanish
		for i := range 40 {
			put(nil, fmt.Sprint("fill", i%5), strings.Repeat("x", 50))
		}
		if _, err := e.b.Compact(); err != nil {
			t.Fatal(err)
		}
		// The open transaction holds compaction back from its segment.
		wantString(t, "committed, below the open transaction", e.readIso("kv", 0, ReadCommitted), "k1,j1")
		if got := e.readIso("kv", 0, ReadUncommitted); !strings.Contains(got, "j-open") {
			t.Fatalf("the open transaction's record was removed: %q", got)
		}
		if err := o.Abort(ctx); err != nil {
			t.Fatal(err)
		}
		for i := range 40 {
			put(nil, fmt.Sprint("fill", i%5), strings.Repeat("y", 50))
		}
		if _, err := e.b.Compact(); err != nil {
			t.Fatal(err)
		}
		for _, iso := range []IsolationLevel{ReadCommitted, ReadUncommitted} {
			got := e.readIso("kv", 0, iso)
			if strings.Contains(got, "aborted") || strings.Contains(got, "open") {
				t.Fatalf("%v: aborted records after compaction: %q", iso, got)
			}
			if !strings.HasPrefix(got, "k1,j1,") {
				t.Fatalf("%v: committed values lost to aborted ones: %q", iso, got)
			}
		}
		// The markers are kept, and the result holds after a restart.
		before := e.readIso("kv", 0, ReadCommitted)
		e.reopen()
		wantString(t, "after reopen", e.readIso("kv", 0, ReadCommitted), before)
		if l, h := e.lso("kv", 0), e.hw("kv", 0); l != h {
			t.Fatalf("LSO %d, high watermark %d after reopen", l, h)
		}
	})
}

func TestRetentionKeepsOpenTransaction(t *testing.T) {
	forEachFS(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		e.create("t", 1, map[string]string{"segment.bytes": "1024", "retention.ms": "1000"})
		p := e.producer("long")
		e.txnAppend(p, "t", 0, "first")
		for range 30 {
			e.produce("t", 0, e.clock.Now().UnixMilli(), "", strings.Repeat("x", 60))
		}
		e.clock.Advance(time.Hour)
		if err := e.b.EnforceRetention(); err != nil {
			t.Fatal(err)
		}
		if start, _, _ := e.b.Offsets("t", 0); start != 0 {
			t.Fatalf("retention removed the open transaction's start: log starts at %d", start)
		}
		if err := p.Commit(ctx); err != nil {
			t.Fatal(err)
		}
		if err := e.b.EnforceRetention(); err != nil {
			t.Fatal(err)
		}
		if start, _, _ := e.b.Offsets("t", 0); start == 0 {
			t.Fatal("retention removed nothing after the commit")
		}
	})
}

// TestTransactionsModel runs random interleavings of transactional and
// plain appends, commits, aborts, re-initializations and restarts over a
// few partitions, and checks both isolation levels and the LSO against a
// model after every step.
func TestTransactionsModel(t *testing.T) {
	for seed := range uint64(6) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			e := newEnv(t, vfs.NewMem(), "/data")
			testTransactionsModel(t, e, seed)
		})
	}
}

func testTransactionsModel(t *testing.T, e *env, seed uint64) {
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(seed, 7))
	const parts = 3
	e.create("m", parts, map[string]string{"segment.bytes": "2048"})
	type rec struct {
		value string
		txn   int // -1 plain
	}
	var log [parts][]rec        // data records in offset order
	outcome := map[int]string{} // txn -> "commit" / "abort"; absent while open
	type prod struct {
		p   *Producer
		txn int // current transaction number, -1 none
	}
	ids := []string{"p0", "p1", "p2"}
	prods := map[string]*prod{}
	txnSeq := 0
	for _, id := range ids {
		prods[id] = &prod{p: e.producer(id), txn: -1}
	}
	end := func(pr *prod, commit bool) {
		if pr.txn < 0 {
			return
		}
		var err error
		if commit {
			err = pr.p.Commit(ctx)
		} else {
			err = pr.p.Abort(ctx)
		}
		if err != nil {
			t.Fatal(err)
		}
		if pr.txn >= 0 {
			outcome[pr.txn] = map[bool]string{true: "commit", false: "abort"}[commit]
		}
		pr.txn = -1
	}
	check := func(step int) {
		for part := range int32(parts) {
			var unc, com []string
			blocked := false
			for _, r := range log[part] {
				unc = append(unc, r.value)
				o, decided := outcome[r.txn]
				if r.txn >= 0 && !decided {
					blocked = true
				}
				if blocked || r.txn >= 0 && o != "commit" {
					continue
				}
				com = append(com, r.value)
			}
			wantString(t, fmt.Sprintf("step %d partition %d uncommitted", step, part), e.readIso("m", part, ReadUncommitted), strings.Join(unc, ","))
			wantString(t, fmt.Sprintf("step %d partition %d committed", step, part), e.readIso("m", part, ReadCommitted), strings.Join(com, ","))
		}
	}
	for step := range 300 {
		pr := prods[ids[rng.IntN(len(ids))]]
		part := int32(rng.IntN(parts))
		switch op := rng.IntN(20); {
		case op < 9:
			if pr.txn < 0 {
				pr.txn = txnSeq
				txnSeq++
			}
			v := fmt.Sprintf("t%d.%d", pr.txn, step)
			if _, err := pr.p.Append(ctx, "m", part, Record{Value: []byte(v)}); err != nil {
				t.Fatal(err)
			}
			log[part] = append(log[part], rec{v, pr.txn})
		case op < 13:
			v := fmt.Sprintf("p%d", step)
			e.produce("m", part, 0, "", v)
			log[part] = append(log[part], rec{v, -1})
		case op < 16:
			end(pr, true)
		case op < 18:
			end(pr, false)
		case op < 19:
			// Re-initialize: the open transaction is aborted.
			if pr.txn >= 0 {
				outcome[pr.txn] = "abort"
				pr.txn = -1
			}
			pr.p = e.producer(pr.p.TransactionalID())
		default:
			e.reopen()
			for _, pr := range prods {
				// The producers carry on with their ids and epochs.
				q := &Producer{b: e.b, txnID: pr.p.txnID, id: pr.p.id, epoch: pr.p.epoch, seq: pr.p.seq}
				pr.p = q
			}
		}
		check(step)
	}
}
