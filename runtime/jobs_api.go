package runtime

import (
	"context"
	"errors"
	"log/slog"
	"sort"
	"sync"
	"time"
)

// JobInfo describes one job of an Engine: what SHOW JOBS, the HTTP API
// and the metrics report.
type JobInfo struct {
	ID string `json:"id"`
	// Statement is the INSERT (or CREATE MATERIALIZED VIEW) that started
	// the job, as the user wrote it.
	Statement string `json:"statement"`
	// Status is the job's phase: created, running, restarting, finished,
	// failed or cancelled.
	Status  string `json:"status"`
	Bounded bool   `json:"bounded"`
	// Error is the failure of a failed job, or the last failure of a job
	// that restarted.
	Error    string    `json:"error,omitempty"`
	Started  time.Time `json:"started"`
	Restarts int       `json:"restarts"`
	// Stages are the row counts of the job's stages so far.
	Stages []StageMetrics `json:"stages"`
	// Checkpoint is the last completed checkpoint, nil before the first.
	Checkpoint *CheckpointInfo `json:"checkpoint,omitempty"`
	// CheckpointsCompleted and CheckpointsFailed count the checkpoints
	// of the job's current run.
	CheckpointsCompleted int64 `json:"checkpoints_completed"`
	CheckpointsFailed    int64 `json:"checkpoints_failed"`
	// Sources are the read positions of the job's sources that read
	// partitions, with how far each lags behind its partition's end.
	Sources []SourcePosition `json:"sources,omitempty"`
}

// CheckpointInfo describes one completed checkpoint.
type CheckpointInfo struct {
	// ID is the checkpoint's epoch, increasing over the life of the job.
	ID        uint64    `json:"id"`
	Completed time.Time `json:"completed"`
	// Duration is from the barrier's injection to the commit of the
	// sinks; Alignment is the longest time an operator with several
	// inputs waited between its first and its last barrier.
	Duration  time.Duration `json:"duration_ns"`
	Alignment time.Duration `json:"alignment_ns"`
	// Bytes is the state the checkpoint wrote (it is incremental: the
	// keys and values changed since the one before, and its record);
	// StateBytes is the size of the job's state database on disk, as
	// Badger last measured it.
	Bytes      int64 `json:"bytes"`
	StateBytes int64 `json:"state_bytes"`
}

// SourcePosition is where one source instance reads one partition.
type SourcePosition struct {
	Table     string `json:"table"`
	Topic     string `json:"topic"`
	Partition int32  `json:"partition"`
	// Offset is the next offset the job reads; End is the partition's
	// end (its last stable offset for a read_committed reader), so
	// End-Offset is the lag.
	Offset int64 `json:"offset"`
	End    int64 `json:"end"`
}

// ErrNoSavepoint is returned for a savepoint of a job that keeps no
// checkpoints (a SELECT's, or one whose sources cannot name a position).
var ErrNoSavepoint = errors.New("job cannot take a savepoint")

// Jobs returns every job the Engine knows, in the order they were
// started.
func (e *Engine) Jobs() []JobInfo {
	e.mu.Lock()
	jobs := make([]*engineJob, 0, len(e.mu.jobs))
	for _, j := range e.mu.jobs {
		jobs = append(jobs, j)
	}
	e.mu.Unlock()
	sort.Slice(jobs, func(a, b int) bool { return jobNumber(jobs[a].id) < jobNumber(jobs[b].id) })
	out := make([]JobInfo, len(jobs))
	for i, j := range jobs {
		out[i] = j.info()
	}
	return out
}

// JobInfo returns job id's description, or an error wrapping
// ErrUnknownJob.
func (e *Engine) JobInfo(id string) (JobInfo, error) {
	j, err := e.job(id)
	if err != nil {
		return JobInfo{}, err
	}
	return j.info(), nil
}

func (j *engineJob) info() JobInfo {
	in := JobInfo{
		ID:        j.id,
		Statement: j.statement,
		Status:    j.Status().String(),
		Bounded:   j.bounded,
		Started:   j.started,
	}
	j.mu.Lock()
	cur, restarts, lastErr := j.mu.cur, j.mu.restarts, j.mu.lastErr
	j.mu.Unlock()
	in.Restarts = restarts
	if lastErr != nil {
		in.Error = lastErr.Error()
	}
	if cur != nil {
		in.Stages = cur.Metrics()
		in.Checkpoint, in.CheckpointsCompleted, in.CheckpointsFailed = cur.Checkpoints()
		in.Sources = cur.SourcePositions()
	}
	return in
}

// StopJob stops job id and waits for it to end. With savepoint set it
// first takes a savepoint and returns its path.
func (e *Engine) StopJob(ctx context.Context, id string, savepoint bool) (string, error) {
	j, err := e.job(id)
	if err != nil {
		return "", err
	}
	if savepoint {
		path, err := e.savepoint(ctx, j, true)
		if err != nil {
			return "", err
		}
		select {
		case <-j.Done():
		case <-ctx.Done():
			return path, ctx.Err()
		}
		return path, nil
	}
	j.Cancel()
	select {
	case <-j.Done():
	case <-ctx.Done():
		return "", ctx.Err()
	}
	return "", nil
}

// Savepoint takes a savepoint of running job id, which goes on running,
// and returns its path.
func (e *Engine) Savepoint(ctx context.Context, id string) (string, error) {
	j, err := e.job(id)
	if err != nil {
		return "", err
	}
	return e.savepoint(ctx, j, false)
}

// shuttingDown returns the engine's jobs, marked, with ResumeJobs, as
// ending for a restart: whatever ends them, their state stays for the
// next Engine to resume them.
func (e *Engine) shuttingDown() []*engineJob {
	e.mu.Lock()
	defer e.mu.Unlock()
	jobs := make([]*engineJob, 0, len(e.mu.jobs))
	for _, j := range e.mu.jobs {
		jobs = append(jobs, j)
		if e.opts.ResumeJobs {
			j.mu.Lock()
			j.mu.shutdown = true
			j.mu.Unlock()
		}
	}
	return jobs
}

// Shutdown ends the Engine for a restart: each running job takes a
// final checkpoint, which commits its sinks, and stops right after it;
// the next Engine on the same data with ResumeJobs resumes it from there.
// ctx bounds the checkpoints; past it Shutdown closes as Close does (the
// jobs then resume from their previous checkpoints).
func (e *Engine) Shutdown(ctx context.Context) error {
	jobs := e.shuttingDown()
	var wg sync.WaitGroup
	for _, j := range jobs {
		cur := j.job()
		if cur == nil || cur.Status() != Running {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			checkpoint := cur.Checkpoint
			if e.opts.ResumeJobs {
				checkpoint = func(ctx context.Context) (uint64, error) { return cur.StopWithCheckpoint(ctx, nil) }
			}
			if _, err := checkpoint(ctx); err != nil && !errors.Is(err, ErrNoCheckpoints) {
				slog.Warn("final checkpoint failed; the job resumes from its previous one", "job", j.id, "error", err)
			}
		}()
	}
	wg.Wait()
	return e.Close()
}
