package runtime

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/sluice-sql/sluice/broker"
	"github.com/sluice-sql/sluice/sql"
)

// restartable is a data directory with a broker and an engine over it that
// a test can close and reopen, as `sluice run` does from one run to the
// next.
type restartable struct {
	t   *testing.T
	dir string
	b   *broker.Broker
	e   *Engine
}

func newRestartable(t *testing.T) *restartable {
	t.Helper()
	r := &restartable{t: t, dir: t.TempDir()}
	r.openBroker()
	r.openEngine()
	t.Cleanup(r.close)
	return r
}

func (r *restartable) openBroker() {
	r.t.Helper()
	b, err := broker.Open(r.dir, broker.Options{MaintenanceInterval: -1})
	if err != nil {
		r.t.Fatal(err)
	}
	r.b = b
}

func (r *restartable) openEngine() {
	r.t.Helper()
	e, err := NewEngine(EngineOptions{Broker: r.b, Parallelism: 2})
	if err != nil {
		r.t.Fatal(err)
	}
	r.e = e
}

func (r *restartable) close() {
	if r.e != nil {
		r.e.Close()
		r.e = nil
	}
	if r.b != nil {
		r.b.Close()
		r.b = nil
	}
}

func (r *restartable) restart() {
	r.t.Helper()
	r.close()
	r.openBroker()
	r.openEngine()
}

func (r *restartable) exec(script string) []Result {
	r.t.Helper()
	res, err := r.e.Exec(context.Background(), script)
	if err != nil {
		r.t.Fatalf("%s: %v", script, err)
	}
	return res
}

func (r *restartable) tables() []string {
	r.t.Helper()
	res := r.exec("SHOW TABLES")
	var names []string
	for _, row := range res[0].Rows {
		names = append(names, row[0].(string))
	}
	return names
}

func (r *restartable) lookup(name string) *sql.Table {
	r.e.mu.Lock()
	defer r.e.mu.Unlock()
	t, _ := r.e.mu.catalog.Lookup(name)
	return t
}

const catalogScript = `
CREATE TABLE Bids (auction BIGINT, bidder BIGINT, price BIGINT, channel STRING, url STRING,
  date_time TIMESTAMP(3), extra STRING,
  WATERMARK FOR date_time AS date_time - INTERVAL '4' SECOND)
WITH ('connector'='nexmark', 'nexmark.table'='bid', 'nexmark.events'='1000');
CREATE TABLE people (id BIGINT NOT NULL, name STRING, PRIMARY KEY (id) NOT ENFORCED)
WITH ('connector'='log', 'topic'='people', 'format'='json');
CREATE TABLE gone (a BIGINT) WITH ('connector'='log', 'topic'='gone', 'format'='json');
DROP TABLE gone;
`

func TestCatalogSurvivesRestart(t *testing.T) {
	r := newRestartable(t)
	r.exec(catalogScript)
	before := map[string]*sql.Table{"bids": r.lookup("bids"), "people": r.lookup("people")}
	r.restart()

	if got, want := r.tables(), []string{"Bids", "people"}; !slices.Equal(got, want) {
		t.Fatalf("tables after restart: %q, want %q", got, want)
	}
	for name, want := range before {
		got := r.lookup(name)
		if !reflect.DeepEqual(got, want) {
			t.Errorf("table %s after restart:\n got %+v\nwant %+v", name, got, want)
		}
	}
	if w := r.lookup("bids").Watermark; w == nil || w.Column != "date_time" || w.Expr != "date_time - INTERVAL '4' SECOND" {
		t.Errorf("watermark after restart: %+v", w)
	}
	if pk := r.lookup("people").PrimaryKey; !slices.Equal(pk, []string{"id"}) {
		t.Errorf("primary key after restart: %q", pk)
	}
	// A later run uses what an earlier one declared: 1000 nexmark events
	// hold 920 bids (the proportions are 1:3:46).
	res := r.exec("SELECT auction, price FROM bids")
	if n := len(res[0].Rows); n != 920 {
		t.Errorf("SELECT after restart: %d rows, want 920", n)
	}
	// CREATE of a name the log holds is refused after a restart too.
	if _, err := r.e.Exec(context.Background(), "CREATE TABLE BIDS (a BIGINT) WITH ('connector'='file')"); err == nil ||
		!strings.Contains(err.Error(), `table "BIDS" already exists`) {
		t.Errorf("CREATE of an existing table after restart: %v", err)
	}
}

func TestCatalogDropSurvivesRestart(t *testing.T) {
	r := newRestartable(t)
	r.exec(catalogScript)
	r.exec("DROP TABLE people, BIDS")
	r.restart()
	if got := r.tables(); len(got) != 0 {
		t.Fatalf("tables after drop and restart: %q", got)
	}
	// The name is free again, with a new definition.
	r.exec("CREATE TABLE people (id BIGINT, email STRING) WITH ('connector'='log', 'topic'='p2', 'format'='csv')")
	r.restart()
	p := r.lookup("people")
	if p == nil || len(p.Schema) != 2 || p.Schema[1].Name != "email" || p.Options["topic"] != "p2" || p.PrimaryKey != nil {
		t.Fatalf("people after re-create and restart: %+v", p)
	}
}

func TestCatalogCompaction(t *testing.T) {
	r := &restartable{t: t, dir: t.TempDir()}
	t.Cleanup(r.close)
	r.openBroker()
	// Small segments, so that the log rolls and the cleaner has sealed
	// segments to compact; the engine finds the topic already there.
	if err := r.b.CreateInternalTopic(CatalogTopic, 1, map[string]string{
		"cleanup.policy": "compact", "segment.bytes": "1024", "delete.retention.ms": "0",
	}); err != nil {
		t.Fatal(err)
	}
	r.openEngine()
	r.exec(catalogScript)
	for i := range 40 {
		r.exec(fmt.Sprintf("DROP TABLE people; CREATE TABLE people (id BIGINT, v%d STRING) WITH ('connector'='log', 'topic'='p%d', 'format'='json')", i, i))
		r.exec(fmt.Sprintf("CREATE TABLE t%d (a BIGINT) WITH ('connector'='file'); DROP TABLE t%d", i, i))
	}
	want := map[string]*sql.Table{"bids": r.lookup("bids"), "people": r.lookup("people")}
	_, endBefore, err := r.b.Offsets(CatalogTopic, 0)
	if err != nil {
		t.Fatal(err)
	}
	st, err := r.b.Compact()
	if err != nil {
		t.Fatal(err)
	}
	if st.RecordsRemoved == 0 {
		t.Fatalf("compaction removed nothing from %d records: %+v", endBefore, st)
	}
	r.restart()
	if got := r.tables(); !slices.Equal(got, []string{"Bids", "people"}) {
		t.Fatalf("tables after compaction and restart: %q", got)
	}
	for name, w := range want {
		if got := r.lookup(name); !reflect.DeepEqual(got, w) {
			t.Errorf("table %s after compaction and restart:\n got %+v\nwant %+v", name, got, w)
		}
	}
}

func TestCatalogBadRecord(t *testing.T) {
	for _, tc := range []struct {
		name, value, want string
	}{
		{"not json", `{"version":1,`, "unexpected end of JSON input"},
		{"version", `{"version":2,"create":"CREATE TABLE bad (a BIGINT)"}`, "version 2"},
		{"syntax", `{"version":1,"create":"CREATE TABLE bad (a BIGINT"}`, "line 1"},
		{"not create", `{"version":1,"create":"SHOW TABLES"}`, "not a CREATE TABLE or CREATE VIEW"},
		{"other name", `{"version":1,"create":"CREATE TABLE other (a BIGINT)"}`, `creates table "other"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRestartable(t)
			r.exec("CREATE TABLE good (a BIGINT) WITH ('connector'='file')")
			if _, err := r.b.AppendRecords(context.Background(), CatalogTopic, 0,
				broker.Record{Key: []byte("bad"), Value: []byte(tc.value)}); err != nil {
				t.Fatal(err)
			}
			r.e.Close()
			r.e = nil
			_, err := NewEngine(EngineOptions{Broker: r.b})
			if !errors.Is(err, ErrBadCatalogRecord) {
				t.Fatalf("got %v, want ErrBadCatalogRecord", err)
			}
			for _, want := range []string{`table "bad"`, "__catalog offset 1", tc.want} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not say %q", err, want)
				}
			}
		})
	}
}

func TestMemCatalogWithoutBroker(t *testing.T) {
	e, err := NewEngine(EngineOptions{Parallelism: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	res, err := e.Exec(context.Background(), "CREATE TABLE a (x BIGINT) WITH ('connector'='file'); DROP TABLE a, A; SHOW TABLES")
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 3 || len(res[2].Rows) != 0 {
		t.Fatalf("results: %+v", res)
	}
}

// A view survives a restart with its columns, even when a table it reads
// was re-created after it (so the log holds the view's record first).
func TestCatalogViewSurvivesRestart(t *testing.T) {
	r := newRestartable(t)
	r.exec(`
CREATE TABLE s (id BIGINT) WITH ('connector'='datagen', 'fields.id.kind'='sequence', 'fields.id.start'='1', 'fields.id.end'='4');
CREATE VIEW v (n, twice) AS SELECT id, id * 2 FROM s WHERE id > 1;
DROP TABLE s;
CREATE TABLE s (id BIGINT) WITH ('connector'='datagen', 'fields.id.kind'='sequence', 'fields.id.start'='1', 'fields.id.end'='5');`)
	before := r.lookup("v")
	r.restart()
	got := r.lookup("v")
	if !reflect.DeepEqual(got, before) {
		t.Fatalf("view after restart:\n got %+v\nwant %+v", got, before)
	}
	res := r.exec("SELECT n, twice FROM v")
	var sum int64
	for _, row := range res[0].Rows {
		sum += row[1].(int64)
	}
	if len(res[0].Rows) != 4 || sum != 2*(2+3+4+5) {
		t.Errorf("SELECT from the view after restart: %v", res[0].Rows)
	}
}

// A materialized view's table survives a restart: its columns, key and
// options, so its topic reads back as before.
func TestCatalogMaterializedViewSurvivesRestart(t *testing.T) {
	r := newRestartable(t)
	res := r.exec(`
CREATE TABLE s (id BIGINT) WITH ('connector'='datagen', 'fields.id.kind'='sequence', 'fields.id.start'='1', 'fields.id.end'='9');
CREATE MATERIALIZED VIEW m WITH ('scan.bounded'='true') AS SELECT MOD(id, 3) AS k, COUNT(*) AS n FROM s GROUP BY MOD(id, 3)`)
	if err := r.e.Wait(context.Background(), res[len(res)-1].JobID); err != nil {
		t.Fatal(err)
	}
	before := r.lookup("m")
	r.restart()
	if got := r.lookup("m"); !reflect.DeepEqual(got, before) {
		t.Fatalf("after restart:\n got %+v\nwant %+v", got, before)
	}
	rows := r.exec("SELECT k, n FROM m")[0].Rows
	if len(rows) != 3 {
		t.Fatalf("rows %v", rows)
	}
	for _, row := range rows {
		if row[1].(int64) != 3 {
			t.Fatalf("rows %v", rows)
		}
	}
}
