package server

import (
	"strconv"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sluice-sql/sluice/runtime"
)

// jobCollector turns Engine.Jobs() into metrics at each scrape. It keeps
// nothing between scrapes: a counter is the job's own count, which
// starts again at zero only when the job does (a new job id).
type jobCollector struct {
	e *runtime.Engine

	jobs, up, status, restarts                               *prometheus.Desc
	rowsIn, rowsOut, late                                    *prometheus.Desc
	offset, end, lag                                         *prometheus.Desc
	cpID, cpCompleted, cpDuration, cpAlign, cpState, cpBytes *prometheus.Desc
	cpCompletedTotal, cpFailedTotal                          *prometheus.Desc
}

// jobStatuses are the values of a job's status label; a job has 1 in
// its own and 0 in the others, so that a status change is a step, not a
// series appearing.
var jobStatuses = []string{"created", "running", "restarting", "finished", "failed", "cancelled"}

func newJobCollector(e *runtime.Engine) *jobCollector {
	job := []string{"job"}
	stage := []string{"job", "stage"}
	part := []string{"job", "table", "topic", "partition"}
	d := func(name, help string, labels []string) *prometheus.Desc {
		return prometheus.NewDesc(name, help, labels, nil)
	}
	return &jobCollector{
		e:        e,
		jobs:     d("sluice_jobs", "Jobs the engine knows, by status.", []string{"status"}),
		up:       d("sluice_job_up", "1 while the job is running, else 0.", job),
		status:   d("sluice_job_status", "1 for the job's current status, 0 for the others.", []string{"job", "status"}),
		restarts: d("sluice_job_restarts_total", "Times the job restarted after a failure.", job),
		rowsIn:   d("sluice_stage_records_in_total", "Records into one stage (source, operator or sink) of a job.", stage),
		rowsOut:  d("sluice_stage_records_out_total", "Records out of one stage of a job.", stage),
		late:     d("sluice_stage_late_records_total", "Records a window operator dropped because the watermark had passed their window.", stage),
		offset:   d("sluice_source_offset", "Next offset a job's source reads in a partition.", part),
		end:      d("sluice_source_end_offset", "End of a partition a job's source reads (its last stable offset for read_committed).", part),
		lag:      d("sluice_source_lag_records", "Records of a partition a job's source has yet to read: end offset minus offset.", part),

		cpID:             d("sluice_checkpoint_last_id", "Epoch of the job's last completed checkpoint.", job),
		cpCompleted:      d("sluice_checkpoint_last_completed_timestamp_seconds", "When the job's last checkpoint completed, in Unix seconds.", job),
		cpDuration:       d("sluice_checkpoint_duration_seconds", "Duration of the job's last completed checkpoint, from barrier injection to sink commit.", job),
		cpAlign:          d("sluice_checkpoint_alignment_seconds", "Longest barrier alignment of the job's last completed checkpoint.", job),
		cpState:          d("sluice_checkpoint_state_bytes", "Size of the job's state database on disk at its last completed checkpoint.", job),
		cpBytes:          d("sluice_checkpoint_size_bytes", "State the job's last completed checkpoint wrote (incremental: what changed since the one before).", job),
		cpCompletedTotal: d("sluice_checkpoints_completed_total", "Checkpoints the job's current run completed.", job),
		cpFailedTotal:    d("sluice_checkpoints_failed_total", "Checkpoints the job's current run aborted.", job),
	}
}

func (c *jobCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{
		c.jobs, c.up, c.status, c.restarts, c.rowsIn, c.rowsOut, c.late, c.offset, c.end, c.lag,
		c.cpID, c.cpCompleted, c.cpDuration, c.cpAlign, c.cpState, c.cpBytes, c.cpCompletedTotal, c.cpFailedTotal,
	} {
		ch <- d
	}
}

func (c *jobCollector) Collect(ch chan<- prometheus.Metric) {
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	counter := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v, labels...)
	}
	byStatus := make(map[string]int, len(jobStatuses))
	for _, j := range c.e.Jobs() {
		byStatus[j.Status]++
		up := 0.0
		if j.Status == "running" {
			up = 1
		}
		gauge(c.up, up, j.ID)
		known := false
		for _, s := range jobStatuses {
			v := 0.0
			if s == j.Status {
				v, known = 1, true
			}
			gauge(c.status, v, j.ID, s)
		}
		if !known {
			gauge(c.status, 1, j.ID, j.Status)
		}
		counter(c.restarts, float64(j.Restarts), j.ID)

		// A registry refuses two series with the same labels: a stage
		// name that repeats in a job is numbered.
		seen := make(map[string]int, len(j.Stages))
		for _, s := range j.Stages {
			name := s.Name
			if n := seen[name]; n > 0 {
				name += "#" + strconv.Itoa(n+1)
			}
			seen[s.Name]++
			counter(c.rowsIn, float64(s.RowsIn), j.ID, name)
			counter(c.rowsOut, float64(s.RowsOut), j.ID, name)
			counter(c.late, float64(s.LateRows), j.ID, name)
		}
		parts := make(map[[3]string]bool, len(j.Sources))
		for _, p := range j.Sources {
			k := [3]string{p.Table, p.Topic, strconv.Itoa(int(p.Partition))}
			if parts[k] {
				continue
			}
			parts[k] = true
			gauge(c.offset, float64(p.Offset), j.ID, k[0], k[1], k[2])
			gauge(c.end, float64(p.End), j.ID, k[0], k[1], k[2])
			gauge(c.lag, float64(max(p.End-p.Offset, 0)), j.ID, k[0], k[1], k[2])
		}
		if cp := j.Checkpoint; cp != nil {
			gauge(c.cpID, float64(cp.ID), j.ID)
			gauge(c.cpCompleted, float64(cp.Completed.UnixNano())/1e9, j.ID)
			gauge(c.cpDuration, cp.Duration.Seconds(), j.ID)
			gauge(c.cpAlign, cp.Alignment.Seconds(), j.ID)
			gauge(c.cpState, float64(cp.StateBytes), j.ID)
			gauge(c.cpBytes, float64(cp.Bytes), j.ID)
		}
		counter(c.cpCompletedTotal, float64(j.CheckpointsCompleted), j.ID)
		counter(c.cpFailedTotal, float64(j.CheckpointsFailed), j.ID)
	}
	for _, s := range jobStatuses {
		gauge(c.jobs, float64(byStatus[s]), s)
		delete(byStatus, s)
	}
	for s, n := range byStatus {
		gauge(c.jobs, float64(n), s)
	}
}
