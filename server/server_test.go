package server

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sluice-sql/sluice/broker"
	"github.com/sluice-sql/sluice/runtime"
	"github.com/sluice-sql/sluice/sql"
)

// fixture is a server over an engine and broker of its own, on a real
// listener, torn down in the order a process would: streams, HTTP,
// engine, broker.
type fixture struct {
	e        *runtime.Engine
	s        *Server
	hs       *httptest.Server
	c        *Client
	stateDir string
	// served counts the requests whose handler has returned.
	served chan string
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	dir := t.TempDir()
	b, err := broker.Open(filepath.Join(dir, "data"), broker.Options{MaintenanceInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	f := &fixture{stateDir: filepath.Join(dir, "state"), served: make(chan string, 100)}
	f.e, err = runtime.NewEngine(runtime.EngineOptions{Broker: b, Parallelism: 2, StateDir: f.stateDir, Stdout: io.Discard})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.e.Close() })
	f.s = New(f.e, b, Options{MaxBodyBytes: 4096})
	h := f.s.Handler()
	f.hs = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.ServeHTTP(w, r)
		select {
		case f.served <- r.Method + " " + r.URL.Path:
		default:
		}
	}))
	t.Cleanup(f.hs.Close)
	t.Cleanup(f.s.Close)
	f.c, err = NewClient(f.hs.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// call sends a request and returns the status and the body.
func (f *fixture) call(t *testing.T, method, path, body string) (int, http.Header, string) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, f.hs.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, string(b)
}

// exec runs statements that must succeed and returns their results.
func (f *fixture) exec(t *testing.T, text string) []Result {
	t.Helper()
	body, _ := json.Marshal(StatementRequest{SQL: text})
	code, _, resp := f.call(t, http.MethodPost, "/v1/statements", string(body))
	if code != http.StatusOK {
		t.Fatalf("%s: %d %s", text, code, resp)
	}
	var sr StatementResponse
	if err := json.Unmarshal([]byte(resp), &sr); err != nil {
		t.Fatalf("%s: %v", resp, err)
	}
	return sr.Results
}

const tables = `CREATE TABLE seq (id BIGINT, name STRING) WITH ('connector'='datagen',
  'fields.id.kind'='sequence', 'fields.id.start'='1', 'fields.id.end'='5', 'fields.name.length'='4');
CREATE TABLE live (id BIGINT) WITH ('connector'='datagen', 'rows-per-second'='200');
CREATE TABLE sink (id BIGINT) WITH ('connector'='blackhole');
CREATE TABLE out1 (id BIGINT, name STRING) WITH ('connector'='log', 'topic'='out1', 'format'='json')`

func TestHealth(t *testing.T) {
	f := newFixture(t)
	code, h, body := f.call(t, http.MethodGet, "/v1/health", "")
	if code != http.StatusOK || body != `{"status":"ok"}`+"\n" || h.Get("Content-Type") != "application/json" {
		t.Errorf("health: %d %s %q", code, h.Get("Content-Type"), body)
	}
	if err := f.c.Health(context.Background()); err != nil {
		t.Error(err)
	}
}

// Statements that are not a SELECT answer one document, a result per
// statement: messages, result sets with typed columns, job ids.
func TestStatements(t *testing.T) {
	f := newFixture(t)
	res := f.exec(t, tables+";\nSHOW TABLES;\nINSERT INTO sink SELECT id FROM seq")
	if len(res) != 6 {
		t.Fatalf("%d results: %+v", len(res), res)
	}
	if res[0].Message != "created table seq" || !strings.HasPrefix(res[0].Statement, "CREATE TABLE seq (id BIGINT") {
		t.Errorf("first result: %+v", res[0])
	}
	show := res[4]
	if !slices.Equal(show.Columns, []Column{{Name: "name", Type: "STRING"}}) || len(show.Rows) != 4 || string(show.Rows[0][0]) != `"live"` {
		t.Errorf("SHOW TABLES: %+v", show)
	}
	ins := res[5]
	if ins.JobID != "j-1" || !ins.Bounded || ins.Message != "started job j-1" || ins.Columns != nil {
		t.Errorf("INSERT: %+v", ins)
	}
	if err := f.e.Wait(context.Background(), "j-1"); err != nil {
		t.Fatal(err)
	}

	// The raw shape, as a client in another language sees it.
	code, _, body := f.call(t, http.MethodPost, "/v1/statements", `{"sql": "SHOW TABLES; STOP JOB 'j-1'"}`)
	want := `{"results":[{"statement":"SHOW TABLES","columns":[{"name":"name","type":"STRING"}],"rows":[["live"],["out1"],["seq"],["sink"]]},{"statement":"STOP JOB 'j-1'","message":"stopped job j-1"}]}` + "\n"
	if code != http.StatusOK || body != want {
		t.Errorf("got %d\n%s\nwant\n%s", code, body, want)
	}
}

// Every bad request gets a 4xx and a JSON error that says what is wrong,
// with the position of an error in the SQL.
func TestBadRequests(t *testing.T) {
	f := newFixture(t)
	f.exec(t, tables)
	for _, c := range []struct {
		name, method, path, body string
		code                     int
		message                  string // a substring
		line, column             int
	}{
		{"malformed JSON", "POST", "/v1/statements", `{"sql": `, 400, "malformed JSON body", 0, 0},
		{"not an object", "POST", "/v1/statements", `["SELECT 1"]`, 400, "malformed JSON body", 0, 0},
		{"two values", "POST", "/v1/statements", `{"sql": "SHOW TABLES"} {}`, 400, "more than one JSON value", 0, 0},
		{"unknown field", "POST", "/v1/statements", `{"sq1": "SHOW TABLES"}`, 400, `unknown field "sq1"`, 0, 0},
		{"empty body", "POST", "/v1/statements", ``, 400, "empty request body", 0, 0},
		{"missing sql", "POST", "/v1/statements", `{}`, 400, `missing sql: want {"sql": "..."}`, 0, 0},
		{"blank sql", "POST", "/v1/statements", `{"sql": "  -- nothing\n"}`, 400, "no statement", 0, 0},
		{"properties", "POST", "/v1/statements", `{"sql": "SHOW TABLES", "properties": {"parallelism.default": "1"}}`, 400, "properties are not supported", 0, 0},
		{"too large", "POST", "/v1/statements", `{"sql": "` + strings.Repeat("-", 5000) + `"}`, 413, "larger than 4096 bytes", 0, 0},
		{"unknown column", "POST", "/v1/statements", `{"sql": "SHOW TABLES;\nSELECT id,\n  namee FROM seq"}`, 400, `unknown column "namee" (did you mean "name"?)`, 3, 3},
		{"syntax error", "POST", "/v1/statements", `{"sql": "SHOW TABLES;\nCREATE TABEL x (a INT)"}`, 400, `syntax error at or near "TABEL"`, 2, 8},
		{"select not last", "POST", "/v1/statements", `{"sql": "CREATE TABLE t2 (a INT) WITH ('connector'='blackhole'); SELECT id FROM seq; SHOW TABLES"}`, 400, "a SELECT must be the last statement", 1, 57},
		{"error in a command", "POST", "/v1/statements", `{"sql": "STOP JOB 'j-9'"}`, 400, `unknown job "j-9"`, 1, 10},
		{"unknown job", "GET", "/v1/jobs/j-9", "", 404, `unknown job "j-9"`, 0, 0},
		{"stop unknown job", "DELETE", "/v1/jobs/j-9", "", 404, `unknown job "j-9"`, 0, 0},
		{"savepoint unknown job", "POST", "/v1/jobs/j-9/savepoint", "", 404, `unknown job "j-9"`, 0, 0},
		{"bad savepoint flag", "DELETE", "/v1/jobs/j-9?savepoint=maybe", "", 400, "savepoint=\"maybe\": want true or false", 0, 0},
		{"bad internal flag", "GET", "/v1/topics?internal=2", "", 400, "want true or false", 0, 0},
		{"wrong method", "GET", "/v1/statements", "", 405, "method GET is not allowed on /v1/statements: use POST", 0, 0},
		{"wrong method on a job", "PUT", "/v1/jobs/j-1", "", 405, "use DELETE or GET or HEAD", 0, 0},
		{"unknown path", "GET", "/v2/jobs", "", 404, "no endpoint /v2/jobs", 0, 0},
		{"trailing slash", "GET", "/v1/jobs/j-1/", "", 404, "no endpoint", 0, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			code, h, body := f.call(t, c.method, c.path, c.body)
			if code != c.code {
				t.Errorf("status %d, want %d: %s", code, c.code, body)
			}
			if ct := h.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q", ct)
			}
			var er ErrorResponse
			if err := json.Unmarshal([]byte(body), &er); err != nil {
				t.Fatalf("%v: %s", err, body)
			}
			if !strings.Contains(er.Error.Message, c.message) {
				t.Errorf("message %q, want it to hold %q", er.Error.Message, c.message)
			}
			if er.Error.Line != c.line || er.Error.Column != c.column || (er.Error.Position != nil) != (c.line > 0) {
				t.Errorf("error at %d:%d (position %v), want %d:%d", er.Error.Line, er.Error.Column, er.Error.Position, c.line, c.column)
			}
			if code == 405 && h.Get("Allow") == "" {
				t.Error("405 without Allow")
			}
		})
	}
	// The request whose SELECT was not last ran nothing.
	for _, r := range f.exec(t, "SHOW TABLES")[0].Rows {
		if string(r[0]) == `"t2"` {
			t.Error("t2 was created by a request that was refused")
		}
	}
}

// A statement that fails after others ran reports them with the error:
// their effects stay.
func TestStatementFailsMidway(t *testing.T) {
	f := newFixture(t)
	code, _, body := f.call(t, http.MethodPost, "/v1/statements",
		`{"sql": "CREATE TABLE a (x INT) WITH ('connector'='blackhole');\nCREATE TABLE a (x INT) WITH ('connector'='blackhole')"}`)
	var er ErrorResponse
	if err := json.Unmarshal([]byte(body), &er); err != nil {
		t.Fatal(err)
	}
	if code != 400 || er.Error.Message != `table "a" already exists` || er.Error.Line != 2 || er.Error.Column != 14 || *er.Error.Position != 68 {
		t.Errorf("%d %s", code, body)
	}
	if len(er.Results) != 1 || er.Results[0].Message != "created table a" {
		t.Errorf("results before the failure: %+v", er.Results)
	}
}

func TestJobs(t *testing.T) {
	f := newFixture(t)
	f.exec(t, tables)
	f.exec(t, "INSERT INTO sink SELECT id FROM seq")
	if err := f.e.Wait(context.Background(), "j-1"); err != nil {
		t.Fatal(err)
	}
	f.exec(t, "INSERT INTO sink SELECT id FROM live WHERE id >= 0")

	code, _, body := f.call(t, http.MethodGet, "/v1/jobs", "")
	var jr JobsResponse
	if err := json.Unmarshal([]byte(body), &jr); code != 200 || err != nil {
		t.Fatalf("%d %v %s", code, err, body)
	}
	if len(jr.Jobs) != 2 || jr.Jobs[0].ID != "j-1" || jr.Jobs[0].Status != "finished" || !jr.Jobs[0].Bounded ||
		jr.Jobs[1].ID != "j-2" || jr.Jobs[1].Status != "running" || jr.Jobs[1].Bounded ||
		jr.Jobs[1].Statement != "INSERT INTO sink SELECT id FROM live WHERE id >= 0" {
		t.Errorf("jobs: %s", body)
	}
	// The raw form names the stages in the API's style.
	var raw map[string]any
	_, _, body = f.call(t, http.MethodGet, "/v1/jobs/j-1", "")
	if err := json.Unmarshal([]byte(body), &raw); err != nil {
		t.Fatal(err)
	}
	stages, _ := raw["stages"].([]any)
	if len(stages) == 0 || raw["id"] != "j-1" || raw["status"] != "finished" {
		t.Fatalf("job: %s", body)
	}
	last := stages[len(stages)-1].(map[string]any)
	if last["name"] != "sink" || last["rows_in"] != 5.0 {
		t.Errorf("last stage: %v", last)
	}

	// A savepoint: the engine takes it or says it cannot (409); the job
	// runs on either way.
	code, _, body = f.call(t, http.MethodPost, "/v1/jobs/j-2/savepoint", "")
	checkSavepoint(t, code, body)
	if j, err := f.c.Job(context.Background(), "j-2"); err != nil || j.Status != "running" {
		t.Errorf("after a savepoint: %+v, %v", j, err)
	}

	stop, err := f.c.StopJob(context.Background(), "j-2", false)
	if err != nil || stop != (StopResponse{ID: "j-2", Status: "cancelled"}) {
		t.Errorf("stop: %+v, %v", stop, err)
	}
	if j, err := f.c.Job(context.Background(), "j-2"); err != nil || j.Status != "cancelled" {
		t.Errorf("after stop: %+v, %v", j, err)
	}

	// Stopping with a savepoint.
	f.exec(t, "INSERT INTO sink SELECT id FROM live")
	code, _, body = f.call(t, http.MethodDelete, "/v1/jobs/j-3?savepoint=true", "")
	checkSavepoint(t, code, body)
	if code == http.StatusOK {
		var sr StopResponse
		json.Unmarshal([]byte(body), &sr)
		if sr.ID != "j-3" || sr.Status != "cancelled" {
			t.Errorf("stop with savepoint: %s", body)
		}
	}
}

// checkSavepoint accepts a savepoint taken (a path) or refused with 409.
func checkSavepoint(t *testing.T, code int, body string) {
	t.Helper()
	switch code {
	case http.StatusOK:
		var v struct{ Savepoint string }
		if err := json.Unmarshal([]byte(body), &v); err != nil || v.Savepoint == "" {
			t.Errorf("savepoint taken without a path: %s", body)
		}
	case http.StatusConflict:
		var er ErrorResponse
		if err := json.Unmarshal([]byte(body), &er); err != nil || !strings.Contains(er.Error.Message, "savepoint") {
			t.Errorf("savepoint refused without saying why: %s", body)
		}
	default:
		t.Errorf("savepoint: %d %s", code, body)
	}
}

func TestTopics(t *testing.T) {
	f := newFixture(t)
	f.exec(t, tables+"; INSERT INTO out1 SELECT id, name FROM seq")
	if err := f.e.Wait(context.Background(), "j-1"); err != nil {
		t.Fatal(err)
	}
	topics, err := f.c.Topics(context.Background(), false)
	if err != nil {
		t.Fatal(err)
	}
	if len(topics) != 1 || topics[0].Name != "out1" || len(topics[0].Partitions) == 0 {
		t.Fatalf("topics: %+v", topics)
	}
	// The job checkpoints, so its two sink instances wrote in
	// transactions: the rows, and in each partition written a commit
	// marker of one or both.
	var n, written int64
	for _, p := range topics[0].Partitions {
		n += p.EndOffset - p.StartOffset
		if p.EndOffset > p.StartOffset {
			written++
		}
	}
	if n < 5+written || n > 5+2*written {
		t.Errorf("out1 holds %d records in %d partitions, want 5 and one or two commit markers in each", n, written)
	}
	all, err := f.c.Topics(context.Background(), true)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(all, func(t Topic) bool { return t.Name == runtime.CatalogTopic && t.Internal }) {
		t.Errorf("?internal=true does not list %s: %+v", runtime.CatalogTopic, all)
	}
}

// readLines reads a streamed response to its end.
func readLines(t *testing.T, body io.Reader) []string {
	t.Helper()
	var lines []string
	sc := bufio.NewScanner(body)
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return lines
}

// A SELECT over a bounded source streams its columns, its rows and an
// end line; the statements before it come first.
func TestSelectStreamBounded(t *testing.T) {
	f := newFixture(t)
	body, _ := json.Marshal(StatementRequest{SQL: tables + ";\nSELECT id, CAST(id AS DECIMAL(5,2)) AS d, id > 3 AS big FROM seq"})
	resp, err := http.Post(f.hs.URL+"/v1/statements", "application/json", strings.NewReader(string(body)))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/x-ndjson" {
		t.Fatalf("%d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	lines := readLines(t, resp.Body)
	if len(lines) != 4+1+5+1 {
		t.Fatalf("%d lines:\n%s", len(lines), strings.Join(lines, "\n"))
	}
	if lines[0] != `{"result":{"statement":"CREATE TABLE seq (id BIGINT, name STRING) WITH ('connector'='datagen',\n  'fields.id.kind'='sequence', 'fields.id.start'='1', 'fields.id.end'='5', 'fields.name.length'='4')","message":"created table seq"}}` {
		t.Errorf("first line: %s", lines[0])
	}
	if want := `{"statement":"SELECT id, CAST(id AS DECIMAL(5,2)) AS d, id > 3 AS big FROM seq","columns":[{"name":"id","type":"BIGINT"},{"name":"d","type":"DECIMAL(5,2)"},{"name":"big","type":"BOOLEAN"}],"bounded":true}`; lines[4] != want {
		t.Errorf("columns line:\n%s\nwant\n%s", lines[4], want)
	}
	rows := slices.Sorted(slices.Values(lines[5:10]))
	want := []string{
		`{"row":[1,1.00,false]}`, `{"row":[2,2.00,false]}`, `{"row":[3,3.00,false]}`,
		`{"row":[4,4.00,true]}`, `{"row":[5,5.00,true]}`,
	}
	if !slices.Equal(rows, want) {
		t.Errorf("rows %q, want %q", rows, want)
	}
	if lines[10] != `{"end":true}` {
		t.Errorf("last line %s", lines[10])
	}
}

// An updating result streams its changes, each with its op; the client
// gives them as the embedded engine's RowStream does, op first.
func TestSelectStreamUpdating(t *testing.T) {
	f := newFixture(t)
	f.exec(t, tables)
	var got [][]any
	var cols string
	err := f.c.Execute(context.Background(), "SELECT id % 2 AS odd, COUNT(*) AS n FROM seq GROUP BY id % 2", func(r StatementResult) error {
		if r.Stream == nil || !r.Stream.Updating || !r.Bounded {
			t.Fatalf("result %+v", r)
		}
		cols = r.Stream.Columns.String()
		for {
			rows, err := r.Stream.Next()
			if err == io.EOF {
				return nil
			}
			if err != nil {
				return err
			}
			got = append(got, rows...)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if cols != "(op STRING NOT NULL, odd BIGINT, n BIGINT NOT NULL)" {
		t.Errorf("columns %s", cols)
	}
	// Apply the changes: what is left is the table.
	final := map[int64]int64{}
	for _, r := range got {
		switch r[0] {
		case "+I", "+U":
			final[r[1].(int64)] = r[2].(int64)
		case "-U", "-D":
			delete(final, r[1].(int64))
		default:
			t.Fatalf("row %v", r)
		}
	}
	if len(final) != 2 || final[0] != 2 || final[1] != 3 {
		t.Errorf("changes %v give %v", got, final)
	}
}

// A SELECT over an unbounded source streams until the client goes away,
// which stops the query: its handler returns, which it does only once
// the query's job has ended, and the job's state goes.
func TestSelectStreamDisconnect(t *testing.T) {
	f := newFixture(t)
	f.exec(t, tables)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	n := 0
	err := f.c.Execute(ctx, "SELECT id % 3 AS k, COUNT(*) AS n FROM live GROUP BY id % 3", func(r StatementResult) error {
		if r.Stream == nil || r.Bounded {
			t.Fatalf("result %+v", r)
		}
		for n < 3 {
			rows, err := r.Stream.Next()
			if err != nil {
				return err
			}
			n += len(rows)
		}
		// A stateful query keeps its state while it runs.
		if !hasQueryState(t, f.stateDir) {
			t.Error("no state directory for the running query")
		}
		cancel()
		_, err := r.Stream.Next()
		for err == nil {
			_, err = r.Stream.Next()
		}
		return err
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Execute: %v, want context.Canceled", err)
	}
	waitServed(t, f, "POST /v1/statements")
	deadline := time.Now().Add(10 * time.Second)
	for hasQueryState(t, f.stateDir) {
		if time.Now().After(deadline) {
			t.Fatal("the query's state is still there 10s after the client went away")
		}
		time.Sleep(10 * time.Millisecond) // polling a directory the job's end removes
	}
	if jobs := f.e.Jobs(); len(jobs) != 0 {
		t.Errorf("jobs %+v", jobs)
	}
}

func hasQueryState(t *testing.T, dir string) bool {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	return slices.ContainsFunc(ents, func(e os.DirEntry) bool { return strings.HasPrefix(e.Name(), "select-") })
}

// waitServed waits until the handler of a request has returned.
func waitServed(t *testing.T, f *fixture, req string) {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case got := <-f.served:
			if got == req {
				return
			}
		case <-timeout:
			t.Fatalf("%s still being served after 10s", req)
		}
	}
}

// Closing the server ends its streams with an error line that says why.
func TestCloseEndsStreams(t *testing.T) {
	f := newFixture(t)
	f.exec(t, tables)
	err := f.c.Execute(context.Background(), "SELECT id FROM live", func(r StatementResult) error {
		if _, err := r.Stream.Next(); err != nil {
			return err
		}
		f.s.Close()
		for {
			if _, err := r.Stream.Next(); err != nil {
				return err
			}
		}
	})
	var ae *APIError
	if !errors.As(err, &ae) || ae.Info.Message != ErrShuttingDown.Error() {
		t.Fatalf("stream ended with %v, want %q", err, ErrShuttingDown)
	}
}

// The client reads errors back as they were: an error in the SQL becomes
// the *sql.Error the embedded engine gives, caret and all.
func TestClientErrors(t *testing.T) {
	f := newFixture(t)
	f.exec(t, tables)
	text := "SHOW TABLES;\nSELECT id,\n\tnamee FROM seq"
	var ran []string
	err := f.c.Execute(context.Background(), text, func(r StatementResult) error {
		ran = append(ran, r.Statement)
		return nil
	})
	var ae *APIError
	if !errors.As(err, &ae) || ae.StatusCode != 400 {
		t.Fatalf("%v", err)
	}
	_, local := f.e.Exec(context.Background(), text)
	if se := ae.SQLError(text); se == nil || local == nil || se.Error() != local.Error() {
		t.Errorf("remote error:\n%v\nlocal:\n%v", se, local)
	}
	var lse *sql.Error
	if !errors.As(local, &lse) {
		t.Fatalf("local error %T", local)
	}
	if !slices.Equal(ran, []string{"SHOW TABLES"}) {
		t.Errorf("ran %q", ran)
	}

	if _, err := f.c.Job(context.Background(), "j-7"); !errors.As(err, &ae) || ae.StatusCode != 404 || ae.Error() != `unknown job "j-7"` {
		t.Errorf("unknown job: %v", err)
	}
	if _, err := NewClient("localhost:8080", nil); err == nil {
		t.Error("a URL without a scheme was taken")
	}
	f.hs.Close()
	if err := f.c.Health(context.Background()); err == nil || !strings.Contains(err.Error(), "cannot reach the server at "+f.hs.URL) {
		t.Errorf("health of a closed server: %v", err)
	}
}

// A key lookup in a materialized view is answered from the view's
// index, without a job: the response still streams, columns, rows, end.
func TestSelectLookupStreams(t *testing.T) {
	f := newFixture(t)
	f.exec(t, `CREATE TABLE r (id BIGINT) WITH ('connector'='datagen', 'rows-per-second'='500', 'fields.id.min'='0', 'fields.id.max'='2');
CREATE MATERIALIZED VIEW per_id AS SELECT id, COUNT(*) AS n FROM r GROUP BY id`)
	var rows [][]any
	err := f.c.Execute(context.Background(), "SELECT id, n FROM per_id WHERE id = 1", func(r StatementResult) error {
		if r.Stream == nil || r.Stream.Updating || r.Columns.String() != "(id BIGINT, n BIGINT)" {
			t.Fatalf("result %+v", r)
		}
		for {
			got, err := r.Stream.Next()
			if err != nil {
				return err
			}
			rows = append(rows, got...)
		}
	})
	if err != io.EOF {
		t.Fatalf("stream ended with %v", err)
	}
	for _, r := range rows {
		if r[0] != int64(1) {
			t.Errorf("row %v", r)
		}
	}
}
