package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/sluice-sql/sluice/server"
	"github.com/sluice-sql/sluice/sql"
	"github.com/sluice-sql/sluice/sql/types"
)

// ServerEnv is the environment variable that names the server the client
// commands talk to when --server is not given.
const ServerEnv = "SLUICE_SERVER"

// DefaultServerURL is the server the client commands talk to when
// neither --server, $SLUICE_SERVER nor the data directory names one.
const DefaultServerURL = "http://" + DefaultHTTPAddr

// serverURLFile is the file in the data directory where a running server
// writes the URL it serves, so that the clients on the same directory
// find it.
const serverURLFile = "server.url"

// addServerFlag adds --server to cmd, into *url.
func addServerFlag(cmd *cobra.Command, url *string, persistent bool) {
	f := cmd.Flags()
	if persistent {
		f = cmd.PersistentFlags()
	}
	f.StringVar(url, "server", "", "`URL` of the server; default $"+ServerEnv+", else the URL a server\n"+
		"running on the data directory wrote in its "+serverURLFile+", else "+DefaultServerURL)
}

// serverURL is the server a client command talks to: flag (--server),
// $SLUICE_SERVER, the URL in the data directory's server.url, or the
// default.
func (a *app) serverURL(flag string) string {
	if flag != "" {
		return flag
	}
	if v := a.env.Getenv(ServerEnv); v != "" {
		return v
	}
	if a.dataDir != "" {
		if b, err := os.ReadFile(filepath.Join(a.dataDir, serverURLFile)); err == nil {
			if u := strings.TrimSpace(string(b)); u != "" {
				return u
			}
		}
	}
	return DefaultServerURL
}

func (a *app) client(flag string) (*server.Client, error) {
	c, err := server.NewClient(a.serverURL(flag), nil)
	if err != nil {
		return nil, &usageError{err}
	}
	return c, nil
}

// runningServer returns a client of the server that owns the data
// directory, or nil when no server answers at the URL it wrote there.
func (a *app) runningServer(ctx context.Context) *server.Client {
	b, err := os.ReadFile(filepath.Join(a.dataDir, serverURLFile))
	if err != nil {
		return nil
	}
	c, err := server.NewClient(string(b), nil)
	if err != nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if c.Health(ctx) != nil {
		return nil
	}
	return c
}

// remoteError is err as the command line prints it: an error the server
// placed in the SQL becomes the *sql.Error pointing into text (sent from
// offset base of it), caret and all, as the embedded engine gives it.
func remoteError(text string, base int, err error) error {
	var ae *server.APIError
	if !errors.As(err, &ae) || ae.Info.Position == nil {
		return err
	}
	if p := *ae.Info.Position; p > len(text)-base {
		return err
	}
	return sql.NewError(text, base+*ae.Info.Position, ae.Info.Message)
}

// remoteShell runs the shell loop with every statement run on the server
// c talks to.
func (a *app) remoteShell(ctx context.Context, c *server.Client, r renderer) error {
	exec := func(ctx context.Context, text string, r renderer) bool {
		return a.remoteExec(ctx, c, text, r)
	}
	if !interactive(a.env.Stdin) {
		return a.shellLoop(ctx, exec, newPlainLines(a.env.Stdin), r)
	}
	t := newTermLines(filepath.Join(a.dataDir, historyFile), a.env.Stderr)
	defer t.close()
	fmt.Fprintf(a.env.Stdout, "Sluice shell on the server at %s: end statements with ';', Ctrl-C stops a statement, Ctrl-D exits.\n", c.URL())
	return a.shellLoop(ctx, exec, t, r)
}

// remoteExec runs the statements of text on the server, printing what
// each did as shellExec does, and reports whether all of them succeeded.
// Ctrl-C (SIGINT) cancels the request that runs, which stops a SELECT on
// the server, and stops a bounded job being waited for.
func (a *app) remoteExec(ctx context.Context, c *server.Client, text string, r renderer) bool {
	sigCtx, stop := signal.NotifyContext(ctx, os.Interrupt)
	defer stop()
	out, info := a.env.Stdout, a.env.Stdout
	if !r.table() {
		info = a.env.Stderr
	}
	each := func(res server.StatementResult) error {
		if res.Stream != nil {
			return printRemoteStream(sigCtx, out, r, res)
		}
		if res.Columns != nil {
			return renderRows(r, out, res.Columns, res.Rows)
		}
		fmt.Fprintln(info, res.Message)
		if res.JobID == "" {
			return nil
		}
		if !res.Bounded {
			fmt.Fprintf(info, "job %s reads an unbounded source: it runs on the server until STOP JOB '%s'\n", res.JobID, res.JobID)
			return nil
		}
		return waitRemoteJob(sigCtx, c, res.JobID, info)
	}
	var err error
	for _, g := range requestGroups(text) {
		if err = c.Execute(sigCtx, text[g[0]:g[1]], each); err != nil {
			err = remoteError(text, g[0], err)
			break
		}
	}
	switch {
	case err == nil:
		return true
	case errors.Is(err, errInterrupted):
		return true
	case sigCtx.Err() != nil && ctx.Err() == nil:
		fmt.Fprintln(a.env.Stderr, "interrupted")
		return false
	}
	var se *sql.Error
	if errors.As(err, &se) {
		fmt.Fprintln(a.env.Stderr, se)
	} else {
		fmt.Fprintf(a.env.Stderr, "ERROR: %v\n", err)
	}
	return false
}

// requestGroups cuts text into the spans sent as one request each: the
// server takes a SELECT only as the last statement of a request, so each
// span ends at a SELECT or at the end. Text that does not parse is sent
// whole, for the server to point at the error.
func requestGroups(text string) [][2]int {
	stmts, err := sql.Parse(text)
	if err != nil || len(stmts) == 0 {
		return [][2]int{{0, len(text)}}
	}
	var groups [][2]int
	start := 0
	for i, st := range stmts {
		end := st.Offset + len(st.Text)
		if i == len(stmts)-1 || sql.Classify(st).Kind == sql.KindSelect {
			groups = append(groups, [2]int{start, end})
			start = end
		}
	}
	return groups
}

// printRemoteStream prints a SELECT's rows as the server sends them,
// until the query ends or ctx does (Ctrl-C), which, like printStream,
// ends with the rows so far and errInterrupted.
func printRemoteStream(ctx context.Context, w io.Writer, r renderer, res server.StatementResult) error {
	rw := r.writer(w, res.Columns)
	for {
		rows, err := res.Stream.Next()
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

// renderRows prints a whole result set with r.
func renderRows(r renderer, w io.Writer, cols types.Schema, rows [][]any) error {
	rw := r.writer(w, cols)
	if err := rw.rows(rows); err != nil {
		return err
	}
	return rw.end("")
}

// jobPollInterval is how often the shell asks the server whether a
// bounded job it waits for has ended.
const jobPollInterval = 100 * time.Millisecond

// waitRemoteJob waits for a bounded job on the server to end, as the
// embedded shell does, and prints how it ended. Interrupted, it stops
// the job: the statement the user means to stop.
func waitRemoteJob(ctx context.Context, c *server.Client, id string, info io.Writer) error {
	tick := time.NewTicker(jobPollInterval)
	defer tick.Stop()
	for {
		j, err := c.Job(ctx, id)
		if err != nil {
			if ctx.Err() != nil {
				// Stopping must not wait on the interrupted context.
				_, _ = c.StopJob(context.WithoutCancel(ctx), id, false)
			}
			return err
		}
		switch j.Status {
		case "finished":
			fmt.Fprintf(info, "job %s finished: %s\n", id, stagesSummary(j.Stages))
			return nil
		case "failed":
			return fmt.Errorf("job %s failed: %s", id, j.Error)
		case "cancelled":
			return fmt.Errorf("job %s was stopped", id)
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			_, _ = c.StopJob(context.WithoutCancel(ctx), id, false)
			return ctx.Err()
		}
	}
}

// stagesSummary says what a job did, as jobSummary does for a job of the
// embedded engine.
func stagesSummary(stages []server.Stage) string {
	if len(stages) == 0 {
		return "no metrics"
	}
	var late int64
	for _, s := range stages {
		late += s.LateRows
	}
	sum := fmt.Sprintf("%d rows read, %d rows written", stages[0].RowsOut, stages[len(stages)-1].RowsIn)
	if late > 0 {
		sum += fmt.Sprintf(", %d late rows dropped", late)
	}
	return sum
}
