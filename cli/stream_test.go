package cli

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/sluice-sql/sluice/runtime"
)

// A push query prints its rows as they come, in every format, and an
// interrupt (the context ending) ends it with the rows so far and a note.
func TestPrintStreamInterrupted(t *testing.T) {
	e, err := runtime.NewEngine(runtime.EngineOptions{Parallelism: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	if _, err := e.Exec(context.Background(), `CREATE TABLE s (id BIGINT, name STRING)
WITH ('connector'='datagen', 'rows-per-second'='0', 'fields.name.length'='3')`); err != nil {
		t.Fatal(err)
	}
	for _, format := range []string{"table", "json", "csv"} {
		r, _ := newRenderer(format)
		var out bytes.Buffer
		ctx, cancel := context.WithCancel(context.Background())
		w := &cancelAfter{w: &out, n: 3, cancel: cancel}
		err := e.Run(ctx, "SELECT id, name FROM s", func(res runtime.Result) error {
			return printStream(ctx, w, r, res, true)
		})
		cancel()
		if !errors.Is(err, errInterrupted) {
			t.Fatalf("%s: %v, want errInterrupted", format, err)
		}
		text := out.String()
		lines := strings.Split(strings.TrimSuffix(text, "\n"), "\n")
		switch format {
		case "table":
			if !strings.HasPrefix(lines[0], "id") || !strings.Contains(lines[0], "| name") ||
				!strings.HasSuffix(lines[len(lines)-1], " rows; interrupted)") {
				t.Errorf("table output:\n%.400s…%s", text, lines[len(lines)-1])
			}
		case "json":
			if !strings.HasPrefix(lines[0], `{"id":`) {
				t.Errorf("json output: %.200s", text)
			}
		case "csv":
			if lines[0] != "id,name" || len(lines) < 2 {
				t.Errorf("csv output: %.200s", text)
			}
		}
	}
}

// cancelAfter cancels after n writes: the user pressing Ctrl-C once rows
// have appeared.
type cancelAfter struct {
	w      *bytes.Buffer
	n      int
	cancel context.CancelFunc
}

func (c *cancelAfter) Write(p []byte) (int, error) {
	if c.n--; c.n == 0 {
		c.cancel()
	}
	return c.w.Write(p)
}
