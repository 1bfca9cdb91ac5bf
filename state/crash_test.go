package state

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/sluice-sql/sluice/sql/types"
)

// The crash test checks the promise of Commit: after a SIGKILL at any
// moment, Open yields exactly the state and metadata of the last Commit
// that returned, or of the one in flight, never a mixture.

const (
	crashDirEnv    = "SLUICE_STATE_CRASH_DIR"
	crashSeedEnv   = "SLUICE_STATE_CRASH_SEED"
	crashKillAtEnv = "SLUICE_STATE_CRASH_KILL_AT"
	crashOpID      = 4
	crashInstances = 2
	crashKeys      = 3000
)

// crashOptions make transactions small (157 KB) and caches tiny, so that
// commits take both paths and epochs spill.
func crashOptions() Options {
	return Options{MemTableBytes: 1 << 20, CacheBytes: 16 << 10, ExpiryInterval: -1}
}

type crashOp struct {
	key string
	val string // "" deletes
}

// crashEpoch returns the writes of epoch e, the same in the child that
// makes them and the parent that checks them. Epochs are small (one
// transaction), middling or large (staged, spilling).
func crashEpoch(seed, e uint64) []crashOp {
	rng := rand.New(rand.NewPCG(seed, e))
	n := [...]int{10, 300, 3000}[rng.IntN(3)]
	ops := make([]crashOp, n)
	for i := range ops {
		ops[i].key = fmt.Sprintf("key%05d", rng.IntN(crashKeys))
		if rng.IntN(5) > 0 {
			ops[i].val = fmt.Sprintf("e%d.%d.%s", e, i, strings.Repeat("v", rng.IntN(120)))
		}
	}
	return ops
}

// crashPoints are the hook points of Commit and spill: a kill at each
// must leave the last commit or the one in flight.
var crashPoints = [...]string{"spill", "committed", "staged", "pending", "promote", "promoted"}

// afterDurable says which crash points come after the epoch in flight is
// durable.
var afterDurable = map[string]bool{"committed": true, "pending": true, "promote": true, "promoted": true}

func crashMeta(e uint64) []byte { return fmt.Appendf(nil, "offsets of epoch %d", e) }

// TestCrashChildProcess is the child of TestCrashKilledCommits: it
// commits epoch after epoch, printing each, until it is killed, by its
// parent or by itself at the n-th passage through the crash point named
// by crashKillAtEnv ("point:n").
func TestCrashChildProcess(t *testing.T) {
	dir := os.Getenv(crashDirEnv)
	if dir == "" {
		t.Skip("runs only as the child of TestCrashKilledCommits")
	}
	seed, _ := strconv.ParseUint(os.Getenv(crashSeedEnv), 10, 64)
	point, nth, _ := strings.Cut(os.Getenv(crashKillAtEnv), ":")
	n, _ := strconv.Atoi(nth)
	if err := runCrashChild(dir, seed, point, int64(n)); err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		os.Exit(3)
	}
}

func runCrashChild(dir string, seed uint64, killPoint string, killAt int64) error {
	db, err := Open(dir, crashOptions())
	if err != nil {
		return err
	}
	var points atomic.Int64 // spills call the hook from every instance
	db.hook = func(p string) {
		if p == killPoint && points.Add(1) == killAt {
			syscall.Kill(os.Getpid(), syscall.SIGKILL)
		}
	}
	var stores [crashInstances]*Store
	for i := range stores {
		first, end := types.KeyGroupRange(i, types.DefaultKeyGroups, crashInstances)
		if stores[i], err = db.Store(crashOpID, StoreOptions{FirstKeyGroup: first, EndKeyGroup: end}); err != nil {
			return err
		}
	}
	epoch, _ := db.LastCommit()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		epoch++
		ops := crashEpoch(seed, epoch)
		var wg sync.WaitGroup
		errs := make([]error, crashInstances)
		for i, s := range stores {
			wg.Go(func() {
				for _, op := range ops {
					k := []byte(op.key)
					kg := kgOf(k)
					if types.KeyGroupOwner(kg, types.DefaultKeyGroups, crashInstances) != i {
						continue
					}
					var err error
					if op.val == "" {
						err = s.Delete(kg, k)
					} else if _, _, err = s.Get(kg, k); err == nil {
						err = s.Put(kg, k, []byte(op.val))
					}
					if err != nil {
						errs[i] = err
						return
					}
				}
			})
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			return err
		}
		if err := db.Commit(epoch, crashMeta(epoch)); err != nil {
			return err
		}
		fmt.Printf("commit %d\n", epoch)
	}
	return errors.New("not killed in time")
}

// TestCrashKilledCommits kills a committing process many times, half of
// the time at a chosen crash point inside Commit or a spill and half at a
// random moment, and checks after each kill that the database holds the
// state of exactly one epoch: the last one reported committed or the one
// after it.
func TestCrashKilledCommits(t *testing.T) {
	if runtime.GOOS == "windows" || runtime.GOOS == "plan9" || runtime.GOOS == "js" || runtime.GOOS == "wasip1" {
		t.Skipf("needs SIGKILL and a child process, not available on %s", runtime.GOOS)
	}
	rounds := 30
	if testing.Short() {
		rounds = 8
	}
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("SLUICE_STATE_CRASH_TEST_SEED"); s != "" {
		seed, _ = strconv.ParseUint(s, 10, 64)
	}
	t.Logf("seed %d (rerun with SLUICE_STATE_CRASH_TEST_SEED=%d)", seed, seed)
	rng := rand.New(rand.NewPCG(seed, 0))
	dir := t.TempDir()
	model := map[string]string{}
	modelEpoch := uint64(0)
	reported := uint64(0)
	for round := range rounds {
		killAt, delay := "", time.Duration(0)
		if round%2 == 0 {
			killAt = fmt.Sprintf("%s:%d", crashPoints[rng.IntN(len(crashPoints))], 1+rng.IntN(3))
		} else {
			delay = time.Duration(100+rng.IntN(1500)) * time.Millisecond
		}
		last := crashRound(t, dir, seed, killAt, delay)
		reported = max(reported, last)

		db, err := Open(dir, crashOptions())
		if err != nil {
			t.Fatalf("round %d: open after the kill: %v", round, err)
		}
		epoch, meta := db.LastCommit()
		if epoch < reported || epoch > reported+1 {
			db.Close()
			t.Fatalf("round %d: reopened at epoch %d; the child reported %d committed", round, epoch, reported)
		}
		if point, _, _ := strings.Cut(killAt, ":"); point != "" {
			// Killed by the hook: whether the epoch in flight survives
			// is decided by where.
			want := reported
			if afterDurable[point] {
				want = reported + 1
			}
			if epoch != want {
				db.Close()
				t.Fatalf("round %d: killed at %s after epoch %d, reopened at epoch %d, want %d", round, killAt, reported, epoch, want)
			}
		}
		if epoch > 0 && !bytes.Equal(meta, crashMeta(epoch)) {
			db.Close()
			t.Fatalf("round %d: epoch %d with metadata %q", round, epoch, meta)
		}
		if epoch < modelEpoch {
			db.Close()
			t.Fatalf("round %d: epoch went back from %d to %d", round, modelEpoch, epoch)
		}
		for ; modelEpoch < epoch; modelEpoch++ {
			for _, op := range crashEpoch(seed, modelEpoch+1) {
				if op.val == "" {
					delete(model, op.key)
				} else {
					model[op.key] = op.val
				}
			}
		}
		s := mustStore(t, db, crashOpID, StoreOptions{})
		got := scanAll(t, s)
		staging := badgerCount(t, db, []byte{nsStaging})
		db.Close()
		if !maps.Equal(got, model) {
			diff := 0
			for k, v := range model {
				if got[k] != v {
					diff++
				}
			}
			t.Fatalf("round %d: state at epoch %d differs from the model: %d keys, want %d; %d values differ",
				round, epoch, len(got), len(model), diff)
		}
		if staging != 0 {
			t.Fatalf("round %d: %d staging keys after open", round, staging)
		}
		t.Logf("round %d: killed at %q / after %v; reported %d, reopened at epoch %d with %d keys",
			round, killAt, delay, last, epoch, len(got))
		reported = epoch // where the next child starts
	}
	if modelEpoch < uint64(rounds) {
		t.Fatalf("only %d epochs committed in %d rounds", modelEpoch, rounds)
	}
}

// crashRound runs the child on dir until it dies and returns the last
// epoch it reported committed (0 for none).
func crashRound(t *testing.T, dir string, seed uint64, killAt string, delay time.Duration) uint64 {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChildProcess$", "-test.count=1", "-test.timeout=60s")
	cmd.Env = append(os.Environ(),
		crashDirEnv+"="+dir,
		crashSeedEnv+"="+strconv.FormatUint(seed, 10),
		crashKillAtEnv+"="+killAt)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var last uint64
	eof := make(chan struct{})
	go func() {
		defer close(eof)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			var e uint64
			if _, err := fmt.Sscanf(sc.Text(), "commit %d", &e); err == nil {
				mu.Lock()
				last = e
				mu.Unlock()
			}
		}
		io.Copy(io.Discard, stdout)
	}()
	if delay > 0 {
		timer := time.NewTimer(delay)
		select {
		case <-eof:
		case <-timer.C:
		}
		timer.Stop()
		// Killing a process that already exited is harmless: it is not
		// reaped before Wait.
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Errorf("kill: %v", err)
		}
	}
	<-eof
	err = cmd.Wait()
	ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus)
	if !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("child did not die of SIGKILL (%v); stderr:\n%s", err, stderr.String())
	}
	if s := stderr.String(); strings.Contains(s, "DATA RACE") || strings.Contains(s, "panic") {
		t.Fatalf("child stderr:\n%s", s)
	}
	mu.Lock()
	defer mu.Unlock()
	return last
}
