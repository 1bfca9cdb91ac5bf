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
	goruntime "runtime"
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
	placeholderEvents = "${EVENTS}"
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

func (a *app) benchCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Run a benchmark in this process",
		Args:  noSubcommand,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return cmd.Help()
		},
	}
	cmd.AddCommand(a.benchNexmarkCommand())
	return cmd
}

func (a *app) benchNexmarkCommand() *cobra.Command {
	var (
		query       string
		events      int64
		sink        string
		parallelism int
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
--fsync-interval says.`,
		Example: `  sluice bench nexmark --query q1
  sluice bench nexmark --query q2 --events 1000000 --parallelism 1`,
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
			if parallelism < 0 {
				return usagef("--parallelism must be at least 1, or 0 for the number of cores")
			}
			return a.benchNexmark(cmd.Context(), query, events, sink, parallelism)
		},
	}
	f := cmd.Flags()
	f.StringVar(&query, "query", "", "the Nexmark `query` to run: "+strings.Join(names, ", "))
	f.Int64Var(&events, "events", DefaultBenchEvents, "how many events the generator emits, over all tables")
	f.StringVar(&sink, "sink", benchSinkBlackhole, "where rows go: blackhole (discarded) or log (a JSON topic)")
	f.IntVar(&parallelism, "parallelism", 0, "instances of the job (0: the number of cores)")
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

// nexmarkScript returns query's script with its placeholders filled.
func nexmarkScript(query string, events int64, sink string, parallelism int) (string, error) {
	text, err := nexmarkQueries.ReadFile("nexmark/" + query + ".sql")
	if err != nil {
		return "", err
	}
	with := "'connector' = 'blackhole'"
	if sink == benchSinkLog {
		with = fmt.Sprintf("'connector' = 'log', 'topic' = 'nexmark_%s', 'format' = 'json', 'sink.partitions' = '%d'",
			query, parallelism)
	}
	return strings.NewReplacer(
		placeholderEvents, strconv.FormatInt(events, 10),
		placeholderSink, with,
	).Replace(string(text)), nil
}

func (a *app) benchNexmark(ctx context.Context, query string, events int64, sink string, parallelism int) (err error) {
	if parallelism == 0 {
		parallelism = goruntime.GOMAXPROCS(0)
	}
	script, err := nexmarkScript(query, events, sink, parallelism)
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
	e, err := runtime.NewEngine(runtime.EngineOptions{Broker: b, Stdout: io.Discard, Parallelism: parallelism})
	if err != nil {
		return err
	}
	defer e.Close()

	var bids, written int64
	start := time.Now()
	err = e.Run(ctx, script, func(res runtime.Result) error {
		if res.JobID == "" {
			return nil
		}
		if err := e.Wait(ctx, res.JobID); err != nil {
			return fmt.Errorf("nexmark %s: %w", query, err)
		}
		if m, err := e.JobMetrics(res.JobID); err == nil && len(m) > 0 {
			bids, written = m[0].RowsOut, m[len(m)-1].RowsIn
		}
		return nil
	})
	elapsed := time.Since(start)
	if err != nil {
		return err
	}
	cores := min(parallelism, goruntime.GOMAXPROCS(0))
	rate := float64(events) / elapsed.Seconds()
	peak, source := peakMemory()
	w := a.env.Stdout
	fmt.Fprintf(w, "query:             nexmark %s (parallelism %d, sink %s)\n", query, parallelism, sink)
	fmt.Fprintf(w, "events generated:  %d (%d bids, %d rows written)\n", events, bids, written)
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
