package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"

	"github.com/peterh/liner"
	"github.com/spf13/cobra"

	"github.com/sluice-sql/sluice/broker"
	"github.com/sluice-sql/sluice/runtime"
	"github.com/sluice-sql/sluice/server"
	"github.com/sluice-sql/sluice/sql"
)

// historyFile is the shell's history, kept in the data directory so that
// it follows the tables it mentions.
const historyFile = ".sluice_history"

const (
	promptFirst = "sluice> "
	promptMore  = "     -> "
)

func (a *app) shellCommand() *cobra.Command {
	var (
		format      string
		parallelism int
		serverURL   string
	)
	cmd := &cobra.Command{
		Use:   "shell",
		Short: "Run SQL statements interactively",
		Long: `Run SQL statements interactively, on an engine embedded in this
process over the data directory. Bare "sluice" on a terminal starts it too.

A statement may span lines and ends with a semicolon. Ctrl-C stops the
statement that is running (or clears what is typed) and returns to the
prompt; Ctrl-D exits. History is kept in the data directory, in
` + historyFile + `.

INSERT INTO ... SELECT over bounded sources waits for its job to finish;
over an unbounded source the job runs in the background until STOP JOB or
the end of the shell.

When standard input is not a terminal, the shell reads statements from it
without prompts, carries on after an error, and exits at the end of the
input, with status 1 if any statement failed.

With --server, statements run on that sluice server instead: jobs keep
running there after the shell exits, and Ctrl-C stops a SELECT on the
server. Without it, a data directory that a running server owns is
used through that server, which the shell says on standard error.`,
		Example: `  sluice shell
  sluice --data ./d shell < statements.sql
  sluice shell --server http://127.0.0.1:8080`,
		Args: exactArgs(),
		RunE: func(cmd *cobra.Command, args []string) error {
			r, err := newRenderer(format)
			if err != nil {
				return err
			}
			if parallelism < 0 {
				return usagef("--parallelism must be at least 1, or 0 for the number of cores")
			}
			if serverURL != "" && cmd.Flags().Changed("parallelism") {
				return usagef("--parallelism is for an embedded engine: a server's jobs run with its own")
			}
			return a.shell(cmd.Context(), r, parallelism, serverURL)
		},
	}
	f := cmd.Flags()
	f.StringVar(&format, "format", "table", "how SELECT results print: table, json or csv")
	f.IntVar(&parallelism, "parallelism", 0, "instances of every job (0: the number of cores)")
	f.StringVar(&serverURL, "server", "", "run the statements on the sluice server at `URL` instead of an embedded engine")
	return cmd
}

// interactive reports whether r is the process's standard input and a
// terminal, the one case where line editing works.
func interactive(r io.Reader) bool {
	f, ok := r.(*os.File)
	if !ok || f != os.Stdin {
		return false
	}
	_, err := liner.TerminalMode()
	return err == nil
}

// shell opens the data directory and an engine on it and runs the shell
// loop on standard input until it ends. With serverURL, or when a
// running server owns the data directory, it runs the statements on
// that server instead.
func (a *app) shell(ctx context.Context, r renderer, parallelism int, serverURL string) (err error) {
	if serverURL != "" {
		c, err := server.NewClient(serverURL, nil)
		if err != nil {
			return &usageError{err}
		}
		return a.remoteShell(ctx, c, r)
	}
	e, done, err := a.openEngine(parallelism)
	if errors.Is(err, broker.ErrDataDirInUse) {
		if c := a.runningServer(ctx); c != nil {
			fmt.Fprintf(a.env.Stderr, "sluice: the data directory %s is owned by the server at %s: the statements run there\n", a.dataDir, c.URL())
			return a.remoteShell(ctx, c, r)
		}
	}
	if err != nil {
		return err
	}
	defer done(&err)

	exec := func(ctx context.Context, text string, r renderer) bool {
		return a.shellExec(ctx, e, text, r)
	}
	if !interactive(a.env.Stdin) {
		return a.shellLoop(ctx, exec, newPlainLines(a.env.Stdin), r)
	}
	t := newTermLines(filepath.Join(a.dataDir, historyFile), a.env.Stderr)
	defer t.close()
	fmt.Fprintln(a.env.Stdout, "Sluice shell: end statements with ';', Ctrl-C stops a statement, Ctrl-D exits.")
	return a.shellLoop(ctx, exec, t, r)
}

// shellExecFunc runs the statements of text, printing what each did,
// and reports whether all of them succeeded.
type shellExecFunc func(ctx context.Context, text string, r renderer) bool

// errLineAborted is what lineSource.readLine returns after Ctrl-C.
var errLineAborted = errors.New("line aborted")

// lineSource is where the shell reads its input.
type lineSource interface {
	// readLine shows prompt (if the source is interactive) and returns
	// the next line without its newline; errLineAborted when the user
	// pressed Ctrl-C, io.EOF at the end of the input.
	readLine(prompt string) (string, error)
	// remember adds a statement that was run to the history.
	remember(stmt string)
	interactive() bool
}

// shellLoop reads lines from in, runs each statement once its semicolon
// has been read, and prints what it did, until the input ends. An error
// in a statement is printed and the loop carries on.
func (a *app) shellLoop(ctx context.Context, exec shellExecFunc, in lineSource, r renderer) error {
	var (
		pending string // lines read that do not yet end a statement
		failed  int
	)
	run := func(text string) {
		if !exec(ctx, text, r) {
			failed++
		}
	}
	for ctx.Err() == nil {
		prompt := promptFirst
		if pending != "" {
			prompt = promptMore
		}
		line, err := in.readLine(prompt)
		switch {
		case errors.Is(err, errLineAborted):
			pending = ""
			continue
		case errors.Is(err, io.EOF):
			// A script's last statement may lack its semicolon, as in
			// sluice run.
			if strings.TrimSpace(pending) != "" {
				in.remember(pending)
				run(pending)
			}
			switch {
			case failed == 0 || in.interactive():
			case failed == 1:
				return errors.New("1 statement failed")
			default:
				return fmt.Errorf("%d statements failed", failed)
			}
			return nil
		case err != nil:
			return err
		}
		var done string
		done, pending = completeStatements(pending + line + "\n")
		if done != "" {
			in.remember(done)
			run(done)
		}
	}
	return ctx.Err()
}

// completeStatements splits text into the statements that a semicolon has
// ended, and the rest, which is still being typed. Text that holds only
// blanks, comments and semicolons is all done, so that an empty line does
// not keep the continuation prompt; an unterminated string, quoted name
// or block comment is all rest.
func completeStatements(text string) (done, rest string) {
	pieces, err := sql.Split(text)
	if err != nil {
		return "", text
	}
	if len(pieces) == 0 {
		return "", ""
	}
	last := pieces[len(pieces)-1]
	if strings.HasPrefix(strings.TrimSpace(text[last.End():]), ";") {
		return text, ""
	}
	return text[:last.Offset], text[last.Offset:]
}

// shellExec runs the statements of text, printing what each did, and
// reports whether all of them succeeded. Ctrl-C (SIGINT) while they run
// cancels them.
func (a *app) shellExec(ctx context.Context, e *runtime.Engine, text string, r renderer) bool {
	sigCtx, stop := signal.NotifyContext(ctx, os.Interrupt)
	defer stop()
	out, info := a.env.Stdout, a.env.Stdout
	if !r.table() {
		info = a.env.Stderr
	}
	err := e.Run(sigCtx, text, func(res runtime.Result) error {
		if res.Stream != nil {
			return printStream(sigCtx, out, r, res, false)
		}
		if res.Columns != nil {
			return render(r, out, res)
		}
		fmt.Fprintln(info, res.Message)
		if res.JobID == "" {
			return nil
		}
		if !res.Bounded {
			fmt.Fprintf(info, "job %s reads an unbounded source: it runs in the background until STOP JOB '%s' or the end of the shell\n", res.JobID, res.JobID)
			return nil
		}
		werr := e.Wait(sigCtx, res.JobID)
		if werr == nil {
			fmt.Fprintf(info, "job %s finished: %s\n", res.JobID, jobSummary(e, res.JobID))
			return nil
		}
		if sigCtx.Err() != nil {
			// Interrupted while waiting: the job is the statement the
			// user means to stop.
			stopJob(e, res.JobID)
		}
		return werr
	})
	switch {
	case err == nil:
		return true
	case errors.Is(err, errInterrupted):
		// Ctrl-C is how a push query ends: the rows so far and
		// "interrupted" are printed, and nothing failed.
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

// stopJob stops job id as STOP JOB does, and waits for it to end.
func stopJob(e *runtime.Engine, id string) {
	// The id is one the engine made ("j-N"): it needs no escaping.
	_, _ = e.Exec(context.Background(), "STOP JOB '"+id+"'")
}

// plainLines reads lines from a reader that is not a terminal: no
// prompts, no editing, no history.
type plainLines struct {
	r *bufio.Reader
}

func newPlainLines(r io.Reader) *plainLines { return &plainLines{r: bufio.NewReader(r)} }

func (p *plainLines) readLine(string) (string, error) {
	line, err := p.r.ReadString('\n')
	if err == io.EOF && line != "" {
		err = nil
	}
	return strings.TrimRight(line, "\r\n"), err
}

func (p *plainLines) remember(string)   {}
func (p *plainLines) interactive() bool { return false }

// termLines reads lines from the terminal with line editing, and keeps
// their history in a file across runs.
type termLines struct {
	st      *liner.State
	history string
	stderr  io.Writer
}

func newTermLines(history string, stderr io.Writer) *termLines {
	t := &termLines{st: liner.NewLiner(), history: history, stderr: stderr}
	t.st.SetCtrlCAborts(true)
	t.st.SetMultiLineMode(true)
	if f, err := os.Open(history); err == nil {
		_, _ = t.st.ReadHistory(f)
		f.Close()
	}
	return t
}

func (t *termLines) readLine(prompt string) (string, error) {
	line, err := t.st.Prompt(prompt)
	switch {
	case errors.Is(err, liner.ErrPromptAborted):
		return "", errLineAborted
	case errors.Is(err, io.EOF):
		// Ctrl-D: end the prompt's line so the caller's shell starts on
		// a fresh one.
		fmt.Println()
	}
	return line, err
}

// remember adds stmt to the history as one line, since the history file
// holds one entry per line.
func (t *termLines) remember(stmt string) {
	if s := strings.Join(strings.Fields(stmt), " "); s != "" {
		t.st.AppendHistory(s)
	}
}

func (t *termLines) interactive() bool { return true }

// close saves the history and gives the terminal back its mode.
func (t *termLines) close() {
	if f, err := os.Create(t.history); err == nil {
		if _, err := t.st.WriteHistory(f); err != nil {
			fmt.Fprintf(t.stderr, "sluice: save history: %v\n", err)
		}
		if err := f.Close(); err != nil {
			fmt.Fprintf(t.stderr, "sluice: save history: %v\n", err)
		}
	}
	t.st.Close()
}
