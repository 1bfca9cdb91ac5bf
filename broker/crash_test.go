package broker

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/sluice-sql/sluice/broker/vfs"
)

// The crash tests check the promise of the default durability policy: an
// acknowledged record survives any crash, and what survives is a prefix
// of what was written, with dense offsets, however the crash tore the
// tail.

var crashSeed = flag.Uint64("crash.seed", 0, "seed of the crash tests (0: from the clock)")

const (
	// crashProducerEnv names the data directory of the child producer of
	// TestCrashKilledProducer; the child test does nothing without it.
	crashProducerEnv = "SLUICE_CRASH_PRODUCER"
	crashSeedEnv     = "SLUICE_CRASH_PRODUCER_SEED"
	crashTopic       = "seq"
	crashPartitions  = 2
	crashInFlight    = 8 // batches in flight per partition in the child
	crashValueSize   = 48
)

func crashSeedFor(t *testing.T) uint64 {
	seed := *crashSeed
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	t.Logf("seed %d (rerun with -crash.seed=%d)", seed, seed)
	return seed
}

// crashValue encodes sequence number seq: 8 bytes of seq and a filler
// that depends on it, so a record with a wrong body is told apart from
// one with a wrong number.
func crashValue(seq int64) []byte {
	v := make([]byte, crashValueSize)
	binary.BigEndian.PutUint64(v, uint64(seq))
	for i := 8; i < len(v); i++ {
		v[i] = byte(seq) + byte(i)
	}
	return v
}

// crashSeq decodes a value made by crashValue.
func crashSeq(v []byte) (int64, error) {
	if len(v) != crashValueSize {
		return 0, fmt.Errorf("value of %d bytes, want %d", len(v), crashValueSize)
	}
	seq := int64(binary.BigEndian.Uint64(v))
	if !bytes.Equal(v, crashValue(seq)) {
		return 0, fmt.Errorf("value of sequence %d has a damaged filler: %x", seq, v)
	}
	return seq, nil
}

// TestCrashProducerProcess is the child of TestCrashKilledProducer: a real
// producer process that appends numbered records to both partitions of
// the topic until it is killed, reporting each acknowledgement on stdout.
func TestCrashProducerProcess(t *testing.T) {
	dir := os.Getenv(crashProducerEnv)
	if dir == "" {
		t.Skip("runs only as the child of TestCrashKilledProducer")
	}
	seed, _ := strconv.ParseUint(os.Getenv(crashSeedEnv), 10, 64)
	if err := runCrashProducer(dir, seed); err != nil {
		fmt.Fprintln(os.Stderr, "producer:", err)
		os.Exit(3)
	}
}

// runCrashProducer appends until it is killed, or gives up after a while
// if its parent never kills it.
func runCrashProducer(dir string, seed uint64) error {
	b, err := Open(dir, Options{MaintenanceInterval: -1, Owner: "crash test producer"})
	if err != nil {
		return err
	}
	err = b.CreateTopic(crashTopic, crashPartitions, map[string]string{"segment.bytes": "65536"})
	if err != nil && !errors.Is(err, ErrTopicExists) {
		return err
	}
	var next [crashPartitions]int64
	for p := range int32(crashPartitions) {
		if next[p], err = crashNextSeq(b, p); err != nil {
			return err
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	type ack struct {
		part int32
		last int64
		res  AppendResult
	}
	// Each partition has at most crashInFlight batches between append
	// and printed acknowledgement, so done never blocks on acks.
	acks := make(chan ack, crashPartitions*crashInFlight)
	var slots [crashPartitions]chan struct{}
	var wg sync.WaitGroup
	for p := range int32(crashPartitions) {
		slots[p] = make(chan struct{}, crashInFlight)
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(seed, uint64(p)))
			seq := next[p]
			var bb BatchBuilder
			for {
				select {
				case slots[p] <- struct{}{}:
				case <-ctx.Done():
					return
				}
				bb.Reset()
				n := 1 + rng.IntN(8)
				ts := time.Now().UnixMilli()
				for i := range n {
					bb.Add(&Record{Timestamp: ts, Value: crashValue(seq + int64(i))})
				}
				last := seq + int64(n) - 1
				b.AppendAsync(crashTopic, p, bb.Build(), func(r AppendResult) { acks <- ack{p, last, r} })
				seq = last + 1
			}
		}()
	}
	out := bufio.NewWriter(os.Stdout)
	var failure error
	for failure == nil {
		var a ack
		select {
		case a = <-acks:
		case <-ctx.Done():
			failure = errors.New("not killed in time")
			continue
		}
		switch {
		case a.res.Err != nil:
			failure = a.res.Err
		case a.res.LastOffset != a.last:
			failure = fmt.Errorf("partition %d: sequence %d got offset %d", a.part, a.last, a.res.LastOffset)
		default:
			fmt.Fprintf(out, "ack %d %d\n", a.part, a.last)
			if err := out.Flush(); err != nil {
				failure = err
			}
			<-slots[a.part]
		}
	}
	cancel()
	go func() {
		for range acks {
		}
	}()
	wg.Wait()
	b.Close()
	return failure
}

// crashNextSeq returns the sequence number after the last one in the
// partition.
func crashNextSeq(b *Broker, p int32) (int64, error) {
	_, end, err := b.Offsets(crashTopic, p)
	if err != nil || end == 0 {
		return 0, err
	}
	rec, ok, err := b.NewReader(crashTopic, p, end-1).TryNext()
	if err != nil {
		return 0, err
	}
	if !ok || rec.Offset != end-1 {
		return 0, fmt.Errorf("partition %d: no record at offset %d below the end", p, end-1)
	}
	seq, err := crashSeq(rec.Value)
	if err != nil {
		return 0, err
	}
	return seq + 1, nil
}

// TestCrashKilledProducer kills a producer process with SIGKILL at a
// random moment, many times over, and checks after each kill that every
// acknowledged record is there, in order, once, with nothing after a gap.
func TestCrashKilledProducer(t *testing.T) {
	if runtime.GOOS == "windows" || runtime.GOOS == "plan9" || runtime.GOOS == "js" || runtime.GOOS == "wasip1" {
		t.Skipf("needs SIGKILL and a child process, not available on %s", runtime.GOOS)
	}
	rounds := 40
	if testing.Short() {
		rounds = 8
	}
	seed := crashSeedFor(t)
	rng := rand.New(rand.NewPCG(seed, 0))
	dir := t.TempDir()
	acked := [crashPartitions]int64{-1, -1}
	start := time.Now()
	for round := range rounds {
		delay := time.Duration(5+rng.IntN(196)) * time.Millisecond
		got := crashKillRound(t, dir, rng.Uint64(), delay)
		for p := range acked {
			acked[p] = max(acked[p], got[p])
		}
		ends := crashVerifyDir(t, vfs.Default(), dir, acked)
		t.Logf("round %d: killed %v after the first ack; acked up to %v, log ends at %v", round, delay, acked, ends)
		if t.Failed() {
			return
		}
	}
	segs := 0
	for p := range crashPartitions {
		names, err := os.ReadDir(filepath.Join(dir, topicsDir, crashTopic, fmt.Sprint(p)))
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range names {
			if strings.HasSuffix(n.Name(), logSuffix) {
				segs++
			}
		}
	}
	t.Logf("%d rounds in %v; %d segment files", rounds, time.Since(start).Round(time.Millisecond), segs)
	if acked[0] < 0 || acked[1] < 0 {
		t.Fatalf("a partition was never acknowledged: %v", acked)
	}
	if segs <= crashPartitions {
		t.Fatalf("only %d segment files: the test never rolled a segment", segs)
	}
}

// crashKillRound runs the producer process on dir, kills it delay after
// its first acknowledgement, and returns the highest sequence number
// acknowledged in each partition (-1 for none).
func crashKillRound(t *testing.T, dir string, seed uint64, delay time.Duration) [crashPartitions]int64 {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashProducerProcess$", "-test.count=1", "-test.timeout=60s")
	cmd.Env = append(os.Environ(), crashProducerEnv+"="+dir, crashSeedEnv+"="+strconv.FormatUint(seed, 10))
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
	acked := [crashPartitions]int64{-1, -1}
	var bad []string
	first := make(chan struct{})
	eof := make(chan struct{})
	go func() {
		defer close(eof)
		sc := bufio.NewScanner(stdout)
		once := sync.Once{}
		for sc.Scan() {
			line := sc.Text()
			var p int
			var seq int64
			if _, err := fmt.Sscanf(line, "ack %d %d", &p, &seq); err != nil || p < 0 || p >= crashPartitions {
				if strings.HasPrefix(line, "ack ") {
					mu.Lock()
					bad = append(bad, line)
					mu.Unlock()
				}
				continue
			}
			mu.Lock()
			if seq <= acked[p] {
				bad = append(bad, fmt.Sprintf("%s: not after %d", line, acked[p]))
			}
			acked[p] = seq
			mu.Unlock()
			once.Do(func() { close(first) })
		}
		io.Copy(io.Discard, stdout)
	}()
	deadline := time.NewTimer(30 * time.Second)
	defer deadline.Stop()
	select {
	case <-first:
	case <-eof:
	case <-deadline.C:
	}
	killAt := time.NewTimer(delay)
	defer killAt.Stop()
	select {
	case <-eof:
	case <-killAt.C:
	}
	// Killing a process that already exited is harmless: it is not reaped
	// before Wait.
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Errorf("kill: %v", err)
	}
	<-eof
	err = cmd.Wait()
	ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus)
	if !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("producer did not die of SIGKILL (%v); stderr:\n%s", err, stderr.String())
	}
	if strings.Contains(stderr.String(), "DATA RACE") || strings.Contains(stderr.String(), "panic") {
		t.Fatalf("producer stderr:\n%s", stderr.String())
	}
	mu.Lock()
	defer mu.Unlock()
	if len(bad) > 0 {
		t.Fatalf("bad acknowledgements from the producer: %q", bad)
	}
	if acked[0] < 0 && acked[1] < 0 {
		t.Fatalf("producer acknowledged nothing in 30s; stderr:\n%s", stderr.String())
	}
	return acked
}

// crashVerifyDir opens the broker on dir and checks that each partition of
// the crash topic holds exactly the sequence 0, 1, ..., k at offsets 0 to
// k, with k at least the highest acknowledged sequence. It returns the
// partitions' ends.
func crashVerifyDir(t *testing.T, fsys vfs.FS, dir string, acked [crashPartitions]int64) [crashPartitions]int64 {
	t.Helper()
	b, err := Open(dir, Options{FS: fsys, MaintenanceInterval: -1})
	if err != nil {
		t.Fatalf("open after the crash: %v", err)
	}
	defer b.Close()
	for _, ev := range b.Recovery() {
		t.Logf("recovery: %v", ev)
	}
	var ends [crashPartitions]int64
	for p := range int32(crashPartitions) {
		start, end, err := b.Offsets(crashTopic, p)
		if err != nil {
			t.Fatal(err)
		}
		ends[p] = end
		if start != 0 {
			t.Errorf("partition %d starts at offset %d", p, start)
		}
		r := b.NewReader(crashTopic, p, 0)
		want := int64(0)
		for {
			rec, ok, err := r.TryNext()
			if err != nil {
				t.Fatalf("partition %d: read at offset %d: %v", p, r.Offset(), err)
			}
			if !ok {
				break
			}
			seq, err := crashSeq(rec.Value)
			if err != nil {
				t.Fatalf("partition %d offset %d: %v", p, rec.Offset, err)
			}
			if rec.Offset != want || seq != want {
				t.Fatalf("partition %d: record %d has offset %d and sequence %d", p, want, rec.Offset, seq)
			}
			want++
		}
		if want != end {
			t.Errorf("partition %d: read %d records, the end offset is %d", p, want, end)
		}
		if want-1 < acked[p] {
			t.Errorf("partition %d: sequence %d was acknowledged, the log ends at %d", p, acked[p], want-1)
		}
	}
	return ends
}

// memCrashProducer is one producer of TestCrashMemFSDuringAppends: it
// writes sequence numbers 0, 1, ... keyed by its id to one partition.
type memCrashProducer struct {
	id   int
	part int32
}

// memCrashRecord is what a record of TestCrashMemFSDuringAppends says:
// which producer wrote it and its sequence number there.
type memCrashRecord struct {
	producer int
	seq      int64
}

// memCrashSnapshot is a crash taken while appends were in flight, with the
// end offset that was acknowledged in each partition before it.
type memCrashSnapshot struct {
	fs    *vfs.MemFS
	acked []int64
}

// TestCrashMemFSDuringAppends takes fs.Crash() while producers on several
// goroutines have appends in flight, and checks that the broker reopened
// on each crashed file system holds a prefix of the log as it was
// written, with dense offsets, covering every acknowledged append.
func TestCrashMemFSDuringAppends(t *testing.T) {
	seeds := 6
	if testing.Short() {
		seeds = 2
	}
	base := crashSeedFor(t)
	for i := range seeds {
		seed := base + uint64(i)
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) { crashMemFSRun(t, seed) })
	}
}

func crashMemFSRun(t *testing.T, seed uint64) {
	const (
		partitions = 2
		producers  = 4
		batches    = 300 // per producer
		inFlight   = 4   // per producer
		crashes    = 4
	)
	rng := rand.New(rand.NewPCG(seed, 1))
	mem := vfs.NewMem()
	b, err := Open("/data", Options{FS: mem, MaintenanceInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if err := b.CreateTopic("t", partitions, map[string]string{"segment.bytes": "4096"}); err != nil {
		t.Fatal(err)
	}

	// written[p][offset] is the live log, filled in from the results.
	var mu sync.Mutex
	written := make([]map[int64]memCrashRecord, partitions)
	for p := range written {
		written[p] = make(map[int64]memCrashRecord)
	}
	ackedEnd := make([]atomic.Int64, partitions)
	var ackedTotal atomic.Int64
	progress := make(chan struct{}, 1)
	errs := make(chan error, producers*batches)

	var wg sync.WaitGroup
	var pending sync.WaitGroup
	for i := range producers {
		pr := memCrashProducer{id: i, part: int32(i % partitions)}
		prng := rand.New(rand.NewPCG(seed, uint64(100+i)))
		wg.Add(1)
		go func() {
			defer wg.Done()
			slots := make(chan struct{}, inFlight)
			var bb BatchBuilder
			var seq int64
			for range batches {
				slots <- struct{}{}
				n := 1 + prng.IntN(12)
				bb.Reset()
				first := seq
				for range n {
					bb.Add(&Record{Key: []byte(strconv.Itoa(pr.id)), Value: crashValue(seq)})
					seq++
				}
				pending.Add(1)
				b.AppendAsync("t", pr.part, bb.Build(), func(r AppendResult) {
					defer pending.Done()
					<-slots
					if r.Err != nil {
						errs <- r.Err
						return
					}
					mu.Lock()
					for k := range int64(n) {
						written[pr.part][r.BaseOffset+k] = memCrashRecord{pr.id, first + k}
					}
					mu.Unlock()
					// Acknowledgements of a partition come in offset
					// order, but keep the maximum regardless.
					e := &ackedEnd[pr.part]
					for old := e.Load(); old < r.LastOffset+1 && !e.CompareAndSwap(old, r.LastOffset+1); old = e.Load() {
					}
					ackedTotal.Add(1)
					select {
					case progress <- struct{}{}:
					default:
					}
				})
			}
		}()
	}

	// Crash at random points while the producers run.
	var snaps []memCrashSnapshot
	for i := range crashes {
		target := int64((i*producers*batches + rng.IntN(producers*batches)) / crashes)
		for ackedTotal.Load() < target {
			<-progress
		}
		acked := make([]int64, partitions)
		for p := range acked {
			acked[p] = ackedEnd[p].Load()
		}
		snaps = append(snaps, memCrashSnapshot{fs: mem.Crash(), acked: acked})
	}
	wg.Wait()
	pending.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("append: %v", err)
	}
	for p := range partitions {
		if len(written[p]) == 0 {
			t.Fatalf("partition %d: nothing written", p)
		}
	}

	for i, s := range snaps {
		cb, err := Open("/data", Options{FS: s.fs, MaintenanceInterval: -1})
		if err != nil {
			t.Fatalf("crash %d: open: %v", i, err)
		}
		for _, ev := range cb.Recovery() {
			t.Logf("crash %d: recovery: %v", i, ev)
		}
		for p := range int32(partitions) {
			n := crashMemFSCheckPrefix(t, cb, p, written[p])
			if n < s.acked[p] {
				t.Errorf("crash %d partition %d: %d records survived, %d were acknowledged before the crash", i, p, n, s.acked[p])
			}
			t.Logf("crash %d partition %d: %d of %d records survived, %d acknowledged", i, p, n, len(written[p]), s.acked[p])
		}
		if err := cb.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// crashMemFSCheckPrefix checks that partition p of b holds a prefix of
// the log written, offsets dense from 0, and returns its length.
func crashMemFSCheckPrefix(t *testing.T, b *Broker, p int32, written map[int64]memCrashRecord) int64 {
	t.Helper()
	_, end, err := b.Offsets("t", p)
	if err != nil {
		t.Fatal(err)
	}
	r := b.NewReader("t", p, 0)
	var n int64
	for {
		rec, ok, err := r.TryNext()
		if err != nil {
			t.Fatalf("partition %d: read at %d: %v", p, r.Offset(), err)
		}
		if !ok {
			break
		}
		seq, err := crashSeq(rec.Value)
		if err != nil {
			t.Fatalf("partition %d offset %d: %v", p, rec.Offset, err)
		}
		if rec.Offset != n {
			t.Fatalf("partition %d: offset %d follows %d", p, rec.Offset, n-1)
		}
		want, ok := written[rec.Offset]
		if !ok || string(rec.Key) != strconv.Itoa(want.producer) || seq != want.seq {
			t.Fatalf("partition %d: offset %d holds producer %s sequence %d; the log written has producer %d sequence %d there",
				p, rec.Offset, rec.Key, seq, want.producer, want.seq)
		}
		n++
	}
	if n != end {
		t.Errorf("partition %d: read up to offset %d, end offset %d", p, n, end)
	}
	return n
}

// crashFS is a file system under test with the data directory in it.
type crashFS struct {
	name string
	fs   vfs.FS
	dir  string
}

func crashFileSystems(t *testing.T) []crashFS {
	return []crashFS{
		{"os", vfs.Default(), t.TempDir()},
		{"mem", vfs.NewMem(), "/data"},
	}
}

// crashFill creates topic t with one partition of segments of segBytes
// and appends the sequence 0 to n-1 in batches of 4.
func crashFill(t *testing.T, b *Broker, n int, segBytes int) {
	t.Helper()
	if err := b.CreateTopic("t", 1, map[string]string{"segment.bytes": strconv.Itoa(segBytes)}); err != nil {
		t.Fatal(err)
	}
	for seq := int64(0); seq < int64(n); seq += 4 {
		var recs []Record
		for i := seq; i < min(seq+4, int64(n)); i++ {
			recs = append(recs, Record{Timestamp: 1000 + i, Value: crashValue(i)})
		}
		if _, err := b.AppendRecords(context.Background(), "t", 0, recs...); err != nil {
			t.Fatal(err)
		}
	}
}

// crashReadFile reads a whole file through fsys.
func crashReadFile(t *testing.T, fsys vfs.FS, name string) []byte {
	t.Helper()
	f, err := fsys.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	data, err := io.ReadAll(f)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// crashWriteFile replaces a file's contents through fsys, durably.
func crashWriteFile(t *testing.T, fsys vfs.FS, name string, data []byte) {
	t.Helper()
	if err := writeFileSync(fsys, name, data); err != nil {
		t.Fatal(err)
	}
}

// crashBatchStarts returns the byte position of each batch in a segment
// file's contents, and their base offsets.
func crashBatchStarts(t *testing.T, data []byte) (pos []int, base []int64) {
	t.Helper()
	for at := 0; at < len(data); {
		h, err := CheckBatch(data[at : at+int(binary.BigEndian.Uint32(data[at+offBatchLength:]))+batchLengthStart])
		if err != nil {
			t.Fatalf("batch at byte %d: %v", at, err)
		}
		pos = append(pos, at)
		base = append(base, h.BaseOffset)
		at += h.Size()
	}
	return pos, base
}

// crashPartitionDir is the directory of partition 0 of topic t.
func crashPartitionDir(dir string) string { return filepath.Join(dir, topicsDir, "t", "0") }

// crashSegments lists the segment files of partition 0 of topic t.
func crashSegments(t *testing.T, fsys vfs.FS, dir string) []string {
	t.Helper()
	names, err := fsys.ReadDir(crashPartitionDir(dir))
	if err != nil {
		t.Fatal(err)
	}
	var segs []string
	for _, n := range names {
		if _, ok := parseSegmentName(n); ok {
			segs = append(segs, filepath.Join(crashPartitionDir(dir), n))
		}
	}
	return segs
}

// TestCrashCorruptSealedSegment damages a batch of a sealed, indexed
// segment and checks that the damage is reported as a *CorruptionError
// naming the file and the batch's byte position, while the records before
// it still read and the segments after it are still served.
//
// A sealed segment is trusted on open, but the batches after its last
// index entry are walked to find the segment's end, so damage to a batch
// header there is found by Open; that case accepts a failed Open, with
// the same error, as well as a failed read.
func TestCrashCorruptSealedSegment(t *testing.T) {
	const records = 1600
	damages := []struct {
		name string
		at   int // byte within the batch
		bad  func(b byte) byte
	}{
		{"record body", batchHeaderSize + 5, func(b byte) byte { return ^b }},
		{"magic", offMagic, func(byte) byte { return 7 }},
		{"crc", offCRC + 2, func(b byte) byte { return b ^ 0x10 }},
		{"length", offBatchLength + 3, func(b byte) byte { return b + 9 }},
	}
	for _, d := range damages {
		for _, where := range []string{"middle", "last batch"} {
			for _, cf := range crashFileSystems(t) {
				t.Run(d.name+"/"+where+"/"+cf.name, func(t *testing.T) {
					opts := Options{FS: cf.fs, MaintenanceInterval: -1}
					b, err := Open(cf.dir, opts)
					if err != nil {
						t.Fatal(err)
					}
					crashFill(t, b, records, 32<<10)
					if err := b.Close(); err != nil {
						t.Fatal(err)
					}
					segs := crashSegments(t, cf.fs, cf.dir)
					if len(segs) < 3 {
						t.Fatalf("%d segments, want at least 3", len(segs))
					}
					seg := segs[1]
					if _, err := cf.fs.Stat(strings.TrimSuffix(seg, logSuffix) + indexSuffix); err != nil {
						t.Fatalf("segment %s is not sealed: %v", seg, err)
					}
					data := crashReadFile(t, cf.fs, seg)
					starts, bases := crashBatchStarts(t, data)
					j := len(starts) / 2
					if where == "last batch" {
						j = len(starts) - 1
					}
					at := starts[j] + d.at
					data[at] = d.bad(data[at])
					crashWriteFile(t, cf.fs, seg, data)

					b, err = Open(cf.dir, opts)
					if err != nil && where == "last batch" {
						crashCheckCorruption(t, err, seg, int64(starts[j]))
						return
					}
					if err != nil {
						t.Fatalf("open: %v", err)
					}
					defer b.Close()
					if ev := b.Recovery(); len(ev) != 0 {
						t.Errorf("damage in a sealed segment was taken for a torn tail: %v", ev)
					}
					r := b.NewReader("t", 0, 0)
					var n int64
					var rerr error
					for {
						rec, ok, err := r.TryNext()
						if err != nil {
							rerr = err
							break
						}
						if !ok {
							break
						}
						if seq, err := crashSeq(rec.Value); err != nil || seq != n || rec.Offset != n {
							t.Fatalf("record %d: offset %d, sequence %d, %v", n, rec.Offset, seq, err)
						}
						n++
					}
					crashCheckCorruption(t, rerr, seg, int64(starts[j]))
					if n > bases[j] {
						t.Errorf("read %d records, past the damaged batch at offset %d", n, bases[j])
					}
					if n < bases[0] {
						t.Errorf("read only %d records; the damaged segment starts at offset %d", n, bases[0])
					}
					// A fetch aimed at the damaged batch says the same.
					_, err = b.Fetch("t", 0, bases[j], 1<<20, nil)
					crashCheckCorruption(t, err, seg, int64(starts[j]))
					// The segments after it are still served.
					last := int64(records - 1)
					rec, ok, err := b.NewReader("t", 0, last).TryNext()
					if err != nil || !ok || rec.Offset != last {
						t.Fatalf("read after the damaged segment: %v, %v", ok, err)
					}
				})
			}
		}
	}
}

func crashCheckCorruption(t *testing.T, err error, file string, pos int64) {
	t.Helper()
	var ce *CorruptionError
	if !errors.As(err, &ce) {
		t.Fatalf("got %v, want a *CorruptionError", err)
	}
	if ce.File != file || ce.Pos != pos {
		t.Errorf("corruption reported in %s at byte %d, want %s at byte %d", ce.File, ce.Pos, file, pos)
	}
	if !errors.Is(err, ErrCorruptBatch) {
		t.Errorf("%v does not wrap ErrCorruptBatch", err)
	}
	if !strings.Contains(err.Error(), file) || !strings.Contains(err.Error(), fmt.Sprintf("at byte %d", pos)) {
		t.Errorf("error does not name the file and the position: %v", err)
	}
}

// TestCrashTornTailCut appends torn or damaged bytes to the active segment
// after a clean close, as a crash during a write leaves it, and checks
// that reopening cuts exactly those bytes, says so in Recovery, keeps
// every earlier record and takes appends at the next offset.
func TestCrashTornTailCut(t *testing.T) {
	const records = 150
	var bb BatchBuilder
	for i := range 5 {
		bb.Add(&Record{Timestamp: 5000, Value: crashValue(records + int64(i))})
	}
	valid := bb.Build()
	setBaseOffset(valid, records)
	badCRC := bytes.Clone(valid)
	badCRC[len(badCRC)-3] ^= 0x40
	zeros := make([]byte, 4096)
	garbage := make([]byte, 300)
	for i := range garbage {
		garbage[i] = byte(i*7 + 3)
	}
	tails := []struct {
		name string
		tail []byte
	}{
		{"torn header", bytes.Clone(valid[:30])},
		{"torn records", bytes.Clone(valid[:len(valid)-10])},
		{"bad checksum", badCRC},
		{"zeros", zeros},
		{"garbage", garbage},
		{"five bytes", []byte{1, 2, 3, 4, 5}},
		{"valid then torn", append(bytes.Clone(valid), valid[:70]...)},
	}
	for _, tc := range tails {
		for _, cf := range crashFileSystems(t) {
			t.Run(tc.name+"/"+cf.name, func(t *testing.T) {
				opts := Options{FS: cf.fs, MaintenanceInterval: -1}
				b, err := Open(cf.dir, opts)
				if err != nil {
					t.Fatal(err)
				}
				crashFill(t, b, records, 4096)
				if err := b.Close(); err != nil {
					t.Fatal(err)
				}
				segs := crashSegments(t, cf.fs, cf.dir)
				if len(segs) < 2 {
					t.Fatalf("%d segments, want a rolled one and the active one", len(segs))
				}
				active := segs[len(segs)-1]
				data := crashReadFile(t, cf.fs, active)
				good := int64(len(data))
				wantRecords := int64(records)
				cut := tc.tail
				if tc.name == "valid then torn" {
					// The whole batch in front of the torn one is kept.
					good += int64(len(valid))
					wantRecords += 5
					cut = tc.tail[len(valid):]
				}
				crashWriteFile(t, cf.fs, active, append(data, tc.tail...))

				b, err = Open(cf.dir, opts)
				if err != nil {
					t.Fatalf("open: %v", err)
				}
				defer func() { b.Close() }()
				evs := b.Recovery()
				if len(evs) != 1 {
					t.Fatalf("recovery events %v, want one", evs)
				}
				ev := evs[0]
				t.Logf("recovery: %v", ev)
				if ev.Topic != "t" || ev.Partition != 0 || ev.File != active || ev.Pos != good ||
					ev.Discarded != int64(len(cut)) || ev.FirstLostOffset != wantRecords || len(ev.RemovedFiles) != 0 {
					t.Errorf("recovery event %+v, want a cut of %d bytes of %s at byte %d, first lost offset %d", ev, len(cut), active, good, wantRecords)
				}
				var ce *CorruptionError
				if !errors.Is(ev.Cause, ErrCorruptBatch) || errors.As(ev.Cause, &ce) {
					t.Errorf("cause %v: want the bare batch error", ev.Cause)
				}
				if st, err := cf.fs.Stat(active); err != nil || st.Size() != good {
					t.Errorf("active segment is %v bytes after the cut, want %d (%v)", st.Size(), good, err)
				}
				crashCheckSequence(t, b, wantRecords)
				// Appends go on at the next offset, and survive a reopen
				// with no further cut.
				res, err := b.AppendRecords(context.Background(), "t", 0, Record{Value: crashValue(wantRecords)})
				if err != nil || res.BaseOffset != wantRecords {
					t.Fatalf("append after the cut: %+v, %v", res, err)
				}
				if err := b.Close(); err != nil {
					t.Fatal(err)
				}
				b, err = Open(cf.dir, opts)
				if err != nil {
					t.Fatal(err)
				}
				if evs := b.Recovery(); len(evs) != 0 {
					t.Errorf("second reopen cut again: %v", evs)
				}
				crashCheckSequence(t, b, wantRecords+1)
			})
		}
	}
}

// crashCheckSequence checks that partition 0 of t holds exactly the
// sequence 0 to n-1 at the same offsets.
func crashCheckSequence(t *testing.T, b *Broker, n int64) {
	t.Helper()
	_, end, err := b.Offsets("t", 0)
	if err != nil {
		t.Fatal(err)
	}
	if end != n {
		t.Errorf("end offset %d, want %d", end, n)
	}
	r := b.NewReader("t", 0, 0)
	var i int64
	for {
		rec, ok, err := r.TryNext()
		if err != nil {
			t.Fatalf("read at %d: %v", r.Offset(), err)
		}
		if !ok {
			break
		}
		if seq, err := crashSeq(rec.Value); err != nil || seq != i || rec.Offset != i {
			t.Fatalf("record %d: offset %d sequence %d (%v)", i, rec.Offset, seq, err)
		}
		i++
	}
	if i != n {
		t.Errorf("read %d records, want %d", i, n)
	}
}

// TestCrashRolledSegmentTailLost builds the disk a power loss can leave
// when a segment was rolled after its last sync: its unsynced tail is
// lost, but the next segment's file is there, because a sync round
// synced the directory after the roll (the round synced the data first
// and the directory last, and the roll fell in between), and may even
// hold data, written back by the kernel before the older tail. Nothing
// missing was acknowledged, so losing it is allowed; but what survives
// must be a prefix of the log, with dense offsets, as it is when the
// lost tail ends in a torn batch.
//
// A broker that took the next segment's base as the end of the log would
// leave a hole: readers jump over it and the next append lands after it;
// with data in the next segment, records after the hole are served.
func TestCrashRolledSegmentTailLost(t *testing.T) {
	for _, nextHasData := range []bool{false, true} {
		for _, cf := range crashFileSystems(t) {
			t.Run(fmt.Sprintf("nextHasData=%v/%s", nextHasData, cf.name), func(t *testing.T) {
				crashRolledSegmentTailLost(t, cf, nextHasData)
			})
		}
	}
}

func crashRolledSegmentTailLost(t *testing.T, cf crashFS, nextHasData bool) {
	opts := Options{FS: cf.fs, MaintenanceInterval: -1}
	b, err := Open(cf.dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	crashFill(t, b, 150, 4096)
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	segs := crashSegments(t, cf.fs, cf.dir)
	if len(segs) < 2 {
		t.Fatalf("%d segments", len(segs))
	}
	// The last two segments as a crash leaves them: neither sealed, the
	// rolled one short of its last batches, the active one empty unless
	// written back.
	rolled, active := segs[len(segs)-2], segs[len(segs)-1]
	for _, name := range []string{rolled, active} {
		for _, suf := range []string{indexSuffix, timeIndexSuffix} {
			if err := cf.fs.Remove(strings.TrimSuffix(name, logSuffix) + suf); err != nil {
				t.Fatal(err)
			}
		}
	}
	data := crashReadFile(t, cf.fs, rolled)
	starts, bases := crashBatchStarts(t, data)
	lost := len(starts) - 2
	crashWriteFile(t, cf.fs, rolled, data[:starts[lost]])
	if !nextHasData {
		crashWriteFile(t, cf.fs, active, nil)
	}

	b, err = Open(cf.dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	for _, ev := range b.Recovery() {
		t.Logf("recovery: %v", ev)
	}
	_, end, err := b.Offsets("t", 0)
	if err != nil {
		t.Fatal(err)
	}
	r := b.NewReader("t", 0, 0)
	var n int64
	for {
		rec, ok, err := r.TryNext()
		if err != nil {
			t.Fatalf("read at %d: %v", r.Offset(), err)
		}
		if !ok {
			break
		}
		if rec.Offset != n {
			t.Fatalf("offset %d follows %d: the records at %d to %d are lost but the ones after them are served",
				rec.Offset, n-1, n, rec.Offset-1)
		}
		n++
	}
	if n != bases[lost] || end != n {
		t.Errorf("read %d records, end offset %d; want the %d before the lost tail, and the end there", n, end, bases[lost])
	}
	res, err := b.AppendRecords(context.Background(), "t", 0, Record{Value: crashValue(n)})
	if err != nil || res.BaseOffset != n {
		t.Errorf("append after recovery got offset %d (%v), want %d", res.BaseOffset, err, n)
	}
}

// TestCrashMemFSCrashIsAnInstant checks that MemFS.Crash is a power loss
// at one instant even while files are being synced: a file synced after
// another one's sync completed can never be newer in the crashed copy.
func TestCrashMemFSCrashIsAnInstant(t *testing.T) {
	mem := vfs.NewMem()
	a, err := mem.Create("/a")
	if err != nil {
		t.Fatal(err)
	}
	b, err := mem.Create("/b")
	if err != nil {
		t.Fatal(err)
	}
	if err := mem.SyncDir("/"); err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-stop:
				return
			default:
			}
			// a is synced before b, each time one byte longer.
			a.Write([]byte{1})
			a.Sync()
			b.Write([]byte{1})
			b.Sync()
		}
	}()
	defer func() {
		close(stop)
		<-done
	}()
	size := func(fsys vfs.FS, name string) int64 {
		st, err := fsys.Stat(name)
		if err != nil {
			t.Fatal(err)
		}
		return st.Size()
	}
	for i := range 20000 {
		c := mem.Crash()
		if sa, sb := size(c, "/a"), size(c, "/b"); sb > sa {
			t.Fatalf("crash %d: b kept %d synced bytes, a only %d, though each sync of b followed one of a", i, sb, sa)
		}
	}
}

// crashReopenWithTail builds partition 0 of t with the sequence 0 to n-1
// in segments of segBytes, closes the broker, appends tail(active
// segment's bytes) to the active segment file as a crash could leave it,
// and reopens. It returns the broker (closed at cleanup), the active
// segment's name and the size it had before the tail.
func crashReopenWithTail(t *testing.T, cf crashFS, n int, segBytes int, tail func(active []byte) []byte) (*Broker, string, int64) {
	t.Helper()
	opts := Options{FS: cf.fs, MaintenanceInterval: -1}
	b, err := Open(cf.dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	crashFill(t, b, n, segBytes)
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	segs := crashSegments(t, cf.fs, cf.dir)
	active := segs[len(segs)-1]
	data := crashReadFile(t, cf.fs, active)
	crashWriteFile(t, cf.fs, active, append(bytes.Clone(data), tail(data)...))
	b, err = Open(cf.dir, opts)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { b.Close() })
	for _, ev := range b.Recovery() {
		t.Logf("recovery: %v", ev)
	}
	return b, active, int64(len(data))
}

// TestCrashTailBatchWithOldOffset puts a checked batch whose base offset
// goes back (a batch repeated, or one whose base offset, which the
// checksum does not cover, was damaged) at the end of the active
// segment. Recovery must cut it at its start.
//
// Reported at the batch's end, the damage would stay in the file, the
// segment's size would count it, and the next append would land after
// it; after another crash, the open would cut at the same place again,
// discarding that acknowledged append.
func TestCrashTailBatchWithOldOffset(t *testing.T) {
	for _, cf := range crashFileSystems(t) {
		t.Run(cf.name, func(t *testing.T) {
			const n = 40
			b, active, good := crashReopenWithTail(t, cf, n, 1<<20, func(active []byte) []byte {
				starts, _ := crashBatchStarts(t, active)
				return bytes.Clone(active[starts[len(starts)-1]:]) // the last batch again
			})
			evs := b.Recovery()
			if len(evs) != 1 || evs[0].File != active || evs[0].Pos != good || evs[0].Discarded == 0 || evs[0].FirstLostOffset != n {
				t.Errorf("recovery %v: want the repeated batch cut at byte %d of %s", evs, good, active)
			}
			if st, err := cf.fs.Stat(active); err != nil || st.Size() != good {
				t.Errorf("active segment has %d bytes after recovery, want %d", st.Size(), good)
			}
			res, err := b.AppendRecords(context.Background(), "t", 0, Record{Value: crashValue(n)})
			if err != nil || res.BaseOffset != n {
				t.Fatalf("append: %+v, %v", res, err)
			}
			// Crash again: the active segment is left without its
			// indexes, as the open before removed them.
			if err := b.Close(); err != nil {
				t.Fatal(err)
			}
			for _, suf := range []string{indexSuffix, timeIndexSuffix} {
				if err := cf.fs.Remove(strings.TrimSuffix(active, logSuffix) + suf); err != nil {
					t.Fatal(err)
				}
			}
			b, err = Open(cf.dir, Options{FS: cf.fs, MaintenanceInterval: -1})
			if err != nil {
				t.Fatal(err)
			}
			defer b.Close()
			if evs := b.Recovery(); len(evs) != 0 {
				t.Errorf("the open after an acknowledged append cut again: %v", evs)
			}
			crashCheckSequence(t, b, n+1)
		})
	}
}

// TestCrashTailBatchOffsetOutOfRange puts a checked batch at the end of
// the active segment whose base offset (outside the checksum) jumped out
// of the range this segment can hold: past the 32-bit relative offsets
// of its index, or so far that its last offset overflows. Appends never
// write such a batch (they roll first), so recovery must cut it.
//
// Kept, it would do harm: past 2^32 the index's relative offsets wrap,
// and a read positioned at an acknowledged record lands past it; with an
// overflow the partition's end offset turns negative and no record can be
// read at all.
func TestCrashTailBatchOffsetOutOfRange(t *testing.T) {
	for _, base := range []int64{1<<32 + 50, math.MaxInt64 - 1} {
		for _, cf := range crashFileSystems(t) {
			t.Run(fmt.Sprintf("base=%d/%s", base, cf.name), func(t *testing.T) {
				const n = 100
				b, active, good := crashReopenWithTail(t, cf, n, 1<<20, func([]byte) []byte {
					var bb BatchBuilder
					for i := range 3 {
						bb.Add(&Record{Value: crashValue(int64(i))})
					}
					batch := bb.Build()
					setBaseOffset(batch, base)
					return batch
				})
				evs := b.Recovery()
				if len(evs) != 1 || evs[0].File != active || evs[0].Pos != good {
					t.Errorf("recovery %v: want the batch at offset %d cut at byte %d of %s", evs, base, good, active)
				}
				// Appends go on, and every record reads at its own offset.
				for i := int64(n); i < 2*n; i++ {
					if _, err := b.AppendRecords(context.Background(), "t", 0, Record{Value: crashValue(i)}); err != nil {
						t.Fatal(err)
					}
				}
				if err := b.Close(); err != nil {
					t.Fatal(err)
				}
				b, err := Open(cf.dir, Options{FS: cf.fs, MaintenanceInterval: -1})
				if err != nil {
					t.Fatal(err)
				}
				defer b.Close()
				crashCheckSequence(t, b, 2*n)
				for off := int64(0); off < 2*n; off += 7 {
					rec, ok, err := b.NewReader("t", 0, off).TryNext()
					if err != nil || !ok || rec.Offset != off {
						t.Fatalf("read at offset %d: %v, %v, %v", off, rec, ok, err)
					}
				}
			})
		}
	}
	// The same damage to the last batch of a sealed segment, whose
	// batches after the last index entry are walked by their headers
	// only: Open must report it or keep the end where it was.
	for _, cf := range crashFileSystems(t) {
		t.Run("sealed/"+cf.name, func(t *testing.T) {
			const n = 100
			opts := Options{FS: cf.fs, MaintenanceInterval: -1}
			b, err := Open(cf.dir, opts)
			if err != nil {
				t.Fatal(err)
			}
			crashFill(t, b, n, 1<<20)
			if err := b.Close(); err != nil {
				t.Fatal(err)
			}
			segs := crashSegments(t, cf.fs, cf.dir)
			active := segs[len(segs)-1]
			data := crashReadFile(t, cf.fs, active)
			starts, _ := crashBatchStarts(t, data)
			last := starts[len(starts)-1]
			data[last] ^= 0x80 // the top bit of the base offset
			crashWriteFile(t, cf.fs, active, data)
			b, err = Open(cf.dir, opts)
			if err != nil {
				crashCheckCorruption(t, err, active, int64(last))
				return
			}
			defer b.Close()
			if _, end, _ := b.Offsets("t", 0); end != n {
				t.Errorf("end offset %d after a bit flip in the base offset of the last batch, want %d or a failed open", end, n)
			}
		})
	}
}
