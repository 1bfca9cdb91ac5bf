package runtime

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sluice-sql/sluice/broker"
)

// upsertTable reads the committed upsert topic as a table: the last
// value of each key, without the deleted ones.
func upsertTable(t *testing.T, b *broker.Broker, topic string) map[string]string {
	t.Helper()
	table, _ := upsertTopic(t, b, topic)
	return table
}

// upsertTopic is upsertTable, with the first value of each key too.
func upsertTopic(t *testing.T, b *broker.Broker, topic string) (table, first map[string]string) {
	t.Helper()
	first = map[string]string{}
	n, err := b.Partitions(topic)
	if err != nil {
		t.Fatal(err)
	}
	table = map[string]string{}
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
			if rec.Value == nil {
				delete(table, string(rec.Key))
				continue
			}
			var row map[string]any
			if err := json.Unmarshal(rec.Value, &row); err != nil {
				t.Fatal(err)
			}
			k := fmt.Sprint(row["k"])
			table[k] = fmt.Sprint(row["n"])
			if _, ok := first[k]; !ok {
				first[k] = table[k]
			}
		}
	}
	return table, first
}

const savepointTables = `
CREATE TABLE src (id BIGINT) WITH ('connector'='datagen', 'fields.id.kind'='sequence',
  'fields.id.start'='1', 'fields.id.end'='3000', 'rows-per-second'='3000');
CREATE TABLE counts (k BIGINT, n BIGINT, PRIMARY KEY (k) NOT ENFORCED)
  WITH ('connector'='log', 'topic'='counts', 'format'='json');
CREATE TABLE counts2 (k BIGINT, n BIGINT, PRIMARY KEY (k) NOT ENFORCED)
  WITH ('connector'='log', 'topic'='counts2', 'format'='json');
`

// STOP JOB ... WITH SAVEPOINT writes the job's state and positions; a
// job started from it, with a filter added to the query, goes on from
// there: its counts are of every row, once. A query whose state does not
// fit the savepoint is refused.
func TestSavepointStopAndStart(t *testing.T) {
	s := newSupervised(t)
	s.exec(savepointTables + `INSERT INTO counts SELECT MOD(id, 5) AS k, COUNT(*) AS n FROM src GROUP BY MOD(id, 5);`)
	s.waitCheckpoints("j-1", 3)
	res, err := s.e.Exec(context.Background(), "STOP JOB 'j-1' WITH SAVEPOINT")
	if err != nil {
		t.Fatal(err)
	}
	path := res[0].Savepoint
	if !strings.HasPrefix(res[0].Message, "stopped job j-1 with savepoint "+path) || path == "" {
		t.Fatalf("STOP JOB WITH SAVEPOINT: %q", res[0].Message)
	}
	for _, f := range []string{savepointMetaFile, savepointStateFile} {
		if _, err := os.Stat(filepath.Join(path, f)); err != nil {
			t.Fatal(err)
		}
	}
	if in := s.waitJob("j-1", "cancelled"); in.Error != "" {
		t.Fatalf("stopped job: %+v", in)
	}
	// What the stopped job committed is a part of the counts.
	before := upsertTable(t, s.b, "counts")
	total := 0
	for _, v := range before {
		var n int
		fmt.Sscan(v, &n)
		total += n
	}
	if total == 0 || total >= 3000 {
		t.Fatalf("the job stopped at %d of 3000 rows: %v", total, before)
	}

	// Incompatible: another aggregate.
	_, err = s.e.Exec(context.Background(), fmt.Sprintf(`SET 'execution.savepoint.path' = '%s';
INSERT INTO counts2 SELECT MOD(id, 5) AS k, SUM(id) AS n FROM src GROUP BY MOD(id, 5);`, path))
	if err == nil || !strings.Contains(err.Error(), "does not fit the query") || !strings.Contains(err.Error(), "COUNT(*)") {
		t.Fatalf("an incompatible query from the savepoint: %v", err)
	}
	// Compatible: a filter added (true of every row, so the counts come
	// out whole).
	s.exec(`INSERT INTO counts2 SELECT MOD(id, 5) AS k, COUNT(*) AS n FROM src WHERE id > 0 GROUP BY MOD(id, 5);`)
	in := s.waitJob("j-2", "finished")
	if in.Error != "" {
		t.Fatal(in.Error)
	}
	got, first := upsertTopic(t, s.b, "counts2")
	want := map[string]string{"0": "600", "1": "600", "2": "600", "3": "600", "4": "600"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("counts from the savepoint on: %v, want %v", got, want)
	}
	// It went on from the savepoint's counts, not from the start.
	for k, v := range first {
		var n, was int
		fmt.Sscan(v, &n)
		fmt.Sscan(before[k], &was)
		if n <= was {
			t.Errorf("key %s: the job from the savepoint first wrote %d, want more than the savepoint's %d", k, n, was)
		}
	}

	// Dropping what no operator claims, when asked to.
	s.exec(`SET 'execution.savepoint.ignore-unclaimed-state' = 'true';
INSERT INTO counts2 SELECT MOD(id, 5) AS k, SUM(id) AS n FROM src GROUP BY MOD(id, 5);`)
	if in := s.waitJob("j-3", "finished"); in.Error != "" {
		t.Fatal(in.Error)
	}

	_, err = s.e.Exec(context.Background(), `SET 'execution.savepoint.path' = '/nonexistent/sp';
INSERT INTO counts2 SELECT MOD(id, 5) AS k, COUNT(*) AS n FROM src GROUP BY MOD(id, 5);`)
	if err == nil || !strings.Contains(err.Error(), "no such savepoint") {
		t.Fatalf("a missing savepoint: %v", err)
	}
}

// A savepoint of a running job leaves it running; the job's state and
// the engine's API agree.
func TestSavepointOfRunningJob(t *testing.T) {
	s := newSupervised(t)
	s.exec(savepointTables + `INSERT INTO counts SELECT MOD(id, 5) AS k, COUNT(*) AS n FROM src GROUP BY MOD(id, 5);`)
	s.waitCheckpoints("j-1", 1)
	path, err := s.e.Savepoint(context.Background(), "j-1")
	if err != nil {
		t.Fatal(err)
	}
	m, err := readSavepoint(path)
	if err != nil {
		t.Fatal(err)
	}
	if m.Job != "j-1" || len(m.Operators) != 1 || len(m.Sources) != 1 || m.Sources[0] != "src" {
		t.Fatalf("savepoint metadata: %+v", m)
	}
	s.waitJob("j-1", "finished")
	if got := upsertTable(t, s.b, "counts"); fmt.Sprint(got) != "map[0:600 1:600 2:600 3:600 4:600]" {
		t.Fatalf("counts: %v", got)
	}
	if _, err := s.e.Savepoint(context.Background(), "j-1"); err == nil || !strings.Contains(err.Error(), "finished") {
		t.Fatalf("savepoint of a finished job: %v", err)
	}
}
