package chaos_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"
)

// listeningPrefix starts the line a server prints once it serves HTTP;
// stoppedLine is the last line of a graceful shutdown.
const (
	listeningPrefix = "sluice server listening on "
	stoppedLine     = "sluice server stopped"
)

// serverLog is the standard error of every life of a data directory's
// server, each line prefixed with its life, for failure messages.
type serverLog struct {
	mu    sync.Mutex
	lines []string
}

func (l *serverLog) add(line string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, line)
}

// note adds a line of the test's own, so that the log shows when each
// signal was sent.
func (l *serverLog) note(format string, args ...any) {
	l.add("--- " + fmt.Sprintf(format, args...))
}

// tail returns the last n lines.
func (l *serverLog) tail(n int) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	from := max(len(l.lines)-n, 0)
	return strings.Join(l.lines[from:], "\n")
}

func (l *serverLog) String() string { return l.tail(len(l.lines)) }

// matching returns the lines that contain any of subs.
func (l *serverLog) matching(subs ...string) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, line := range l.lines {
		for _, s := range subs {
			if strings.Contains(line, s) {
				out = append(out, line)
				break
			}
		}
	}
	return out
}

// lifeWriter takes one server process's standard error: it splits it
// into lines for the log and hands over the URL the server listens on.
// exec calls Write from one goroutine, and Wait waits for it.
type lifeWriter struct {
	life    int
	log     *serverLog
	partial []byte
	url     chan string // buffered: the first URL printed
	sawURL  bool
	stopped bool // the graceful shutdown's last line was printed
}

func (w *lifeWriter) Write(p []byte) (int, error) {
	w.partial = append(w.partial, p...)
	for {
		i := bytes.IndexByte(w.partial, '\n')
		if i < 0 {
			break
		}
		w.line(string(w.partial[:i]))
		w.partial = w.partial[i+1:]
	}
	return len(p), nil
}

func (w *lifeWriter) line(s string) {
	w.log.add(fmt.Sprintf("[life %d] %s", w.life, s))
	if u, ok := strings.CutPrefix(s, listeningPrefix); ok && !w.sawURL {
		w.sawURL = true
		w.url <- strings.TrimSpace(u)
	}
	if s == stoppedLine {
		w.stopped = true
	}
}

// flush logs an unterminated last line; call it after the process has
// been waited for.
func (w *lifeWriter) flush() {
	if len(w.partial) > 0 {
		w.line(string(w.partial))
		w.partial = nil
	}
}

// serverProc is one life of `sluice server` on a data directory.
type serverProc struct {
	life    int
	cmd     *exec.Cmd
	stderr  *lifeWriter
	started time.Time
	// exited is closed when the process has ended and been waited for;
	// then state and waitErr say how it ended.
	exited  chan struct{}
	waitErr error
	url     string // set by waitListening
}

// startServer starts a server process on dir; it does not wait for it
// to listen.
func startServer(bin, dir string, life int, log *serverLog) (*serverProc, error) {
	w := &lifeWriter{life: life, log: log, url: make(chan string, 1)}
	cmd := exec.Command(bin, "--data", dir, "server", "--http", "127.0.0.1:0", "--parallelism", "1")
	cmd.Env = cleanEnv()
	cmd.Stdout = w
	cmd.Stderr = w
	p := &serverProc{life: life, cmd: cmd, stderr: w, exited: make(chan struct{})}
	log.note("life %d: start %s", life, strings.Join(cmd.Args, " "))
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start the server: %w", err)
	}
	p.started = time.Now()
	go func() {
		p.waitErr = cmd.Wait()
		w.flush()
		close(p.exited)
	}()
	return p, nil
}

// cleanEnv is the test's environment without the variables that would
// point the CLI at another data directory or server.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "SLUICE_DATA=") || strings.HasPrefix(kv, "SLUICE_SERVER=") {
			continue
		}
		env = append(env, kv)
	}
	return env
}

// waitListening waits until the server serves HTTP and returns its URL.
func (p *serverProc) waitListening(timeout time.Duration) (string, error) {
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case p.url = <-p.stderr.url:
		return p.url, nil
	case <-p.exited:
		return "", fmt.Errorf("the server (life %d) exited before it listened: %s", p.life, p.exitDescription())
	case <-t.C:
		return "", fmt.Errorf("the server (life %d) did not listen within %v", p.life, timeout)
	}
}

// exitDescription says how the ended process ended.
func (p *serverProc) exitDescription() string {
	st := p.cmd.ProcessState
	if st == nil {
		return fmt.Sprintf("not waited for (%v)", p.waitErr)
	}
	return st.String()
}

// kill ends the process with SIGKILL and waits for it; it fails if
// the process had ended on its own.
func (p *serverProc) kill() error {
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("SIGKILL the server (life %d): %w", p.life, err)
	}
	<-p.exited
	if ws, ok := p.cmd.ProcessState.Sys().(syscall.WaitStatus); ok && !(ws.Signaled() && ws.Signal() == syscall.SIGKILL) {
		return fmt.Errorf("the server (life %d) exited on its own before SIGKILL: %s", p.life, p.exitDescription())
	}
	return nil
}

// terminate sends SIGTERM and waits for the process to exit, which a
// graceful shutdown must do with status 0 after printing its last line.
func (p *serverProc) terminate(timeout time.Duration) error {
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		return fmt.Errorf("SIGTERM the server (life %d): %w", p.life, err)
	}
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-p.exited:
	case <-t.C:
		p.kill()
		return fmt.Errorf("the server (life %d) did not exit within %v of SIGTERM; killed", p.life, timeout)
	}
	if code := p.cmd.ProcessState.ExitCode(); code != 0 {
		return fmt.Errorf("the server (life %d) exited with %s after SIGTERM, want exit status 0", p.life, p.exitDescription())
	}
	if !p.stderr.stopped {
		return fmt.Errorf("the server (life %d) exited 0 after SIGTERM without printing %q", p.life, stoppedLine)
	}
	return nil
}

// jobStatus is what the test reads of GET /v1/jobs.
type jobStatus struct {
	ID                   string `json:"id"`
	Status               string `json:"status"`
	Error                string `json:"error"`
	Restarts             int    `json:"restarts"`
	CheckpointsCompleted int64  `json:"checkpoints_completed"`
	Sources              []struct {
		Table  string `json:"table"`
		Offset int64  `json:"offset"`
	} `json:"sources"`
}

var httpClient = &http.Client{Timeout: 5 * time.Second}

// listJobs returns the jobs the server at url runs, by id.
func listJobs(ctx context.Context, url string) (map[string]jobStatus, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url+"/v1/jobs", nil)
	if err != nil {
		return nil, err
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s/v1/jobs: %s", url, resp.Status)
	}
	var body struct {
		Jobs []jobStatus `json:"jobs"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return nil, fmt.Errorf("GET %s/v1/jobs: %w", url, err)
	}
	out := make(map[string]jobStatus, len(body.Jobs))
	for _, j := range body.Jobs {
		out[j.ID] = j
	}
	return out, nil
}

// summary is one line on the jobs' progress, for the test's log.
func summary(ids []string, jobs map[string]jobStatus) string {
	var parts []string
	for _, id := range ids {
		j, ok := jobs[id]
		if !ok {
			parts = append(parts, id+" gone")
			continue
		}
		s := fmt.Sprintf("%s %s ck=%d", id, j.Status, j.CheckpointsCompleted)
		for _, src := range j.Sources {
			s += fmt.Sprintf(" %s@%d", src.Table, src.Offset)
		}
		if j.Restarts > 0 {
			s += fmt.Sprintf(" restarts=%d", j.Restarts)
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, "; ")
}

// jobsDone reports whether every job of ids has finished: the server
// lists it as finished, or no longer lists it (an engine forgets a job
// once it has finished, so after a restart it is not resumed). A job
// that failed or was cancelled is an error.
func jobsDone(ids []string, jobs map[string]jobStatus) (bool, error) {
	done := true
	for _, id := range ids {
		j, ok := jobs[id]
		if !ok {
			continue
		}
		switch j.Status {
		case "finished":
		case "failed", "cancelled":
			return false, fmt.Errorf("job %s is %s: %s", id, j.Status, j.Error)
		default:
			done = false
		}
	}
	return done, nil
}
