package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/sluice-sql/sluice/runtime"
	"github.com/sluice-sql/sluice/sql/types"
)

func (a *app) runCommand() *cobra.Command {
	var (
		format      string
		parallelism int
	)
	cmd := &cobra.Command{
		Use:   "run FILE.sql",
		Short: "Run a SQL script",
		Long: `Run the statements of a SQL script in order, on an engine embedded in
this process over the data directory.

The whole script is parsed first: a syntax error anywhere runs nothing.
Each INSERT INTO ... SELECT starts a job, and run waits for it to end
before the next statement. A job whose sources are bounded (a nexmark
table with 'nexmark.events', a file, a log table with 'scan.bounded')
runs to completion; a job over an unbounded source keeps running until
Ctrl-C (or SIGTERM), which stops it and ends run without running the
statements after it. SELECT reads bounded sources only, and prints its
rows when they are complete.

With --format table, rows print as an aligned table and what other
statements did prints to standard output; with json (one object per
line) or csv, standard output holds only rows and the rest goes to
standard error.`,
		Example: `  sluice run job.sql
  sluice run report.sql --format csv > report.csv`,
		Args: exactArgs("FILE.sql"),
		RunE: func(cmd *cobra.Command, args []string) error {
			r, err := newRenderer(format)
			if err != nil {
				return err
			}
			if parallelism < 0 {
				return usagef("--parallelism must be at least 1, or 0 for the number of cores")
			}
			text, err := os.ReadFile(args[0])
			if err != nil {
				return err
			}
			return a.run(cmd.Context(), string(text), r, parallelism)
		},
	}
	f := cmd.Flags()
	f.StringVar(&format, "format", "table", "how SELECT results print: table, json or csv")
	f.IntVar(&parallelism, "parallelism", 0, "instances of every job (0: the number of cores)")
	return cmd
}

// openEngine opens the data directory (making it if needed) and an engine
// on it. done closes both, the engine first so that jobs still running
// (after Ctrl-C) stop before the broker closes under them, and records a
// close error in *err if there was none.
func (a *app) openEngine(parallelism int) (e *runtime.Engine, done func(err *error), err error) {
	b, err := a.openBroker(true)
	if err != nil {
		return nil, nil, err
	}
	e, err = runtime.NewEngine(runtime.EngineOptions{Broker: b, Stdout: a.env.Stdout, Parallelism: parallelism,
		StateDir: filepath.Join(a.dataDir, "state")})
	if err != nil {
		b.Close()
		return nil, nil, err
	}
	return e, func(err *error) {
		e.Close()
		closeBroker(b, err)
	}, nil
}

func (a *app) run(ctx context.Context, text string, r renderer, parallelism int) (err error) {
	sigCtx, stopSignals := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stopSignals()
	e, done, err := a.openEngine(parallelism)
	if err != nil {
		return err
	}
	defer done(&err)

	out, info := a.env.Stdout, a.env.Stdout
	if !r.table() {
		info = a.env.Stderr
	}
	err = e.Run(sigCtx, text, func(res runtime.Result) error {
		if res.Stream != nil {
			if !res.Bounded {
				fmt.Fprintln(a.env.Stderr, "the query reads an unbounded source: rows print as they come until interrupted (Ctrl-C)")
			}
			return printStream(sigCtx, out, r, res, true)
		}
		if res.Columns != nil {
			return render(r, out, res)
		}
		fmt.Fprintln(info, res.Message)
		if res.JobID == "" {
			return nil
		}
		if !res.Bounded {
			fmt.Fprintf(a.env.Stderr, "job %s reads an unbounded source: it runs until interrupted (Ctrl-C)\n", res.JobID)
		}
		werr := e.Wait(sigCtx, res.JobID)
		switch {
		case werr == nil:
			fmt.Fprintf(info, "job %s finished: %s\n", res.JobID, jobSummary(e, res.JobID))
			return nil
		case errors.Is(werr, context.Canceled) && !res.Bounded:
			fmt.Fprintf(a.env.Stderr, "interrupted: stopped job %s after %s\n", res.JobID, jobSummary(e, res.JobID))
			return errInterrupted
		case errors.Is(werr, context.Canceled):
			return fmt.Errorf("interrupted: stopped job %s before it finished", res.JobID)
		}
		return werr
	})
	if errors.Is(err, errInterrupted) {
		return nil
	}
	return err
}

// errInterrupted ends a run whose unbounded job was stopped by a signal:
// the way such a run is meant to end, so not a failure.
var errInterrupted = errors.New("interrupted")

func jobSummary(e *runtime.Engine, id string) string {
	m, err := e.JobMetrics(id)
	if err != nil || len(m) == 0 {
		return "no metrics"
	}
	var late int64
	for _, s := range m {
		late += s.LateRows
	}
	sum := fmt.Sprintf("%d rows read, %d rows written", m[0].RowsOut, m[len(m)-1].RowsIn)
	if late > 0 {
		sum += fmt.Sprintf(", %d late rows dropped", late)
	}
	return sum
}

// renderer prints result sets.
type renderer interface {
	// table reports whether the output is for a person (messages go to
	// stdout with it) rather than for a program (messages go to stderr).
	table() bool
	// writer prints a result set as its rows come.
	writer(w io.Writer, cols types.Schema) rowWriter
}

// rowWriter prints the rows of one result set in chunks, then its end.
type rowWriter interface {
	rows(rows [][]any) error
	// end finishes the result set; note says why it ended early, if it
	// did ("interrupted").
	end(note string) error
}

// printStream prints the rows of a SELECT as they come, until the query
// ends or ctx does (Ctrl-C), which ends a push query and is reported by
// returning errInterrupted after the rows so far. aligned collects a
// bounded result first, so that a table's columns line up.
func printStream(ctx context.Context, w io.Writer, r renderer, res runtime.Result, aligned bool) error {
	if aligned && res.Bounded {
		rows, err := res.Stream.Collect(ctx)
		if err != nil {
			return err
		}
		res.Rows, res.Columns, res.Stream = rows, res.Stream.TableColumns, nil
		return render(r, w, res)
	}
	rw := r.writer(w, res.Columns)
	for {
		rows, err := res.Stream.Next(ctx)
		switch {
		case err == io.EOF:
			return rw.end("")
		case err != nil && ctx.Err() != nil:
			if eerr := rw.end("interrupted"); eerr != nil {
				return eerr
			}
			return errInterrupted
		case err != nil:
			return err
		}
		if err := rw.rows(rows); err != nil {
			return err
		}
	}
}
