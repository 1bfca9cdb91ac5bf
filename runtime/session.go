package runtime

import (
	"container/heap"
	"encoding/binary"
	"errors"
	"fmt"
	"sort"
	"sync/atomic"

	"github.com/sluice-sql/sluice/sql"
	"github.com/sluice-sql/sluice/sql/agg"
	"github.com/sluice-sql/sluice/sql/types"
	"github.com/sluice-sql/sluice/state"
)

// SessionAggregateSpec returns the spec of a SessionAggregate over rows of
// schema in: keys are the GROUP BY columns, of which keys[start] and
// keys[end] hold each row's own window [time, time + gap) as a SESSION
// WindowAssign made it.
func SessionAggregateSpec(name string, in types.Schema, keys []int, start, end int, calls []sql.AggCall, late *atomic.Int64) OperatorSpec {
	if late == nil {
		late = new(atomic.Int64)
	}
	return OperatorSpec{Name: name, Late: late, New: func() (Operator, error) {
		return NewSessionAggregate(in, keys, start, end, calls, late)
	}}
}

// SessionAggregateStateSpec is SessionAggregateSpec for a job with
// checkpoints: the operator (numbered op in the job's state) snapshots
// its open sessions into its keyed state and restores them when built.
func SessionAggregateStateSpec(name string, op uint32, in types.Schema, keys []int, start, end int, calls []sql.AggCall, late *atomic.Int64) OperatorSpec {
	if late == nil {
		late = new(atomic.Int64)
	}
	return OperatorSpec{Name: name, Late: late, NewWith: func(oc OperatorContext) (Operator, error) {
		a, err := NewSessionAggregate(in, keys, start, end, calls, late)
		if err != nil {
			return nil, err
		}
		if oc.State == nil {
			return a, nil
		}
		// The watermark frees sessions, never their age: an entry not
		// rewritten for a while is an open session that had no row.
		oc.StateTTL = 0
		kv, err := oc.keyedState(op)
		if err != nil {
			return nil, err
		}
		st, ok := kv.(*state.Store)
		if !ok {
			return nil, errSnapshotScan
		}
		return a, a.restore(st)
	}}
}

// SessionAggregate aggregates per key and session: a key's rows whose
// windows [time, time + gap) overlap or touch are one session, which
// grows, and merges with its neighbours, as rows arrive in any order.
// A session is emitted (inserts only, window_start and window_end its
// first time and last time + gap) once the watermark passes its end,
// and its state freed. A row whose window ends at or before the
// watermark is late: counted and dropped.
type SessionAggregate struct {
	keys       []int
	start, end int // the keys holding window_start and window_end
	calls      []sql.AggCall
	aggs       []agg.Agg
	schema     types.Schema
	out        *types.Batch
	late       *atomic.Int64

	wm int64
	// keyed holds each key's open sessions, by start.
	keyed map[string]*sessions
	// free are slots to reuse; ends orders sessions by end, lazily: an
	// entry whose session has since moved or gone is skipped.
	free   []int32
	nslots int32
	ends   sessionHeap
	next   uint64 // the next session id; 0 marks a session gone

	keyBuf  []byte
	rowIdx  []int32
	slotOf  []int32
	weights []int8

	// st, when set, keeps the open sessions in keyed state at
	// checkpoints: one entry per key, in the key's key group, holding its
	// sessions; rewritten when they changed since the last snapshot,
	// deleted when the key's last session fires. The watermark is under
	// sessionWMKey in the store's first key group.
	st      *state.Store
	hashCol []int                  // the keys the exchange before hashes (not the window)
	hashes  []uint64               // of the batch's rows, by hashCol
	dirty   map[*sessions]struct{} // the keys changed since the last snapshot
	savedWM int64
	valBuf  []byte
}

// sessions are one key's open sessions.
type sessions struct {
	key  string
	list []*session // by start; disjoint and not touching
	// kg is the key's key group; dirty says it is in the operator's
	// dirty set, saved that its state has an entry.
	kg           int
	dirty, saved bool
}

// session is one open session: its window, its aggregate slot, and an id
// that heap entries check.
type session struct {
	start, end int64
	slot       int32
	id         uint64
	owner      *sessions
}

// NewSessionAggregate builds a SessionAggregate; see
// SessionAggregateSpec.
func NewSessionAggregate(in types.Schema, keys []int, start, end int, calls []sql.AggCall, late *atomic.Int64) (*SessionAggregate, error) {
	if start < 0 || start >= len(keys) || end < 0 || end >= len(keys) || start == end {
		return nil, fmt.Errorf("runtime: session window keys %d, %d out of range", start, end)
	}
	if late == nil {
		late = new(atomic.Int64)
	}
	a := &SessionAggregate{keys: keys, start: start, end: end, calls: calls, late: late, wm: types.NoWatermark,
		keyed: make(map[string]*sessions), next: 1, savedWM: types.NoWatermark}
	for i, k := range keys {
		if k < 0 || k >= len(in) {
			return nil, fmt.Errorf("runtime: aggregate key column %d out of range", k)
		}
		a.schema = append(a.schema, in[k])
		if i != start && i != end {
			a.hashCol = append(a.hashCol, k)
		}
	}
	for _, c := range calls {
		spec := agg.Spec{Fn: agg.FnCountStar, Distinct: c.Distinct}
		if c.Arg >= 0 {
			if c.Arg >= len(in) {
				return nil, fmt.Errorf("runtime: aggregate argument column %d out of range", c.Arg)
			}
			spec.Fn, spec.Arg = c.Fn, in[c.Arg].Type
		}
		g, err := agg.New(spec)
		if err != nil {
			return nil, fmt.Errorf("runtime: %s: %w", c, err)
		}
		a.aggs = append(a.aggs, g)
		a.schema = append(a.schema, types.Field{Name: c.String(), Type: c.T})
	}
	a.out = types.NewBatch(a.schema, 0)
	return a, nil
}

// Process implements Operator.
func (a *SessionAggregate) Process(b *types.Batch, emit Emit) error {
	if b.Live() > 0 {
		if err := a.fold(b); err != nil {
			return err
		}
	}
	if b.Watermark > a.wm {
		a.wm = b.Watermark
		return a.fire(emit)
	}
	return nil
}

// fold assigns each row to its key's session, growing and merging
// sessions, then updates the aggregates of the batch at once.
func (a *SessionAggregate) fold(b *types.Batch) error {
	a.rowIdx, a.slotOf, a.weights = a.rowIdx[:0], a.slotOf[:0], a.weights[:0]
	starts, ends := b.Cols[a.keys[a.start]].Ints, b.Cols[a.keys[a.end]].Ints
	if a.st != nil {
		a.hashes = types.HashKeys(b, a.hashCol, a.hashes)
	}
	var err error
	b.ForEach(func(i int) {
		if err != nil {
			return
		}
		if b.Kind(i).IsRetraction() {
			err = fmt.Errorf("runtime: a session window aggregation takes appends only, and got %s", b.Kind(i))
			return
		}
		s, e := starts[i], ends[i]
		if e <= a.wm {
			a.late.Add(1)
			return
		}
		a.keyBuf = a.keyBuf[:0]
		for k, c := range a.keys {
			if k != a.start && k != a.end {
				a.keyBuf = appendKey(a.keyBuf, b.Cols[c], i)
			}
		}
		ss, ok := a.keyed[string(a.keyBuf)]
		if !ok {
			ss = &sessions{key: string(a.keyBuf)}
			if a.st != nil {
				ss.kg = types.KeyGroup(a.hashes[i], types.DefaultKeyGroups)
			}
			a.keyed[ss.key] = ss
		}
		var sess *session
		if sess, err = a.place(ss, s, e); err != nil {
			return
		}
		a.touch(ss)
		a.rowIdx = append(a.rowIdx, int32(i))
		a.slotOf = append(a.slotOf, sess.slot)
		a.weights = append(a.weights, 1)
	})
	if err != nil || len(a.rowIdx) == 0 {
		return err
	}
	for k, g := range a.aggs {
		var arg *types.Vector
		if c := a.calls[k]; c.Arg >= 0 {
			arg = b.Cols[c.Arg]
		}
		if err := g.Update(arg, a.rowIdx, a.slotOf, a.weights); err != nil {
			return fmt.Errorf("%s: %w", a.calls[k], err)
		}
	}
	return nil
}

// place finds the session of key ss that a row with window [s, e) joins:
// a new one, or the first it touches, which absorbs every other it
// touches (their states merged in, earliest first, as FIRST_VALUE needs).
//
// Rows of this batch already placed in a session that is merged away
// still name its slot, which is freed only after the batch: place merges
// the slot's state now and the batch's rows for it are folded into the
// surviving slot by remapping below.
func (a *SessionAggregate) place(ss *sessions, s, e int64) (*session, error) {
	l := ss.list
	// The first session ending at or after s; those after it that start
	// at or before e touch the row's window too.
	i := sort.Search(len(l), func(j int) bool { return l[j].end >= s })
	j := i
	for j < len(l) && l[j].start <= e {
		j++
	}
	if i == j {
		n := &session{start: s, end: e, slot: a.newSlot(), id: a.next, owner: ss}
		a.next++
		ss.list = append(l, nil)
		copy(ss.list[i+1:], ss.list[i:])
		ss.list[i] = n
		heap.Push(&a.ends, sessionEnd{end: e, s: n, id: n.id})
		return n, nil
	}
	keep := l[i]
	newEnd := max(keep.end, e, l[j-1].end)
	keep.start = min(keep.start, s)
	for _, o := range l[i+1 : j] {
		if err := a.mergeInto(keep, o); err != nil {
			return nil, err
		}
	}
	ss.list = append(l[:i+1], l[j:]...)
	if newEnd != keep.end {
		keep.end = newEnd
		keep.id = a.next
		a.next++
		heap.Push(&a.ends, sessionEnd{end: newEnd, s: keep, id: keep.id})
	}
	return keep, nil
}

// mergeInto folds session o into keep, which comes before it, and frees
// o's slot, moving this batch's rows placed in o to keep.
func (a *SessionAggregate) mergeInto(keep, o *session) error {
	for _, g := range a.aggs {
		if err := g.Merge(int(keep.slot), int(o.slot)); err != nil {
			return err
		}
		g.Reset(int(o.slot))
	}
	for k, s := range a.slotOf {
		if s == o.slot {
			a.slotOf[k] = keep.slot
		}
	}
	o.id = 0 // its heap entries are stale now
	a.free = append(a.free, o.slot)
	return nil
}

func (a *SessionAggregate) newSlot() int32 {
	if n := len(a.free); n > 0 {
		s := a.free[n-1]
		a.free = a.free[:n-1]
		return s
	}
	s := a.nslots
	a.nslots++
	for _, g := range a.aggs {
		g.Grow(int(a.nslots))
	}
	return s
}

// fire emits every session that ends at or before the watermark, in
// order of their ends, and frees them.
func (a *SessionAggregate) fire(emit Emit) error {
	a.out.Reset(a.schema, 0)
	for len(a.ends) > 0 && a.ends[0].end <= a.wm {
		top := heap.Pop(&a.ends).(sessionEnd)
		sess := top.s
		if sess.id != top.id {
			continue // the session grew or merged since
		}
		if err := a.writeRow(sess); err != nil {
			return err
		}
		ss := sess.owner
		for k, o := range ss.list {
			if o == sess {
				ss.list = append(ss.list[:k], ss.list[k+1:]...)
				break
			}
		}
		if len(ss.list) == 0 {
			delete(a.keyed, ss.key)
			if err := a.forget(ss); err != nil {
				return err
			}
		} else {
			a.touch(ss)
		}
		for _, g := range a.aggs {
			g.Reset(int(sess.slot))
		}
		a.free = append(a.free, sess.slot)
		sess.id = 0
		if a.out.Len() >= DefaultBatchSize {
			a.out.Watermark = types.NoWatermark
			if err := emit(a.out); err != nil {
				return err
			}
			a.out.Reset(a.schema, 0)
		}
	}
	a.out.Watermark = a.wm
	return emit(a.out)
}

// touch marks key ss changed since the last snapshot.
func (a *SessionAggregate) touch(ss *sessions) {
	if a.st != nil && !ss.dirty {
		ss.dirty = true
		a.dirty[ss] = struct{}{}
	}
}

// forget drops the state of key ss, whose last session fired; a later row
// of the key makes a new sessions.
func (a *SessionAggregate) forget(ss *sessions) error {
	if a.st == nil {
		return nil
	}
	ss.dirty = false
	delete(a.dirty, ss)
	if !ss.saved {
		return nil
	}
	ss.saved = false
	if err := a.st.Delete(ss.kg, unsafeBytes(ss.key)); err != nil {
		return fmt.Errorf("session state: %w", err)
	}
	return nil
}

// sessionWMKey is where a SessionAggregate keeps its watermark: no
// encoded key starts with 0xff.
var sessionWMKey = []byte{0xff, 'M'}

// Snapshot writes the keys whose sessions changed since the last
// snapshot, and the watermark when it moved, to the keyed state. An entry
// holds the key's sessions in order, each its start and end (varints)
// then its aggregates' states, length-prefixed. It implements
// Snapshotter.
func (a *SessionAggregate) Snapshot() error {
	if a.st == nil {
		return nil
	}
	for ss := range a.dirty {
		ss.dirty = false
		v := a.valBuf[:0]
		for _, sess := range ss.list {
			v = binary.AppendVarint(v, sess.start)
			v = binary.AppendVarint(v, sess.end)
			v = appendAggStates(v, a.aggs, sess.slot)
		}
		a.valBuf = v
		if err := a.st.Put(ss.kg, unsafeBytes(ss.key), v); err != nil {
			return fmt.Errorf("session state: %w", err)
		}
		ss.saved = true
	}
	clear(a.dirty)
	if a.wm == a.savedWM {
		return nil
	}
	first, _ := a.st.KeyGroups()
	a.valBuf = binary.AppendVarint(a.valBuf[:0], a.wm)
	if err := a.st.Put(first, sessionWMKey, a.valBuf); err != nil {
		return fmt.Errorf("session state: %w", err)
	}
	a.savedWM = a.wm
	return nil
}

// restore makes st the operator's state and rebuilds the open sessions
// and the watermark from what it holds: the last checkpoint's.
func (a *SessionAggregate) restore(st *state.Store) error {
	a.st, a.dirty = st, make(map[*sessions]struct{})
	first, end := st.KeyGroups()
	v, found, err := st.Get(first, sessionWMKey)
	if err != nil {
		return fmt.Errorf("session state: %w", err)
	}
	if found {
		wm, n := binary.Varint(v)
		if n <= 0 {
			return errors.New("session state: a bad watermark entry")
		}
		a.wm, a.savedWM = wm, wm
	}
	for kg := first; kg < end; kg++ {
		if err := a.restoreGroup(kg); err != nil {
			return fmt.Errorf("session state: %w", err)
		}
	}
	return nil
}

// restoreGroup rebuilds the sessions of the keys of key group kg.
func (a *SessionAggregate) restoreGroup(kg int) error {
	it := a.st.Scan(kg, nil)
	defer it.Close()
	for it.Next() {
		k, v := it.Key(), it.Value()
		if len(k) > 0 && k[0] == 0xff {
			continue // the watermark
		}
		ss := &sessions{key: string(k), kg: kg, saved: true}
		for len(v) > 0 {
			start, n := binary.Varint(v)
			if n <= 0 {
				return errors.New("a bad session entry")
			}
			v = v[n:]
			end, n := binary.Varint(v)
			if n <= 0 {
				return errors.New("a bad session entry")
			}
			sess := &session{start: start, end: end, slot: a.newSlot(), id: a.next, owner: ss}
			a.next++
			var err error
			if v, err = loadSlotState(v[n:], a.aggs, sess.slot); err != nil {
				return err
			}
			ss.list = append(ss.list, sess)
			heap.Push(&a.ends, sessionEnd{end: end, s: sess, id: sess.id})
		}
		if len(ss.list) > 0 {
			a.keyed[ss.key] = ss
		}
	}
	return it.Err()
}

// writeRow appends a session's row: the keys (window_start and window_end
// from the session), then the results.
func (a *SessionAggregate) writeRow(sess *session) error {
	rest := sess.owner.key
	var err error
	for k := range a.keys {
		v := a.out.Cols[k]
		switch k {
		case a.start:
			v.AppendInt(sess.start)
		case a.end:
			v.AppendInt(sess.end)
		default:
			if rest, err = decodeKey(v, rest); err != nil {
				return err
			}
		}
	}
	nk := len(a.keys)
	for k, g := range a.aggs {
		if err := g.Result(int(sess.slot), a.out.Cols[nk+k]); err != nil {
			return fmt.Errorf("%s: %w", a.calls[k], err)
		}
	}
	a.out.SetLen(a.out.Len() + 1)
	return nil
}

// Finish implements Operator: a bounded input ends with the end of time,
// which has fired every session already.
func (a *SessionAggregate) Finish(Emit) error { return nil }

// sessionEnd is a heap entry: a session's end when it was pushed, and the
// session's id then.
type sessionEnd struct {
	end int64
	s   *session
	id  uint64
}

type sessionHeap []sessionEnd

func (h sessionHeap) Len() int           { return len(h) }
func (h sessionHeap) Less(i, j int) bool { return h[i].end < h[j].end }
func (h sessionHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *sessionHeap) Push(x any)        { *h = append(*h, x.(sessionEnd)) }
func (h *sessionHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}
