package runtime

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/sluice-sql/sluice/broker"
	"github.com/sluice-sql/sluice/connectors/nexmark"
	"github.com/sluice-sql/sluice/sql"
	"github.com/sluice-sql/sluice/sql/types"
)

func newTestEngine(t *testing.T, parallelism int) (*Engine, *broker.Broker) {
	t.Helper()
	b, err := broker.Open(t.TempDir(), broker.Options{})
	if err != nil {
		t.Fatal(err)
	}
	e, err := NewEngine(EngineOptions{Broker: b, Parallelism: parallelism})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		e.Close()
		b.Close()
	})
	return e, b
}

// acceptanceScript is issue 3's acceptance job. OUT is a reserved word in
// the MySQL grammar (as in Calcite), so the sink's name is quoted.
func acceptanceScript(events int) string {
	return fmt.Sprintf(`
CREATE TABLE bids (auction BIGINT, bidder BIGINT, price BIGINT, channel STRING, url STRING,
  date_time TIMESTAMP(3), extra STRING)
WITH ('connector'='nexmark', 'nexmark.table'='bid', 'nexmark.events'='%d');
CREATE TABLE "out" (auction BIGINT, price DECIMAL(23,3))
WITH ('connector'='log', 'topic'='out', 'format'='json');
INSERT INTO "out" SELECT auction, 0.908 * price FROM bids WHERE MOD(auction, 123) = 0;
`, events)
}

// expectedBids computes the acceptance query's rows straight from the
// generator, as the JSON the log sink writes: {"auction":A,"price":P}.
func expectedBids(t *testing.T, events int64) []string {
	t.Helper()
	g, err := nexmark.New(nexmark.Config{MaxEvents: events}, nexmark.TableBid)
	if err != nil {
		t.Fatal(err)
	}
	schema := nexmark.TableBid.Schema()
	auction, price := schema.Index("auction"), schema.Index("price")
	b := types.NewBatch(schema, 1024)
	var want []string
	for {
		p := g.Next(b, 1024)
		for i := range b.Len() {
			a := b.Cols[auction].Ints[i]
			if a%123 != 0 {
				continue
			}
			// 0.908 * price is exact with three decimals: price*908/1000.
			m := b.Cols[price].Ints[i] * 908
			want = append(want, fmt.Sprintf(`{"auction":%d,"price":%d.%03d}`, a, m/1000, m%1000))
		}
		if p.Done {
			return want
		}
	}
}

// topicValues reads every record value of topic, normalized through
// encoding/json (numbers kept as written) so that field spacing does not
// matter.
func topicValues(t *testing.T, b *broker.Broker, topic string) []string {
	t.Helper()
	n, err := b.Partitions(topic)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for p := range int32(n) {
		r := b.NewReader(topic, p, 0)
		for {
			rec, ok, err := r.TryNext()
			if err != nil {
				t.Fatal(err)
			}
			if !ok {
				break
			}
			var buf bytes.Buffer
			if err := json.Compact(&buf, rec.Value); err != nil {
				t.Fatalf("record %d: %v: %q", rec.Offset, err, rec.Value)
			}
			got = append(got, buf.String())
		}
	}
	return got
}

func TestEngineAcceptance(t *testing.T) {
	const events = 100_000
	e, b := newTestEngine(t, 4)
	ctx := context.Background()
	res, err := e.Exec(ctx, acceptanceScript(events))
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 3 {
		t.Fatalf("got %d results, want 3: %+v", len(res), res)
	}
	ins := res[2]
	if ins.JobID == "" || !ins.Bounded {
		t.Fatalf("INSERT result %+v: want a bounded job", ins)
	}
	if err := e.Wait(ctx, ins.JobID); err != nil {
		t.Fatal(err)
	}
	if st, _ := e.JobStatus(ins.JobID); st != Finished {
		t.Fatalf("job status %v, want finished", st)
	}
	want := expectedBids(t, events)
	got := topicValues(t, b, "out")
	if len(want) == 0 {
		t.Fatal("the generator gave no matching bids: the test cannot fail")
	}
	slices.Sort(want)
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Fatalf("topic out has %d records, want %d; first got %q, first want %q",
			len(got), len(want), got[:min(3, len(got))], want[:min(3, len(want))])
	}
}

func TestEngineSelectBounded(t *testing.T) {
	e, _ := newTestEngine(t, 2)
	ctx := context.Background()
	res, err := e.Exec(ctx, acceptanceScript(20_000)+`
SELECT auction, price FROM bids WHERE MOD(auction, 123) = 0;
SHOW TABLES;`)
	if err != nil {
		t.Fatal(err)
	}
	sel := res[3]
	want := expectedBids(t, 20_000)
	if len(sel.Rows) != len(want) || len(sel.Columns) != 2 {
		t.Fatalf("SELECT gave %d rows of %s, want %d rows", len(sel.Rows), sel.Columns, len(want))
	}
	show := res[4]
	var names []string
	for _, r := range show.Rows {
		names = append(names, r[0].(string))
	}
	if got := strings.Join(names, ","); got != "bids,out" {
		t.Fatalf("SHOW TABLES = %s, want bids,out", got)
	}
}

func TestEngineErrors(t *testing.T) {
	tests := []struct {
		name, script string
		want         string // the error's first line
	}{
		{
			name:   "typo in a column",
			script: `INSERT INTO "out" SELECT auction, 0.908 * pricee FROM bids;`,
			want:   `ERROR: line 9:43: unknown column "pricee" (did you mean "price"?)`,
		},
		{
			name:   "unknown sink",
			script: `INSERT INTO outt SELECT auction, price FROM bids;`,
			want:   `ERROR: line 9:13: unknown table "outt" (did you mean "out"?)`,
		},
		{
			name:   "column count",
			script: `INSERT INTO "out" SELECT auction FROM bids;`,
			want:   `ERROR: line 9:26: the query has 1 columns but table out has 2: (auction BIGINT, price DECIMAL(23,3))`,
		},
		{
			name:   "column type",
			script: `INSERT INTO "out" SELECT auction, url FROM bids;`,
			want:   `ERROR: line 9:35: column 2 is STRING, which cannot be written to out.price DECIMAL(23,3)`,
		},
		{
			name:   "too many integer digits",
			script: `INSERT INTO "out" SELECT auction, price * 10000.5 FROM bids;`,
			want:   `ERROR: line 9:35: column 2 is DECIMAL(25,1), which cannot be written to out.price DECIMAL(23,3)`,
		},
		{
			name:   "drop unknown",
			script: `DROP TABLE bidz;`,
			want:   `ERROR: line 9:12: unknown table "bidz" (did you mean "bids"?)`,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e, _ := newTestEngine(t, 1)
			script := acceptanceScript(1000)
			script = script[:strings.Index(script, "INSERT")] + "\n\n" + tc.script
			_, err := e.Exec(context.Background(), script)
			var se *sql.Error
			if !errors.As(err, &se) {
				t.Fatalf("error %v (%T), want a *sql.Error", err, err)
			}
			if got, _, _ := strings.Cut(se.Error(), "\n"); got != tc.want {
				t.Fatalf("got  %s\nwant %s", got, tc.want)
			}
		})
	}
}

func TestEngineDropIfExists(t *testing.T) {
	e, _ := newTestEngine(t, 1)
	res, err := e.Exec(context.Background(), acceptanceScript(10)[:strings.Index(acceptanceScript(10), "INSERT")]+
		`DROP TABLE IF EXISTS nope; DROP TABLE bids; SHOW TABLES;`)
	if err != nil {
		t.Fatal(err)
	}
	if rows := res[len(res)-1].Rows; len(rows) != 1 || rows[0][0] != "out" {
		t.Fatalf("SHOW TABLES after DROP = %v, want [[out]]", rows)
	}
}

// CURRENT_TIMESTAMP reads the engine's clock, not the wall clock, and a
// filter on it is evaluated per batch, never folded at plan time.
func TestEngineClock(t *testing.T) {
	at := time.Date(2030, 5, 6, 7, 8, 9, 123_456_000, time.UTC)
	e, err := NewEngine(EngineOptions{Parallelism: 2, Now: func() time.Time { return at }})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	rs, err := e.Exec(context.Background(), `
CREATE TABLE one (id BIGINT) WITH ('connector'='datagen', 'fields.id.kind'='sequence', 'fields.id.start'='1', 'fields.id.end'='3');
SELECT id, NOW(), CURRENT_TIMESTAMP > TIMESTAMP '2030-01-01 00:00:00' FROM one WHERE NOW() < TIMESTAMP '2031-01-01 00:00:00'`)
	if err != nil {
		t.Fatal(err)
	}
	rows := rs[len(rs)-1].Rows
	if len(rows) != 3 {
		t.Fatalf("got %d rows, want 3: %v", len(rows), rows)
	}
	for _, r := range rows {
		if got := types.Text(r[1], types.Timestamp(3)); got != "2030-05-06 07:08:09.123" {
			t.Errorf("NOW() = %s, want 2030-05-06 07:08:09.123", got)
		}
		if r[2] != true {
			t.Errorf("CURRENT_TIMESTAMP > 2030-01-01 = %v, want true", r[2])
		}
	}
}

// Run streams a SELECT over an unbounded source as a push query: rows
// arrive while it runs, and the end of the callback stops it. Exec, which
// collects, refuses it with a positioned error.
func TestEnginePushQuery(t *testing.T) {
	checkNoLeak(t)
	e, err := NewEngine(EngineOptions{Parallelism: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	ctx := context.Background()
	if _, err := e.Exec(ctx, `CREATE TABLE live (auction BIGINT, bidder BIGINT, price BIGINT, channel STRING, url STRING,
  date_time TIMESTAMP(3), extra STRING) WITH ('connector'='nexmark', 'nexmark.table'='bid')`); err != nil {
		t.Fatal(err)
	}
	_, err = e.Exec(ctx, "SELECT auction FROM live")
	var se *sql.Error
	if !errors.As(err, &se) || se.Column != 21 || !strings.Contains(se.Msg, "table live is unbounded") {
		t.Fatalf("Exec of an unbounded SELECT: %v", err)
	}

	var got int
	var stream *RowStream
	err = e.Run(ctx, "SELECT auction, price * 2 FROM live WHERE price > 0", func(r Result) error {
		if r.Stream == nil || r.Bounded || len(r.Columns) != 2 {
			return fmt.Errorf("result %+v: want an unbounded stream of 2 columns", r)
		}
		stream = r.Stream
		for got < 50_000 {
			rows, err := r.Stream.Next(ctx)
			if err != nil {
				return err
			}
			for _, row := range rows {
				if row[1].(int64) <= 0 {
					return fmt.Errorf("row %v: the filter let price <= 0 through", row)
				}
			}
			got += len(rows)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// Returning from the callback stopped the query.
	if _, err := stream.Next(ctx); !errors.Is(err, ErrCancelled) {
		t.Fatalf("Next after the callback: %v, want ErrCancelled", err)
	}

	// A context that ends stops a push query too, and Next says why.
	cctx, cancel := context.WithCancel(ctx)
	err = e.Run(cctx, "SELECT auction FROM live", func(r Result) error {
		if _, err := r.Stream.Next(cctx); err != nil {
			return err
		}
		cancel()
		for {
			if _, err := r.Stream.Next(ctx); err != nil {
				return err
			}
		}
	})
	if !errors.Is(err, ErrCancelled) && !errors.Is(err, context.Canceled) {
		t.Fatalf("push query after cancel: %v", err)
	}
}

// A bad connector option is reported where it is written.
func TestCreateTableOptionErrorPosition(t *testing.T) {
	e, err := NewEngine(EngineOptions{Parallelism: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	for _, tc := range []struct {
		sql  string
		line int
		col  int
		msg  string
	}{
		{"CREATE TABLE t (a BIGINT)\nWITH ('connector'='nexmark', 'nexmark.event'='5')", 2, 30, `has no option "nexmark.event"`},
		{"CREATE TABLE t (a BIGINT) WITH ('connector' = 'kafkaa')", 1, 47, `unknown connector "kafkaa"`},
		{"CREATE TABLE t (a BIGINT) WITH ('format'='json')", 1, 14, `missing 'connector'`},
	} {
		_, err := e.Exec(context.Background(), tc.sql)
		var se *sql.Error
		if !errors.As(err, &se) || se.Line != tc.line || se.Column != tc.col || !strings.Contains(se.Msg, tc.msg) {
			t.Errorf("%s:\n got %v\nwant %s at %d:%d", tc.sql, err, tc.msg, tc.line, tc.col)
		}
	}
}

// A grouped SELECT streams its changelog, led by the op column; Collect
// applies it.
func TestEngineUpdatingStream(t *testing.T) {
	e, err := NewEngine(EngineOptions{Parallelism: 2, BatchSize: 3})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	ctx := context.Background()
	if _, err := e.Exec(ctx, `CREATE TABLE s (id BIGINT) WITH ('connector'='datagen', 'fields.id.kind'='sequence', 'fields.id.start'='1', 'fields.id.end'='20')`); err != nil {
		t.Fatal(err)
	}
	var ops []string
	err = e.Run(ctx, "SELECT MOD(id, 2) AS k, COUNT(*) AS n FROM s GROUP BY MOD(id, 2)", func(r Result) error {
		if r.Stream == nil || !r.Stream.Updating || r.Columns[0].Name != "op" || len(r.Stream.TableColumns) != 2 {
			return fmt.Errorf("result %+v: want an updating stream led by op", r)
		}
		for {
			rows, err := r.Stream.Next(ctx)
			if err != nil {
				if errors.Is(err, io.EOF) {
					return nil
				}
				return err
			}
			for _, row := range rows {
				ops = append(ops, row[0].(string))
			}
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	// Two groups: each starts with +I; with batches of 3 rows, later
	// batches update them with -U/+U pairs.
	if n := strings.Count(strings.Join(ops, " "), "+I"); n != 2 || !slices.Contains(ops, "-U") || !slices.Contains(ops, "+U") {
		t.Fatalf("ops %v", ops)
	}
	res, err := e.Exec(ctx, "SELECT MOD(id, 2) AS k, COUNT(*) AS n FROM s GROUP BY MOD(id, 2)")
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(res[0].Rows); got != "[[1 10] [0 10]]" && got != "[[0 10] [1 10]]" {
		t.Fatalf("collected %s", got)
	}
	if len(res[0].Columns) != 2 {
		t.Fatalf("columns %s", res[0].Columns)
	}
}

// An updating result into a table with a primary key is an upsert topic:
// compacted, keyed by the key, with the latest row per key last, and a
// tombstone for a key whose group is gone.
func TestUpsertSink(t *testing.T) {
	e, b := newTestEngine(t, 2)
	ctx := context.Background()
	_, err := e.Exec(ctx, `
CREATE TABLE s (id BIGINT) WITH ('connector'='datagen', 'fields.id.kind'='sequence', 'fields.id.start'='1', 'fields.id.end'='30');
CREATE TABLE counts (k BIGINT, n BIGINT, PRIMARY KEY (k) NOT ENFORCED) WITH ('connector'='log', 'topic'='counts', 'format'='json');
SET 'execution.batch-size' = '4';
INSERT INTO counts SELECT MOD(id, 3), COUNT(*) FROM s GROUP BY MOD(id, 3)`)
	if err != nil {
		t.Fatal(err)
	}
	res, _ := e.Exec(ctx, "SHOW JOBS")
	if err := e.Wait(ctx, res[0].Rows[0][0].(string)); err != nil {
		t.Fatal(err)
	}
	info, err := b.DescribeTopic("counts")
	if err != nil {
		t.Fatal(err)
	}
	if info.Config.CleanupPolicy != broker.PolicyCompact {
		t.Errorf("cleanup.policy %q, want compact", info.Config.CleanupPolicy)
	}
	// The last record of each key holds its final count.
	last := map[string]string{}
	n := 0
	r := b.NewReader("counts", 0, 0)
	for {
		rec, ok, err := r.TryNext()
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			break
		}
		n++
		last[string(rec.Key)] = string(rec.Value)
	}
	want := map[string]string{`{"k":0}`: `{"k":0,"n":10}`, `{"k":1}`: `{"k":1,"n":10}`, `{"k":2}`: `{"k":2,"n":10}`}
	if fmt.Sprint(last) != fmt.Sprint(want) {
		t.Fatalf("latest per key %v, want %v", last, want)
	}
	if n <= 3 {
		t.Errorf("%d records: the counts should have been updated along the way", n)
	}
}

// Late rows a window drops show in the job's metrics: a source whose
// event time jumps back past the watermark.
func TestLateRowsMetric(t *testing.T) {
	e, _ := newTestEngine(t, 1)
	ctx := context.Background()
	dir := t.TempDir()
	path := dir + "/ev.json"
	var lines []string
	for i, sec := range []int{0, 1, 20, 2, 3, 40} { // 2 and 3 come after the watermark passed 10
		lines = append(lines, fmt.Sprintf(`{"id":%d,"ts":"2024-01-01 00:00:%02d"}`, i, sec))
	}
	if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	res, err := e.Exec(ctx, fmt.Sprintf(`
CREATE TABLE ev (id BIGINT, ts TIMESTAMP(3), WATERMARK FOR ts AS ts) WITH ('connector'='file', 'path'='%s', 'format'='json');
CREATE TABLE out1 (n BIGINT) WITH ('connector'='blackhole');
SET 'execution.batch-size' = '1';
INSERT INTO out1 SELECT COUNT(*) FROM TUMBLE(ev, ts, INTERVAL '10' SECOND) GROUP BY window_start, window_end`, path))
	if err != nil {
		t.Fatal(err)
	}
	id := res[len(res)-1].JobID
	if err := e.Wait(ctx, id); err != nil {
		t.Fatal(err)
	}
	m, _ := e.JobMetrics(id)
	var late int64
	for _, s := range m {
		late += s.LateRows
	}
	if late != 2 {
		t.Fatalf("late rows %d, want 2: %+v", late, m)
	}
}

// An empty partition of a topic holds the watermark back, so no window
// fires, until source.idle-timeout marks it idle.
func TestIdleTimeoutReleasesWindows(t *testing.T) {
	e, b := newTestEngine(t, 1)
	ctx := context.Background()
	if err := b.CreateTopic("ev", 2, nil); err != nil {
		t.Fatal(err)
	}
	var recs []broker.Record
	for sec := range 30 {
		recs = append(recs, broker.Record{Value: fmt.Appendf(nil, `{"id":%d,"ts":"2024-01-01 00:00:%02d"}`, sec, sec)})
	}
	if _, err := b.AppendRecords(ctx, "ev", 0, recs...); err != nil { // partition 1 stays empty
		t.Fatal(err)
	}
	if _, err := e.Exec(ctx, `CREATE TABLE ev (id BIGINT, ts TIMESTAMP(3), WATERMARK FOR ts AS ts)
WITH ('connector'='log', 'topic'='ev', 'format'='json', 'scan.startup.mode'='earliest-offset')`); err != nil {
		t.Fatal(err)
	}
	firstRow := func(timeout time.Duration) bool {
		ctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		got := false
		err := e.Run(ctx, "SELECT window_start, COUNT(*) FROM TUMBLE(ev, ts, INTERVAL '10' SECOND) GROUP BY window_start, window_end", func(r Result) error {
			rows, err := r.Stream.Next(ctx)
			got = err == nil && len(rows) > 0
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	if firstRow(500 * time.Millisecond) {
		t.Fatal("a window fired while an empty partition held the watermark back")
	}
	if _, err := e.Exec(ctx, `SET 'source.idle-timeout' = '100ms'`); err != nil {
		t.Fatal(err)
	}
	if !firstRow(10 * time.Second) {
		t.Fatal("no window fired after the empty partition went idle")
	}
}

// A GROUP BY whose state is many times its cache bound: the groups spill
// to Badger and come back, and every count is right.
func TestGroupStateBeyondCache(t *testing.T) {
	if testing.Short() {
		t.Skip("large state")
	}
	e, err := NewEngine(EngineOptions{Parallelism: 2, StateDir: t.TempDir(), StateCacheBytes: 256 << 10})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	// 400,000 rows over 100,000 keys, each key 4 times, in batches that
	// revisit every key long after it left the cache.
	res, err := e.Exec(context.Background(), `
CREATE TABLE s (id BIGINT) WITH ('connector'='datagen', 'fields.id.kind'='sequence', 'fields.id.start'='0', 'fields.id.end'='399999');
SELECT k, COUNT(*) AS n, SUM(id) AS total FROM (SELECT MOD(id, 100000) AS k, id FROM s) AS x GROUP BY k`)
	if err != nil {
		t.Fatal(err)
	}
	rows := res[len(res)-1].Rows
	if len(rows) != 100_000 {
		t.Fatalf("%d groups, want 100000", len(rows))
	}
	for _, r := range rows {
		k := r[0].(int64)
		if r[1].(int64) != 4 || r[2].(int64) != 4*k+600_000 {
			t.Fatalf("group %v: want n=4, total=%d", r, 4*k+600_000)
		}
	}
	// The state is far beyond the bound: 100,000 groups of some 50 bytes
	// of key and value each (plus the cache's own bookkeeping) against
	// 256 KiB per instance.
}

// A query naming a materialized view's key is answered from the view's
// index in its running job's state; other queries read a snapshot of its
// topic.
func TestMaterializedViewLookup(t *testing.T) {
	e, b := newTestEngine(t, 2)
	e.opts.StateDir = t.TempDir()
	ctx := context.Background()
	if err := b.CreateTopic("in", 2, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Exec(ctx, `
CREATE TABLE src (k BIGINT, v BIGINT) WITH ('connector'='log', 'topic'='in', 'format'='json');
CREATE MATERIALIZED VIEW totals AS SELECT k, COUNT(*) AS n, SUM(v) AS total FROM src GROUP BY k`); err != nil {
		t.Fatal(err)
	}
	appendRows := func(rows ...string) {
		var recs []broker.Record
		for _, r := range rows {
			recs = append(recs, broker.Record{Value: []byte(r)})
		}
		if _, err := b.AppendRecords(ctx, "in", 0, recs...); err != nil {
			t.Fatal(err)
		}
	}
	lookup := func(q string) [][]any {
		res, err := e.Exec(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		return res[0].Rows
	}
	// eventually polls until the lookup gives want.
	eventually := func(q, want string) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			got := fmt.Sprint(lookup(q))
			if got == want {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: %s, want %s", q, got, want)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	appendRows(`{"k":1,"v":10}`, `{"k":2,"v":5}`, `{"k":1,"v":7}`)
	eventually("SELECT k, n, total FROM totals WHERE k = 1", "[[1 2 17]]")
	eventually("SELECT * FROM totals WHERE k = 2", "[[2 1 5]]")
	appendRows(`{"k":1,"v":3}`)
	eventually("SELECT total * 2 AS twice FROM totals WHERE k = 1", "[[40]]")
	// A key with no row, and a condition beyond the key.
	if rows := lookup("SELECT * FROM totals WHERE k = 3"); len(rows) != 0 {
		t.Errorf("k = 3: %v", rows)
	}
	if rows := lookup("SELECT * FROM totals WHERE k = 1 AND total > 100"); len(rows) != 0 {
		t.Errorf("k = 1 AND total > 100: %v", rows)
	}
	// Those were answered from the index; a query not naming the key
	// reads a snapshot of the view's topic instead.
	served := e.lookups.Load()
	if served == 0 {
		t.Fatal("no query was answered from the view's index")
	}
	eventually("SELECT k, n FROM totals WHERE n > 1", "[[1 3]]")
	if e.lookups.Load() != served {
		t.Error("a query not naming the key was answered from the index")
	}
}

// A query of a materialized view without its key reads the view's current
// contents: a snapshot of its topic, while its job runs on.
func TestMaterializedViewSnapshot(t *testing.T) {
	e, b := newTestEngine(t, 2)
	e.opts.StateDir = t.TempDir()
	ctx := context.Background()
	if err := b.CreateTopic("in", 1, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Exec(ctx, `
CREATE TABLE src (k BIGINT, v BIGINT) WITH ('connector'='log', 'topic'='in', 'format'='json');
CREATE MATERIALIZED VIEW totals AS SELECT k, SUM(v) AS total FROM src GROUP BY k`); err != nil {
		t.Fatal(err)
	}
	if _, err := b.AppendRecords(ctx, "in", 0, broker.Record{Value: []byte(`{"k":1,"v":10}`)}, broker.Record{Value: []byte(`{"k":2,"v":5}`)},
		broker.Record{Value: []byte(`{"k":1,"v":7}`)}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		res, err := e.Exec(ctx, "SELECT k, total FROM totals WHERE total > 0")
		if err != nil {
			t.Fatal(err)
		}
		got := res[0].Rows
		sort.Slice(got, func(i, j int) bool { return got[i][0].(int64) < got[j][0].(int64) })
		if fmt.Sprint(got) == "[[1 17] [2 5]]" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("snapshot %v, want [[1 17] [2 5]]", got)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if st, _ := e.JobStatus("j-1"); st != Running {
		t.Errorf("the view's job is %s, want running", st)
	}
}

// A processing-time window closes on time with no more input: the
// source's clock moves on while it waits.
func TestProcTimeWindowClosesWithoutInput(t *testing.T) {
	e, b := newTestEngine(t, 1)
	ctx := context.Background()
	if err := b.CreateTopic("pin", 1, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Exec(ctx, `
CREATE TABLE pin (k BIGINT) WITH ('connector'='log', 'topic'='pin', 'format'='json');
CREATE VIEW pv AS SELECT k, PROCTIME() AS pt FROM pin`); err != nil {
		t.Fatal(err)
	}
	if _, err := b.AppendRecords(ctx, "pin", 0, broker.Record{Value: []byte(`{"k":1}`)}, broker.Record{Value: []byte(`{"k":1}`)}); err != nil {
		t.Fatal(err)
	}
	rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	var got [][]any
	err := e.Run(rctx, "SELECT k, COUNT(*) FROM TUMBLE(pv, pt, INTERVAL '1' SECOND) GROUP BY k, window_start, window_end", func(r Result) error {
		rows, err := r.Stream.Next(rctx)
		got = rows
		return err
	})
	if err != nil {
		t.Fatalf("no window closed: %v", err)
	}
	if fmt.Sprint(got) != "[[1 2]]" {
		t.Fatalf("rows %v, want [[1 2]]", got)
	}
}
