package cli

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/spf13/cobra"

	"github.com/sluice-sql/sluice/broker"
	logconn "github.com/sluice-sql/sluice/connectors/log"
)

// Batching of "topic produce": a partition's batch is appended when it
// holds maxBatchRecords records or would pass maxBatchBytes (or the
// topic's max.message.bytes, if lower). Up to maxInFlight batches wait for
// their acknowledgement at once; while they do, the next ones are built.
// All pending batches are sent when they hold maxPendingBytes together or
// maxPendingBatches partitions have one, which bounds memory on topics
// with many partitions.
const (
	maxBatchRecords   = 1000
	maxBatchBytes     = 1 << 20
	maxInFlight       = 16
	maxPendingBytes   = 16 << 20
	maxPendingBatches = 256
	// recordOverhead bounds what a record adds to a batch beyond its key
	// and value: length, attributes, timestamp and offset deltas, the key
	// and value lengths and the header count, as varints.
	recordOverhead = 5 + 1 + 10 + 5 + 5 + 5 + 1
)

func (a *app) topicProduceCommand() *cobra.Command {
	var (
		keySep    string
		partition int32
	)
	cmd := &cobra.Command{
		Use:   "produce NAME",
		Short: "Write one record per line of standard input to a topic",
		Long: `Write one record per line of standard input to a topic; the line is the
record's value. With --key-separator, each line is KEY SEP VALUE, split at
the first SEP, and a line without SEP is an error.

A record with a key goes to the partition Kafka's default partitioner would
choose (murmur2 of the key), so any Kafka producer agrees with it. Records
without a key fill one partition's batch after another. --partition sends
every record to one partition.

Lines before a failing one are written; nothing after it is. A line's
trailing "\n" or "\r\n" is not part of the record.`,
		Example: `  seq 1 100 | sluice topic produce numbers
  printf 'alice:1\nbob:2\n' | sluice topic produce scores --key-separator :`,
		Args: exactArgs("NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			fixed := int32(-1)
			if cmd.Flags().Changed("partition") {
				if partition < 0 {
					return usagef("--partition %d is negative", partition)
				}
				fixed = partition
			}
			if cmd.Flags().Changed("key-separator") && keySep == "" {
				return usagef("--key-separator is empty")
			}
			var sep []byte // nil: the lines have no keys
			if keySep != "" {
				sep = []byte(keySep)
			}
			return a.produce(args[0], sep, fixed)
		},
	}
	cmd.Flags().StringVarP(&keySep, "key-separator", "k", "", "split each line into KEY `SEP` VALUE at the first SEP")
	cmd.Flags().Int32Var(&partition, "partition", 0, "write every record to this `partition` instead of choosing by key")
	return cmd
}

func (a *app) produce(name string, sep []byte, fixed int32) (err error) {
	b, info, err := a.openTopic(name)
	if err != nil {
		return err
	}
	defer closeBroker(b, &err)
	if fixed >= 0 {
		if _, _, err := b.Offsets(name, fixed); err != nil {
			return err
		}
	}
	if info.Config.Compact() && sep == nil {
		return fmt.Errorf("topic %q is compacted (cleanup.policy=%s), so its records need keys: give --key-separator", name, info.Config.CleanupPolicy)
	}
	p := newProducer(b, name, len(info.Partitions), int(info.Config.MaxMessageBytes))

	in := bufio.NewReaderSize(a.env.Stdin, 64<<10)
	var (
		scratch []byte
		lineErr error // the input's fault: stops before the line
	)
	for line := 1; !p.failed.Load(); line++ {
		var (
			text []byte
			rerr error
		)
		text, scratch, rerr = readLine(in, scratch)
		if rerr != nil && rerr != io.EOF {
			lineErr = fmt.Errorf("read standard input: %w", rerr)
			break
		}
		if len(text) == 0 && rerr == io.EOF {
			break
		}
		rec := broker.Record{Value: text, Timestamp: time.Now().UnixMilli()}
		if sep != nil {
			k, v, ok := bytes.Cut(text, sep)
			if !ok {
				lineErr = fmt.Errorf("line %d has no key separator %q", line, sep)
				break
			}
			rec.Key, rec.Value = k, v
		}
		part := fixed
		if part < 0 && rec.Key != nil {
			part = logconn.KeyPartition(rec.Key, p.partitions)
		}
		if err := p.add(part, &rec); err != nil {
			lineErr = fmt.Errorf("line %d: %w", line, err)
			break
		}
		if rerr == io.EOF {
			break
		}
	}
	// The lines before a bad one are good: send them.
	p.sendAll()
	p.wg.Wait()
	acked := p.acked.Load()
	if err := p.firstErr(); err != nil {
		return fmt.Errorf("produce to %s: %w (%s acknowledged before the failure)", name, err, plural(acked, "record was", "records were"))
	}
	if lineErr != nil {
		return fmt.Errorf("%w (%s written before it)", lineErr, plural(acked, "record was", "records were"))
	}
	_, err = fmt.Fprintf(a.env.Stdout, "wrote %s to %s\n", plural(acked, "record", "records"), name)
	return err
}

// readLine reads one line, without its "\n" or "\r\n", however long it
// is. The line may alias in's buffer or scratch, which it returns for
// reuse; it is valid until the next call. At the end of the input it
// returns the last, unterminated line (possibly empty) and io.EOF.
func readLine(in *bufio.Reader, scratch []byte) (line, newScratch []byte, err error) {
	line, err = in.ReadSlice('\n')
	if err == bufio.ErrBufferFull {
		scratch = append(scratch[:0], line...)
		for err == bufio.ErrBufferFull {
			line, err = in.ReadSlice('\n')
			scratch = append(scratch, line...)
		}
		line = scratch
	}
	if err != nil && err != io.EOF {
		return nil, scratch, err
	}
	line = bytes.TrimSuffix(line, []byte("\n"))
	if err == nil {
		line = bytes.TrimSuffix(line, []byte("\r"))
	}
	return line, scratch, err
}

// producer batches records per partition and appends the batches
// asynchronously. It is used by one goroutine; only the acknowledgement
// callbacks run elsewhere, and they touch only acked, failed, err,
// inFlight and wg.
type producer struct {
	b          *broker.Broker
	topic      string
	partitions int
	maxMessage int // the topic's max.message.bytes
	batchBytes int

	pending      map[int32]*broker.BatchBuilder
	pendingBytes int
	free         []*broker.BatchBuilder
	sticky       int32 // partition of records without a key

	inFlight chan struct{} // a slot per batch awaiting acknowledgement
	wg       sync.WaitGroup
	acked    atomic.Int64
	failed   atomic.Bool
	errMu    sync.Mutex
	err      error // the first failure
}

func newProducer(b *broker.Broker, topic string, partitions, maxMessage int) *producer {
	return &producer{
		b:          b,
		topic:      topic,
		partitions: partitions,
		maxMessage: maxMessage,
		batchBytes: min(maxBatchBytes, maxMessage),
		pending:    make(map[int32]*broker.BatchBuilder),
		// Keyless records start on a random partition, so that many small
		// runs do not all fill partition 0.
		sticky:   int32(rand.IntN(partitions)),
		inFlight: make(chan struct{}, maxInFlight),
	}
}

// add adds rec to partition part's batch; a negative part means rec has
// no key and goes to the sticky partition. It fails only for a record too
// large for the topic, which is not added.
func (p *producer) add(part int32, rec *broker.Record) error {
	keyless := part < 0
	if keyless {
		part = p.sticky
	}
	bb := p.pending[part]
	if bb != nil && (bb.Len() >= maxBatchRecords || bb.Size()+len(rec.Key)+len(rec.Value)+recordOverhead > p.batchBytes) {
		p.send(part)
		if keyless {
			// The sticky partition's batch is full: move on.
			p.sticky = (p.sticky + 1) % int32(p.partitions)
			part = p.sticky
		}
		bb = p.pending[part]
	}
	if bb == nil {
		if n := len(p.free); n > 0 {
			bb, p.free = p.free[n-1], p.free[:n-1]
		} else {
			bb = new(broker.BatchBuilder)
		}
		bb.Reset()
		p.pending[part] = bb
		p.pendingBytes += bb.Size()
	}
	before := bb.Size()
	bb.Add(rec)
	if bb.Len() == 1 && bb.Size() > p.maxMessage {
		size := bb.Size()
		bb.Reset()
		return fmt.Errorf("%w: the record takes %d bytes in a batch, above the topic's max.message.bytes (%d)", broker.ErrRecordTooLarge, size, p.maxMessage)
	}
	p.pendingBytes += bb.Size() - before
	if p.pendingBytes >= maxPendingBytes || len(p.pending) > maxPendingBatches {
		p.sendAll()
	}
	return nil
}

// sendAll sends every pending batch.
func (p *producer) sendAll() {
	for part := range p.pending {
		p.send(part)
	}
}

// send appends partition part's pending batch. It waits while
// maxInFlight batches are unacknowledged.
func (p *producer) send(part int32) {
	bb := p.pending[part]
	delete(p.pending, part)
	if bb == nil {
		return
	}
	p.pendingBytes -= bb.Size()
	defer func() { p.free = append(p.free, bb) }()
	n := int64(bb.Len())
	if n == 0 || p.failed.Load() {
		return
	}
	p.inFlight <- struct{}{}
	p.wg.Add(1)
	// AppendAsync has written the batch when it returns, so bb may be
	// reused at once; done runs later, and must not block.
	p.b.AppendAsync(p.topic, part, bb.Build(), func(r broker.AppendResult) {
		if r.Err != nil {
			p.fail(r.Err)
		} else {
			p.acked.Add(n)
		}
		<-p.inFlight
		p.wg.Done()
	})
}

func (p *producer) fail(err error) {
	p.errMu.Lock()
	if p.err == nil {
		p.err = err
	}
	p.errMu.Unlock()
	p.failed.Store(true)
}

func (p *producer) firstErr() error {
	p.errMu.Lock()
	defer p.errMu.Unlock()
	return p.err
}
