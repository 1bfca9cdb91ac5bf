package runtime

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/sluice-sql/sluice/planner"
	"github.com/sluice-sql/sluice/state"
)

// stateful reports whether a planner node keeps keyed state.
func statefulNode(n *planner.Node) bool {
	switch n.Kind {
	case planner.KindAggregate, planner.KindWindowAggregate, planner.KindSessionAggregate,
		planner.KindTopN, planner.KindNormalize:
		return true
	}
	return false
}

// stateIDs numbers the state of p's stateful operators by what the state
// holds rather than by where the operator is in the plan: the number is
// a hash of the operator's StateSignature (and of how many operators
// before it have the same one). A compatible change of the query (a
// filter or a projection added around the same aggregation) renumbers
// the plan's nodes but leaves these numbers as they were, so that a job
// started from a savepoint finds its state. The numbers are in [1, 2^24),
// below mvIndexOp's.
func stateIDs(p *planner.Physical) map[uint32]uint32 {
	ids := map[uint32]uint32{}
	used := map[uint32]bool{}
	seen := map[string]int{}
	for _, n := range p.Nodes {
		if !statefulNode(n) {
			continue
		}
		sig := n.StateSignature()
		seen[sig]++
		h := fnv.New32a()
		fmt.Fprintf(h, "%s#%d", sig, seen[sig])
		id := h.Sum32()%(mvIndexOp-1) + 1
		for used[id] { // a collision: the next free number, in plan order
			id = id%(mvIndexOp-1) + 1
		}
		used[id] = true
		ids[uint32(n.ID)] = id
	}
	return ids
}

// A savepoint is a job's state and source positions at one completed
// checkpoint, copied out of the job's state database into a directory
// of its own that outlives the job: STOP JOB 'id' WITH SAVEPOINT writes
// one, and a job started with 'execution.savepoint.path' set to it
// starts from there. The directory holds:
//
//	_metadata  JSON (savepointMeta): the job, its statement, the
//	           checkpoint's epoch and record, the stateful operators
//	           and the sources
//	state      the state database at that checkpoint, in Badger's
//	           backup format (state.DB.Backup)
//
// A query may change between the savepoint and the job started from it
// if every stateful operator of the savepoint is still there with the
// same state signature (a filter or a projection added around them);
// otherwise the start is refused, saying which operator is missing,
// unless 'execution.savepoint.ignore-unclaimed-state' is true, which
// drops that operator's state.
type savepointMeta struct {
	Version   int                 `json:"version"`
	Job       string              `json:"job"`
	Statement string              `json:"statement"`
	Created   time.Time           `json:"created"`
	Epoch     uint64              `json:"epoch"`
	Operators []savepointOperator `json:"operators"`
	Sources   []string            `json:"sources"`
	// Checkpoint is the checkpoint's record (checkpointMeta).
	Checkpoint json.RawMessage `json:"checkpoint"`
}

// savepointOperator is a stateful operator of a savepoint's job.
type savepointOperator struct {
	ID        uint32 `json:"id"` // its state id (stateIDs)
	Signature string `json:"signature"`
}

const (
	savepointMetaFile  = "_metadata"
	savepointStateFile = "state"
)

// planSavepointInfo lists p's stateful operators by state id and its
// sources' position keys, as a savepoint records them.
func planSavepointInfo(p *planner.Physical) ([]savepointOperator, []string) {
	ids := stateIDs(p)
	var ops []savepointOperator
	for _, n := range p.Nodes {
		if id, ok := ids[uint32(n.ID)]; ok {
			ops = append(ops, savepointOperator{ID: id, Signature: n.StateSignature()})
		}
	}
	return ops, sourceKeys(p)
}

// sourceKeys names p's sources' positions in checkpoints (Stage.SourceKey),
// in the order of p.Sources(): the table's name, with "#2" and so on for
// its second and later reads in one query.
func sourceKeys(p *planner.Physical) []string {
	var keys []string
	reads := map[string]int{}
	for _, n := range p.Sources() {
		key := n.Table.Name
		if reads[key]++; reads[key] > 1 {
			key = fmt.Sprintf("%s#%d", key, reads[key])
		}
		keys = append(keys, key)
	}
	return keys
}

// savepointsDir is where the engine writes savepoints.
func (e *Engine) savepointsDir() string {
	if e.opts.SavepointDir != "" {
		return e.opts.SavepointDir
	}
	return filepath.Join(e.opts.StateDir, "savepoints")
}

// savepoint takes a savepoint of job j, stopping it right after with
// stop set, and returns its directory.
func (e *Engine) savepoint(ctx context.Context, j *engineJob, stop bool) (string, error) {
	cur := j.job()
	if cur == nil || cur.Status() != Running {
		return "", fmt.Errorf("%w: job %s is %s", ErrNoSavepoint, j.id, j.Status())
	}
	if cur.ck == nil || cur.p.State == nil {
		return "", fmt.Errorf("%w: job %s takes no checkpoints", ErrNoSavepoint, j.id)
	}
	var path string
	write := func(uint64, []byte) error {
		p, err := e.writeSavepoint(j, cur.p.State)
		path = p
		return err
	}
	var err error
	if stop {
		j.mu.Lock()
		j.mu.stopped = true // not to be restarted or resumed
		j.mu.Unlock()
		_, err = cur.StopWithCheckpoint(ctx, write)
		if err != nil {
			j.mu.Lock()
			j.mu.stopped = false
			j.mu.Unlock()
		}
	} else {
		_, err = cur.SnapshotCheckpoint(ctx, write)
	}
	if err != nil {
		if errors.Is(err, ErrNoCheckpoints) {
			err = fmt.Errorf("%w: job %s takes no checkpoints", ErrNoSavepoint, j.id)
		}
		return "", fmt.Errorf("savepoint of job %s: %w", j.id, err)
	}
	return path, nil
}

// writeSavepoint copies db's last commit into a new savepoint directory
// of job j: written under a temporary name, synced, then renamed, so
// that a directory with the final name is whole.
func (e *Engine) writeSavepoint(j *engineJob, db *state.DB) (string, error) {
	root := e.savepointsDir()
	if err := os.MkdirAll(root, 0o755); err != nil {
		return "", err
	}
	tmp, err := os.MkdirTemp(root, ".tmp-"+j.id+"-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp) // after the rename, nothing
	f, err := os.Create(filepath.Join(tmp, savepointStateFile))
	if err != nil {
		return "", err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	epoch, meta, err := db.Backup(w)
	if err == nil {
		err = w.Flush()
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", err
	}
	m := savepointMeta{Version: 1, Job: j.id, Statement: j.statement, Created: time.Now().UTC(), Epoch: epoch,
		Operators: j.operators, Sources: j.sources, Checkpoint: meta}
	data, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return "", err
	}
	if err := writeFileSync(filepath.Join(tmp, savepointMetaFile), data); err != nil {
		return "", err
	}
	final := filepath.Join(root, fmt.Sprintf("savepoint-%s-%d-%s", j.id, epoch, time.Now().UTC().Format("20060102T150405")))
	if err := os.Rename(tmp, final); err != nil {
		return "", err
	}
	if d, err := os.Open(root); err == nil {
		d.Sync()
		d.Close()
	}
	abs, err := filepath.Abs(final)
	if err != nil {
		return final, nil
	}
	return abs, nil
}

func writeFileSync(path string, data []byte) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// readSavepoint reads the metadata of the savepoint in dir.
func readSavepoint(dir string) (savepointMeta, error) {
	var m savepointMeta
	data, err := os.ReadFile(filepath.Join(dir, savepointMetaFile))
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return m, fmt.Errorf("savepoint %s: no such savepoint (no %s file there)", dir, savepointMetaFile)
		}
		return m, fmt.Errorf("savepoint %s: %w", dir, err)
	}
	if err := json.Unmarshal(data, &m); err != nil {
		return m, fmt.Errorf("savepoint %s: a bad %s file: %w", dir, savepointMetaFile, err)
	}
	if m.Version != 1 {
		return m, fmt.Errorf("savepoint %s: version %d, this Sluice reads version 1", dir, m.Version)
	}
	return m, nil
}

// checkSavepoint says whether a job of plan ops and sources may start
// from savepoint m: every operator whose state the savepoint holds must
// be in the new plan, with the same state signature (its id says so),
// unless ignoreUnclaimed; it returns the ids of the operators whose
// state is to be dropped.
func checkSavepoint(dir string, m savepointMeta, ops []savepointOperator, sources []string, ignoreUnclaimed bool) ([]uint32, error) {
	have := map[uint32]bool{}
	for _, o := range ops {
		have[o.ID] = true
	}
	var drop []uint32
	for _, o := range m.Operators {
		if have[o.ID] {
			continue
		}
		if !ignoreUnclaimed {
			return nil, fmt.Errorf("savepoint %s does not fit the query: it holds the state of an operator the query no longer has, %s (an incompatible change: only filters and projections may be added or removed around the stateful operators; SET 'execution.savepoint.ignore-unclaimed-state' = 'true' drops that state)", dir, o.Signature)
		}
		drop = append(drop, o.ID)
	}
	for _, s := range m.Sources {
		if !slices.Contains(sources, s) && !ignoreUnclaimed {
			return nil, fmt.Errorf("savepoint %s does not fit the query: it holds positions in source %s, which the query no longer reads (SET 'execution.savepoint.ignore-unclaimed-state' = 'true' drops them)", dir, s)
		}
	}
	return drop, nil
}

// restoreSavepoint makes the state directory of a new job, stateDir,
// the state of savepoint dir, dropping the state of operators drop, and
// rewrites its checkpoint record for the new job: the sinks' tokens are
// the old job's transactions, committed before the savepoint completed.
func restoreSavepoint(dir, stateDir string, m savepointMeta, drop []uint32, cacheBytes int64) error {
	f, err := os.Open(filepath.Join(dir, savepointStateFile))
	if err != nil {
		return fmt.Errorf("savepoint %s: %w", dir, err)
	}
	defer f.Close()
	if err := os.RemoveAll(stateDir); err != nil {
		return err
	}
	if err := state.Restore(stateDir, bufio.NewReaderSize(f, 1<<20), state.Options{CacheBytes: cacheBytes}); err != nil {
		os.RemoveAll(stateDir)
		return fmt.Errorf("savepoint %s: %w", dir, err)
	}
	db, err := state.Open(stateDir, state.Options{CacheBytes: cacheBytes})
	if err != nil {
		os.RemoveAll(stateDir)
		return fmt.Errorf("savepoint %s: %w", dir, err)
	}
	defer db.Close()
	for _, op := range drop {
		if err := db.DropOperator(op); err != nil {
			return fmt.Errorf("savepoint %s: %w", dir, err)
		}
	}
	epoch, data := db.LastCommit()
	meta, err := restoreMeta(data)
	if err != nil {
		return fmt.Errorf("savepoint %s: %w", dir, err)
	}
	if epoch != m.Epoch {
		return fmt.Errorf("savepoint %s: its state is at checkpoint %d, its metadata says %d", dir, epoch, m.Epoch)
	}
	meta.Sinks = nil
	data, err = json.Marshal(meta)
	if err != nil {
		return err
	}
	// The next epoch, with nothing dirty: the record only.
	return db.Commit(epoch+1, data)
}
