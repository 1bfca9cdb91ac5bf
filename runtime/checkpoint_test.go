package runtime

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/sluice-sql/sluice/connectors"
	"github.com/sluice-sql/sluice/sql"
	"github.com/sluice-sql/sluice/sql/types"
	"github.com/sluice-sql/sluice/state"
)

// countSource produces rows (k = i mod 7, v = i) for i below n, split i
// mod Count, a few rows a call and slowly enough for checkpoints to come
// in between; its position is the next i.
type countSource struct {
	n, next, stride int64
	first           int64
	mod             int64 // k is i mod this; 7 unless set
}

var countSchema = types.Schema{{Name: "k", Type: types.BigInt()}, {Name: "v", Type: types.BigInt()}}

func newCountSource(n int64, sp connectors.Split) *countSource {
	c := int64(max(sp.Count, 1))
	return &countSource{n: n, next: int64(sp.Index), stride: c, first: int64(sp.Index), mod: 7}
}

func (s *countSource) Open(context.Context) error { return nil }
func (s *countSource) Next(_ context.Context, b *types.Batch, max int) (connectors.SourceStatus, error) {
	time.Sleep(50 * time.Microsecond)
	for k := 0; k < min(max, 20) && s.next < s.n; k++ {
		b.Cols[0].AppendInt(s.next % s.mod)
		b.Cols[1].AppendInt(s.next)
		b.SetLen(b.Len() + 1)
		s.next += s.stride
	}
	st := connectors.SourceStatus{State: connectors.More, EventTime: connectors.NoEventTime}
	if s.next >= s.n {
		st.State = connectors.Done
	}
	return st, nil
}
func (s *countSource) Wait(ctx context.Context) error { return ctx.Err() }
func (s *countSource) Close() error                   { return nil }
func (s *countSource) Position() []connectors.PartitionPosition {
	return []connectors.PartitionPosition{{Partition: int32(s.first), Offset: s.next}}
}
func (s *countSource) Seek(pos []connectors.PartitionPosition) error {
	for _, p := range pos {
		if int64(p.Partition) == s.first {
			s.next = p.Offset
		}
	}
	return nil
}

// txnLog is a fake log with transactions: what txnSinks commit is
// visible in committed, in commit order.
type txnLog struct {
	mu        sync.Mutex
	open      map[string][]string // transactions not ended, by id
	ended     map[string]bool     // committed (true) or aborted (false)
	committed []string
	fenced    map[int]int // sink split → current incarnation
}

func newTxnLog() *txnLog {
	return &txnLog{open: map[string][]string{}, ended: map[string]bool{}, fenced: map[int]int{}}
}

func (l *txnLog) commit(id string) error {
	if ok, done := l.ended[id]; done {
		if !ok {
			return fmt.Errorf("transaction %s was aborted", id)
		}
		return nil
	}
	rows, ok := l.open[id]
	if !ok {
		return fmt.Errorf("no transaction %s", id)
	}
	l.committed = append(l.committed, rows...)
	delete(l.open, id)
	l.ended[id] = true
	return nil
}

// txnSink writes a split's rows into transactions of l, named
// split/incarnation/sequence.
type txnSink struct {
	l           *txnLog
	split, inc  int
	seq         int
	cur         string // the open transaction, "" when none
	newCurAfter bool
}

func (l *txnLog) newSink(sp connectors.Split) (connectors.Sink, error) {
	return &txnSink{l: l, split: sp.Index}, nil
}

func (s *txnSink) Open(context.Context) error {
	s.l.mu.Lock()
	defer s.l.mu.Unlock()
	s.l.fenced[s.split]++
	s.inc = s.l.fenced[s.split]
	return nil
}

func (s *txnSink) txn() string {
	if s.cur == "" {
		s.seq++
		s.cur = fmt.Sprintf("%d/%d/%d", s.split, s.inc, s.seq)
		s.l.open[s.cur] = nil
	}
	return s.cur
}

func (s *txnSink) Write(_ context.Context, b *types.Batch) error {
	s.l.mu.Lock()
	defer s.l.mu.Unlock()
	if s.l.fenced[s.split] != s.inc {
		return errors.New("fenced")
	}
	id := s.txn()
	b.ForEach(func(i int) {
		row := opText[b.Kind(i)]
		for _, c := range b.Cols {
			row += fmt.Sprintf(" %v", c.Value(i))
		}
		s.l.open[id] = append(s.l.open[id], row)
	})
	return nil
}

func (s *txnSink) Flush(context.Context) error { return nil }
func (s *txnSink) Close() error                { return nil }

func (s *txnSink) Recover(_ context.Context, token []byte) error {
	s.l.mu.Lock()
	defer s.l.mu.Unlock()
	if token != nil {
		if err := s.l.commit(string(token)); err != nil {
			return err
		}
	}
	prefix := fmt.Sprintf("%d/", s.split)
	for id := range s.l.open {
		if len(id) > len(prefix) && id[:len(prefix)] == prefix {
			delete(s.l.open, id)
			s.l.ended[id] = false
		}
	}
	return nil
}

func (s *txnSink) PreCommit(context.Context) ([]byte, error) {
	s.l.mu.Lock()
	defer s.l.mu.Unlock()
	return []byte(s.txn()), nil
}

func (s *txnSink) Commit(context.Context) error {
	s.l.mu.Lock()
	defer s.l.mu.Unlock()
	if s.l.fenced[s.split] != s.inc {
		return errors.New("fenced")
	}
	err := s.l.commit(s.cur)
	s.cur = ""
	return err
}

// applyChangelog replays rows "op k sum count" into a table by k, failing
// on a change that does not match the table (a duplicate or a loss).
func applyChangelog(t *testing.T, rows []string) map[string]string {
	t.Helper()
	table := map[string]string{}
	for i, r := range rows {
		var op, k, rest string
		fmt.Sscanf(r, "%s %s", &op, &k)
		rest = r[len(op)+1:]
		switch op {
		case "+I", "+U":
			if _, ok := table[k]; ok {
				t.Fatalf("row %d %q: key %s already has %q", i, r, k, table[k])
			}
			table[k] = rest
		case "-U", "-D":
			if table[k] != rest {
				t.Fatalf("row %d %q: key %s has %q", i, r, k, table[k])
			}
			delete(table, k)
		}
	}
	return table
}

// A job that is killed again and again and restarted from its last
// checkpoint commits exactly the changelog of one run: replaying the
// committed rows in order never meets a duplicate or a gap, and ends at
// the true totals.
func TestCheckpointRecoveryExactlyOnce(t *testing.T) {
	const n = 100000
	dir := t.TempDir()
	l := newTxnLog()
	calls := []sql.AggCall{
		{Fn: "SUM", Arg: 1, T: types.BigInt()},
		{Fn: "COUNT", Arg: -1, T: types.BigInt().WithNotNull(true)},
	}
	pipeline := func(db *state.DB) Pipeline {
		return Pipeline{
			Name: "ck", Parallelism: 2, State: db, StateCacheBytes: 16 << 10,
			CheckpointInterval: 5 * time.Millisecond,
			NewSink:            l.newSink,
			Stages: []Stage{
				{Name: "src", Schema: countSchema,
					NewSource: func(sp connectors.Split) (connectors.Source, error) { return newCountSource(n, sp), nil }},
				{Name: "agg", Schema: countSchema, Inputs: []StageInput{{Stage: 0, Kind: ExchangeHash, Keys: []int{0}}},
					Operators: []OperatorSpec{GroupAggregateSpec("agg", 1, countSchema, []int{0}, calls, false)}},
			},
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	restarts := 0
	for {
		db, err := state.Open(dir, state.Options{})
		if err != nil {
			t.Fatal(err)
		}
		j, err := NewJob(pipeline(db))
		if err != nil {
			t.Fatal(err)
		}
		if err := j.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		// Kill it at a random moment after its first checkpoint of this
		// run, 20 times.
		killed := false
		for restarts < 20 {
			if _, completed, _ := j.Checkpoints(); completed > 0 {
				time.Sleep(time.Duration(rng.IntN(8000)) * time.Microsecond)
				j.Cancel()
				killed = true
				break
			}
			select {
			case <-j.Done():
			case <-time.After(200 * time.Microsecond):
				continue
			}
			break
		}
		err = j.Wait()
		db.Close()
		if killed {
			restarts++
			continue
		}
		if err != nil {
			t.Fatalf("job: %v", err)
		}
		_, completed, _ := j.Checkpoints()
		t.Logf("finished after %d restarts; the last run took %d checkpoints", restarts, completed)
		break
	}
	if restarts < 20 {
		t.Fatalf("only %d restarts: the test did not test recovery", restarts)
	}
	l.mu.Lock()
	rows := append([]string(nil), l.committed...)
	l.mu.Unlock()
	table := applyChangelog(t, rows)
	want := map[string]string{}
	for k := range int64(7) {
		var sum, cnt int64
		for i := k; i < n; i += 7 {
			sum += i
			cnt++
		}
		want[fmt.Sprint(k)] = fmt.Sprintf("%d %d %d", k, sum, cnt)
	}
	var got, exp []string
	for k, v := range table {
		got = append(got, k+": "+v)
	}
	for k, v := range want {
		exp = append(exp, k+": "+v)
	}
	sort.Strings(got)
	sort.Strings(exp)
	if fmt.Sprint(got) != fmt.Sprint(exp) {
		t.Fatalf("final table\n%v\nwant\n%v", got, exp)
	}

	// A run of the finished job only commits its last transactions
	// again: nothing more is written.
	db, err := state.Open(dir, state.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	j, err := NewJob(pipeline(db))
	if err != nil {
		t.Fatal(err)
	}
	if err := j.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := j.Wait(); err != nil {
		t.Fatal(err)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.committed) != len(rows) {
		t.Fatalf("the finished job's rerun committed %d more rows", len(l.committed)-len(rows))
	}
}

// A checkpoint of state far larger than the state cache: 20,000 groups
// through a 16 KiB cache, so that checkpoints commit entries the stores
// spilled and groups are read back from Badger. Killed and restarted ten
// times, the job commits the changelog of one run.
func TestCheckpointStateBeyondCache(t *testing.T) {
	const n, groups = 200000, 20000
	const cache = 16 << 10
	dir := t.TempDir()
	l := newTxnLog()
	calls := []sql.AggCall{{Fn: "SUM", Arg: 1, T: types.BigInt()}, {Fn: "COUNT", Arg: -1, T: types.BigInt().WithNotNull(true)}}
	pipeline := func(db *state.DB) Pipeline {
		return Pipeline{
			Name: "big", Parallelism: 2, State: db, StateCacheBytes: cache,
			CheckpointInterval: 40 * time.Millisecond,
			NewSink:            l.newSink,
			Stages: []Stage{
				{Name: "src", Schema: countSchema, NewSource: func(sp connectors.Split) (connectors.Source, error) {
					s := newCountSource(n, sp)
					s.mod = groups
					return s, nil
				}},
				{Name: "agg", Schema: countSchema, Inputs: []StageInput{{Stage: 0, Kind: ExchangeHash, Keys: []int{0}}},
					Operators: []OperatorSpec{GroupAggregateSpec("agg", 1, countSchema, []int{0}, calls, false)}},
			},
		}
	}
	var largest int64 // the most a checkpoint wrote
	kills := 0
	for {
		db, err := state.Open(dir, state.Options{CacheBytes: cache})
		if err != nil {
			t.Fatal(err)
		}
		j, err := NewJob(pipeline(db))
		if err != nil {
			t.Fatal(err)
		}
		if err := j.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		// Kill it after its first checkpoint of this run, ten times.
		killed := false
		for kills < 10 && !killed {
			if last, _, _ := j.Checkpoints(); last != nil {
				largest = max(largest, last.Bytes)
				j.Cancel()
				killed = true
				break
			}
			select {
			case <-j.Done():
			case <-time.After(200 * time.Microsecond):
				continue
			}
			break
		}
		err = j.Wait()
		if last, _, _ := j.Checkpoints(); last != nil {
			largest = max(largest, last.Bytes)
		}
		db.Close()
		if killed {
			kills++
			continue
		}
		if err != nil {
			t.Fatalf("job: %v", err)
		}
		t.Logf("%d kills; the largest checkpoint wrote %d bytes", kills, largest)
		break
	}
	if kills < 5 {
		t.Fatalf("only %d kills: the test did not test recovery", kills)
	}
	if largest < 2*cache {
		t.Fatalf("the largest checkpoint wrote %d bytes, not far beyond the %d-byte cache: the test did not test spilled state", largest, cache)
	}
	l.mu.Lock()
	rows := append([]string(nil), l.committed...)
	l.mu.Unlock()
	table := applyChangelog(t, rows)
	if len(table) != groups {
		t.Fatalf("%d groups, want %d", len(table), groups)
	}
	for k := range int64(groups) {
		var sum, cnt int64
		for i := k; i < n; i += groups {
			sum += i
			cnt++
		}
		if got, want := table[fmt.Sprint(k)], fmt.Sprintf("%d %d %d", k, sum, cnt); got != want {
			t.Fatalf("group %d: %q, want %q", k, got, want)
		}
	}
}
