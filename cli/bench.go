package cli

import (
	"bufio"
	"bytes"
	"context"
	"embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	goruntime "runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/sluice-sql/sluice/runtime"
)

// nexmarkQueries are the Nexmark queries of testdata/nexmark, copied into
// nexmark/ because an embed cannot reach outside its package's directory
// (and the go tool ignores packages under testdata). TestNexmarkCopies
// fails when the copies and the originals differ.
//
//go:embed nexmark/*.sql
var nexmarkQueries embed.FS

// The placeholders a Nexmark query holds for the bench command to fill.
const (
	placeholderSource = "${SOURCE}"
	placeholderSink   = "${SINK}"
)

// DefaultBenchEvents is the number of events a Nexmark run generates
// unless --events says otherwise.
const DefaultBenchEvents = 10_000_000

// The sinks a benchmark may write to.
const (
	benchSinkBlackhole = "blackhole"
	benchSinkLog       = "log"
)

// The sources a benchmark may read bids from.
const (
	benchSourceGenerator = "generator"
	benchSourceLog       = "log"
)

// benchBidTopic is the topic that --source log fills with JSON bids and
// the query then reads.
const benchBidTopic = "nexmark_bid"

// benchFillScript copies the generator's bids into benchBidTopic as JSON,
// one partition per instance. Its columns must stay those of the bid
// table in the queries, which read the topic back by that schema.
const benchFillScript = `CREATE TABLE nexmark_generator (auction BIGINT, bidder BIGINT, price BIGINT,
  channel STRING, url STRING, date_time TIMESTAMP(3), extra STRING)
WITH ('connector' = 'nexmark', 'nexmark.table' = 'bid', 'nexmark.events' = '%d');
CREATE TABLE nexmark_bid (auction BIGINT, bidder BIGINT, price BIGINT,
  channel STRING, url STRING, date_time TIMESTAMP(3), extra STRING)
WITH ('connector' = 'log', 'topic' = '` + benchBidTopic + `', 'format' = 'json', 'sink.partitions' = '%d');
INSERT INTO nexmark_bid SELECT * FROM nexmark_generator;
`

// benchRun is what one `bench nexmark` run does.
type benchRun struct {
	query       string
	events      int64
	source      string
	sink        string
	parallelism int
	// checkpointInterval is how often the job checkpoints; 0 never.
	checkpointInterval time.Duration
}

func (a *app) benchCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Run a benchmark in this process",
		Args:  noSubcommand,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return cmd.Help()
		},
	}
	cmd.AddCommand(a.benchNexmarkCommand(), a.benchRestartCommand())
	return cmd
}

func (a *app) benchNexmarkCommand() *cobra.Command {
	var (
		query              string
		events             int64
		source             string
		sink               string
		parallelism        int
		checkpointInterval time.Duration
		cpuProfile         string
	)
	names := nexmarkQueryNames()
	cmd := &cobra.Command{
		Use:   "nexmark --query qN",
		Short: "Run a Nexmark query and report its throughput",
		Long: `Run a Nexmark query (` + strings.Join(names, ", ") + `) over the in-process bid
generator on an engine embedded in this process, and print how many
events were generated, the time the job took (from its statements to
its end), events per second, events per second per core and the
process's peak memory (peak resident set size).

Events count all three Nexmark tables, as the benchmark's published
figures do: the bid table sees 46 of every 50 events. Per core divides
by the smaller of the parallelism and the usable cores (GOMAXPROCS).

The run uses a temporary data directory, removed afterwards; --data is
ignored. With --sink blackhole (the default) the sink discards the rows
(the blackhole connector), so the figure is the engine's own. With
--sink log the rows are written as JSON to a log topic, durably as
--fsync-interval says.

With --source log the command first writes the bids of --events
generated events as JSON to the topic ` + benchBidTopic + ` (one partition per
instance), untimed, then times the query reading that topic to its end
and writing JSON to a log topic (--source log implies --sink log). The
events counted are then the bids read, since only bids are in the topic.`,
		Example: `  sluice bench nexmark --query q1
  sluice bench nexmark --query q2 --events 1000000 --parallelism 1
  sluice bench nexmark --query q0 --source log --events 2000000`,
		Args: exactArgs(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if query == "" {
				return usagef("--query is required (one of %s)", strings.Join(names, ", "))
			}
			if !slices.Contains(names, query) {
				return usagef("--query %q: want one of %s", query, strings.Join(names, ", "))
			}
			if events < 1 {
				return usagef("--events must be at least 1, got %d", events)
			}
			if sink != benchSinkBlackhole && sink != benchSinkLog {
				return usagef("--sink %q: want %s or %s", sink, benchSinkBlackhole, benchSinkLog)
			}
			switch source {
			case benchSourceGenerator:
			case benchSourceLog:
				if cmd.Flags().Changed("sink") && sink != benchSinkLog {
					return usagef("--source log writes to a log sink, not --sink %s", sink)
				}
				sink = benchSinkLog
			default:
				return usagef("--source %q: want %s or %s", source, benchSourceGenerator, benchSourceLog)
			}
			if parallelism < 0 {
				return usagef("--parallelism must be at least 1, or 0 for the number of cores")
			}
			if checkpointInterval < 0 {
				return usagef("--checkpoint-interval must not be negative")
			}
			if cpuProfile != "" {
				f, err := os.Create(cpuProfile)
				if err != nil {
					return err
				}
				defer f.Close()
				if err := pprof.StartCPUProfile(f); err != nil {
					return err
				}
				defer pprof.StopCPUProfile()
			}
			return a.benchNexmark(cmd.Context(), benchRun{query: query, events: events, source: source, sink: sink, parallelism: parallelism,
				checkpointInterval: checkpointInterval})
		},
	}
	f := cmd.Flags()
	f.StringVar(&query, "query", "", "the Nexmark `query` to run: "+strings.Join(names, ", "))
	f.Int64Var(&events, "events", DefaultBenchEvents, "how many events the generator emits, over all tables")
	f.StringVar(&source, "source", benchSourceGenerator, "where bids come from: generator (in-process) or log (a JSON topic filled first, untimed)")
	f.StringVar(&sink, "sink", benchSinkBlackhole, "where rows go: blackhole (discarded) or log (a JSON topic)")
	f.IntVar(&parallelism, "parallelism", 0, "instances of the job (0: the number of cores)")
	f.DurationVar(&checkpointInterval, "checkpoint-interval", 0, "how often the job takes a checkpoint (0: never, the engine's speed alone)")
	f.StringVar(&cpuProfile, "cpuprofile", "", "write a CPU profile of the run to `file` (go tool pprof)")
	return cmd
}

// nexmarkQueryNames lists the embedded queries: q0, q1, ...
func nexmarkQueryNames() []string {
	files, _ := fs.Glob(nexmarkQueries, "nexmark/*.sql")
	names := make([]string, len(files))
	for i, f := range files {
		names[i] = strings.TrimSuffix(path.Base(f), ".sql")
	}
	// q10 sorts after q9, not after q1.
	slices.SortFunc(names, func(x, y string) int {
		if len(x) != len(y) {
			return len(x) - len(y)
		}
		return strings.Compare(x, y)
	})
	return names
}

// nexmarkScript returns r's query with its placeholders filled.
func nexmarkScript(r benchRun) (string, error) {
	text, err := nexmarkQueries.ReadFile("nexmark/" + r.query + ".sql")
	if err != nil {
		return "", err
	}
	source := fmt.Sprintf("'connector' = 'nexmark', 'nexmark.table' = 'bid', 'nexmark.events' = '%d'", r.events)
	if r.source == benchSourceLog {
		source = fmt.Sprintf("'connector' = 'log', 'topic' = '%s', 'format' = 'json', 'scan.bounded' = 'true'", benchBidTopic)
	}
	sink := "'connector' = 'blackhole'"
	if r.sink == benchSinkLog {
		sink = fmt.Sprintf("'connector' = 'log', 'topic' = 'nexmark_%s', 'format' = 'json', 'sink.partitions' = '%d'",
			r.query, r.parallelism)
	}
	return strings.NewReplacer(
		placeholderSource, source,
		placeholderSink, sink,
	).Replace(string(text)), nil
}

// runBenchScript runs script on e, waiting for each job it starts, and
// returns the rows the last job's source stage emitted and its sink
// stage took.
func runBenchScript(ctx context.Context, e *runtime.Engine, script string) (read, written int64, err error) {
	read, written, _, err = runBenchJob(ctx, e, script)
	return read, written, err
}

// runBenchJob is runBenchScript, also returning the description of the
// (last) job the script ran.
func runBenchJob(ctx context.Context, e *runtime.Engine, script string) (read, written int64, job runtime.JobInfo, err error) {
	err = e.Run(ctx, script, func(res runtime.Result) error {
		if res.JobID == "" {
			return nil
		}
		if err := e.Wait(ctx, res.JobID); err != nil {
			return err
		}
		if m, err := e.JobMetrics(res.JobID); err == nil && len(m) > 0 {
			read, written = m[0].RowsOut, m[len(m)-1].RowsIn
		}
		job, _ = e.JobInfo(res.JobID)
		return nil
	})
	return read, written, job, err
}

func (a *app) benchNexmark(ctx context.Context, r benchRun) (err error) {
	if r.parallelism == 0 {
		r.parallelism = goruntime.GOMAXPROCS(0)
	}
	script, err := nexmarkScript(r)
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "sluice-bench-")
	if err != nil {
		return err
	}
	defer func() {
		if rerr := os.RemoveAll(dir); rerr != nil && err == nil {
			err = fmt.Errorf("remove the temporary data directory: %w", rerr)
		}
	}()
	tmp := *a
	tmp.dataDir = dir
	b, err := tmp.openBroker(true)
	if err != nil {
		return err
	}
	defer closeBroker(b, &err)
	interval := r.checkpointInterval
	if interval == 0 {
		interval = -1 // never
	}
	e, err := runtime.NewEngine(runtime.EngineOptions{Broker: b, Stdout: io.Discard, Parallelism: r.parallelism,
		StateDir: filepath.Join(dir, "state"), CheckpointInterval: interval})
	if err != nil {
		return err
	}
	defer e.Close()

	// The fill is outside the timed part: the figure is the query's own,
	// reading JSON from the log and writing JSON to it.
	var filled int64
	var fillTime time.Duration
	if r.source == benchSourceLog {
		start := time.Now()
		_, filled, err = runBenchScript(ctx, e, fmt.Sprintf(benchFillScript, r.events, r.parallelism))
		fillTime = time.Since(start)
		if err != nil {
			return fmt.Errorf("fill topic %s: %w", benchBidTopic, err)
		}
	}

	start := time.Now()
	bids, written, job, err := runBenchJob(ctx, e, script)
	elapsed := time.Since(start)
	if err != nil {
		return fmt.Errorf("nexmark %s: %w", r.query, err)
	}
	counted := r.events
	if r.source == benchSourceLog {
		if bids != filled {
			return fmt.Errorf("nexmark %s read %d bids from topic %s, which holds %d", r.query, bids, benchBidTopic, filled)
		}
		counted = bids
	}
	cores := min(r.parallelism, goruntime.GOMAXPROCS(0))
	rate := float64(counted) / elapsed.Seconds()
	peak, source := peakMemory()
	w := a.env.Stdout
	fmt.Fprintf(w, "query:             nexmark %s (parallelism %d, source %s, sink %s)\n", r.query, r.parallelism, r.source, r.sink)
	if r.source == benchSourceLog {
		fmt.Fprintf(w, "topic filled:      %s, %d bids of %d events generated, in %.3f s (not timed)\n",
			benchBidTopic, filled, r.events, fillTime.Seconds())
		fmt.Fprintf(w, "events read:       %d bids, counted as the events (%d rows written)\n", bids, written)
	} else {
		fmt.Fprintf(w, "events generated:  %d (%d bids, %d rows written)\n", r.events, bids, written)
	}
	if r.checkpointInterval > 0 {
		fmt.Fprintf(w, "checkpoints:       every %s: %d completed, %d failed", r.checkpointInterval, job.CheckpointsCompleted, job.CheckpointsFailed)
		if c := job.Checkpoint; c != nil {
			fmt.Fprintf(w, "; the last took %s and wrote %d bytes", c.Duration.Round(time.Microsecond), c.Bytes)
		}
		fmt.Fprintln(w)
	} else {
		fmt.Fprintf(w, "checkpoints:       none\n")
	}
	fmt.Fprintf(w, "elapsed:           %.3f s\n", elapsed.Seconds())
	fmt.Fprintf(w, "events/s:          %.0f\n", rate)
	unit := "cores"
	if cores == 1 {
		unit = "core"
	}
	fmt.Fprintf(w, "events/s per core: %.0f (%d %s)\n", rate/float64(cores), cores, unit)
	fmt.Fprintf(w, "peak memory:       %.1f MiB (%s)\n", float64(peak)/(1<<20), source)
	return nil
}

// peakMemory returns the process's peak resident set size, from
// /proc/self/status; where that cannot be read, it falls back to the
// memory the Go runtime has obtained from the OS, which bounds the heap's
// peak but not the RSS.
func peakMemory() (bytes uint64, source string) {
	if n, err := vmHWM(); err == nil {
		return n, "peak RSS"
	}
	var ms goruntime.MemStats
	goruntime.ReadMemStats(&ms)
	return ms.Sys, "Go runtime Sys"
}

func vmHWM() (uint64, error) {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, err
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:")
		if !ok {
			continue
		}
		kb, err := strconv.ParseUint(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("VmHWM %q: %w", rest, err)
		}
		return kb << 10, nil
	}
	return 0, errors.New("no VmHWM in /proc/self/status")
}
