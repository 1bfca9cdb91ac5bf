package runtime

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sluice-sql/sluice/broker"
	logconn "github.com/sluice-sql/sluice/connectors/log"
)

// supervised is an engine with state and checkpoints on a data directory
// that can be opened again, as a server's is.
type supervised struct {
	t   *testing.T
	dir string
	b   *broker.Broker
	e   *Engine
}

func newSupervised(t *testing.T) *supervised {
	t.Helper()
	s := &supervised{t: t, dir: t.TempDir()}
	s.open()
	t.Cleanup(func() { s.close(false) })
	return s
}

func (s *supervised) open() {
	s.t.Helper()
	b, err := broker.Open(filepath.Join(s.dir, "log"), broker.Options{MaintenanceInterval: -1, TransactionTimeout: logconn.RecommendedTransactionTimeout})
	if err != nil {
		s.t.Fatal(err)
	}
	e, err := NewEngine(EngineOptions{Broker: b, Parallelism: 2, StateDir: filepath.Join(s.dir, "state"),
		ResumeJobs: true, CheckpointInterval: 50 * time.Millisecond})
	if err != nil {
		b.Close()
		s.t.Fatal(err)
	}
	s.b, s.e = b, e
}

// close closes the engine: gracefully (a final checkpoint) or not.
func (s *supervised) close(graceful bool) {
	if s.e == nil {
		return
	}
	if graceful {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := s.e.Shutdown(ctx); err != nil {
			s.t.Errorf("shutdown: %v", err)
		}
	} else {
		s.e.Close()
	}
	s.b.Close()
	s.e, s.b = nil, nil
}

func (s *supervised) exec(script string) {
	s.t.Helper()
	if _, err := s.e.Exec(context.Background(), script); err != nil {
		s.t.Fatalf("%s: %v", script, err)
	}
}

// waitJob waits until job id's status is want.
func (s *supervised) waitJob(id, want string) JobInfo {
	s.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		in, err := s.e.JobInfo(id)
		if err != nil {
			s.t.Fatal(err)
		}
		if in.Status == want {
			return in
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("job %s: status %s (error %q), want %s", id, in.Status, in.Error, want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// waitRestarts waits until job id has restarted n times and runs.
func (s *supervised) waitRestarts(id string, n int) JobInfo {
	s.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		in, err := s.e.JobInfo(id)
		if err != nil {
			s.t.Fatal(err)
		}
		if in.Restarts == n && in.Status == "running" {
			return in
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("job %s: %d restarts, status %s (error %q), want %d restarts", id, in.Restarts, in.Status, in.Error, n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// waitCheckpoints waits until job id has completed n more checkpoints
// than it had.
func (s *supervised) waitCheckpoints(id string, n int64) {
	s.t.Helper()
	in, err := s.e.JobInfo(id)
	if err != nil {
		s.t.Fatal(err)
	}
	from := in.CheckpointsCompleted
	deadline := time.Now().Add(30 * time.Second)
	for in.CheckpointsCompleted < from+n {
		if time.Now().After(deadline) {
			s.t.Fatalf("job %s: %d checkpoints in 30s (status %s, error %q)", id, in.CheckpointsCompleted-from, in.Status, in.Error)
		}
		time.Sleep(5 * time.Millisecond)
		if in, err = s.e.JobInfo(id); err != nil {
			s.t.Fatal(err)
		}
	}
}

// committedIDs reads the "id" of every committed record of topic.
func committedIDs(t *testing.T, b *broker.Broker, topic string) []int64 {
	t.Helper()
	n, err := b.Partitions(topic)
	if err != nil {
		t.Fatal(err)
	}
	var ids []int64
	for p := range int32(n) {
		r := b.NewReader(topic, p, 0, broker.WithIsolation(broker.ReadCommitted))
		for {
			rec, ok, err := r.TryNext()
			if err != nil {
				t.Fatal(err)
			}
			if !ok {
				break
			}
			var row struct{ ID int64 }
			if err := json.Unmarshal(rec.Value, &row); err != nil {
				t.Fatalf("%s/%d@%d: %v", topic, p, rec.Offset, err)
			}
			ids = append(ids, row.ID)
		}
	}
	slices.Sort(ids)
	return ids
}

// wantExactly checks ids are 1..n, each once.
func wantExactly(t *testing.T, ids []int64, n int64) {
	t.Helper()
	var dup, missing []int64
	seen := make(map[int64]int, n)
	for _, id := range ids {
		seen[id]++
		if seen[id] == 2 {
			dup = append(dup, id)
		}
	}
	for id := int64(1); id <= n; id++ {
		if seen[id] == 0 {
			missing = append(missing, id)
		}
	}
	if len(dup) > 0 || len(missing) > 0 || len(ids) != int(n) {
		t.Fatalf("%d rows, want 1..%d once each: %d duplicated (first %v), %d missing (first %v)",
			len(ids), n, len(dup), dup[:min(len(dup), 5)], len(missing), missing[:min(len(missing), 5)])
	}
}

const supervisedTables = `
CREATE TABLE src (id BIGINT) WITH ('connector'='datagen', 'fields.id.kind'='sequence',
  'fields.id.start'='1', 'fields.id.end'='%d', 'rows-per-second'='%d');
CREATE TABLE sink (id BIGINT) WITH ('connector'='log', 'topic'='out', 'format'='json');
`

// A server's jobs outlive it: closed, gracefully or not, and opened
// again, the engine resumes its job from its checkpoint, and the
// exactly-once log sink's committed rows are one run's.
func TestEngineResumesJobs(t *testing.T) {
	const rows = 4000
	s := newSupervised(t)
	s.exec(fmt.Sprintf(supervisedTables, rows, 4000) + `INSERT INTO sink SELECT id FROM src;`)
	for i := range 6 {
		s.waitCheckpoints("j-1", 2)
		if i == 0 {
			checkShowJobs(t, s.e)
		}
		s.close(i%2 == 0)
		s.open()
		if st := s.waitJob("j-1", "running"); st.Statement != "INSERT INTO sink SELECT id FROM src" {
			t.Fatalf("resumed job: %+v", st)
		}
	}
	s.waitJob("j-1", "finished")
	wantExactly(t, committedIDs(t, s.b, "out"), rows)

	// A job that ended is not resumed; the next job gets the next id.
	s.close(true)
	s.open()
	if _, err := s.e.JobInfo("j-1"); !errors.Is(err, ErrUnknownJob) {
		t.Fatalf("ended job after a restart: %v, want unknown", err)
	}
	s.exec(`INSERT INTO sink SELECT id FROM src WHERE id <= 10;`)
	if in := s.waitJob("j-2", "finished"); in.Error != "" {
		t.Fatal(in.Error)
	}
}

// A job that fails restarts from its last checkpoint, as often as its
// restart strategy allows, and its committed output is one run's.
func TestEngineRestartsFailedJob(t *testing.T) {
	const rows = 3000
	s := newSupervised(t)
	s.exec(fmt.Sprintf(supervisedTables, rows, 3000) + `
SET 'restart.strategy' = 'fixed-delay';
SET 'restart.delay' = '10ms';
SET 'restart.attempts' = '3';
INSERT INTO sink SELECT id FROM src;`)
	ej, err := s.e.job("j-1")
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		s.waitCheckpoints("j-1", 2)
		ej.job().fail(fmt.Errorf("injected failure %d", i+1))
		in := s.waitRestarts("j-1", i+1)
		if !strings.Contains(in.Error, fmt.Sprintf("injected failure %d", i+1)) {
			t.Fatalf("after failure %d: restarts %d, error %q", i+1, in.Restarts, in.Error)
		}
	}
	in := s.waitJob("j-1", "finished")
	if in.Restarts != 3 || in.Error == "" {
		t.Errorf("finished job: %d restarts, last error %q", in.Restarts, in.Error)
	}
	wantExactly(t, committedIDs(t, s.b, "out"), rows)

	// With no restarts left a failure ends the job.
	s.exec(`SET 'restart.attempts' = '0';
CREATE TABLE sink2 (id BIGINT) WITH ('connector'='log', 'topic'='out2', 'format'='json');
INSERT INTO sink2 SELECT id FROM src;`)
	ej, err = s.e.job("j-2")
	if err != nil {
		t.Fatal(err)
	}
	s.waitCheckpoints("j-2", 1)
	ej.job().fail(errors.New("injected failure 4"))
	<-ej.Done()
	if err := ej.Wait(); err == nil || !strings.Contains(err.Error(), "injected failure 4") {
		t.Fatalf("job with no restarts left: %v", err)
	}
	if in := s.waitJob("j-2", "failed"); in.Restarts != 0 {
		t.Fatalf("restarts %d, want 0", in.Restarts)
	}
}

// checkShowJobs checks SHOW JOBS shows job j-1's last checkpoint.
func checkShowJobs(t *testing.T, e *Engine) {
	t.Helper()
	res, err := e.Exec(context.Background(), "SHOW JOBS")
	if err != nil {
		t.Fatal(err)
	}
	r := res[0]
	var names []string
	for _, c := range r.Columns {
		names = append(names, c.Name)
	}
	if got := strings.Join(names, " "); got != "id status restarts checkpoint checkpoint_ms alignment_ms checkpoint_bytes statement" {
		t.Fatalf("SHOW JOBS columns: %s", got)
	}
	row := r.Rows[0]
	id, _ := row[3].(int64)
	ms, _ := row[4].(int64)
	bytes, _ := row[6].(int64)
	if row[0] != "j-1" || id < 2 || ms < 0 || bytes <= 0 {
		t.Errorf("SHOW JOBS after 2 checkpoints: %v", row)
	}
}

func TestParseRestartStrategy(t *testing.T) {
	for _, c := range []struct {
		kind, attempts, delay, max string
		want                       []time.Duration // the delays, then none
		err                        string
	}{
		{kind: "none", want: nil},
		{kind: "fixed-delay", attempts: "2", delay: "5s", want: []time.Duration{5 * time.Second, 5 * time.Second}},
		{kind: "", attempts: "4", delay: "1s", max: "3s", want: []time.Duration{time.Second, 2 * time.Second, 3 * time.Second, 3 * time.Second}},
		{kind: "sometimes", err: "want none, fixed-delay or exponential-delay"},
		{kind: "fixed-delay", attempts: "x", err: "restart.attempts"},
	} {
		r, err := parseRestartStrategy(c.kind, c.attempts, c.delay, c.max)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%+v: error %v, want %q", c, err, c.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%+v: %v", c, err)
			continue
		}
		var got []time.Duration
		for i := 0; ; i++ {
			d, ok := r.next(i)
			if !ok {
				break
			}
			got = append(got, d)
		}
		if !slices.Equal(got, c.want) {
			t.Errorf("%+v: delays %v, want %v", c, got, c.want)
		}
	}
	if r, _ := parseRestartStrategy("exponential-delay", "-1", "", ""); func() bool { _, ok := r.next(1000); return !ok }() {
		t.Error("restart.attempts -1: want no limit")
	}
}

// A recorded job whose state is gone is not resumed: it would run again
// from the start and write its output twice.
func TestEngineDoesNotResumeWithoutState(t *testing.T) {
	s := newSupervised(t)
	s.exec(fmt.Sprintf(supervisedTables, 100000, 1000) + `INSERT INTO sink SELECT id FROM src;`)
	s.waitCheckpoints("j-1", 1)
	s.close(true)
	if err := os.RemoveAll(filepath.Join(s.dir, "state", "j-1")); err != nil {
		t.Fatal(err)
	}
	s.open()
	if _, err := s.e.JobInfo("j-1"); !errors.Is(err, ErrUnknownJob) {
		t.Fatalf("job without its state: %v, want not resumed", err)
	}
}
