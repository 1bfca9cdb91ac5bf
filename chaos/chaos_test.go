package chaos_test

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

var seedFlag = flag.Uint64("chaos.seed", 0, "seed of the chaos tests' schedule of signals (0: drawn from the clock)")

// The jobs under test, from bounded sources paced so that a failure-free
// run takes about 15 s: a windowed aggregation with a watermark over
// nexmark bids, an unwindowed (updating) aggregation into a changelog
// topic, and a stateless filter, both over a seeded datagen table. The
// updating aggregation's key, id % 2000, has more values than a batch
// has rows (runtime.DefaultBatchSize, 1024), so that no batch touches a
// group twice: its changelog holds exactly one change per row, whatever
// the batch boundaries of a run, and can be compared record for record.
const jobsSQL = `
CREATE TABLE bids (auction BIGINT, bidder BIGINT, price BIGINT, channel STRING, url STRING,
  date_time TIMESTAMP(3), extra STRING,
  WATERMARK FOR date_time AS date_time - INTERVAL '1' SECOND)
WITH ('connector'='nexmark', 'nexmark.table'='bid', 'nexmark.events'='15000', 'nexmark.rate'='1000');
CREATE TABLE seq (id BIGINT, v BIGINT)
WITH ('connector'='datagen', 'fields.id.kind'='sequence', 'fields.id.start'='1', 'fields.id.end'='15000',
  'rows-per-second'='1000', 'fields.v.min'='0', 'fields.v.max'='999', 'datagen.seed'='7');
CREATE TABLE win_out (auction BIGINT, window_start TIMESTAMP(3), window_end TIMESTAMP(3), n BIGINT, total BIGINT)
WITH ('connector'='log', 'topic'='win_out', 'format'='json');
CREATE TABLE agg_out (k BIGINT, n BIGINT, total BIGINT)
WITH ('connector'='log', 'topic'='agg_out', 'format'='changelog');
CREATE TABLE filt_out (id BIGINT, v BIGINT)
WITH ('connector'='log', 'topic'='filt_out', 'format'='json');
SET 'checkpoint.interval' = '200ms';
INSERT INTO win_out
SELECT auction, window_start, window_end, COUNT(*), SUM(price)
FROM TABLE(TUMBLE(TABLE bids, DESCRIPTOR(date_time), INTERVAL '1' SECOND))
GROUP BY auction, window_start, window_end;
INSERT INTO agg_out SELECT id % 2000 AS k, COUNT(*), SUM(v) FROM seq GROUP BY id % 2000;
INSERT INTO filt_out SELECT id, v FROM seq WHERE v % 3 = 0;
`

// seqRows is the number of rows of seq, and so of changes in agg_out.
const seqRows = 15000

// The output topics; changelogTopic's records are changes keyed by
// changelogKey.
var outputTopics = []string{"win_out", "agg_out", "filt_out"}

const (
	changelogTopic = "agg_out"
	changelogKey   = "k"
)

// The schedule of the chaos.
const (
	// minStops is how many times at least the server is stopped at a
	// random moment; it is stopped until the jobs have finished.
	minStops = 20
	// maxStops bounds the stops, should the jobs not get far in the
	// lives between them.
	maxStops = 80
	// maxKillDelay bounds a SIGKILL's moment, drawn from the start of
	// the process, so that some land while it starts; maxTermDelay
	// bounds a SIGTERM's, drawn from when the server listens, since the
	// process handles signals only from then on.
	maxKillDelay = 1200 * time.Millisecond
	maxTermDelay = 800 * time.Millisecond

	listenTimeout   = 30 * time.Second
	shutdownTimeout = 60 * time.Second // the server gives its jobs 30 s
	runTimeout      = 150 * time.Second
)

var binDir string

func TestMain(m *testing.M) {
	flag.Parse()
	dir, err := os.MkdirTemp("", "sluice-chaos-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

var build struct {
	once sync.Once
	path string
	err  error
}

// sluiceBinary builds the sluice binary once for the package's tests.
func sluiceBinary(t *testing.T) string {
	build.once.Do(func() {
		gobin, err := exec.LookPath("go")
		if err != nil {
			build.err = err
			return
		}
		path := filepath.Join(binDir, "sluice")
		out, err := exec.Command(gobin, "build", "-o", path, "github.com/sluice-sql/sluice").CombinedOutput()
		if err != nil {
			build.err = fmt.Errorf("go build: %v\n%s", err, out)
			return
		}
		build.path = path
	})
	if build.err != nil {
		t.Fatalf("build sluice: %v", build.err)
	}
	return build.path
}

func TestExactlyOnceUnderSIGKILL(t *testing.T) { testChaos(t, syscall.SIGKILL) }

func TestExactlyOnceUnderSIGTERM(t *testing.T) { testChaos(t, syscall.SIGTERM) }

// testChaos runs the jobs on a server stopped with sig at random
// moments, at least minStops times, and restarted each time until the
// jobs have finished; then it compares every output topic with the
// failure-free run's.
func testChaos(t *testing.T, sig syscall.Signal) {
	if testing.Short() {
		t.Skip("a crash test takes about a minute")
	}
	bin := sluiceBinary(t)
	want := referenceOutputs(t, bin)

	seed := *seedFlag
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	rng := rand.New(rand.NewPCG(seed, 0x736c75696365))
	r := newRun(t, bin, fmt.Sprintf("seed %d (rerun with -chaos.seed=%d)", seed, seed))
	t.Logf("%s; %s at random moments (the seed gives the moments, not the timing of the server)", r.context, sig)
	began := time.Now()

	ids := r.startAndSubmit()
	// Stop at random moments until the jobs have finished, and at least
	// minStops times; then the last life only shuts down. Stops are
	// counted as made while the jobs ran until a life is seen with every
	// job finished.
	stops, whileRunning := 0, 0
	seenDone := false
	for {
		var from time.Time
		var delay time.Duration
		if sig == syscall.SIGKILL {
			from, delay = r.cur.started, time.Duration(rng.Int64N(int64(maxKillDelay)))
		} else {
			r.listen()
			from, delay = time.Now(), time.Duration(rng.Int64N(int64(maxTermDelay)))
		}
		r.waitUntil(from.Add(delay))
		progress, done := "not listening yet", false
		if url := r.cur.listeningURL(); url != "" {
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			jobs, err := listJobs(ctx, url)
			cancel()
			if err != nil {
				progress = err.Error()
			} else {
				progress = summary(ids, jobs)
				if done, err = jobsDone(ids, jobs); err != nil {
					r.fatalf("%v", err)
				}
			}
		}
		seenDone = seenDone || done
		if done && stops >= minStops || stops == maxStops {
			break
		}
		stops++
		if !seenDone {
			whileRunning++
		}
		what := fmt.Sprintf("stop %d: %s %v after the start of life %d (%s)", stops, sig, time.Since(r.cur.started).Round(time.Millisecond), r.cur.life, progress)
		r.log.note("%s", what)
		t.Log(what)
		if sig == syscall.SIGKILL {
			if err := r.cur.kill(); err != nil {
				r.fatalf("%v", err)
			}
		} else if err := r.cur.terminate(shutdownTimeout); err != nil {
			r.fatalf("%v", err)
		}
		r.start()
	}
	r.finish(ids)
	t.Logf("%d stops (%d while the jobs ran), then the jobs finished: %v", stops, whileRunning, time.Since(began).Round(time.Millisecond))
	if whileRunning < minStops {
		// Not Sluice's failure, but the test did less than it says.
		t.Errorf("only %d stops came while the jobs ran, want %d: the jobs are too short for the schedule", whileRunning, minStops)
	}

	got := r.readOutputs("read_committed")
	uncommitted := r.readOutputs("read_uncommitted")
	for _, topic := range outputTopics {
		t.Logf("%s: %d records read_committed, %d read_uncommitted (the rest in aborted transactions)",
			topic, len(got[topic]), len(uncommitted[topic]))
	}
	r.compare(got, want)
}

var reference struct {
	once sync.Once
	out  map[string][]string
	err  error
}

// referenceOutputs returns the output topics of a failure-free run,
// made once for the package's tests.
func referenceOutputs(t *testing.T, bin string) map[string][]string {
	reference.once.Do(func() {
		r := newRun(t, bin, "the failure-free run")
		began := time.Now()
		ids := r.startAndSubmit()
		r.finish(ids)
		out := r.readOutputs("read_committed")
		t.Logf("failure-free run: %v", time.Since(began).Round(time.Millisecond))
		if err := checkReference(out); err != nil {
			reference.err = err
			r.fatalf("%v", err)
		}
		reference.out = out
		// Its outputs are all the tests need of it: a test that fails
		// later keeps its own data directory only.
		r.remove()
	})
	if reference.out == nil {
		t.Fatalf("the failure-free run failed: %v", reference.err)
	}
	return reference.out
}

// checkReference checks that the failure-free run produced what the
// comparison needs: output in every topic, and a consistent changelog
// with one change per input row (else the comparison would depend on
// batch boundaries: see jobsSQL).
func checkReference(out map[string][]string) error {
	for _, topic := range outputTopics {
		if len(out[topic]) == 0 {
			return fmt.Errorf("the failure-free run wrote nothing to %s", topic)
		}
	}
	if n := len(out[changelogTopic]); n != seqRows {
		return fmt.Errorf("the failure-free run wrote %d changes to %s, want one per row of seq (%d)", n, changelogTopic, seqRows)
	}
	if problem, _ := checkChangelog(out[changelogTopic], changelogKey); problem != "" {
		return fmt.Errorf("the failure-free run's %s: %s", changelogTopic, problem)
	}
	return nil
}

// run is the lives of a server on one data directory.
type run struct {
	t       *testing.T
	bin     string
	dir     string // the data directory
	context string // said with every failure
	log     *serverLog
	cur     *serverProc
	lives   int
	removed bool
}

// newRun makes a fresh data directory, kept for inspection if the test
// fails.
func newRun(t *testing.T, bin, context string) *run {
	dir, err := os.MkdirTemp("", "sluice-chaos-data-")
	if err != nil {
		t.Fatal(err)
	}
	r := &run{t: t, bin: bin, dir: dir, context: context, log: &serverLog{}}
	t.Cleanup(func() {
		if r.cur != nil {
			r.cur.kill()
		}
		if r.removed {
			return
		}
		if t.Failed() {
			t.Logf("%s: the data directory is kept: %s", context, dir)
			return
		}
		r.remove()
	})
	return r
}

// remove removes the data directory, once no server runs on it.
func (r *run) remove() {
	os.RemoveAll(r.dir)
	r.removed = true
}

// fatalf fails the test, saying with the message what the run is (the
// seed) and the server's standard error, whole in a file and its tail.
func (r *run) fatalf(format string, args ...any) {
	r.t.Helper()
	msg := fmt.Sprintf(format, args...)
	logFile := filepath.Join(r.dir, "..", filepath.Base(r.dir)+".stderr")
	where := ""
	if err := os.WriteFile(logFile, []byte(r.log.String()+"\n"), 0o644); err == nil {
		where = " (all of it in " + logFile + ")"
	}
	r.t.Fatalf("%s\n%s\nserver's standard error, the last 60 lines%s:\n%s", msg, r.context, where, r.log.tail(60))
}

// start starts the server's next life.
func (r *run) start() {
	r.t.Helper()
	r.lives++
	p, err := startServer(r.bin, r.dir, r.lives, r.log)
	if err != nil {
		r.fatalf("%v", err)
	}
	r.cur = p
}

// listen waits for the current life to listen and returns its URL.
func (r *run) listen() string {
	r.t.Helper()
	if r.cur.url != "" {
		return r.cur.url
	}
	url, err := r.cur.waitListening(listenTimeout)
	if err != nil {
		r.fatalf("%v", err)
	}
	return url
}

// waitUntil waits until the moment t, failing if the server exits on its
// own before.
func (r *run) waitUntil(t time.Time) {
	r.t.Helper()
	timer := time.NewTimer(time.Until(t))
	defer timer.Stop()
	select {
	case <-timer.C:
	case <-r.cur.exited:
		r.fatalf("the server (life %d) exited on its own: %s", r.cur.life, r.cur.exitDescription())
	}
}

// startAndSubmit starts the first life and submits the jobs, returning
// their ids.
func (r *run) startAndSubmit() []string {
	r.t.Helper()
	r.start()
	url := r.listen()
	file := filepath.Join(r.dir, "..", filepath.Base(r.dir)+".sql")
	if err := os.WriteFile(file, []byte(jobsSQL), 0o644); err != nil {
		r.t.Fatal(err)
	}
	defer os.Remove(file)
	cmd := exec.Command(r.bin, "--data", r.dir, "submit", "--server", url, file)
	cmd.Env = cleanEnv()
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		r.fatalf("sluice submit: %v\n%s%s", err, stdout.String(), stderr.String())
	}
	ids := strings.Fields(stdout.String())
	if len(ids) != 3 {
		r.fatalf("sluice submit started %d jobs (%q), want 3\n%s", len(ids), ids, stderr.String())
	}
	return ids
}

// listeningURL returns the URL the server listens on, "" if it does not
// listen yet; it does not wait.
func (p *serverProc) listeningURL() string {
	if p.url == "" {
		select {
		case p.url = <-p.stderr.url:
		default:
		}
	}
	return p.url
}

// finish lets the current life run the jobs to their end, then stops it
// gracefully.
func (r *run) finish(ids []string) {
	r.t.Helper()
	url := r.listen()
	deadline := time.Now().Add(runTimeout)
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	var last string
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		jobs, err := listJobs(ctx, url)
		cancel()
		if err != nil {
			r.fatalf("%v", err)
		}
		last = summary(ids, jobs)
		done, err := jobsDone(ids, jobs)
		if err != nil {
			r.fatalf("%v", err)
		}
		if done {
			break
		}
		if time.Now().After(deadline) {
			r.fatalf("the jobs did not finish within %v: %s", runTimeout, last)
		}
		select {
		case <-tick.C:
		case <-r.cur.exited:
			r.fatalf("the server (life %d) exited on its own: %s", r.cur.life, r.cur.exitDescription())
		}
	}
	r.log.note("life %d: the jobs have finished (%s)", r.cur.life, last)
	if err := r.cur.terminate(shutdownTimeout); err != nil {
		r.fatalf("%v", err)
	}
	r.cur = nil
	if bad := r.log.matching("level=ERROR", "panic"); len(bad) > 0 {
		r.t.Logf("%s: the server logged errors:\n%s", r.context, strings.Join(bad, "\n"))
	}
}

// readOutputs reads every output topic with sluice topic consume at the
// isolation level given, with no server running.
func (r *run) readOutputs(isolation string) map[string][]string {
	r.t.Helper()
	out := map[string][]string{}
	for _, topic := range outputTopics {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		cmd := exec.CommandContext(ctx, r.bin, "--data", r.dir, "topic", "consume", topic,
			"--from-beginning", "--timeout", "1s", "--isolation", isolation)
		cmd.Env = cleanEnv()
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		cancel()
		if err != nil {
			r.fatalf("sluice topic consume %s: %v\n%s", topic, err, stderr.String())
		}
		recs := strings.Split(stdout.String(), "\n")
		if recs[len(recs)-1] == "" {
			recs = recs[:len(recs)-1]
		}
		out[topic] = recs
	}
	return out
}

// compare fails the test for every output topic that differs from the
// failure-free run's, saying how.
func (r *run) compare(got, want map[string][]string) {
	r.t.Helper()
	var failures []string
	for _, topic := range outputTopics {
		d := diffRecords(got[topic], want[topic])
		if d == "" {
			continue
		}
		if topic == changelogTopic {
			problem, table := checkChangelog(got[topic], changelogKey)
			_, wantTable := checkChangelog(want[topic], changelogKey)
			if problem != "" {
				d += "changelog replay: " + problem + "\n"
			}
			if td := diffTables(table, wantTable); td != "" {
				d += "the table the changes leave: " + td
			} else {
				d += "the table the changes leave is the failure-free run's\n"
			}
		}
		failures = append(failures, fmt.Sprintf("topic %s differs from the failure-free run's: %s", topic, d))
	}
	if len(failures) > 0 {
		r.fatalf("%s", strings.Join(failures, "\n"))
	}
}
