package runtime

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/sluice-sql/sluice/sql"
	"github.com/sluice-sql/sluice/sql/types"
)

// optionSpec is an option `SET 'key' = 'value'` may change. Options apply
// to the statements that follow, not to jobs already running.
type optionSpec struct {
	key string
	doc string
	// check parses a value, or says why it is not one.
	check func(v string) error
}

// The options, by key.
const (
	OptParallelism   = "parallelism.default"
	OptBatchSize     = "execution.batch-size"
	OptMaxResultRows = "sql.max-result-rows"
	OptIdleTimeout   = "source.idle-timeout"
	OptStateTTL      = "state.ttl"
	// OptCheckpointInterval is how often a job takes a checkpoint (0:
	// never).
	OptCheckpointInterval = "checkpoint.interval"
	// The restart strategy of a job that fails (with checkpoints).
	OptRestartStrategy = "restart.strategy"
	OptRestartAttempts = "restart.attempts"
	OptRestartDelay    = "restart.delay"
	OptRestartMaxDelay = "restart.max-delay"
	// OptSavepointPath starts the next jobs from a savepoint;
	// OptSavepointIgnoreUnclaimed lets them drop its state that no
	// operator of theirs claims.
	OptSavepointPath            = "execution.savepoint.path"
	OptSavepointIgnoreUnclaimed = "execution.savepoint.ignore-unclaimed-state"
)

var optionSpecs = []optionSpec{
	{OptParallelism, "instances of every operator of a job", positiveInt(1 << 10)},
	{OptBatchSize, "most rows a source puts in one batch", positiveInt(1 << 20)},
	{OptMaxResultRows, "most rows a SELECT collects for its caller (an aligned table, Exec)", positiveInt(1 << 40)},
	{OptIdleTimeout, "how long a source partition may go without a row before it stops holding the watermark back (0: never)", duration},
	{OptStateTTL, "how long unwindowed state (a GROUP BY's groups) is kept after it was last written (0: forever)", duration},
	{OptRestartStrategy, "what a job that fails does: none, fixed-delay (restart.attempts times, restart.delay apart) or exponential-delay (the delay doubling up to restart.max-delay); it restarts from its last checkpoint", func(v string) error {
		_, err := parseRestartStrategy(v, "", "", "")
		return err
	}},
	{OptRestartAttempts, "most restarts of a failed job (-1: no limit; default 10)", func(v string) error {
		_, err := parseRestartAttempts(v)
		return err
	}},
	{OptRestartDelay, "delay before a failed job restarts (exponential-delay: the first delay; default 1s)", duration},
	{OptRestartMaxDelay, "longest delay of exponential-delay (default 1m)", duration},
	{OptSavepointPath, "the savepoint (a directory STOP JOB ... WITH SAVEPOINT printed) the jobs INSERT starts next start from", func(v string) error {
		if strings.TrimSpace(v) == "" {
			return fmt.Errorf("want the savepoint's directory")
		}
		return nil
	}},
	{OptSavepointIgnoreUnclaimed, "whether a job started from a savepoint drops the state of operators its query no longer has, instead of refusing to start", boolean},
	{OptCheckpointInterval, "how often a job started by INSERT or CREATE MATERIALIZED VIEW takes a checkpoint (0: never; without checkpoints a job does not resume after a failure and its log sinks are at-least-once)", duration},
}

// boolean parses true or false.
func boolean(v string) error {
	if _, err := strconv.ParseBool(strings.TrimSpace(v)); err != nil {
		return fmt.Errorf("want true or false")
	}
	return nil
}

// duration parses a non-negative duration: 5s, 1m30s, 0.
func duration(v string) error {
	_, err := parseDuration(v)
	return err
}

func parseDuration(v string) (time.Duration, error) {
	v = strings.TrimSpace(v)
	if v == "0" {
		return 0, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("want a duration such as 5s or 1m, or 0 for never")
	}
	return d, nil
}

func positiveInt(limit int64) func(string) error {
	return func(v string) error {
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		if err != nil || n < 1 || n > limit {
			return fmt.Errorf("want an integer from 1 to %d", limit)
		}
		return nil
	}
}

func optionSpecFor(key string) (optionSpec, bool) {
	for _, o := range optionSpecs {
		if o.key == key {
			return o, true
		}
	}
	return optionSpec{}, false
}

func optionKeys() []string {
	keys := make([]string, len(optionSpecs))
	for i, o := range optionSpecs {
		keys[i] = o.key
	}
	return keys
}

// settings are the values statements run with: the EngineOptions, as
// changed by SET.
type settings struct {
	parallelism, batchSize, maxResultRows int
	idleTimeout, stateTTL                 time.Duration
	checkpointInterval                    time.Duration
	restart                               [4]string // strategy, attempts, delay, max delay
	savepointPath                         string
	ignoreUnclaimed                       bool
	// jobID is the job the settings are a job's for ("" for a SELECT).
	jobID string
}

// restartStrategy parses the restart options (checked by SET).
func (s settings) restartStrategy() (restartStrategy, error) {
	return parseRestartStrategy(s.restart[0], s.restart[1], s.restart[2], s.restart[3])
}

// settingsLocked reads the settings; e.mu is held.
func (e *Engine) settingsLocked() settings {
	return e.settingsOf(e.mu.options)
}

// settingsOf reads the settings that the options SET gave make.
func (e *Engine) settingsOf(options map[string]string) settings {
	s := settings{parallelism: e.opts.Parallelism, batchSize: e.opts.BatchSize, maxResultRows: e.opts.MaxResultRows,
		checkpointInterval: e.opts.CheckpointInterval}
	get := func(key string, into *int) {
		if v, ok := options[key]; ok {
			n, _ := strconv.Atoi(strings.TrimSpace(v)) // checked by SET
			*into = n
		}
	}
	get(OptParallelism, &s.parallelism)
	get(OptBatchSize, &s.batchSize)
	get(OptMaxResultRows, &s.maxResultRows)
	if v, ok := options[OptIdleTimeout]; ok {
		s.idleTimeout, _ = parseDuration(v) // checked by SET
	}
	if v, ok := options[OptStateTTL]; ok {
		s.stateTTL, _ = parseDuration(v)
	}
	if v, ok := options[OptCheckpointInterval]; ok {
		s.checkpointInterval, _ = parseDuration(v)
	}
	s.savepointPath = strings.TrimSpace(options[OptSavepointPath])
	s.ignoreUnclaimed, _ = strconv.ParseBool(strings.TrimSpace(options[OptSavepointIgnoreUnclaimed]))
	for i, k := range []string{OptRestartStrategy, OptRestartAttempts, OptRestartDelay, OptRestartMaxDelay} {
		s.restart[i] = options[k]
	}
	return s
}

func (e *Engine) settings() settings {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.settingsLocked()
}

// setOption runs SET, SET alone and RESET.
func (e *Engine) setOption(src string, c sql.Command) (Result, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	switch c := c.(type) {
	case sql.SetOption:
		spec, ok := optionSpecFor(c.Key)
		if !ok {
			return Result{}, sql.Errorf(src, c.KeyPos, "unknown option %q", c.Key).
				WithHint(sql.DidYouMean(c.Key, optionKeys()))
		}
		if err := spec.check(c.Value); err != nil {
			return Result{}, sql.Errorf(src, c.ValuePos, "option %s: %v", c.Key, err)
		}
		e.mu.options[c.Key] = strings.TrimSpace(c.Value)
		return Result{Message: fmt.Sprintf("set %s = %s", c.Key, strings.TrimSpace(c.Value))}, nil
	case sql.ResetOption:
		if c.Key == "" {
			clear(e.mu.options)
			return Result{Message: "reset every option"}, nil
		}
		if _, ok := optionSpecFor(c.Key); !ok {
			return Result{}, sql.Errorf(src, c.KeyPos, "unknown option %q", c.Key).
				WithHint(sql.DidYouMean(c.Key, optionKeys()))
		}
		delete(e.mu.options, c.Key)
		return Result{Message: "reset " + c.Key}, nil
	}
	// SET alone: every option with its value and what it does.
	s := e.settingsLocked()
	vals := map[string]string{OptParallelism: strconv.Itoa(s.parallelism), OptBatchSize: strconv.Itoa(s.batchSize),
		OptMaxResultRows: strconv.Itoa(s.maxResultRows), OptIdleTimeout: s.idleTimeout.String(), OptStateTTL: s.stateTTL.String(),
		OptCheckpointInterval: s.checkpointInterval.String()}
	if rs, err := s.restartStrategy(); err == nil {
		vals[OptRestartStrategy], vals[OptRestartAttempts] = rs.kind, strconv.Itoa(rs.attempts)
		vals[OptRestartDelay], vals[OptRestartMaxDelay] = rs.delay.String(), rs.maxDelay.String()
	}
	vals[OptSavepointPath] = e.mu.options[OptSavepointPath]
	vals[OptSavepointIgnoreUnclaimed] = strconv.FormatBool(s.ignoreUnclaimed)
	r := Result{Columns: types.Schema{
		{Name: "key", Type: types.String()},
		{Name: "value", Type: types.String()},
		{Name: "set", Type: types.Boolean()},
		{Name: "description", Type: types.String()},
	}}
	keys := optionKeys()
	sort.Strings(keys)
	for _, k := range keys {
		spec, _ := optionSpecFor(k)
		_, set := e.mu.options[k]
		r.Rows = append(r.Rows, []any{k, vals[k], set, spec.doc})
	}
	return r, nil
}
