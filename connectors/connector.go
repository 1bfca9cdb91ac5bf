// Package connectors defines the contracts between Sluice's runtime and
// the outside world: a Source produces batches of its table's rows, a Sink
// takes them. The implementations live in subpackages (log, file, nexmark);
// the record codecs they share live in format.
//
// The runtime drives every connector from one task goroutine: a Source or
// Sink is not safe for concurrent use, and nothing in this package starts
// goroutines that outlive a call.
//
// Parallelism: a table read with parallelism n gets n Source instances,
// each built with a Split{Index: i, Count: n}. A split owns the partitions
// p with p mod n == i (Split.Owns), so the instances together read every
// partition exactly once and never coordinate. A source with fewer
// partitions than instances leaves some instances empty: they report
// Done at once (and, for an unbounded source, Wait forever). A
// PartitionedSource instance that reads no partition is idle from the
// start, so it holds back no watermark downstream.
//
// Event time per partition: a source whose rows come from partitions
// (a log's) implements PartitionedSource and says in each SourceStatus
// which rows came from which partition (Spans). The runtime keeps one
// watermark per partition and gives the instance the least of them, so a
// partition read ahead of another does not make the other's rows late;
// a partition that produces no row for source.idle-timeout stops holding
// the watermark back until its next row. A source without partitions (a
// generator, a file) is one partition to the runtime.
//
// Checkpoints: a source that can name where it reads implements
// CheckpointedSource (log offsets per partition; a generator's row number
// per split); a checkpoint records the positions of every instance, and a
// restarted job seeks there between Open and the first Next. A sink that
// writes exactly once implements TransactionalSink: it writes each
// checkpoint's output in a transaction that it pre-commits at the
// barrier and commits once the checkpoint is durable.
package connectors

import (
	"context"
	"errors"
	"fmt"
	"math"

	"github.com/sluice-sql/sluice/sql/types"
)

// Split is one instance's share of a source: instance Index of Count.
// The zero value is treated as the whole source (instance 0 of 1).
type Split struct {
	Index, Count int
}

// Owns reports whether the split reads partition p.
func (s Split) Owns(p int) bool {
	if s.Count <= 1 {
		return true
	}
	return p%s.Count == s.Index
}

// Validate checks that Index is within Count.
func (s Split) Validate() error {
	if s.Count < 0 || s.Index < 0 || (s.Count > 0 && s.Index >= s.Count) || (s.Count == 0 && s.Index != 0) {
		return fmt.Errorf("connectors: split %d of %d is out of range", s.Index, s.Count)
	}
	return nil
}

// State says what a Source can do after a call to Next.
type State uint8

// The source states.
const (
	// More: more rows are readable now; call Next again.
	More State = iota
	// Wait: the batch holds everything readable now (it may be empty).
	// Hand it on without waiting for it to fill, then call Wait before
	// the next Next. For watermarks the source is idle until rows come.
	Wait
	// Done: a bounded source reached its end; the rows in the batch are
	// its last. The runtime emits a final watermark of +infinity.
	Done
)

func (s State) String() string {
	switch s {
	case More:
		return "more"
	case Wait:
		return "wait"
	case Done:
		return "done"
	}
	return fmt.Sprintf("State(%d)", s)
}

// NoEventTime is SourceStatus.EventTime when the source does not know a
// bound on the event time of its future rows.
const NoEventTime = math.MinInt64

// SourceStatus is what Next reports besides the rows.
type SourceStatus struct {
	State State
	// EventTime, unless NoEventTime, is a lower bound (TIMESTAMP
	// microseconds) on the event time of every row this instance will
	// produce after this batch: a generator in event-time order knows
	// one, a log or a file does not (the runtime then derives watermarks
	// from the table's WATERMARK FOR expression alone).
	EventTime int64
	// Spans, for a PartitionedSource, say which partition every row
	// this call appended came from: in row order, contiguous, from the
	// first row appended to the last (a span may be empty). Nil when
	// no row was appended. The slice is the source's: it is read before
	// the next call to Next, which may reuse it. Other sources leave
	// it nil.
	Spans []PartitionSpan
}

// PartitionSpan says that rows Start to End-1 of the batch given to Next
// (indexes into it, counting the rows it held before the call) came from
// partition Partition.
type PartitionSpan struct {
	Partition  int32
	Start, End int
}

// PartitionedSource is a Source whose rows come from partitions, each in
// its own event-time order.
//
// Contract, besides Source's:
//   - Partitions, called after Open, returns the partitions the instance
//     reads, also those that have no record yet: each holds the
//     watermark back from the start until it has rows or is idle. An
//     instance that reads none returns none, and the runtime
//     treats it as idle at once (it can never have a row). The caller
//     does not keep or modify the slice.
//   - Every SourceStatus that Next returns with rows carries Spans
//     covering them. A partition that first appears in a span and not in
//     Partitions joins the instance then.
type PartitionedSource interface {
	Source
	Partitions() []int32
}

// Source produces the rows of one table, or of one split of it.
//
// Contract:
//   - Open is called once, before anything else; it resolves the start
//     position (so a bounded source fixes its end here).
//   - Next appends at most max rows to b, whose columns are the table's
//     schema, and never removes or changes rows already in b. It does not
//     block waiting for data: with nothing readable it returns the rows it
//     has (possibly none) and State Wait. After Done, Next returns no
//     rows and Done again.
//   - Wait blocks until Next may have rows again, without polling, or
//     until ctx ends (it then returns ctx.Err()). The runtime cancels ctx
//     to interrupt it: to inject a barrier, to mark the source idle, or
//     to stop the job. A spurious return is allowed; a missed wake-up is
//     not.
//   - A record that cannot be decoded fails Next with a *RecordError
//     naming where it came from and wrapping the format's
//     *format.DecodeError. Rows decoded before it in the same call stay
//     in b and are counted as read.
//   - Close releases everything Open took; it is called once, also after
//     a failed Open or Next.
type Source interface {
	Open(ctx context.Context) error
	Next(ctx context.Context, b *types.Batch, max int) (SourceStatus, error)
	Wait(ctx context.Context) error
	Close() error
}

// Sink writes the rows of a result.
//
// Contract:
//   - Open is called once, before anything else.
//   - Write takes the live rows of b (b.Sel, when set, lists them) and
//     may keep them in flight: they are durable only after Flush. It does
//     not keep b, which the caller reuses once Write returns. Sinks that
//     only append refuse rows whose change kind is not an insert with
//     ErrRetraction.
//   - Flush returns once every row written before it is durable, or with
//     the first error any of them met. A checkpoint (later) calls Flush
//     before it completes.
//   - Close releases everything Open took; it does not flush (a job that
//     fails must not publish a partial result as complete), so a caller
//     that wants the rows calls Flush first.
type Sink interface {
	Open(ctx context.Context) error
	Write(ctx context.Context, b *types.Batch) error
	Flush(ctx context.Context) error
	Close() error
}

// PartitionPosition is where a source reads one partition: the offset of
// the next row it will produce (a log offset, or a generator's row
// number within its split).
type PartitionPosition struct {
	Partition int32 `json:"p"`
	Offset    int64 `json:"o"`
}

// CheckpointedSource is a Source whose read position can be saved and
// restored.
//
// Contract, besides Source's:
//   - Position returns, for every partition the instance reads, the
//     position after the last row Next has returned. It is called
//     between calls to Next. The caller does not keep the slice.
//   - Seek is called at most once, after Open and before the first
//     Next, with the positions a checkpoint saved, possibly of other
//     instances too (a job may restart with another parallelism): the
//     instance resumes each partition it owns that has a position there,
//     and reads the others from its start mode. A bounded source keeps
//     the end it fixed in Open.
type CheckpointedSource interface {
	Source
	Position() []PartitionPosition
	Seek(pos []PartitionPosition) error
}

// TransactionalSink is a Sink that writes exactly once, by two-phase
// commit aligned with the job's checkpoints.
//
// Contract, besides Sink's:
//   - Recover is called once, after Open and before the first Write,
//     with the token PreCommit returned for the last completed checkpoint
//     (nil when there is none): the sink commits that transaction (again:
//     committing it twice is harmless) and aborts every later
//     transaction an earlier run of the same sink left open, fencing that
//     run's writers.
//   - PreCommit makes every row written since the last Commit durable
//     but not yet visible to read_committed readers, and returns a token
//     naming the transaction, which the checkpoint records.
//   - Commit makes the transaction that PreCommit last named visible. It
//     is called only after the checkpoint that recorded the token is
//     durable; if that checkpoint fails, PreCommit is called again at the
//     next one and the transaction goes on.
//   - Flush and Close are as for Sink: a sink closed without Commit
//     leaves its transaction to be committed or aborted by Recover.
type TransactionalSink interface {
	Sink
	Recover(ctx context.Context, token []byte) error
	PreCommit(ctx context.Context) ([]byte, error)
	Commit(ctx context.Context) error
}

// ErrRetraction is returned by an append-only sink for a row that is an
// update or a delete; the planner should have refused the plan.
var ErrRetraction = errors.New("append-only sink cannot take updates or deletes")

// RecordError is a record a source could not decode. It names where the
// record came from — a topic, partition and offset, or a file and line —
// and wraps the cause, usually a *format.DecodeError.
type RecordError struct {
	// Topic, Partition and Offset locate a record of a log; Topic is
	// empty for a file.
	Topic     string
	Partition int32
	Offset    int64
	// File and Line (1-based) locate a record of a file.
	File string
	Line int64
	Err  error
}

func (e *RecordError) Error() string {
	if e.Topic != "" {
		return fmt.Sprintf("topic %s partition %d offset %d: %v", e.Topic, e.Partition, e.Offset, e.Err)
	}
	return fmt.Sprintf("%s:%d: %v", e.File, e.Line, e.Err)
}

func (e *RecordError) Unwrap() error { return e.Err }
