package server

import (
	"context"
	"net/http"
	"regexp"
	"strings"
	"testing"
)

// After a job ran, /metrics holds its series, read from the engine at
// the scrape, beside the Go and process collectors'.
func TestMetrics(t *testing.T) {
	f := newFixture(t)
	f.exec(t, tables+"; INSERT INTO sink SELECT id FROM seq")
	if err := f.e.Wait(context.Background(), "j-1"); err != nil {
		t.Fatal(err)
	}
	f.exec(t, "INSERT INTO sink SELECT id FROM live")
	code, h, body := f.call(t, http.MethodGet, "/metrics", "")
	if code != 200 || !strings.HasPrefix(h.Get("Content-Type"), "text/plain") {
		t.Fatalf("%d %s", code, h.Get("Content-Type"))
	}
	for _, want := range []string{
		`sluice_jobs{status="finished"} 1`,
		`sluice_jobs{status="running"} 1`,
		`sluice_job_up{job="j-1"} 0`,
		`sluice_job_up{job="j-2"} 1`,
		`sluice_job_status{job="j-1",status="finished"} 1`,
		`sluice_job_status{job="j-1",status="running"} 0`,
		`sluice_job_restarts_total{job="j-1"} 0`,
		`sluice_stage_records_in_total{job="j-1",stage="sink"} 5`,
		`sluice_stage_records_out_total{job="j-1",stage="source"} 5`,
		`sluice_stage_late_records_total{job="j-1",stage="sink"} 0`,
		`sluice_checkpoints_completed_total{job="j-1"}`,
		`sluice_checkpoints_failed_total{job="j-1"}`,
		"# TYPE sluice_stage_records_in_total counter",
		"go_goroutines ",
		"process_start_time_seconds ",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("no %q in\n%s", want, grep(body, "sluice_"))
		}
	}
	if regexp.MustCompile(`(?m)^sluice_checkpoint_duration_seconds\{job="j-1"\}`).MatchString(body) {
		// Allowed once checkpoints exist; then the other gauges of the
		// last checkpoint come with it.
		for _, m := range []string{"sluice_checkpoint_alignment_seconds", "sluice_checkpoint_state_bytes", "sluice_checkpoint_last_id"} {
			if !strings.Contains(body, m+`{job="j-1"}`) {
				t.Errorf("a checkpoint duration without %s", m)
			}
		}
	}
}

func grep(text, prefix string) string {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		if strings.HasPrefix(l, prefix) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
