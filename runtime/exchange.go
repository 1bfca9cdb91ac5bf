package runtime

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync/atomic"
	"time"

	"github.com/sluice-sql/sluice/sql/types"
)

// An Exchange moves rows from the P instances of one or more producing
// operators to the C instances of a consuming one, across task
// boundaries. It is the run-time form of the planner's exchanges:
//
//	Forward     P == C, producer i feeds consumer i
//	Rebalance   each Send goes whole to the next consumer, round robin
//	Hash(keys)  each row goes to the consumer owning its key (below)
//	Broadcast   every consumer receives every row
//
// A hash exchange hashes the key columns with types.HashKeys and sends a
// row to types.Partition(hash, KeyGroups, C): the key's key group, and the
// consumer owning that group's contiguous range. Keyed state uses the same
// functions, so the consumer that receives a key is the one holding its
// state, and rescaling moves whole key groups.
//
// An Exchange starts no goroutine: producers copy rows into per-consumer
// output batches inside Send, and consumers receive from a channel. It is
// safe for one goroutine per producer and one per consumer.
//
// Batch ownership:
//
//   - Send lends its batch for the call only, as emit does inside a chain:
//     the exchange copies the live rows out (columns, nulls and change
//     kinds) and keeps no reference, so the caller may reuse or return the
//     batch as soon as Send returns. A producer can therefore end a chain
//     exactly where a sink would.
//   - The exchange fills output batches taken from the receiving consumer's
//     pool; a batch belongs to the consumer from the moment it is received,
//     and no producer or other consumer ever touches it again. Broadcast
//     copies the rows once per consumer instead of sharing one batch: an
//     operator may narrow Sel or rewrite the batch it received (Filter
//     does), which a shared batch would race on.
//   - The consumer may modify a received batch freely and must hand that
//     same *types.Batch back with Release once nothing refers to it or to
//     its storage (vectors, Sel, Kinds), which will be overwritten; it
//     must not release a batch twice or to another consumer. Received
//     batches are compact (Sel is nil) and hold at most BatchSize rows.
//
// Bounds and backpressure: at most MaxBatchesPerConsumer batches of one
// consumer exist at once — one being filled by each producer, the queued
// ones (ChannelCapacity) and one held by the consumer. When all are in
// use, a producer with a row for that consumer blocks in Send, so a slow
// consumer holds back every producer that feeds it and memory stays
// bounded. A consumer that keeps more than ChannelCapacity batches
// unreleased while it waits for the next one can deadlock.
//
// Order: the rows one producer sends to one consumer arrive in the order
// they were sent, with their change kinds (types.Batch.Kinds), so a
// changelog's -U and +U for a key stay ordered. Rows of different
// producers interleave in no defined order.
//
// End of stream and failure: a producer calls Close after its last Send,
// which flushes its partial batches; a consumer's channel is closed when
// every producer of every input has closed, so a consumer seeing the end
// knows its input is complete. A producer that fails or is cancelled must
// not Close (as a source closes its edge only on Done): the job's context
// ends instead, and every blocking call here returns its error. After
// that the Exchange is dead; batches still in it are left to the garbage
// collector.
//
// Latency: Send holds rows in partial batches until they fill. A producer
// that must not hold rows back — its input is idle, or (later) it is
// about to forward a watermark or a checkpoint barrier, which must not
// overtake the rows before it — calls Flush.
//
// Idleness: a producer whose input has no rows for a while (every
// partition of its source is idle, see Pipeline.IdleTimeout) calls
// SetIdle(ctx, true), which reaches every consumer after the rows sent
// before it. A consumer's watermark is the least over its active
// producers only, so an idle one no longer holds it back; the producer
// rejoins the least with SetIdle(ctx, false), or by sending rows or a
// watermark, and the consumer's watermark never goes back when it does.
// When every producer of a consumer is idle, its watermark stays where it
// is and InputIdle reports it, so its own task can pass the idleness on
// to the next exchange (Flink's IDLE watermark status does the same).
//
// Several inputs: a UNION ALL of producers of the same schema is one
// Exchange with several Inputs, each with its own kind and producers; its
// consumers see one stream that ends when all inputs have ended. Inputs
// of different schemas (the two sides of a join) are separate Exchanges,
// and the consuming task selects over their Batches channels, setting a
// channel to nil once it is closed.
type Exchange struct {
	opts      ExchangeOptions
	owner     []int32 // consumer owning each key group
	producers [][]*ExchangeProducer
	consumers []*ExchangeConsumer
	// blocked counts the producers waiting for a consumer right now.
	blocked atomic.Int32
}

// ExchangeKind is how an exchange input distributes rows.
type ExchangeKind int

// The exchange kinds; see Exchange.
const (
	ExchangeForward ExchangeKind = iota
	ExchangeRebalance
	ExchangeHash
	ExchangeBroadcast
)

func (k ExchangeKind) String() string {
	switch k {
	case ExchangeForward:
		return "forward"
	case ExchangeRebalance:
		return "rebalance"
	case ExchangeHash:
		return "hash"
	case ExchangeBroadcast:
		return "broadcast"
	}
	return fmt.Sprintf("ExchangeKind(%d)", int(k))
}

// ExchangeInput is one producing operator of an exchange.
type ExchangeInput struct {
	Kind ExchangeKind
	// Producers is the number of its instances; a forward input needs as
	// many as the exchange has consumers.
	Producers int
	// Keys are the columns a hash input partitions by, in order.
	Keys []int
}

// ExchangeOptions configures an Exchange.
type ExchangeOptions struct {
	// Name names the exchange in errors.
	Name string
	// Schema is the columns of every input's batches and of the batches
	// consumers receive.
	Schema types.Schema
	// Consumers is the number of consuming instances.
	Consumers int
	// Inputs are the producing operators: one, or several for a union.
	Inputs []ExchangeInput
	// BatchSize is the most rows in a batch a consumer receives (default
	// DefaultBatchSize).
	BatchSize int
	// ChannelCapacity is how many batches may wait for each consumer
	// (default DefaultChannelCapacity).
	ChannelCapacity int
	// KeyGroups is the number of key groups keys hash into (default
	// types.DefaultKeyGroups); it must be the same for the exchange and
	// the keyed state behind it, and at least Consumers.
	KeyGroups int
}

// EnsureDefaults fills the zero fields with their defaults.
func (o *ExchangeOptions) EnsureDefaults() {
	if o.BatchSize == 0 {
		o.BatchSize = DefaultBatchSize
	}
	if o.ChannelCapacity == 0 {
		o.ChannelCapacity = DefaultChannelCapacity
	}
	if o.KeyGroups == 0 {
		o.KeyGroups = types.DefaultKeyGroups
	}
}

// Validate reports the first setting that is out of range.
func (o *ExchangeOptions) Validate() error {
	switch {
	case o.Consumers < 1:
		return fmt.Errorf("runtime: exchange %s: %d consumers", o.Name, o.Consumers)
	case len(o.Inputs) == 0:
		return fmt.Errorf("runtime: exchange %s has no inputs", o.Name)
	case o.BatchSize < 1:
		return fmt.Errorf("runtime: exchange %s: batch size %d < 1", o.Name, o.BatchSize)
	case o.ChannelCapacity < 1:
		return fmt.Errorf("runtime: exchange %s: channel capacity %d < 1", o.Name, o.ChannelCapacity)
	case o.KeyGroups < 1 || o.KeyGroups > types.MaxKeyGroups:
		return fmt.Errorf("runtime: exchange %s: %d key groups, want 1 to %d", o.Name, o.KeyGroups, types.MaxKeyGroups)
	}
	for i, in := range o.Inputs {
		switch {
		case in.Producers < 1:
			return fmt.Errorf("runtime: exchange %s: input %d has %d producers", o.Name, i, in.Producers)
		case in.Kind == ExchangeForward && in.Producers != o.Consumers:
			return fmt.Errorf("runtime: exchange %s: forward input %d has %d producers for %d consumers", o.Name, i, in.Producers, o.Consumers)
		case in.Kind == ExchangeHash && len(in.Keys) == 0:
			return fmt.Errorf("runtime: exchange %s: hash input %d has no keys", o.Name, i)
		case in.Kind == ExchangeHash && o.Consumers > o.KeyGroups:
			return fmt.Errorf("runtime: exchange %s: %d consumers for %d key groups", o.Name, o.Consumers, o.KeyGroups)
		case in.Kind < ExchangeForward || in.Kind > ExchangeBroadcast:
			return fmt.Errorf("runtime: exchange %s: input %d: unknown kind %v", o.Name, i, in.Kind)
		}
		for _, k := range in.Keys {
			if k < 0 || k >= len(o.Schema) {
				return fmt.Errorf("runtime: exchange %s: input %d: key column %d of %d", o.Name, i, k, len(o.Schema))
			}
		}
	}
	return nil
}

// NewExchange validates o and builds the exchange.
func NewExchange(o ExchangeOptions) (*Exchange, error) {
	o.EnsureDefaults()
	if err := o.Validate(); err != nil {
		return nil, err
	}
	x := &Exchange{opts: o, owner: make([]int32, o.KeyGroups)}
	for kg := range x.owner {
		x.owner[kg] = int32(types.KeyGroupOwner(kg, o.KeyGroups, o.Consumers))
	}
	total := 0
	for _, in := range o.Inputs {
		total += in.Producers
	}
	for range o.Consumers {
		c := &ExchangeConsumer{
			ch:   make(chan delivery, o.ChannelCapacity),
			pool: exchangePool{free: make(chan *types.Batch, total+o.ChannelCapacity+1), schema: o.Schema, rows: o.BatchSize},
			wms:  make([]int64, total),
			wm:   types.NoWatermark,
		}
		for i := range c.wms {
			c.wms[i] = types.NoWatermark
		}
		c.open.Store(int32(total))
		x.consumers = append(x.consumers, c)
	}
	gid := int32(0)
	for i := range o.Inputs {
		in := &x.opts.Inputs[i]
		ps := make([]*ExchangeProducer, in.Producers)
		for j := range ps {
			ps[j] = &ExchangeProducer{x: x, in: in, index: j, gid: gid, wm: types.NoWatermark, next: j % o.Consumers,
				out: make([]outBatch, o.Consumers), dest: make([][]int32, o.Consumers)}
			gid++
		}
		x.producers = append(x.producers, ps)
	}
	return x, nil
}

// Producer returns producer instance i of input in.
func (x *Exchange) Producer(in, i int) *ExchangeProducer { return x.producers[in][i] }

// Consumer returns consumer instance i.
func (x *Exchange) Consumer(i int) *ExchangeConsumer { return x.consumers[i] }

// MaxBatchesPerConsumer is the most batches of one consumer that exist at
// once: being filled, queued or held. It bounds the exchange's memory at
// Consumers × MaxBatchesPerConsumer × BatchSize rows.
func (x *Exchange) MaxBatchesPerConsumer() int { return cap(x.consumers[0].pool.free) }

// Backpressured returns how many producers are blocked right now waiting
// for a consumer to take or release a batch: a gauge of backpressure, as
// Flink reports per task.
func (x *Exchange) Backpressured() int { return int(x.blocked.Load()) }

// ErrProducerClosed is returned by a producer's Send, Flush or Close after
// it has closed.
var ErrProducerClosed = errors.New("runtime: exchange producer closed")

// ExchangeProducer is one producing instance of an exchange input. Its
// methods must be called from one goroutine.
type ExchangeProducer struct {
	x      *Exchange
	in     *ExchangeInput
	index  int
	gid    int32      // the producer's number across every input
	wm     int64      // the last watermark sent
	idle   bool       // the last idleness sent (SetIdle)
	next   int        // rebalance: the next consumer
	out    []outBatch // per consumer: the batch being filled
	hashes []uint64   // scratch, per row of the batch being sent
	dest   [][]int32  // scratch, per consumer: the rows going there
	all    []int32    // 0, 1, 2, …: the live rows of a batch without Sel
	closed bool
}

// outBatch is a consumer's batch being filled by one producer.
type outBatch struct {
	b *types.Batch
	// kinds is storage for b.Kinds, kept across the batch's Reset, so
	// changelog batches do not allocate their kinds anew each time.
	kinds []types.ChangeKind
}

// Send distributes the live rows of b. It copies them and keeps no
// reference to b. It blocks while a consumer it has rows for has no free
// batch, and returns ctx's error if ctx ends first.
func (p *ExchangeProducer) Send(ctx context.Context, b *types.Batch) error {
	if p.closed {
		return ErrProducerClosed
	}
	if err := p.checkSchema(b); err != nil {
		return err
	}
	if p.idle && (b.Live() > 0 || b.Watermark > p.wm) {
		if err := p.SetIdle(ctx, false); err != nil {
			return err
		}
	}
	if err := p.sendRows(ctx, b); err != nil {
		return err
	}
	if b.Watermark > p.wm {
		return p.watermark(ctx, b.Watermark)
	}
	return nil
}

// watermark sends the producer's new watermark to every consumer, after
// the rows before it: it must never overtake them, or they would be late.
func (p *ExchangeProducer) watermark(ctx context.Context, wm int64) error {
	if err := p.Flush(ctx); err != nil {
		return err
	}
	p.wm = wm
	for c, cons := range p.x.consumers {
		b, err := cons.pool.get(ctx, &p.x.blocked)
		if err != nil {
			return err
		}
		b.Reset(p.x.opts.Schema, 0)
		b.Watermark = wm
		p.out[c].b = b
		if err := p.send(ctx, c); err != nil {
			return err
		}
	}
	return nil
}

// SetIdle tells every consumer that the producer is idle (its watermark
// must not hold theirs back) or active again, after the rows sent before
// it. Setting the idleness it already has sends nothing.
func (p *ExchangeProducer) SetIdle(ctx context.Context, idle bool) error {
	if p.closed {
		return ErrProducerClosed
	}
	if idle == p.idle {
		return nil
	}
	if err := p.Flush(ctx); err != nil {
		return err
	}
	p.idle = idle
	mark := markActive
	if idle {
		mark = markIdle
	}
	for c, cons := range p.x.consumers {
		b, err := cons.pool.get(ctx, &p.x.blocked)
		if err != nil {
			return err
		}
		b.Reset(p.x.opts.Schema, 0)
		p.out[c].b = b
		if err := p.sendMark(ctx, c, mark); err != nil {
			return err
		}
	}
	return nil
}

// Barrier sends checkpoint barrier epoch to every consumer, after every
// row sent before it (it flushes first). A consumer's task sees the
// barrier once every producer of its exchange that has not closed has
// sent it (see ExchangeConsumer.TakeBarrier).
func (p *ExchangeProducer) Barrier(ctx context.Context, epoch uint64) error {
	if p.closed {
		return ErrProducerClosed
	}
	if err := p.Flush(ctx); err != nil {
		return err
	}
	for c, cons := range p.x.consumers {
		b, err := cons.pool.get(ctx, &p.x.blocked)
		if err != nil {
			return err
		}
		b.Reset(p.x.opts.Schema, 0)
		p.out[c].b = b
		ch := cons.ch
		d := delivery{b: b, from: p.gid, mark: markBarrier, epoch: epoch}
		select {
		case ch <- d:
			p.out[c].b = nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// sendRows distributes the live rows of b.
func (p *ExchangeProducer) sendRows(ctx context.Context, b *types.Batch) error {
	rows := b.Sel
	if rows == nil {
		for n := int32(len(p.all)); n < int32(b.Len()); n++ {
			p.all = append(p.all, n)
		}
		rows = p.all[:b.Len()]
	}
	if len(rows) == 0 {
		return nil
	}
	switch p.in.Kind {
	case ExchangeForward:
		return p.copyTo(ctx, p.index, b, rows)
	case ExchangeRebalance:
		c := p.next
		p.next = (p.next + 1) % len(p.out)
		return p.copyTo(ctx, c, b, rows)
	case ExchangeBroadcast:
		for c := range p.out {
			if err := p.copyTo(ctx, c, b, rows); err != nil {
				return err
			}
		}
		return nil
	}
	// Hash.
	p.hashes = types.HashKeys(b, p.in.Keys, p.hashes)
	for c := range p.dest {
		p.dest[c] = p.dest[c][:0]
	}
	kgs, owner := p.x.opts.KeyGroups, p.x.owner
	for _, r := range rows {
		c := owner[types.KeyGroup(p.hashes[r], kgs)]
		p.dest[c] = append(p.dest[c], r)
	}
	for c, d := range p.dest {
		if len(d) > 0 {
			if err := p.copyTo(ctx, c, b, d); err != nil {
				return err
			}
		}
	}
	return nil
}

func (p *ExchangeProducer) checkSchema(b *types.Batch) error {
	schema := p.x.opts.Schema
	if len(b.Cols) != len(schema) {
		return fmt.Errorf("runtime: exchange %s: batch of %d columns, schema has %d", p.x.opts.Name, len(b.Cols), len(schema))
	}
	for i, c := range b.Cols {
		want := schema[i].Type
		if c.Type.Kind != want.Kind || c.Type.Decimal64() != want.Decimal64() {
			return fmt.Errorf("runtime: exchange %s: column %d is %s, schema says %s", p.x.opts.Name, i, c.Type, want)
		}
	}
	return nil
}

// copyTo appends src's rows to consumer c's batch, sending each batch that
// fills up.
func (p *ExchangeProducer) copyTo(ctx context.Context, c int, src *types.Batch, rows []int32) error {
	o := &p.out[c]
	size := p.x.opts.BatchSize
	for len(rows) > 0 {
		if o.b == nil {
			b, err := p.x.consumers[c].pool.get(ctx, &p.x.blocked)
			if err != nil {
				return err
			}
			// The spare kinds must be this batch's own: a previous batch's
			// belong to its consumer now.
			o.kinds = b.Kinds[:0]
			b.Reset(p.x.opts.Schema, size)
			o.b = b
		}
		k := min(len(rows), size-o.b.Len())
		appendRows(o.b, src, rows[:k], o.kinds)
		rows = rows[k:]
		if o.b.Len() >= size {
			if err := p.send(ctx, c); err != nil {
				return err
			}
		}
	}
	return nil
}

// send hands consumer c's batch over; from then on it is the consumer's.
func (p *ExchangeProducer) send(ctx context.Context, c int) error {
	return p.sendMark(ctx, c, markNone)
}

// sendMark sends consumer c's batch with mark, which for markIdle and
// markActive must be a rowless batch carrying no watermark.
func (p *ExchangeProducer) sendMark(ctx context.Context, c int, mark deliveryMark) error {
	ch := p.x.consumers[c].ch
	d := delivery{b: p.out[c].b, from: p.gid, mark: mark}
	select {
	case ch <- d:
		p.out[c].b = nil
		return nil
	default:
	}
	p.x.blocked.Add(1)
	defer p.x.blocked.Add(-1)
	select {
	case ch <- d:
		p.out[c].b = nil
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Flush sends every partial batch, so that no row this producer has sent
// waits for more rows to fill its batch.
func (p *ExchangeProducer) Flush(ctx context.Context) error {
	if p.closed {
		return ErrProducerClosed
	}
	for c := range p.out {
		if p.out[c].b != nil {
			if err := p.send(ctx, c); err != nil {
				return err
			}
		}
	}
	return nil
}

// Close flushes and marks the end of this producer's rows; the last
// producer to close ends every consumer's stream. Call it only when the
// producer's input is complete, never on failure or cancellation. A Close
// that returns ctx's error has not closed.
func (p *ExchangeProducer) Close(ctx context.Context) error {
	if err := p.Flush(ctx); err != nil {
		return err
	}
	p.closed = true
	for _, c := range p.x.consumers {
		// The consumer learns which producers have closed, for the
		// alignment of barriers.
		select {
		case c.ch <- delivery{from: p.gid, mark: markClosed}:
		case <-ctx.Done():
			return ctx.Err()
		}
		// Every producer's last send happened before its decrement, so
		// the last one to decrement may close the channel.
		if c.open.Add(-1) == 0 {
			close(c.ch)
		}
	}
	return nil
}

// appendRows appends the rows of src to dst, which has room for them.
// kinds is spare storage for dst.Kinds.
func appendRows(dst, src *types.Batch, rows []int32, kinds []types.ChangeKind) {
	m := dst.Len()
	for i, sv := range src.Cols {
		appendVectorRows(dst.Cols[i], sv, rows, m)
	}
	if src.Kinds != nil {
		if dst.Kinds == nil {
			dst.Kinds = kinds[:0]
			for range m {
				dst.Kinds = append(dst.Kinds, types.Insert)
			}
		}
		for _, r := range rows {
			dst.Kinds = append(dst.Kinds, src.Kinds[r])
		}
	}
	// A dst with kinds and a src without: SetLen pads with inserts.
	dst.SetLen(m + len(rows))
}

// appendVectorRows appends the rows of sv to dv, which has m rows and
// sv's kind of storage. Fixed-width storage is resized once and written by
// index; a null row keeps its zero value from sv, as the types invariant
// requires.
func appendVectorRows(dv, sv *types.Vector, rows []int32, m int) {
	t := sv.Type
	hasNulls := sv.Nulls.Any()
	switch t.Kind {
	case types.KindString, types.KindBytes, types.KindJSON:
		for _, r := range rows {
			if hasNulls && sv.Nulls.Get(int(r)) {
				dv.AppendNull()
			} else {
				dv.AppendBytes(sv.Bytes(int(r)))
			}
		}
		return
	}
	// SetLen clears the null bitmap; keep the bits of the first m rows.
	nulls := dv.Nulls
	dv.SetLen(m + len(rows))
	dv.Nulls = nulls
	switch {
	case t.Kind == types.KindNull:
		// No storage: every row is null.
	case t.Kind == types.KindBoolean:
		gather(dv.Bools[m:], sv.Bools, rows)
	case t.Kind == types.KindFloat:
		gather(dv.Floats[m:], sv.Floats, rows)
	case t.Kind == types.KindInterval:
		gather(dv.Intervals[m:], sv.Intervals, rows)
	case t.Kind == types.KindDecimal && !t.Decimal64():
		d := dv.Decs[m:]
		for j, r := range rows {
			d[j].Set(&sv.Decs[r]) // a deep copy: no coefficient is shared
		}
	default: // integers, DATE, TIMESTAMP, DECIMAL(p<=18)
		gather(dv.Ints[m:], sv.Ints, rows)
	}
	if hasNulls {
		for j, r := range rows {
			if sv.Nulls.Get(int(r)) {
				dv.Nulls.Set(m + j)
			}
		}
	}
}

func gather[T any](dst, src []T, rows []int32) {
	dst = dst[:len(rows)]
	for j, r := range rows {
		dst[j] = src[r]
	}
}

// ExchangeConsumer is one consuming instance of an exchange. Its
// watermark is the least of its producers' (each forwarded with Flush
// before it, so no row overtakes the watermark that follows it): a batch
// Recv returns carries it when it advances, as a batch with no rows.
type ExchangeConsumer struct {
	ch   chan delivery
	pool exchangePool
	open atomic.Int32 // producers that have not closed
	// wms are the producers' last watermarks, idle says which producers
	// are idle, wm is the least over the active ones (or where it was
	// when all became idle), and nIdle counts the idle ones: touched by
	// the consumer's goroutine only.
	wms   []int64
	idle  []bool
	nIdle int
	wm    int64
	// Barrier alignment: the epoch being aligned, which producers have
	// sent it or closed, the batch of its first barrier (returned when
	// aligned), when that came, and the barrier the last batch Recv
	// returned stands for (TakeBarrier).
	bEpoch  uint64
	bSeen   []bool
	closed  []bool
	bHeld   *types.Batch
	bFirst  time.Time
	barrier uint64
	align   time.Duration
}

// delivery is a batch and the producer that sent it.
type delivery struct {
	b     *types.Batch
	from  int32
	mark  deliveryMark
	epoch uint64 // markBarrier: the checkpoint
}

// deliveryMark says what a delivery is besides its batch.
type deliveryMark uint8

const (
	markNone    deliveryMark = iota // rows or a watermark
	markIdle                        // the producer is idle
	markActive                      // the producer is active again
	markBarrier                     // a checkpoint barrier (rowless batch)
	markClosed                      // the producer has closed (no batch)
)

// Recv returns the next batch, io.EOF once every producer has closed and
// every batch has been received, or ctx's error. Every batch returned
// must be Released.
func (c *ExchangeConsumer) Recv(ctx context.Context) (*types.Batch, error) {
	return c.RecvServing(ctx, nil)
}

// RecvServing is Recv that, while it waits, runs the functions sent on
// serve (queries of the consumer's task's operators, run between
// batches on the task's goroutine).
func (c *ExchangeConsumer) RecvServing(ctx context.Context, serve <-chan func()) (*types.Batch, error) {
	for {
		select {
		case f := <-serve:
			f()
		case d, ok := <-c.ch:
			if !ok {
				return nil, io.EOF
			}
			if b := c.receive(d); b != nil {
				return b, nil
			}
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// Idle reports whether no batch is waiting for the consumer.
func (c *ExchangeConsumer) Idle() bool { return len(c.ch) == 0 }

// InputIdle reports whether every producer was idle when the last batch
// Recv returned was received. Recv returns a batch (rowless, when no
// watermark advances with it) each time this changes, so a task that
// checks after each batch misses no change. Call it from the consumer's
// goroutine only.
func (c *ExchangeConsumer) InputIdle() bool { return c.nIdle == len(c.wms) }

// receive takes a delivery: a batch of rows is returned; a watermark or
// a change of idleness is folded into the producers' and returned as a
// rowless batch when the least of them advances or InputIdle changes,
// else released at once (nil).
func (c *ExchangeConsumer) receive(d delivery) *types.Batch {
	b := d.b
	switch d.mark {
	case markNone:
	case markBarrier, markClosed:
		return c.receiveBarrier(d)
	default:
		return c.receiveMark(d)
	}
	if b.Len() > 0 || b.Watermark == types.NoWatermark {
		return b
	}
	old := c.wms[d.from]
	c.wms[d.from] = b.Watermark
	// The producer that moved may have held the least back: it did
	// unless it was above it. (Below it is possible for a producer that
	// rejoined after being idle.)
	if old <= c.wm && !c.idleAt(d.from) && c.advance() {
		b.Watermark = c.wm
		return b
	}
	c.pool.put(b)
	return nil
}

// receiveMark takes a producer's change of idleness.
func (c *ExchangeConsumer) receiveMark(d delivery) *types.Batch {
	b := d.b
	wasIdle := c.InputIdle()
	if c.idle == nil {
		c.idle = make([]bool, len(c.wms))
	}
	if idle := d.mark == markIdle; c.idle[d.from] != idle {
		c.idle[d.from] = idle
		if idle {
			c.nIdle++
		} else {
			c.nIdle--
		}
	}
	b.Watermark = types.NoWatermark
	advanced := c.advance()
	if advanced {
		b.Watermark = c.wm
	}
	if advanced || wasIdle != c.InputIdle() {
		return b
	}
	c.pool.put(b)
	return nil
}

// receiveBarrier takes a producer's barrier or its close, and returns
// the held barrier batch once every producer has sent the epoch's
// barrier or closed. Producers pause after a barrier until the
// checkpoint ends, so no row of a producer that sent it can arrive
// before the others have: alignment needs no buffering.
func (c *ExchangeConsumer) receiveBarrier(d delivery) *types.Batch {
	if c.bSeen == nil {
		c.bSeen = make([]bool, len(c.wms))
		c.closed = make([]bool, len(c.wms))
	}
	if d.mark == markClosed {
		c.closed[d.from] = true
	} else {
		switch {
		case d.epoch > c.bEpoch:
			// A new checkpoint (an older one still aligning was aborted).
			c.bEpoch = d.epoch
			clear(c.bSeen)
			if c.bHeld != nil {
				c.pool.put(c.bHeld)
			}
			c.bHeld, c.bFirst = d.b, time.Now()
		case d.epoch == c.bEpoch && c.bHeld != nil:
			c.pool.put(d.b)
		default:
			c.pool.put(d.b) // of an aborted checkpoint, or aligned already
			return nil
		}
		c.bSeen[d.from] = true
	}
	if c.bHeld == nil {
		return nil
	}
	for p := range c.bSeen {
		if !c.bSeen[p] && !c.closed[p] {
			return nil
		}
	}
	b := c.bHeld
	c.bHeld = nil
	c.barrier, c.align = c.bEpoch, time.Since(c.bFirst)
	b.Watermark = types.NoWatermark
	return b
}

// TakeBarrier reports whether the batch Recv last returned is the
// checkpoint barrier of an epoch (a rowless batch to Release), with how
// long the consumer waited between the first producer's barrier and the
// last one's, and clears it. Call it after every Recv.
func (c *ExchangeConsumer) TakeBarrier() (epoch uint64, align time.Duration) {
	epoch, align = c.barrier, c.align
	c.barrier = 0
	return epoch, align
}

func (c *ExchangeConsumer) idleAt(p int32) bool { return c.idle != nil && c.idle[p] }

// advance recomputes the least watermark over the active producers and
// reports whether it moved wm forward. With every producer idle wm stays.
func (c *ExchangeConsumer) advance() bool {
	least, any := types.EndOfTime, false
	for p, w := range c.wms {
		if !c.idleAt(int32(p)) {
			least, any = min(least, w), true
		}
	}
	if any && least > c.wm {
		c.wm = least
		return true
	}
	return false
}

// Release gives a received batch back to the exchange to be refilled. It
// never blocks, and may be called from any goroutine.
func (c *ExchangeConsumer) Release(b *types.Batch) { c.pool.put(b) }

// exchangePool recycles one consumer's batches. Every producer gets from
// it and the consumer puts back, so unlike batchPool it is safe for
// concurrent use. It makes at most cap(free) batches.
type exchangePool struct {
	free      chan *types.Batch
	allocated atomic.Int32
	schema    types.Schema
	rows      int
}

// get returns a batch that its caller must Reset, blocking while every
// batch is in use; blocked counts the callers waiting.
func (p *exchangePool) get(ctx context.Context, blocked *atomic.Int32) (*types.Batch, error) {
	select {
	case b := <-p.free:
		return b, nil
	default:
	}
	for {
		n := p.allocated.Load()
		if int(n) >= cap(p.free) {
			break
		}
		if p.allocated.CompareAndSwap(n, n+1) {
			return types.NewBatch(p.schema, p.rows), nil
		}
	}
	blocked.Add(1)
	defer blocked.Add(-1)
	select {
	case b := <-p.free:
		return b, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (p *exchangePool) put(b *types.Batch) {
	select {
	case p.free <- b:
	default:
		panic("runtime: exchange batch released twice or to the wrong consumer")
	}
}
