package cli

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/sluice-sql/sluice/broker"
)

// Lines far past bufio's default buffer are one record each, and "\r\n"
// ends a line like "\n", as in Kafka's console producer; a last line
// without a newline is a record.
func TestProduceLineEndingsAndLongLines(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	mustRun(t, "", "--data", data, "topic", "create", "t")
	long := strings.Repeat("0123456789abcdef", 20<<10) // 320 KiB
	in := "first\r\n" + long + "\n\nk\rv\nlast without newline"
	code, stdout, stderr := runCLI(t, strings.NewReader(in), "--data", data, "topic", "produce", "t")
	if code != exitOK || stdout != "wrote 5 records to t\n" {
		t.Fatalf("produce: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	got := mustRun(t, "", "--data", data, "topic", "consume", "t", "--from-beginning", "--max", "5")
	want := "first\n" + long + "\n\nk\rv\nlast without newline\n"
	if got != want {
		t.Fatalf("consumed %d bytes, want %d; differs at byte %d", len(got), len(want), firstDiff(got, want))
	}
}

// Records without a key fill one partition's batch (1000 records) before
// moving to the next partition; batches never pass 1 MiB.
func TestProduceBatches(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	mustRun(t, "", "--data", data, "topic", "create", "keyless", "--partitions", "3")
	mustRun(t, "", "--data", data, "topic", "create", "big")

	var in strings.Builder
	for i := range 2500 {
		fmt.Fprintf(&in, "record %d\n", i)
	}
	if got := mustRun(t, in.String(), "--data", data, "topic", "produce", "keyless"); got != "wrote 2500 records to keyless\n" {
		t.Fatalf("produce: %q", got)
	}
	value := strings.Repeat("v", 100<<10)
	in.Reset()
	for range 25 {
		in.WriteString(value + "\n")
	}
	if got := mustRun(t, in.String(), "--data", data, "topic", "produce", "big"); got != "wrote 25 records to big\n" {
		t.Fatalf("produce: %q", got)
	}

	b, err := broker.Open(data, broker.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	var counts []int
	for p := range int32(3) {
		sizes := batchSizes(t, b, "keyless", p)
		n := 0
		for _, s := range sizes {
			if s.records > maxBatchRecords {
				t.Errorf("keyless/%d: a batch of %d records", p, s.records)
			}
			n += s.records
		}
		counts = append(counts, n)
	}
	slices.Sort(counts)
	if !slices.Equal(counts, []int{500, 1000, 1000}) {
		t.Errorf("records per partition, sorted: %v, want [500 1000 1000]", counts)
	}
	sizes := batchSizes(t, b, "big", 0)
	n := 0
	for _, s := range sizes {
		if s.bytes > maxBatchBytes {
			t.Errorf("big/0: a batch of %d bytes", s.bytes)
		}
		n += s.records
	}
	if n != 25 || len(sizes) < 3 {
		t.Errorf("big/0: %d records in %d batches, want 25 in at least 3", n, len(sizes))
	}
}

type batchSize struct{ records, bytes int }

func batchSizes(t *testing.T, b *broker.Broker, topic string, p int32) []batchSize {
	t.Helper()
	var out []batchSize
	for off := int64(0); ; {
		res, err := b.Fetch(topic, p, off, 8<<20, nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Batches) == 0 {
			return out
		}
		for buf := res.Batches; len(buf) > 0; {
			h, err := broker.ParseBatchHeader(buf)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, batchSize{int(h.NumRecords), h.Size()})
			buf = buf[h.Size():]
			off = h.NextOffset()
		}
	}
}

// mustRun runs a command line that must succeed and returns its output.
func mustRun(t *testing.T, stdin string, args ...string) string {
	t.Helper()
	code, stdout, stderr := runCLI(t, strings.NewReader(stdin), args...)
	if code != exitOK {
		t.Fatalf("sluice %s: exit %d: %s", strings.Join(args, " "), code, stderr)
	}
	return stdout
}

func firstDiff(a, b string) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}
