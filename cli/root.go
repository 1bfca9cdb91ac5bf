package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/sluice-sql/sluice/broker"
	logconn "github.com/sluice-sql/sluice/connectors/log"
	"github.com/sluice-sql/sluice/sql"
)

// DefaultDataDir is the data directory used when neither --data nor
// $SLUICE_DATA names one.
const DefaultDataDir = "./sluice-data"

// DataDirEnv is the environment variable that names the data directory
// when --data is not given.
const DataDirEnv = "SLUICE_DATA"

// Exit codes; see the package documentation.
const (
	exitOK    = 0
	exitError = 1
	exitUsage = 2
)

// Env is what a command may use of the outside world.
type Env struct {
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	// Getenv reads an environment variable.
	Getenv func(string) string
	// Pid is the process id written into the data directory's lock file.
	Pid int
}

// Main runs the command line args (os.Args: the program name first) on
// the process's standard streams and environment, and returns the exit
// code.
func Main(args []string) int {
	return Run(context.Background(), args, Env{
		Stdin:  os.Stdin,
		Stdout: os.Stdout,
		Stderr: os.Stderr,
		Getenv: os.Getenv,
		Pid:    os.Getpid(),
	})
}

// Run runs the command line args (the program name first) in env and
// returns the exit code.
func Run(ctx context.Context, args []string, env Env) int {
	a := &app{env: env, cmdline: commandLine(args)}
	root := a.rootCommand()
	if len(args) > 0 {
		args = args[1:]
	}
	root.SetArgs(args)
	root.SetIn(env.Stdin)
	root.SetOut(env.Stdout)
	root.SetErr(env.Stderr)
	cmd, err := root.ExecuteContextC(ctx)
	if err == nil {
		return exitOK
	}
	// A SQL error prints as it is: its own "ERROR: line:col" first line,
	// then the source line and a caret.
	var se *sql.Error
	if errors.As(err, &se) {
		fmt.Fprintln(env.Stderr, se)
		return exitError
	}
	fmt.Fprintf(env.Stderr, "sluice: %v\n", err)
	var ue *usageError
	if errors.As(err, &ue) {
		if cmd == nil {
			cmd = root
		}
		fmt.Fprintf(env.Stderr, "Run '%s --help' for usage.\n", cmd.CommandPath())
		return exitUsage
	}
	return exitError
}

// app holds the global flags and the environment of one run.
type app struct {
	env     Env
	cmdline string // the command line, for the lock file

	dataDir       string
	fsyncInterval time.Duration
}

func (a *app) rootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:   "sluice",
		Short: "Sluice is a streaming SQL engine with a built-in partitioned log",
		Long: `Sluice is a streaming SQL engine in one binary, with a built-in
partitioned log that keeps its data in a data directory.

A data directory is used by one process at a time.`,
		Args: noSubcommand,
		RunE: func(cmd *cobra.Command, args []string) error {
			// On a terminal, bare sluice is the shell; elsewhere (a
			// script, a pipe) it prints help rather than read stdin.
			if interactive(a.env.Stdin) {
				return a.shell(cmd.Context(), tableRenderer{}, 0, "")
			}
			return cmd.Help()
		},
		SilenceErrors: true,
		SilenceUsage:  true,
	}
	root.CompletionOptions.HiddenDefaultCmd = true
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error {
		return &usageError{err}
	})

	dataDefault := DefaultDataDir
	if v := a.env.Getenv(DataDirEnv); v != "" {
		dataDefault = v
	}
	pf := root.PersistentFlags()
	pf.StringVar(&a.dataDir, "data", dataDefault,
		"data `directory` holding the topics; $"+DataDirEnv+", when set, is the default")
	pf.DurationVar(&a.fsyncInterval, "fsync-interval", 0,
		"durability of appends: 0 acknowledges an append only once it is fsynced to disk,\n"+
			"sharing each fsync among concurrent appends (group commit); a positive `duration`\n"+
			"acknowledges an append once written and fsyncs every interval, so a machine\n"+
			"crash can lose up to that much acknowledged data (a process crash loses none)")

	root.AddCommand(a.runCommand(), a.shellCommand(), a.topicCommand(), a.benchCommand(), a.versionCommand(),
		a.serverCommand(), a.submitCommand(), a.jobsCommand())
	return root
}

// openBroker opens the data directory. Unless create is set, a directory
// that does not exist is an error rather than created.
func (a *app) openBroker(create bool) (*broker.Broker, error) {
	dir := a.dataDir
	if dir == "" {
		return nil, &usageError{errors.New("--data is empty")}
	}
	if !create {
		if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("data directory %s does not exist (create a topic to make one, or point --data or $%s at an existing one)", dir, DataDirEnv)
		}
	}
	logger := slog.New(slog.NewTextHandler(a.env.Stderr, &slog.HandlerOptions{
		Level: slog.LevelWarn,
		ReplaceAttr: func(groups []string, attr slog.Attr) slog.Attr {
			if len(groups) == 0 && attr.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return attr
		},
	}))
	return broker.Open(dir, broker.Options{
		FsyncInterval: a.fsyncInterval,
		Logger:        logger,
		// Long enough for an exactly-once job's transaction to outlast
		// a crash and be committed by its recovery.
		TransactionTimeout: logconn.RecommendedTransactionTimeout,
		Owner:              fmt.Sprintf("process %d (%s)", a.env.Pid, a.cmdline),
	})
}

// commandLine renders args for a person to read, quoting the arguments
// that need it, with the program's base name first.
func commandLine(args []string) string {
	if len(args) == 0 {
		return "sluice"
	}
	parts := make([]string, len(args))
	parts[0] = filepath.Base(args[0])
	for i, s := range args[1:] {
		if s == "" || strings.ContainsAny(s, " \t\n\"'\\$") {
			s = strconv.Quote(s)
		}
		parts[i+1] = s
	}
	return strings.Join(parts, " ")
}

// usageError is an error in the command line itself; it exits with code 2
// and a hint to read the command's help.
type usageError struct{ err error }

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

func usagef(format string, args ...any) error {
	return &usageError{fmt.Errorf(format, args...)}
}

// noSubcommand is the Args check of commands that group subcommands: any
// argument names a subcommand that does not exist.
func noSubcommand(cmd *cobra.Command, args []string) error {
	if len(args) == 0 {
		return nil
	}
	msg := fmt.Sprintf("unknown command %q for %q", args[0], cmd.CommandPath())
	if s := cmd.SuggestionsFor(args[0]); len(s) > 0 {
		msg += fmt.Sprintf(" (did you mean %q?)", s[0])
	}
	return &usageError{errors.New(msg)}
}

// exactArgs is the Args check of a command that takes the named
// positional arguments.
func exactArgs(names ...string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) == len(names) {
			return nil
		}
		want := strings.Join(names, " ")
		switch {
		case len(names) == 0:
			return usagef("%s takes no arguments, got %q", cmd.CommandPath(), args)
		case len(args) < len(names):
			return usagef("%s needs %s", cmd.CommandPath(), want)
		default:
			return usagef("%s takes %s, got %d arguments: %q", cmd.CommandPath(), want, len(args), args)
		}
	}
}

// closeBroker closes b, reporting a failure to close (which can mean data
// not synced) unless the command already failed.
// openTopic opens the data directory and describes the named topic; the
// caller closes the broker with closeBroker.
func (a *app) openTopic(name string) (*broker.Broker, broker.TopicInfo, error) {
	b, err := a.openBroker(false)
	if err != nil {
		return nil, broker.TopicInfo{}, err
	}
	info, err := b.DescribeTopic(name)
	if err != nil {
		b.Close()
		return nil, broker.TopicInfo{}, topicError(name, err)
	}
	return b, info, nil
}

func closeBroker(b *broker.Broker, err *error) {
	if cerr := b.Close(); cerr != nil && *err == nil {
		*err = fmt.Errorf("close data directory: %w", cerr)
	}
}
