package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/sluice-sql/sluice/broker"
)

// commitInterval is how often "topic consume --group" commits the offsets
// of what it has printed, besides at exit.
const commitInterval = time.Second

// Reasons a consume stops that are not failures.
var (
	errMaxReached = errors.New("--max records printed")
	errIdle       = errors.New("--timeout passed without a record")
)

type consumeOptions struct {
	fromBeginning bool
	partition     int32 // -1: every partition
	offset        int64 // -1: not given
	group         string
	max           int64         // 0: no limit
	timeout       time.Duration // 0: none
	printKey      bool
	sep           string
	isolation     broker.IsolationLevel
}

func (a *app) topicConsumeCommand() *cobra.Command {
	o := consumeOptions{sep: "\t"}
	isolation := broker.ReadCommitted.String()
	cmd := &cobra.Command{
		Use:   "consume NAME",
		Short: "Print a topic's records, one value per line",
		Long: `Print a topic's records to standard output, one value per line, or
KEY SEP VALUE with --print-key. A null value prints as an empty line, and
a null key as an empty key: use a keyed, non-empty encoding if the
difference matters.

Every partition (or just --partition) is read at once, so records of
different partitions interleave; within a partition they come in offset
order. Where each partition starts:

  --offset O        at offset O (needs --partition)
  --group G         where group G stopped, if it committed an offset there
  --from-beginning  at the first offset the partition holds
  otherwise         at the end: only records appended from now on

With --group, the offset after the last record printed is committed for
each partition every second and at exit, so the next consume with the same
group continues exactly where this one stopped.

Without --max or --timeout, consume waits for new records until
interrupted (Ctrl-C or SIGTERM).

--isolation read_committed (the default, as for Sluice's own sources)
prints only what committed transactions and plain appends wrote, and
stops at a partition's last stable offset until the transaction open
there ends; read_uncommitted prints every record, including those of
open and aborted transactions. Transaction markers are never printed.`,
		Example: `  sluice topic consume orders --from-beginning --timeout 1s
  sluice topic consume orders --group audit --max 100
  sluice topic consume scores --partition 2 --offset 40 --print-key --key-separator =`,
		Args: exactArgs("NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			f := cmd.Flags()
			if !f.Changed("partition") {
				o.partition = -1
			} else if o.partition < 0 {
				return usagef("--partition %d is negative", o.partition)
			}
			if !f.Changed("offset") {
				o.offset = -1
			} else {
				switch {
				case o.offset < 0:
					return usagef("--offset %d is negative", o.offset)
				case o.partition < 0:
					return usagef("--offset needs --partition: offsets are per partition")
				case o.fromBeginning:
					return usagef("--offset and --from-beginning contradict each other")
				}
			}
			if f.Changed("group") && o.group == "" {
				return usagef("--group is empty")
			}
			if f.Changed("max") && o.max < 1 {
				return usagef("--max %d: must be at least 1", o.max)
			}
			if f.Changed("timeout") && o.timeout <= 0 {
				return usagef("--timeout %v: must be positive", o.timeout)
			}
			if f.Changed("key-separator") && !o.printKey {
				return usagef("--key-separator needs --print-key")
			}
			iso, err := broker.ParseIsolationLevel(isolation)
			if err != nil {
				return usagef("--isolation %s: use read_committed or read_uncommitted", isolation)
			}
			o.isolation = iso
			return a.consume(cmd.Context(), args[0], o)
		},
	}
	f := cmd.Flags()
	f.BoolVar(&o.fromBeginning, "from-beginning", false, "start at the first offset each partition holds, not at the end")
	f.Int32Var(&o.partition, "partition", 0, "read only this `partition`")
	f.Int64Var(&o.offset, "offset", 0, "start at this `offset` (needs --partition)")
	f.StringVarP(&o.group, "group", "g", "", "consumer `group`: start where it stopped, and commit what is printed")
	f.Int64VarP(&o.max, "max", "n", 0, "exit after printing `N` records")
	f.DurationVar(&o.timeout, "timeout", 0, "exit once no record has arrived for this `duration`")
	f.BoolVar(&o.printKey, "print-key", false, "print each record as KEY SEP VALUE")
	f.StringVar(&o.sep, "key-separator", "\t", "the `SEP` between key and value with --print-key")
	f.StringVar(&isolation, "isolation", isolation, "`level`: read_committed (only committed transactions) or read_uncommitted")
	return cmd
}

func (a *app) consume(ctx context.Context, name string, o consumeOptions) (err error) {
	// Catch the signals before anything else, so that one arriving at any
	// point ends the consume cleanly, committing what was printed.
	sigCtx, stopSignals := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stopSignals()
	b, info, err := a.openTopic(name)
	if err != nil {
		return err
	}
	defer closeBroker(b, &err)
	var parts []int32
	if o.partition >= 0 {
		if _, _, err := b.Offsets(name, o.partition); err != nil {
			return err
		}
		parts = []int32{o.partition}
	} else {
		for _, p := range info.Partitions {
			parts = append(parts, p.Partition)
		}
	}

	// Where each partition starts, and what the group has committed
	// there (-1 for nothing), so that only changes are committed.
	starts := make([]int64, len(parts))
	committed := make([]int64, len(parts))
	for i, p := range parts {
		start, end, err := b.Offsets(name, p)
		if err != nil {
			return err
		}
		committed[i] = -1
		g, hasGroup := broker.GroupOffset{}, false
		if o.group != "" {
			g, hasGroup = b.CommittedOffset(o.group, name, p)
		}
		switch {
		case o.offset >= 0:
			if o.offset < start || o.offset > end {
				return fmt.Errorf("--offset %d is out of range for partition %d of %s: valid offsets are %d to %d (%d is the end, where the next record will be)", o.offset, p, name, start, end, end)
			}
			starts[i] = o.offset
		case hasGroup:
			// Retention may have removed what the group had not read yet.
			starts[i] = min(max(g.Offset, start), end)
		case o.fromBeginning:
			starts[i] = start
		default:
			starts[i] = end
		}
		if hasGroup {
			committed[i] = g.Offset
		}
	}

	out := newConsumeOutput(a.env.Stdout, starts, o)
	ctx, cancel := context.WithCancelCause(sigCtx)
	defer cancel(nil)

	var wg sync.WaitGroup
	for i, p := range parts {
		wg.Go(func() {
			if err := out.readPartition(ctx, b, name, p, i, starts[i]); err != nil {
				cancel(err)
			}
		})
	}
	if o.timeout > 0 {
		wg.Go(func() { out.watchIdle(ctx, o.timeout, cancel) })
	}
	commit := func(ctx context.Context) error {
		if o.group == "" {
			return nil
		}
		pos := out.flushedPositions()
		var offs []broker.GroupOffset
		for i, p := range parts {
			if pos[i] != committed[i] {
				offs = append(offs, broker.GroupOffset{Topic: name, Partition: p, Offset: pos[i]})
			}
		}
		if err := b.CommitOffsets(ctx, o.group, offs); err != nil {
			return fmt.Errorf("commit the offsets of group %q: %w", o.group, err)
		}
		copy(committed, pos)
		return nil
	}
	if o.group != "" {
		wg.Go(func() {
			t := time.NewTicker(commitInterval)
			defer t.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case <-t.C:
				}
				err := out.flush()
				if err == nil {
					err = commit(ctx)
				}
				if err != nil && ctx.Err() == nil {
					cancel(err)
					return
				}
			}
		})
	}
	wg.Wait()

	cause := context.Cause(ctx)
	var runErr error
	if cause != errMaxReached && cause != errIdle && sigCtx.Err() == nil {
		runErr = cause
	}
	// Whatever stopped the consume, what was printed is flushed and then
	// committed; a write error leaves the records it lost uncommitted.
	ferr := out.flush()
	cerr := commit(context.Background())
	return errors.Join(runErr, ferr, cerr)
}

// consumeOutput is the standard output shared by the partition readers,
// with the position in each partition of what it holds and of what has
// been flushed.
type consumeOutput struct {
	max       int64
	printKey  bool
	sep       []byte
	isolation broker.IsolationLevel

	mu struct {
		sync.Mutex
		w       *bufio.Writer
		err     error     // the first write error; nothing is written after it
		printed int64     // records printed
		last    time.Time // when a record was last printed, or the start
		pos     []int64   // per partition: the offset after the last record printed
		flushed []int64   // pos as of the last successful flush
	}
}

func newConsumeOutput(w io.Writer, starts []int64, o consumeOptions) *consumeOutput {
	out := &consumeOutput{max: o.max, printKey: o.printKey, sep: []byte(o.sep), isolation: o.isolation}
	out.mu.w = bufio.NewWriterSize(w, 64<<10)
	out.mu.last = time.Now()
	out.mu.pos = append([]int64(nil), starts...)
	out.mu.flushed = append([]int64(nil), starts...)
	return out
}

// readPartition prints partition part (index i of the partitions read)
// from offset start until ctx ends or --max is reached; the error it
// returns is a failure to read or to write.
func (o *consumeOutput) readPartition(ctx context.Context, b *broker.Broker, topic string, part int32, i int, start int64) error {
	r := b.NewReader(topic, part, start, broker.WithIsolation(o.isolation))
	for {
		select {
		case <-ctx.Done():
			return nil
		default:
		}
		rec, ok, err := r.TryNext()
		if err == nil && !ok {
			// Caught up: show what was printed before waiting.
			if err := o.flush(); err != nil {
				return err
			}
			rec, err = r.Next(ctx)
		}
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("read partition %d of %s: %w", part, topic, err)
		}
		done, err := o.print(i, rec)
		if err != nil {
			return err
		}
		if done {
			return errMaxReached
		}
	}
}

// print writes rec, read from partition index i, unless --max records
// were printed already; done reports that --max is reached.
func (o *consumeOutput) print(i int, rec *broker.Record) (done bool, err error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.mu.err != nil {
		return false, o.mu.err
	}
	if o.max > 0 && o.mu.printed >= o.max {
		return true, nil
	}
	w := o.mu.w
	if o.printKey {
		w.Write(rec.Key)
		w.Write(o.sep)
	}
	w.Write(rec.Value)
	if err := w.WriteByte('\n'); err != nil {
		o.mu.err = fmt.Errorf("write standard output: %w", err)
		return false, o.mu.err
	}
	o.mu.pos[i] = rec.Offset + 1
	o.mu.printed++
	o.mu.last = time.Now()
	if o.max > 0 && o.mu.printed >= o.max {
		return true, o.flushLocked()
	}
	return false, nil
}

// flush writes out what was printed and records the positions it covers.
func (o *consumeOutput) flush() error {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.flushLocked()
}

func (o *consumeOutput) flushLocked() error {
	if o.mu.err != nil {
		return o.mu.err
	}
	if err := o.mu.w.Flush(); err != nil {
		o.mu.err = fmt.Errorf("write standard output: %w", err)
		return o.mu.err
	}
	copy(o.mu.flushed, o.mu.pos)
	return nil
}

// flushedPositions returns, per partition, the offset after the last
// record that reached standard output.
func (o *consumeOutput) flushedPositions() []int64 {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]int64(nil), o.mu.flushed...)
}

// watchIdle cancels with errIdle once no record has been printed for d.
func (o *consumeOutput) watchIdle(ctx context.Context, d time.Duration, cancel context.CancelCauseFunc) {
	t := time.NewTimer(d)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		o.mu.Lock()
		idle := time.Since(o.mu.last)
		o.mu.Unlock()
		if idle >= d {
			cancel(errIdle)
			return
		}
		t.Reset(d - idle)
	}
}
