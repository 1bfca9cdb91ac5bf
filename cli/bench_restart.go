package cli

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/dustin/go-humanize"
	"github.com/spf13/cobra"

	"github.com/sluice-sql/sluice/server"
)

// benchRestartRun is what `sluice bench restart` measures.
type benchRestartRun struct {
	jobs       int
	stateBytes int64
	interval   time.Duration
	keep       bool
}

func (a *app) benchRestartCommand() *cobra.Command {
	var r benchRestartRun
	var state string
	cmd := &cobra.Command{
		Use:   "restart",
		Short: "Measure how soon a killed server's jobs are processing again",
		Long: `Start a server (this binary, as a child process) on a temporary data
directory, submit --jobs jobs to it and let them run and checkpoint; kill
the server with SIGKILL, start it again, and report the time from the
restart to every job processing again (its sources reading rows in the
new process), along with the server's start-up alone.

Each job is an unwindowed GROUP BY over an unbounded datagen table into
a blackhole sink. With --state, the first job makes every row a new
group with a 150-character value, and the kill waits until that job's
state database holds --state bytes on disk and has checkpointed since.`,
		Example: `  sluice bench restart --jobs 20
  sluice bench restart --jobs 1 --state 1GiB`,
		Args: exactArgs(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if r.jobs < 1 {
				return usagef("--jobs must be at least 1, got %d", r.jobs)
			}
			if state != "" {
				n, err := humanize.ParseBytes(state)
				if err != nil {
					return usagef("--state %q: want a size such as 512MiB or 1GiB", state)
				}
				r.stateBytes = int64(n)
			}
			if r.interval <= 0 {
				return usagef("--checkpoint-interval must be positive")
			}
			return a.benchRestart(cmd.Context(), r)
		},
	}
	f := cmd.Flags()
	f.IntVar(&r.jobs, "jobs", 20, "how many jobs the server runs")
	f.StringVar(&state, "state", "", "state the first job builds before the kill, such as 512MiB or 1GiB (default: a little)")
	f.DurationVar(&r.interval, "checkpoint-interval", time.Second, "how often the jobs checkpoint")
	f.BoolVar(&r.keep, "keep", false, "keep the data directory (its path is printed)")
	return cmd
}

// benchServer is a server child process on a data directory.
type benchServer struct {
	cmd    *exec.Cmd
	stderr bytes.Buffer
	client *server.Client
}

// startBenchServer starts the server on dir and waits until it answers.
func startBenchServer(ctx context.Context, exe, dir string) (*benchServer, error) {
	urlFile := filepath.Join(dir, serverURLFile)
	os.Remove(urlFile) // a killed server leaves its own
	s := &benchServer{}
	s.cmd = exec.Command(exe, "--data", dir, "server", "--http", "127.0.0.1:0")
	s.cmd.Stderr = &s.stderr
	if err := s.cmd.Start(); err != nil {
		return nil, err
	}
	deadline := time.Now().Add(2 * time.Minute)
	for {
		if data, err := os.ReadFile(urlFile); err == nil && strings.HasSuffix(string(data), "\n") {
			c, err := server.NewClient(strings.TrimSpace(string(data)), nil)
			if err != nil {
				s.kill()
				return nil, err
			}
			if err := c.Health(ctx); err == nil {
				s.client = c
				return s, nil
			}
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			s.kill()
			return nil, fmt.Errorf("the server did not start: %s", s.stderr.String())
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func (s *benchServer) kill() {
	s.cmd.Process.Signal(syscall.SIGKILL)
	s.cmd.Wait()
}

// dirBytes returns the disk space the files under dir take (allocated
// blocks, so that Badger's preallocated files count what they hold).
func dirBytes(dir string) int64 {
	var n int64
	filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		if info, err := d.Info(); err == nil {
			if st, ok := info.Sys().(*syscall.Stat_t); ok {
				n += st.Blocks * 512
			} else {
				n += info.Size()
			}
		}
		return nil
	})
	return n
}

const benchRestartTables = `CREATE TABLE big (id BIGINT, pad STRING) WITH ('connector'='datagen',
  'fields.id.kind'='sequence', 'fields.id.start'='1', 'fields.id.end'='9000000000000000000',
  'fields.pad.length'='150');
CREATE TABLE small (k BIGINT) WITH ('connector'='datagen', 'fields.k.min'='1', 'fields.k.max'='1000',
  'rows-per-second'='1000');
CREATE TABLE sink (k BIGINT, n BIGINT, p STRING) WITH ('connector'='blackhole');
`

func (a *app) benchRestart(ctx context.Context, r benchRestartRun) (err error) {
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "sluice-bench-restart-")
	if err != nil {
		return err
	}
	if !r.keep {
		defer os.RemoveAll(dir)
	}
	w := a.env.Stdout
	srv, err := startBenchServer(ctx, exe, dir)
	if err != nil {
		return err
	}
	defer func() {
		if srv != nil {
			srv.cmd.Process.Signal(syscall.SIGTERM)
			srv.cmd.Wait()
		}
	}()
	var script strings.Builder
	script.WriteString(benchRestartTables)
	fmt.Fprintf(&script, "SET 'checkpoint.interval' = '%s';\n", r.interval)
	for i := range r.jobs {
		if i == 0 && r.stateBytes > 0 {
			script.WriteString("INSERT INTO sink SELECT id, COUNT(*), MAX(pad) FROM big GROUP BY id;\n")
			continue
		}
		fmt.Fprintf(&script, "INSERT INTO sink SELECT k, COUNT(*), '%d' FROM small WHERE MOD(k, %d) >= 0 GROUP BY k;\n", i, i+1)
	}
	if err := srv.client.Execute(ctx, script.String(), func(server.StatementResult) error { return nil }); err != nil {
		return fmt.Errorf("submit the jobs: %w", err)
	}
	// Every job running and checkpointed; the state grown.
	stateDir := filepath.Join(dir, "state", "j-1")
	buildStart := time.Now()
	var lastCk uint64
	for {
		jobs, err := srv.client.Jobs(ctx)
		if err != nil {
			return err
		}
		ready := len(jobs) == r.jobs
		for _, j := range jobs {
			if j.Status != "running" || j.Checkpoint == nil {
				ready = false
			}
			if j.Error != "" {
				return fmt.Errorf("job %s: %s", j.ID, j.Error)
			}
		}
		size := dirBytes(stateDir)
		if ready && size >= r.stateBytes {
			j1 := jobs[0]
			if lastCk == 0 {
				lastCk = j1.Checkpoint.ID // wait for one after the size was reached
			} else if j1.Checkpoint.ID > lastCk {
				fmt.Fprintf(w, "before the kill:   %d jobs running; job j-1's state %.1f MiB on disk, checkpoint %d, built in %.1f s\n",
					len(jobs), float64(size)/(1<<20), j1.Checkpoint.ID, time.Since(buildStart).Seconds())
				break
			}
		}
		if time.Since(buildStart) > 30*time.Minute {
			return fmt.Errorf("the jobs were not ready in 30 minutes (state %d bytes)", size)
		}
		time.Sleep(100 * time.Millisecond)
	}

	srv.kill()
	srv = nil
	start := time.Now()
	srv, err = startBenchServer(ctx, exe, dir)
	if err != nil {
		return err
	}
	up := time.Since(start)
	for {
		jobs, err := srv.client.Jobs(ctx)
		if err != nil {
			return err
		}
		processing := 0
		for _, j := range jobs {
			if j.Error != "" {
				return fmt.Errorf("job %s after the restart: %s", j.ID, j.Error)
			}
			if j.Status == "running" && len(j.Stages) > 0 && j.Stages[0].RowsOut > 0 {
				processing++
			}
		}
		if processing == r.jobs {
			break
		}
		if time.Since(start) > 5*time.Minute {
			return fmt.Errorf("after 5 minutes %d of %d jobs are processing: %s", processing, r.jobs, srv.stderr.String())
		}
		time.Sleep(2 * time.Millisecond)
	}
	all := time.Since(start)
	fmt.Fprintf(w, "server answering:  %.3f s after the restart\n", up.Seconds())
	fmt.Fprintf(w, "all processing:    %.3f s after the restart (%d jobs)\n", all.Seconds(), r.jobs)
	if r.keep {
		fmt.Fprintf(w, "data directory:    %s\n", dir)
	}
	return nil
}
