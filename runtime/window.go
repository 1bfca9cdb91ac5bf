package runtime

import (
	"container/heap"
	"fmt"
	"sync/atomic"

	"github.com/sluice-sql/sluice/sql"
	"github.com/sluice-sql/sluice/sql/agg"
	"github.com/sluice-sql/sluice/sql/types"
)

// WindowAssignSpec returns the spec of a WindowAssign for w, whose input
// rows have schema in.
func WindowAssignSpec(name string, in types.Schema, w *sql.Window) OperatorSpec {
	return OperatorSpec{Name: name, New: func() (Operator, error) { return NewWindowAssign(in, w) }}
}

// WindowAssign is a window table function (TUMBLE, HOP, CUMULATE): it
// appends window_start, window_end and window_time to each row, once per
// window the row's time falls in. A row whose time is NULL belongs to no
// window and is dropped. For SESSION it gives each row its own window,
// [time, time + gap), which the session aggregation after it merges.
type WindowAssign struct {
	w   sql.Window
	out *types.Batch
	// procWM is a processing-time window's clock so far.
	procWM int64
	// rows are the input row of each output row.
	rows []int32
}

// NewWindowAssign builds a WindowAssign.
func NewWindowAssign(in types.Schema, w *sql.Window) (*WindowAssign, error) {
	if w.TimeCol < 0 || w.TimeCol >= len(in) {
		return nil, fmt.Errorf("runtime: window time column %d out of range", w.TimeCol)
	}
	return &WindowAssign{w: *w, out: types.NewBatch(w.Out, 0), procWM: types.NoWatermark}, nil
}

// windowStart is the start of the window of size that holds t, windows
// being aligned to offset: floor((t - offset) / size) * size + offset.
func windowStart(t, size, offset int64) int64 {
	r := (t - offset) % size
	if r < 0 {
		r += size
	}
	return t - r
}

// Process implements Operator.
func (a *WindowAssign) Process(in *types.Batch, emit Emit) error {
	if in.Live() == 0 {
		return forwardWatermark(in, a.out, emit)
	}
	w := &a.w
	tv := in.Cols[w.TimeCol]
	nIn := len(in.Cols)
	out := a.out
	out.Reset(w.Out, in.Live())
	starts, ends := out.Cols[nIn], out.Cols[nIn+1]
	a.rows = a.rows[:0]
	add := func(i int, start, end int64) {
		a.rows = append(a.rows, int32(i))
		starts.AppendInt(start)
		ends.AppendInt(end)
	}
	in.ForEach(func(i int) {
		if tv.IsNull(i) {
			return
		}
		t := tv.Ints[i]
		switch w.Kind {
		case sql.Tumble:
			s := windowStart(t, w.Size, w.Offset)
			add(i, s, s+w.Size)
		case sql.Hop:
			// Every window of size that holds t, latest first.
			last := windowStart(t, w.Slide, w.Offset)
			for s := last; s > t-w.Size; s -= w.Slide {
				add(i, s, s+w.Size)
			}
		case sql.Session:
			// The row's own window; the session aggregation merges the
			// windows of a key that overlap.
			add(i, t, t+w.Gap)
		case sql.Cumulate:
			// The windows of the size-long period holding t that end
			// after t: [start, start+step), [start, start+2·step), …
			s := windowStart(t, w.Size, w.Offset)
			for e := windowStart(t, w.Slide, w.Offset) + w.Slide; e <= s+w.Size; e += w.Slide {
				add(i, s, e)
			}
		}
	})
	for c := range nIn {
		appendVectorRows(out.Cols[c], in.Cols[c], a.rows, 0)
	}
	times := out.Cols[nIn+2]
	for _, e := range ends.Ints {
		times.AppendInt(e - 1000) // window_end less a millisecond, as TIMESTAMP(3)
	}
	if in.Kinds != nil {
		for j, r := range a.rows {
			out.SetKind(j, in.Kinds[r])
		}
	}
	out.SetLen(len(a.rows))
	out.Watermark = in.Watermark
	if w.ProcTime {
		// Processing time: the rows were stamped as they were processed,
		// so none after them is earlier than the earliest here.
		earliest := types.EndOfTime
		in.ForEach(func(i int) {
			if !tv.IsNull(i) {
				earliest = min(earliest, tv.Ints[i])
			}
		})
		if earliest != types.EndOfTime {
			a.procWM = max(a.procWM, earliest-1)
		}
		out.Watermark = max(out.Watermark, a.procWM)
	}
	return emit(out)
}

// Finish implements Operator.
func (a *WindowAssign) Finish(Emit) error { return nil }

// WindowAggregateSpec returns the spec of a WindowAggregate over rows of
// schema in, grouped by keys, one of which (keys[endKey]) holds each
// row's window_end.
func WindowAggregateSpec(name string, in types.Schema, keys []int, endKey int, calls []sql.AggCall, late *atomic.Int64) OperatorSpec {
	if late == nil {
		late = new(atomic.Int64)
	}
	return OperatorSpec{Name: name, Late: late, New: func() (Operator, error) { return NewWindowAggregate(in, keys, endKey, calls, late) }}
}

// WindowAggregateStateSpec is WindowAggregateSpec for a job with
// checkpoints: the operator (numbered op in the job's state) snapshots
// its open windows into its keyed state and restores them when built.
func WindowAggregateStateSpec(name string, op uint32, in types.Schema, keys []int, endKey int, calls []sql.AggCall, late *atomic.Int64) OperatorSpec {
	if late == nil {
		late = new(atomic.Int64)
	}
	return OperatorSpec{Name: name, Late: late, NewWith: func(oc OperatorContext) (Operator, error) {
		w, err := NewWindowAggregate(in, keys, endKey, calls, late)
		if err != nil {
			return nil, err
		}
		if oc.State == nil {
			return w, nil
		}
		kv, err := oc.keyedState(op)
		if err != nil {
			return nil, err
		}
		w.snap = newSnapshotState(kv, oc)
		return w, w.restore()
	}}
}

// WindowAggregate aggregates per window and key, and emits each window's
// rows (inserts only) once the watermark passes the window's end, then
// frees the window's state. A row whose window has already been emitted
// is late: it is counted in late and dropped.
type WindowAggregate struct {
	keys   []int
	endCol int // the input column holding window_end
	calls  []sql.AggCall
	aggs   []agg.Agg
	schema types.Schema
	out    *types.Batch
	late   *atomic.Int64

	wm int64 // the watermark so far
	// slots maps a group's encoded key (window included) to its slot;
	// key holds each slot's encoded key, free the slots to reuse.
	slots map[string]int32
	key   []string
	free  []int32
	// ends orders the windows that hold state by their end; byEnd lists
	// each window's slots.
	ends  endHeap
	byEnd map[int64][]int32

	keyBuf  []byte
	rowIdx  []int32
	slotOf  []int32
	weights []int8

	// snap, when set, keeps the open windows in keyed state at
	// checkpoints: one entry per window, rewritten when the window
	// changed since the last snapshot, deleted when it fires.
	snap *snapshotState
}

// NewWindowAggregate builds a WindowAggregate; see WindowAggregateSpec.
func NewWindowAggregate(in types.Schema, keys []int, endKey int, calls []sql.AggCall, late *atomic.Int64) (*WindowAggregate, error) {
	if endKey < 0 || endKey >= len(keys) {
		return nil, fmt.Errorf("runtime: window end key %d out of range", endKey)
	}
	if late == nil {
		late = new(atomic.Int64)
	}
	w := &WindowAggregate{keys: keys, endCol: keys[endKey], calls: calls, late: late, wm: types.NoWatermark,
		slots: make(map[string]int32), byEnd: make(map[int64][]int32)}
	for _, k := range keys {
		if k < 0 || k >= len(in) {
			return nil, fmt.Errorf("runtime: aggregate key column %d out of range", k)
		}
		w.schema = append(w.schema, in[k])
	}
	for _, c := range calls {
		spec := agg.Spec{Fn: agg.FnCountStar, Distinct: c.Distinct}
		if c.Arg >= 0 {
			if c.Arg >= len(in) {
				return nil, fmt.Errorf("runtime: aggregate argument column %d out of range", c.Arg)
			}
			spec.Fn, spec.Arg = c.Fn, in[c.Arg].Type
		}
		a, err := agg.New(spec)
		if err != nil {
			return nil, fmt.Errorf("runtime: %s: %w", c, err)
		}
		w.aggs = append(w.aggs, a)
		w.schema = append(w.schema, types.Field{Name: c.String(), Type: c.T})
	}
	w.out = types.NewBatch(w.schema, 0)
	return w, nil
}

// Process implements Operator: fold the batch's rows in, then emit every
// window the batch's watermark closes.
func (w *WindowAggregate) Process(b *types.Batch, emit Emit) error {
	if b.Live() > 0 {
		if err := w.fold(b); err != nil {
			return err
		}
	}
	if b.Watermark > w.wm {
		w.wm = b.Watermark
		return w.fire(emit)
	}
	return nil
}

func (w *WindowAggregate) fold(b *types.Batch) error {
	w.rowIdx, w.slotOf, w.weights = w.rowIdx[:0], w.slotOf[:0], w.weights[:0]
	ends := b.Cols[w.endCol].Ints
	var err error
	b.ForEach(func(i int) {
		if err != nil {
			return
		}
		if b.Kind(i).IsRetraction() {
			err = fmt.Errorf("runtime: a window aggregation takes appends only, and got %s", b.Kind(i))
			return
		}
		end := ends[i]
		if end <= w.wm {
			w.late.Add(1)
			return
		}
		if w.snap != nil {
			w.snap.touch(end)
		}
		w.keyBuf = w.keyBuf[:0]
		for _, k := range w.keys {
			w.keyBuf = appendKey(w.keyBuf, b.Cols[k], i)
		}
		s, ok := w.slots[string(w.keyBuf)]
		if !ok {
			s = w.newSlot(end)
		}
		w.rowIdx = append(w.rowIdx, int32(i))
		w.slotOf = append(w.slotOf, s)
		w.weights = append(w.weights, 1)
	})
	if err != nil || len(w.rowIdx) == 0 {
		return err
	}
	for k, a := range w.aggs {
		var arg *types.Vector
		if c := w.calls[k]; c.Arg >= 0 {
			arg = b.Cols[c.Arg]
		}
		if err := a.Update(arg, w.rowIdx, w.slotOf, w.weights); err != nil {
			return fmt.Errorf("%s: %w", w.calls[k], err)
		}
	}
	return nil
}

// newSlot makes a slot for the key in w.keyBuf, whose window ends at end.
func (w *WindowAggregate) newSlot(end int64) int32 {
	var s int32
	if n := len(w.free); n > 0 {
		s, w.free = w.free[n-1], w.free[:n-1]
		w.key[s] = string(w.keyBuf)
	} else {
		s = int32(len(w.key))
		w.key = append(w.key, string(w.keyBuf))
		for _, a := range w.aggs {
			a.Grow(int(s) + 1)
		}
	}
	w.slots[w.key[s]] = s
	if _, ok := w.byEnd[end]; !ok {
		heap.Push(&w.ends, end)
	}
	w.byEnd[end] = append(w.byEnd[end], s)
	return s
}

// fire emits the rows of every window that ends at or before the
// watermark, in order of their ends, and frees their slots.
func (w *WindowAggregate) fire(emit Emit) error {
	w.out.Reset(w.schema, 0)
	for len(w.ends) > 0 && w.ends[0] <= w.wm {
		end := heap.Pop(&w.ends).(int64)
		for _, s := range w.byEnd[end] {
			if err := w.writeRow(s); err != nil {
				return err
			}
			delete(w.slots, w.key[s])
			w.key[s] = ""
			for _, a := range w.aggs {
				a.Reset(int(s))
			}
			w.free = append(w.free, s)
			if w.out.Len() >= DefaultBatchSize {
				w.out.Watermark = types.NoWatermark
				if err := emit(w.out); err != nil {
					return err
				}
				w.out.Reset(w.schema, 0)
			}
		}
		delete(w.byEnd, end)
		if w.snap != nil {
			if err := w.snap.drop(end); err != nil {
				return err
			}
		}
	}
	w.out.Watermark = w.wm
	return emit(w.out)
}

// Snapshot writes the windows changed since the last snapshot, and the
// watermark, to the keyed state. It implements Snapshotter.
func (w *WindowAggregate) Snapshot() error {
	if w.snap == nil {
		return nil
	}
	return w.snap.save(w.wm, func(end int64, v []byte) ([]byte, error) {
		for _, s := range w.byEnd[end] {
			v = appendSlotState(v, w.key[s], w.aggs, s)
		}
		return v, nil
	})
}

// restore rebuilds the open windows from the keyed state.
func (w *WindowAggregate) restore() error {
	wm, err := w.snap.load(func(end int64, v []byte) error {
		for len(v) > 0 {
			key, rest, err := nextSlotKey(v)
			if err != nil {
				return err
			}
			w.keyBuf = append(w.keyBuf[:0], key...)
			s := w.newSlot(end)
			if v, err = loadSlotState(rest, w.aggs, s); err != nil {
				return err
			}
		}
		return nil
	})
	if err == nil {
		w.wm = wm
	}
	return err
}

// writeRow appends slot s's row: its keys, decoded, then its results.
func (w *WindowAggregate) writeRow(s int32) error {
	key := w.key[s]
	nk := len(w.keys)
	for k := range w.keys {
		var err error
		if key, err = decodeKey(w.out.Cols[k], key); err != nil {
			return err
		}
	}
	for k, a := range w.aggs {
		if err := a.Result(int(s), w.out.Cols[nk+k]); err != nil {
			return fmt.Errorf("%s: %w", w.calls[k], err)
		}
	}
	w.out.SetLen(w.out.Len() + 1)
	return nil
}

// Finish implements Operator: a bounded input ends with the end of time,
// which has fired every window already.
func (w *WindowAggregate) Finish(Emit) error { return nil }

// endHeap is a min-heap of window ends.
type endHeap []int64

func (h endHeap) Len() int           { return len(h) }
func (h endHeap) Less(i, j int) bool { return h[i] < h[j] }
func (h endHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *endHeap) Push(x any)        { *h = append(*h, x.(int64)) }
func (h *endHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}
