package runtime

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sort"
	"strings"

	"github.com/sluice-sql/sluice/broker"
	"github.com/sluice-sql/sluice/sql"
)

// JobsTopic is the compacted internal topic where an Engine with
// ResumeJobs keeps the jobs it runs: key the job's id, value its
// jobRecord as JSON, a tombstone once the job has ended for good. A new
// Engine on the same data replays it and resumes each job from its
// checkpoint.
const JobsTopic = "__sluice_jobs"

// lastIDKey is the key of the record in JobsTopic that holds the last
// job id given, so that ids are not given twice across restarts even
// once the records of ended jobs are compacted away.
const lastIDKey = "\x00last-id"

// jobRecord is what a job is restarted from: its statement, alone, and
// the options SET had given when it started.
type jobRecord struct {
	ID        string            `json:"id"`
	Statement string            `json:"statement"`
	Options   map[string]string `json:"options,omitempty"`
}

func (e *Engine) putJobRecord(rec jobRecord) error {
	v, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	if _, err := e.opts.Broker.AppendRecords(context.Background(), JobsTopic, 0,
		broker.Record{Key: []byte(lastIDKey), Value: []byte(rec.ID)}, broker.Record{Key: []byte(rec.ID), Value: v}); err != nil {
		return fmt.Errorf("runtime: record job %s in %s: %w", rec.ID, JobsTopic, err)
	}
	return nil
}

func (e *Engine) removeJobRecord(id string) error {
	_, err := e.opts.Broker.AppendRecords(context.Background(), JobsTopic, 0, broker.Record{Key: []byte(id)})
	return err
}

// loadJobRecords returns the jobs a previous Engine left running, in the
// order they started, and the last job id given.
func loadJobRecords(ctx context.Context, b *broker.Broker) ([]jobRecord, string, error) {
	if err := b.CreateInternalTopic(JobsTopic, 1, catalogTopicConfig); err != nil {
		return nil, "", fmt.Errorf("runtime: %w", err)
	}
	_, end, err := b.Offsets(JobsTopic, 0)
	if err != nil {
		return nil, "", fmt.Errorf("runtime: %w", err)
	}
	recs := map[string]jobRecord{}
	var lastID string
	r := b.NewReader(JobsTopic, 0, 0)
	for r.Offset() < end {
		if err := ctx.Err(); err != nil {
			return nil, "", err
		}
		rec, ok, err := r.TryNext()
		if err != nil {
			return nil, "", fmt.Errorf("runtime: read %s: %w", JobsTopic, err)
		}
		if !ok {
			break
		}
		id := string(rec.Key)
		if id == lastIDKey {
			lastID = string(rec.Value)
			continue
		}
		if rec.Value == nil {
			delete(recs, id)
			continue
		}
		var jr jobRecord
		if err := json.Unmarshal(rec.Value, &jr); err != nil || jr.ID != id {
			return nil, "", fmt.Errorf("runtime: %s offset %d: a bad job record", JobsTopic, rec.Offset)
		}
		recs[id] = jr
	}
	out := make([]jobRecord, 0, len(recs))
	for _, jr := range recs {
		out = append(out, jr)
	}
	sort.Slice(out, func(a, b int) bool { return jobNumber(out[a].ID) < jobNumber(out[b].ID) })
	return out, lastID, nil
}

// resumeJobs starts again, from their checkpoints, the jobs a previous
// Engine on the same data left running. A job that cannot start is
// logged and left recorded, so that it is tried again at the next
// start.
func (e *Engine) resumeJobs(ctx context.Context) error {
	recs, lastID, err := loadJobRecords(ctx, e.opts.Broker)
	if err != nil {
		return err
	}
	e.mu.nextJob = jobNumber(lastID)
	for _, rec := range recs {
		if n := jobNumber(rec.ID); n > e.mu.nextJob {
			e.mu.nextJob = n
		}
	}
	for _, rec := range recs {
		if err := e.resumeJob(rec); err != nil {
			slog.Error("could not resume job", "job", rec.ID, "statement", rec.Statement, "error", err)
		}
	}
	return nil
}

func (e *Engine) resumeJob(rec jobRecord) error {
	stmts, err := sql.Parse(rec.Statement)
	if err != nil {
		return err
	}
	if len(stmts) != 1 {
		return fmt.Errorf("a job record holds %d statements", len(stmts))
	}
	st := stmts[0]
	info := sql.Classify(st)
	r, err := e.startJob(rec, rec.Statement, info, true)
	if err != nil {
		return err
	}
	if st.Dialect != nil && st.Dialect.Materialized {
		e.mu.Lock()
		e.mu.mvJobs[strings.ToLower(info.Names[0])] = r.JobID
		e.mu.Unlock()
	}
	return nil
}
