package cli

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluice-sql/sluice/server"
)

// lockedBuffer is a bytes.Buffer that a server's goroutines and the test
// may use at once.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// startServer runs sluice server in this process on data, on a free
// port, and returns its URL once it serves. At the end of the test the
// server is stopped (its context ends, as on a signal) and must exit 0
// and remove server.url.
func startServer(t *testing.T, data string) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var stderr lockedBuffer
	done := make(chan int, 1)
	go func() {
		done <- Run(ctx, []string{"sluice", "--data", data, "server", "--http", "127.0.0.1:0", "--parallelism", "1"}, Env{
			Stdin:  strings.NewReader(""),
			Stdout: io.Discard,
			Stderr: &stderr,
			Getenv: func(string) string { return "" },
			Pid:    4242,
		})
	}()
	urlFile := filepath.Join(data, serverURLFile)
	deadline := time.Now().Add(10 * time.Second)
	var url string
	for {
		if b, err := os.ReadFile(urlFile); err == nil && strings.HasSuffix(string(b), "\n") {
			url = strings.TrimSpace(string(b))
			break
		}
		select {
		case code := <-done:
			t.Fatalf("server exited %d before serving:\n%s", code, stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %s after 10s:\n%s", urlFile, stderr.String())
		}
		time.Sleep(10 * time.Millisecond) // polling a file the server writes
	}
	t.Cleanup(func() {
		cancel()
		select {
		case code := <-done:
			if code != exitOK {
				t.Errorf("server exited %d:\n%s", code, stderr.String())
			}
		case <-time.After(time.Minute):
			t.Fatalf("server still running a minute after it was stopped:\n%s", stderr.String())
		}
		if _, err := os.Stat(urlFile); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s left behind: %v", urlFile, err)
		}
		if want := "sluice server listening on " + url + "\n"; !strings.HasPrefix(stderr.String(), want) {
			t.Errorf("server stderr:\n%s\nwant it to start with %q", stderr.String(), want)
		}
	})
	return url
}

// The remote shell prints what the embedded one prints for the same
// session, errors and their positions included: several statements on a
// line, a SELECT between others, an error after a SELECT, a bounded
// INSERT it waits for.
func TestShellServerLikeEmbedded(t *testing.T) {
	session := `CREATE TABLE seq (id BIGINT, d DECIMAL(6,2), ts TIMESTAMP(3)) WITH ('connector'='datagen',
  'fields.id.kind'='sequence', 'fields.id.start'='1', 'fields.id.end'='4',
  'fields.d.kind'='sequence', 'fields.d.start'='0.5', 'fields.d.end'='10',
  'fields.ts.kind'='sequence', 'fields.ts.start'='2024-01-01 00:00:00', 'fields.ts.end'='2024-01-02');
CREATE TABLE sink (id BIGINT) WITH ('connector'='blackhole');
SHOW TABLES; SELECT id, d, ts FROM seq WHERE id < 3; SELECT COUNT(*) AS n FROM seq; SELECT nope
  FROM seq;
SELECT id FROM seq WHERE id = 4; SHOW TABLE;
SELECT id FROM seq WHERE id = 3; SELECT nope2 FROM seq; SHOW TABLES;
SET 'checkpoint.interval' = '0';
INSERT INTO sink SELECT id FROM seq;
SHOW JOBS;
DESCRIBE seq;
`
	for _, format := range []string{"table", "csv"} {
		t.Run(format, func(t *testing.T) {
			code, wantOut, wantErr := runCLI(t, strings.NewReader(session), "--data", filepath.Join(t.TempDir(), "embedded"),
				"shell", "--parallelism", "1", "--format", format)
			if code != exitError || !strings.Contains(wantErr, "3 statements failed") {
				t.Fatalf("embedded: exit %d\n%s", code, wantErr)
			}
			url := startServer(t, filepath.Join(t.TempDir(), "served"))
			code, out, errOut := runCLI(t, strings.NewReader(session), "shell", "--server", url, "--format", format)
			if code != exitError {
				t.Errorf("remote: exit %d", code)
			}
			if out != wantOut {
				t.Errorf("remote stdout:\n%s\nembedded:\n%s", out, wantOut)
			}
			if errOut != wantErr {
				t.Errorf("remote stderr:\n%s\nembedded:\n%s", errOut, wantErr)
			}
		})
	}
}

// Ctrl-C during a remote SELECT over an unbounded source ends it with the
// rows so far, as in the embedded shell, and the session goes on.
func TestShellServerInterrupt(t *testing.T) {
	url := startServer(t, filepath.Join(t.TempDir(), "served"))
	c, err := server.NewClient(url, nil)
	if err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	a := &app{env: Env{Stdout: &out, Stderr: &errOut, Getenv: func(string) string { return "" }}}
	r := tableRenderer{}
	if !a.remoteExec(context.Background(), c, "CREATE TABLE live (id BIGINT) WITH ('connector'='datagen', 'rows-per-second'='0')", r) {
		t.Fatal(errOut.String())
	}
	out.Reset()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	a.env.Stdout = &cancelAfter{w: &out, n: 3, cancel: cancel}
	if !a.remoteExec(ctx, c, "SELECT id FROM live", r) {
		t.Errorf("interrupted SELECT failed: %s", errOut.String())
	}
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if lines[0] != "id" || !strings.HasSuffix(lines[len(lines)-1], " rows; interrupted)") {
		t.Errorf("output:\n%.300s…%s", out.String(), lines[len(lines)-1])
	}
	out.Reset()
	a.env.Stdout = &out
	if !a.remoteExec(context.Background(), c, "SHOW TABLES", r) || out.String() != "name\n----\nlive\n(1 row)\n" {
		t.Errorf("after the interrupt: %q %s", out.String(), errOut.String())
	}
}

func TestServerURL(t *testing.T) {
	data := t.TempDir()
	env := map[string]string{}
	a := &app{dataDir: data, env: Env{Getenv: func(k string) string { return env[k] }}}
	if got := a.serverURL(""); got != DefaultServerURL {
		t.Errorf("default: %s", got)
	}
	if err := os.WriteFile(filepath.Join(data, serverURLFile), []byte("http://127.0.0.1:9999\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got := a.serverURL(""); got != "http://127.0.0.1:9999" {
		t.Errorf("from the data directory: %s", got)
	}
	env[ServerEnv] = "http://envhost:1"
	if got := a.serverURL(""); got != "http://envhost:1" {
		t.Errorf("from $%s: %s", ServerEnv, got)
	}
	if got := a.serverURL("http://flag:2"); got != "http://flag:2" {
		t.Errorf("from --server: %s", got)
	}
}
