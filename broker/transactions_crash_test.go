package broker

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The transactional crash test: a child process runs transactions over
// two partitions, committing most and aborting every fifth, and is killed
// with SIGKILL at random moments, often in the middle of a transaction.
// After each kill the parent checks, before anyone re-initializes the
// producer, that read_committed shows whole committed transactions only,
// every one the child saw committed and none it aborted; that the
// interrupted transaction is still open (it blocks the LSO); and that the
// next child's InitProducer aborts it.

const (
	txnCrashEnv        = "SLUICE_TXN_CRASH_DIR"
	txnCrashTopic      = "tx"
	txnCrashID         = "crash-sink"
	txnCrashBatches    = 3 // per partition per transaction
	txnCrashPerBatch   = 4
	txnCrashPartitions = 2
)

// TestTxnCrashProcess is the child of TestCrashTransactions.
func TestTxnCrashProcess(t *testing.T) {
	dir := os.Getenv(txnCrashEnv)
	if dir == "" {
		t.Skip("runs only as the child of TestCrashTransactions")
	}
	if err := runTxnCrashChild(dir); err != nil {
		fmt.Fprintln(os.Stderr, "transactional producer:", err)
		os.Exit(3)
	}
}

func runTxnCrashChild(dir string) error {
	b, err := Open(dir, Options{MaintenanceInterval: -1, Owner: "transactional crash test producer"})
	if err != nil {
		return err
	}
	err = b.CreateTopic(txnCrashTopic, txnCrashPartitions, map[string]string{"segment.bytes": "16384"})
	if err != nil && !errors.Is(err, ErrTopicExists) {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	p, err := b.NewProducer(ctx, txnCrashID)
	if err != nil {
		return err
	}
	// Number transactions on from the last one in the log.
	next := 0
	for part := range int32(txnCrashPartitions) {
		r := b.NewReader(txnCrashTopic, part, 0)
		for {
			rec, ok, err := r.TryNext()
			if err != nil {
				return err
			}
			if !ok {
				break
			}
			n, _, err := txnCrashParse(rec.Value)
			if err != nil {
				return err
			}
			next = max(next, n+1)
		}
	}
	out := bufio.NewWriter(os.Stdout)
	fmt.Fprintf(out, "init %d\n", next)
	out.Flush()
	for n := next; ctx.Err() == nil; n++ {
		for i := range txnCrashBatches {
			for part := range int32(txnCrashPartitions) {
				recs := make([]Record, txnCrashPerBatch)
				for j := range recs {
					recs[j] = Record{Timestamp: time.Now().UnixMilli(), Value: []byte(fmt.Sprintf("%d:%d", n, i*txnCrashPerBatch+j))}
				}
				if _, err := p.Append(ctx, txnCrashTopic, part, recs...); err != nil {
					return err
				}
			}
		}
		if n%5 == 3 {
			if err := p.Abort(ctx); err != nil {
				return err
			}
			fmt.Fprintf(out, "abort %d\n", n)
		} else {
			if err := p.Commit(ctx); err != nil {
				return err
			}
			fmt.Fprintf(out, "commit %d\n", n)
		}
		if err := out.Flush(); err != nil {
			return err
		}
	}
	return errors.New("not killed in time")
}

func txnCrashParse(v []byte) (txn, i int, err error) {
	a, c, ok := strings.Cut(string(v), ":")
	if !ok {
		return 0, 0, fmt.Errorf("bad value %q", v)
	}
	if txn, err = strconv.Atoi(a); err == nil {
		i, err = strconv.Atoi(c)
	}
	return txn, i, err
}

func TestCrashTransactions(t *testing.T) {
	if runtime.GOOS == "windows" || runtime.GOOS == "plan9" || runtime.GOOS == "js" || runtime.GOOS == "wasip1" {
		t.Skipf("needs SIGKILL and a child process, not available on %s", runtime.GOOS)
	}
	rounds := 20
	if testing.Short() {
		rounds = 6
	}
	seed := crashSeedFor(t)
	rng := rand.New(rand.NewPCG(seed, 1))
	dir := t.TempDir()
	committed := map[int]bool{}
	aborted := map[int]bool{}
	interrupted := 0
	for round := range rounds {
		delay := time.Duration(5+rng.IntN(120)) * time.Millisecond
		c, a := txnCrashKill(t, dir, delay)
		for _, n := range c {
			committed[n] = true
		}
		for _, n := range a {
			aborted[n] = true
		}
		if txnCrashVerify(t, dir, committed, aborted) {
			interrupted++
		}
		if t.Failed() {
			return
		}
		t.Logf("round %d: killed after %v; %d committed, %d aborted so far", round, delay, len(committed), len(aborted))
	}
	if len(committed) == 0 {
		t.Fatal("no transaction was ever committed")
	}
	if interrupted == 0 {
		t.Fatal("no kill ever interrupted a transaction: the test proves nothing about recovery")
	}
	t.Logf("%d of %d kills left a transaction open", interrupted, rounds)
	// A last producer re-initializes: nothing stays open.
	b, err := Open(dir, Options{MaintenanceInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if _, _, err := b.InitProducer(context.Background(), txnCrashID); err != nil {
		t.Fatal(err)
	}
	for part := range int32(txnCrashPartitions) {
		lso, _ := b.LastStableOffset(txnCrashTopic, part)
		_, hw, _ := b.Offsets(txnCrashTopic, part)
		if lso != hw {
			t.Fatalf("partition %d: LSO %d, high watermark %d after re-init", part, lso, hw)
		}
	}
}

// txnCrashKill runs the child on dir, kills it delay after it starts its
// first transaction, and returns the transactions it reported committed
// and aborted.
func txnCrashKill(t *testing.T, dir string, delay time.Duration) (committed, aborted []int) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestTxnCrashProcess$", "-test.count=1", "-test.timeout=60s")
	cmd.Env = append(os.Environ(), txnCrashEnv+"="+dir)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string, 1024)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		io.Copy(io.Discard, stdout)
	}()
	var all []string
	deadline := time.After(30 * time.Second)
	started := false
	for !started {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("child exited before starting; stderr:\n%s", stderr.String())
			}
			all = append(all, l)
			started = strings.HasPrefix(l, "init ")
		case <-deadline:
			t.Fatal("child did not start in 30s")
		}
	}
	time.Sleep(delay) // the moment of the crash is the point: it is random, not awaited
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Errorf("kill: %v", err)
	}
	for l := range lines {
		all = append(all, l)
	}
	err = cmd.Wait()
	ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus)
	if !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("child did not die of SIGKILL (%v); stderr:\n%s", err, stderr.String())
	}
	for _, l := range all {
		var n int
		switch {
		case strings.HasPrefix(l, "commit "):
			fmt.Sscanf(l, "commit %d", &n)
			committed = append(committed, n)
		case strings.HasPrefix(l, "abort "):
			fmt.Sscanf(l, "abort %d", &n)
			aborted = append(aborted, n)
		}
	}
	return committed, aborted
}

// txnCrashVerify checks the log after a kill, before any re-init, and
// reports whether a transaction was left open.
func txnCrashVerify(t *testing.T, dir string, committed, aborted map[int]bool) (open bool) {
	t.Helper()
	b, err := Open(dir, Options{MaintenanceInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	want := txnCrashBatches * txnCrashPerBatch
	seen := make([]map[int]int, txnCrashPartitions)
	for part := range int32(txnCrashPartitions) {
		seen[part] = map[int]int{}
		r := b.NewReader(txnCrashTopic, part, 0, WithIsolation(ReadCommitted))
		for {
			rec, ok, err := r.TryNext()
			if err != nil {
				t.Fatal(err)
			}
			if !ok {
				break
			}
			n, i, err := txnCrashParse(rec.Value)
			if err != nil {
				t.Fatal(err)
			}
			if i != seen[part][n] {
				t.Fatalf("partition %d: transaction %d record %d after %d of its records", part, n, i, seen[part][n])
			}
			seen[part][n]++
		}
		lso, _ := b.LastStableOffset(txnCrashTopic, part)
		_, hw, _ := b.Offsets(txnCrashTopic, part)
		open = open || lso < hw
	}
	for part := range seen {
		for n, c := range seen[part] {
			if c != want {
				t.Fatalf("partition %d: %d of transaction %d's %d records visible", part, c, n, want)
			}
			if aborted[n] {
				t.Fatalf("partition %d: aborted transaction %d visible", part, n)
			}
			if seen[1-part][n] != want {
				t.Fatalf("transaction %d visible in partition %d only", n, part)
			}
		}
	}
	for n := range committed {
		if seen[0][n] != want {
			t.Fatalf("committed transaction %d lost", n)
		}
	}
	ti := b.Transactions()
	if open && (len(ti) != 1 || ti[0].State != "Ongoing") {
		t.Fatalf("the LSO is held back, but the coordinator says %+v", ti)
	}
	return open
}
