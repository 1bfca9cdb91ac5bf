package runtime

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sluice-sql/sluice/state"
)

// An engineJob is a job the Engine runs for an INSERT or a materialized
// view, across its restarts: each attempt is a Job built afresh on the
// job's state database, resuming from its last checkpoint. It ends for
// good when an attempt finishes, when it is stopped, when the engine
// closes, or when an attempt fails and the restart strategy allows no
// more.
type engineJob struct {
	id        string
	statement string
	bounded   bool
	started   time.Time
	// build makes the next attempt; the engine supervises it.
	build    func() (*Job, error)
	strategy restartStrategy
	done     chan struct{}
	// operators and sources are what a savepoint of the job records.
	operators []savepointOperator
	sources   []string

	// mu.status is Running from the start (see Status) until the end.
	mu struct {
		sync.Mutex
		cur      *Job
		restarts int
		lastErr  error // the last attempt's failure
		status   Status
		stopped  bool // by STOP JOB or DROP: not to be resumed
		shutdown bool // the engine is shutting down: resume later
		cancel   context.CancelFunc
	}
}

// job returns the current attempt.
func (j *engineJob) job() *Job {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.mu.cur
}

// Status returns the job's phase: Restarting between attempts.
func (j *engineJob) Status() Status {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.mu.status != Running || j.mu.cur == nil {
		return j.mu.status
	}
	if st := j.mu.cur.Status(); st != Created {
		return st
	}
	return Running // the attempt is about to start
}

// Done is closed when the job has ended for good.
func (j *engineJob) Done() <-chan struct{} { return j.done }

// Wait waits for the end and returns how the last attempt ended.
func (j *engineJob) Wait() error {
	<-j.done
	j.mu.Lock()
	defer j.mu.Unlock()
	switch j.mu.status {
	case Finished:
		return nil
	case Cancelled:
		return ErrCancelled
	}
	return j.mu.lastErr
}

// Cancel stops the job for good; it does not wait.
func (j *engineJob) Cancel() {
	j.mu.Lock()
	j.mu.stopped = true
	cancel := j.mu.cancel
	j.mu.Unlock()
	if cancel != nil {
		cancel()
	}
}

// supervise runs attempts until the job ends for good: first, started
// on ctx (the job's own, which Cancel cancels), then those build makes.
// release is called at the end with whether the job's state must be
// kept (to be resumed by a later engine).
func (j *engineJob) supervise(ctx context.Context, first *Job, release func(keep bool), forget func()) {
	j.mu.Lock()
	cancel := j.mu.cancel
	j.mu.status = Running
	j.mu.Unlock()
	defer cancel()
	end := func(st Status, err error) {
		j.mu.Lock()
		j.mu.status = st
		if err != nil {
			j.mu.lastErr = err // else the last restart's cause stays
		}
		keep := j.mu.shutdown && !j.mu.stopped
		j.mu.Unlock()
		// The record goes before the state: a crash in between leaves
		// a state directory no job claims, never a job to resume
		// without its state (which would run it again from the start).
		if !keep {
			forget()
		}
		release(keep)
		close(j.done)
	}
	job := first
	for {
		<-job.Done()
		err := job.Wait()
		switch {
		case err == nil:
			end(Finished, nil)
			return
		case errors.Is(err, ErrCancelled):
			end(Cancelled, nil)
			return
		}
		j.mu.Lock()
		j.mu.lastErr = err
		attempt := j.mu.restarts
		stopped := j.mu.stopped || j.mu.shutdown
		j.mu.Unlock()
		delay, ok := j.strategy.next(attempt)
		if stopped || !ok || job.ck == nil {
			end(Failed, err)
			return
		}
		slog.Warn("job failed; restarting from its last checkpoint", "job", j.id, "attempt", attempt+1, "delay", delay, "error", err)
		j.mu.Lock()
		j.mu.restarts++
		j.mu.status = Restarting
		j.mu.Unlock()
		t := time.NewTimer(delay)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			end(Cancelled, nil)
			return
		}
		if job, err = j.build(); err != nil {
			end(Failed, err)
			return
		}
		// Published once started: Start sets up what the job's
		// accessors (Checkpoints, Metrics) read.
		if err := job.Start(ctx); err != nil {
			end(Failed, err)
			return
		}
		j.mu.Lock()
		j.mu.cur, j.mu.status = job, Running
		j.mu.Unlock()
	}
}

// restartStrategy says whether and when a failed job restarts
// ('restart.strategy').
type restartStrategy struct {
	kind     string // none, fixed-delay, exponential-delay
	attempts int    // most restarts; < 0 is unlimited
	delay    time.Duration
	maxDelay time.Duration
}

// backoffMultiplier is how exponential-delay grows its delay.
const backoffMultiplier = 2

// Restart strategies.
const (
	RestartNone        = "none"
	RestartFixed       = "fixed-delay"
	RestartExponential = "exponential-delay"
)

// next returns the delay before restart attempt (counted from 0), or
// false if there is none.
func (r restartStrategy) next(attempt int) (time.Duration, bool) {
	if r.kind == RestartNone || (r.attempts >= 0 && attempt >= r.attempts) {
		return 0, false
	}
	if r.kind == RestartFixed {
		return r.delay, true
	}
	d := float64(r.delay)
	for range attempt {
		d *= backoffMultiplier
		if d >= float64(r.maxDelay) {
			return r.maxDelay, true
		}
	}
	return time.Duration(d), true
}

// parseRestartStrategy reads 'restart.strategy': none, fixed-delay or
// exponential-delay, with 'restart.attempts', 'restart.delay' and
// 'restart.max-delay'.
func parseRestartStrategy(kind, attempts, delay, maxDelay string) (restartStrategy, error) {
	r := restartStrategy{kind: strings.TrimSpace(strings.ToLower(kind)), attempts: 10, delay: time.Second, maxDelay: time.Minute}
	if r.kind == "" {
		r.kind = RestartExponential
	}
	switch r.kind {
	case RestartNone, RestartFixed, RestartExponential:
	default:
		return r, fmt.Errorf("want none, fixed-delay or exponential-delay")
	}
	if attempts != "" {
		n, err := parseRestartAttempts(attempts)
		if err != nil {
			return r, fmt.Errorf("restart.attempts: %w", err)
		}
		r.attempts = n
	}
	var err error
	if delay != "" {
		if r.delay, err = parseDuration(delay); err != nil {
			return r, fmt.Errorf("restart.delay: %v", err)
		}
	}
	if maxDelay != "" {
		if r.maxDelay, err = parseDuration(maxDelay); err != nil {
			return r, fmt.Errorf("restart.max-delay: %v", err)
		}
	}
	return r, nil
}

// parseRestartAttempts reads 'restart.attempts'.
func parseRestartAttempts(v string) (int, error) {
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil || n < -1 {
		return 0, fmt.Errorf("want a number of restarts, or -1 for no limit")
	}
	return n, nil
}

// openJobState opens job id's state database in the engine's state
// directory: fresh (whatever a previous run left is removed) unless
// resume is set. release closes it and, unless keep, removes it.
func (e *Engine) openJobState(id string, resume bool) (*state.DB, func(keep bool), error) {
	dir := filepath.Join(e.opts.StateDir, id)
	if !resume {
		if err := os.RemoveAll(dir); err != nil {
			return nil, nil, fmt.Errorf("runtime: state of job %s: %w", id, err)
		}
	}
	db, err := state.Open(dir, state.Options{CacheBytes: e.opts.StateCacheBytes})
	if err != nil {
		return nil, nil, fmt.Errorf("runtime: state of job %s: %w", id, err)
	}
	e.stateWG.Add(1)
	var once sync.Once
	return db, func(keep bool) {
		once.Do(func() {
			db.Close()
			if !keep {
				os.RemoveAll(dir)
			}
			e.stateWG.Done()
		})
	}, nil
}
