package runtime

import (
	"bytes"
	"container/heap"
	"encoding/binary"
	"fmt"
	"math"
	"sort"
	"sync/atomic"

	"github.com/sluice-sql/sluice/sql"
	"github.com/sluice-sql/sluice/sql/types"
	"github.com/sluice-sql/sluice/state"
)

// TopNSpec returns the spec of a TopN over rows of schema in for rank r
// (its partition, order and limit).
// op numbers the operator in the job's state. windowEnd, unless -1, is
// the input column holding window_end when the partition includes a
// window: the ranking is then per window and emitted when it closes.
//
// retract says the input is updating: the Top-N then keeps every row.
func TopNSpec(name string, op uint32, in types.Schema, r *sql.Rank, windowEnd int, retract bool) OperatorSpec {
	late := new(atomic.Int64)
	return OperatorSpec{Name: name, Late: late, NewWith: func(oc OperatorContext) (Operator, error) {
		if windowEnd >= 0 {
			// The watermark frees a window's partitions, never their
			// age: one that had no row for a while is still open.
			oc.StateTTL = 0
		}
		kv, err := oc.keyedState(op)
		if err != nil {
			return nil, err
		}
		t, err := NewTopN(in, r, kv)
		if err != nil {
			return nil, err
		}
		if retract {
			t.retracting()
		}
		if windowEnd < 0 {
			return t, nil
		}
		if err := t.windowed(windowEnd, late); err != nil {
			return nil, err
		}
		if oc.State == nil {
			return t, nil
		}
		st, ok := kv.(*state.Store)
		if !ok {
			return nil, errSnapshotScan
		}
		return t, t.restore(st)
	}}
}

// TopN keeps, per partition, the first Limit rows in the rank's order and
// emits the changes to that table as an updating result: the row number
// is the last column, so a row entering at position p inserts it (+I),
// moves every row after it down one (-U, +U) and, beyond the limit,
// deletes the last (-D). Ties keep arrival order. With a limit of 1 it
// is a deduplication: ORDER BY time keeps the first row per key, ORDER BY
// time DESC the latest.
//
// Each partition's kept rows are one entry of keyed state, loaded when a
// batch first touches the partition and written back after it.
type TopN struct {
	in     types.Schema
	part   []int
	order  []sql.SortKey
	limit  int
	schema types.Schema // the output's: the input's columns, then the number
	out    *types.Batch
	kv     KeyedState
	seq    uint64
	// retract: the input is updating (see retracting).
	retract bool
	// parts are the partitions this batch touched, loaded; touched lists
	// them in order with their key groups.
	parts   map[string]*topList
	touched []touchedPart
	hashes  []uint64
	valBuf  []byte

	// A Top-N per window: endCol holds each row's window_end; byEnd lists
	// each open window's partitions, ends orders them; wm is the
	// watermark so far; late counts rows for windows already emitted.
	endCol int
	ends   endHeap
	byEnd  map[int64][]touchedPart
	wm     int64
	late   *atomic.Int64
	// endKey is the place of endCol among the partition columns, whose
	// key holds each partition's window end.
	endKey int
	// st, when set, is the job's state: the partitions are in it
	// already, and Snapshot adds the watermark (savedWM the one it holds)
	// under topNWMKey in the store's first key group. A restarted
	// windowed Top-N finds its open windows from its partitions' keys.
	st      *state.Store
	savedWM int64

	keyBuf  []byte
	sortBuf []byte
	rowBuf  []byte
}

// topList is one partition's kept rows, best first.
type topList struct {
	rows []topRow
}

// touchedPart is a partition a batch touched: its key and key group.
type touchedPart struct {
	key string
	kg  int
}

// topRow is a kept row: its sort key (the order columns, encoded so that
// bytes compare as the rank orders), its arrival number (for ties) and
// the row itself, encoded as group keys are.
type topRow struct {
	key string
	seq uint64
	row string
}

// NewTopN builds a TopN keeping its partitions in kv (a map in memory
// when nil); see TopNSpec.
func NewTopN(in types.Schema, r *sql.Rank, kv KeyedState) (*TopN, error) {
	if kv == nil {
		kv = newMemKeyedState()
	}
	if r.Limit < 1 || r.Limit > 1<<20 {
		return nil, fmt.Errorf("runtime: Top-N limit %d out of range (1 to %d)", r.Limit, 1<<20)
	}
	for _, o := range r.Order {
		switch k := in[o.Col].Type.Kind; k {
		case types.KindJSON, types.KindInterval:
			return nil, fmt.Errorf("runtime: cannot order by %s, a %s", in[o.Col].Name, k)
		}
	}
	out := append(append(types.Schema(nil), in...), types.Field{Name: "row_number", Type: types.BigInt().WithNotNull(true)})
	return &TopN{in: in, part: r.Partition, order: r.Order, limit: int(r.Limit), schema: out,
		out: types.NewBatch(out, 0), kv: kv, parts: make(map[string]*topList)}, nil
}

// Process implements Operator.
func (t *TopN) Process(b *types.Batch, emit Emit) error {
	if b.Live() == 0 {
		if t.byEnd != nil && b.Watermark > t.wm {
			t.wm = b.Watermark
			return t.fire(emit)
		}
		return forwardWatermark(b, t.out, emit)
	}
	t.out.Reset(t.schema, 0)
	clear(t.parts)
	t.touched = t.touched[:0]
	t.hashes = types.HashKeys(b, t.part, t.hashes)
	var err error
	b.ForEach(func(i int) {
		if err != nil {
			return
		}
		retract := b.Kind(i).IsRetraction()
		if retract && !t.retract {
			err = fmt.Errorf("runtime: ROW_NUMBER over an updating input needs a Top-N built to retract")
			return
		}
		if t.byEnd != nil && b.Cols[t.endCol].Ints[i] <= t.wm {
			t.late.Add(1)
			return
		}
		t.keyBuf = t.keyBuf[:0]
		for _, c := range t.part {
			t.keyBuf = appendKey(t.keyBuf, b.Cols[c], i)
		}
		l, ok := t.parts[string(t.keyBuf)]
		if !ok {
			kg := types.KeyGroup(t.hashes[i], types.DefaultKeyGroups)
			if l, err = t.load(kg, t.keyBuf); err != nil {
				return
			}
			t.parts[string(t.keyBuf)] = l
			tp := touchedPart{key: string(t.keyBuf), kg: kg}
			t.touched = append(t.touched, tp)
			if t.byEnd != nil && len(l.rows) == 0 {
				// A partition new to its window: the window must fire it.
				end := b.Cols[t.endCol].Ints[i]
				if _, open := t.byEnd[end]; !open {
					heap.Push(&t.ends, end)
				}
				t.byEnd[end] = append(t.byEnd[end], tp)
			}
		}
		t.sortBuf = t.sortBuf[:0]
		for _, o := range t.order {
			t.sortBuf = appendSortKey(t.sortBuf, b.Cols[o.Col], i, o.Desc)
		}
		n := len(l.rows)
		if t.retract {
			err = t.change(l, b, i, retract)
			return
		}
		// A tie goes after the rows already kept, so a full list only
		// changes for a row strictly before its last.
		if n == t.limit && bytes.Compare(t.sortBuf, []byte(l.rows[n-1].key)) >= 0 {
			return
		}
		p := sort.Search(n, func(j int) bool { return bytes.Compare(t.sortBuf, []byte(l.rows[j].key)) < 0 })
		t.rowBuf = t.rowBuf[:0]
		for c := range b.Cols {
			t.rowBuf = appendKey(t.rowBuf, b.Cols[c], i)
		}
		row := topRow{key: string(t.sortBuf), seq: t.seq, row: string(t.rowBuf)}
		t.seq++
		if t.byEnd != nil {
			// Per window: kept quietly until the window closes.
			if n == t.limit {
				l.rows = l.rows[:n-1]
			}
			l.rows = append(l.rows, topRow{})
			copy(l.rows[p+1:], l.rows[p:])
			l.rows[p] = row
			return
		}
		// The rows from p down move one place; past the limit, the last
		// leaves.
		for j := n - 1; j >= p; j-- {
			if err = t.write(l.rows[j].row, j+1, types.UpdateBefore); err != nil {
				return
			}
			if j+1 >= t.limit {
				t.out.SetKind(t.out.Len()-1, types.Delete)
				continue
			}
			if err = t.write(l.rows[j].row, j+2, types.UpdateAfter); err != nil {
				return
			}
		}
		if err = t.write(row.row, p+1, types.Insert); err != nil {
			return
		}
		if n == t.limit {
			l.rows = l.rows[:n-1]
		}
		l.rows = append(l.rows, topRow{})
		copy(l.rows[p+1:], l.rows[p:])
		l.rows[p] = row
	})
	if err != nil {
		return err
	}
	for _, p := range t.touched {
		if err := t.save(p, t.parts[p.key]); err != nil {
			return err
		}
	}
	if t.byEnd != nil {
		if b.Watermark > t.wm {
			t.wm = b.Watermark
			return t.fire(emit)
		}
		return nil
	}
	t.out.Watermark = b.Watermark
	if t.out.Len() == 0 {
		return forwardWatermark(b, t.out, emit)
	}
	return emit(t.out)
}

// retracting makes t take an updating input: it keeps every row of a
// partition, not just the top ones, so that when a row of the top is
// retracted the next one takes its place.
func (t *TopN) retracting() { t.retract = true }

// change applies one row of an updating input (an insert or update-after,
// else a retraction of an equal row) to partition l, emitting the changes
// to its top rows.
func (t *TopN) change(l *topList, b *types.Batch, i int, retract bool) error {
	t.rowBuf = t.rowBuf[:0]
	for c := range b.Cols {
		t.rowBuf = appendKey(t.rowBuf, b.Cols[c], i)
	}
	n := len(l.rows)
	top := min(n, t.limit)
	if !retract {
		p := sort.Search(n, func(j int) bool { return bytes.Compare(t.sortBuf, []byte(l.rows[j].key)) < 0 })
		if p < t.limit {
			// Rows p… of the top move down one; the last may leave.
			for j := top - 1; j >= p; j-- {
				if err := t.write(l.rows[j].row, j+1, types.UpdateBefore); err != nil {
					return err
				}
				if j+1 >= t.limit {
					t.out.SetKind(t.out.Len()-1, types.Delete)
					continue
				}
				if err := t.write(l.rows[j].row, j+2, types.UpdateAfter); err != nil {
					return err
				}
			}
			if err := t.write(string(t.rowBuf), p+1, types.Insert); err != nil {
				return err
			}
		}
		l.rows = append(l.rows, topRow{})
		copy(l.rows[p+1:], l.rows[p:])
		l.rows[p] = topRow{key: string(t.sortBuf), seq: t.seq, row: string(t.rowBuf)}
		t.seq++
		return nil
	}
	// A retraction takes back the first equal row.
	p := sort.Search(n, func(j int) bool { return bytes.Compare([]byte(l.rows[j].key), t.sortBuf) >= 0 })
	for p < n && l.rows[p].row != string(t.rowBuf) && l.rows[p].key == string(t.sortBuf) {
		p++
	}
	if p == n || l.rows[p].row != string(t.rowBuf) {
		return nil // not held: nothing to take back
	}
	if p < t.limit {
		if err := t.write(l.rows[p].row, p+1, types.Delete); err != nil {
			return err
		}
		// Rows after it in the top move up one; the first beyond the top
		// comes in.
		for j := p + 1; j < top; j++ {
			if err := t.write(l.rows[j].row, j+1, types.UpdateBefore); err != nil {
				return err
			}
			if err := t.write(l.rows[j].row, j, types.UpdateAfter); err != nil {
				return err
			}
		}
		if n > t.limit {
			if err := t.write(l.rows[t.limit].row, t.limit, types.Insert); err != nil {
				return err
			}
		}
	}
	l.rows = append(l.rows[:p], l.rows[p+1:]...)
	return nil
}

// windowed makes t rank per window: rows are kept, not emitted, until
// the watermark passes their window's end; then the window's partitions
// are emitted, each row with its number, as inserts, and freed. The
// window end, column endCol, must be one of the partition columns.
func (t *TopN) windowed(endCol int, late *atomic.Int64) error {
	t.endKey = -1
	for k, c := range t.part {
		if c == endCol {
			t.endKey = k
		}
	}
	if t.endKey < 0 {
		return fmt.Errorf("runtime: the window end, column %d, is not among the Top-N's partition columns %v", endCol, t.part)
	}
	t.endCol, t.byEnd, t.wm, t.late = endCol, make(map[int64][]touchedPart), types.NoWatermark, late
	t.savedWM = types.NoWatermark
	return nil
}

// topNWMKey is where a windowed TopN keeps its watermark: no encoded
// partition key starts with 0xff.
var topNWMKey = []byte{0xff, 'M'}

// Snapshot writes the watermark, when it moved since the last snapshot,
// to the keyed state, which holds the partitions already. It implements
// Snapshotter.
func (t *TopN) Snapshot() error {
	if t.st == nil || t.wm == t.savedWM {
		return nil
	}
	first, _ := t.st.KeyGroups()
	t.valBuf = binary.AppendVarint(t.valBuf[:0], t.wm)
	if err := t.st.Put(first, topNWMKey, t.valBuf); err != nil {
		return fmt.Errorf("top-n state: %w", err)
	}
	t.savedWM = t.wm
	return nil
}

// restore makes st the windowed Top-N's state and rebuilds its open
// windows and watermark from what it holds: the last checkpoint's. Every
// partition it holds belongs to an open window, which its key names.
func (t *TopN) restore(st *state.Store) error {
	t.st = st
	first, end := st.KeyGroups()
	v, found, err := st.Get(first, topNWMKey)
	if err != nil {
		return fmt.Errorf("top-n state: %w", err)
	}
	if found {
		wm, n := binary.Varint(v)
		if n <= 0 {
			return fmt.Errorf("top-n state: a bad watermark entry")
		}
		t.wm, t.savedWM = wm, wm
	}
	// The partition columns up to the window end, decoded to find it.
	cols := make([]*types.Vector, t.endKey+1)
	for k := range cols {
		cols[k] = types.NewVector(t.in[t.part[k]].Type, 1)
	}
	for kg := first; kg < end; kg++ {
		if err := t.restoreGroup(kg, cols); err != nil {
			return fmt.Errorf("top-n state: %w", err)
		}
	}
	return nil
}

// restoreGroup puts the partitions of key group kg back in their windows.
func (t *TopN) restoreGroup(kg int, cols []*types.Vector) error {
	it := t.st.Scan(kg, nil)
	defer it.Close()
	for it.Next() {
		key := string(it.Key())
		if len(key) > 0 && key[0] == 0xff {
			continue // the watermark
		}
		rest := key
		for _, v := range cols {
			v.Reset(v.Type, 1)
			var err error
			if rest, err = decodeKey(v, rest); err != nil {
				return err
			}
		}
		we := cols[t.endKey]
		if we.IsNull(0) {
			return fmt.Errorf("a partition without a window end")
		}
		end := we.Ints[0]
		if _, open := t.byEnd[end]; !open {
			heap.Push(&t.ends, end)
		}
		t.byEnd[end] = append(t.byEnd[end], touchedPart{key: key, kg: kg})
	}
	return it.Err()
}

// fire emits every window that ends at or before the watermark.
func (t *TopN) fire(emit Emit) error {
	t.out.Reset(t.schema, 0)
	for len(t.ends) > 0 && t.ends[0] <= t.wm {
		end := heap.Pop(&t.ends).(int64)
		for _, p := range t.byEnd[end] {
			l, err := t.load(p.kg, unsafeBytes(p.key))
			if err != nil {
				return err
			}
			for j, r := range l.rows {
				if err := t.write(r.row, j+1, types.Insert); err != nil {
					return err
				}
			}
			if err := t.kv.Delete(p.kg, unsafeBytes(p.key)); err != nil {
				return err
			}
			if t.out.Len() >= DefaultBatchSize {
				t.out.Watermark = types.NoWatermark
				if err := emit(t.out); err != nil {
					return err
				}
				t.out.Reset(t.schema, 0)
			}
		}
		delete(t.byEnd, end)
	}
	t.out.Watermark = t.wm
	return emit(t.out)
}

// load reads a partition's kept rows from the state: a count, then per
// row its sort key, arrival number and row, length-prefixed.
func (t *TopN) load(kg int, key []byte) (*topList, error) {
	v, ok, err := t.kv.Get(kg, key)
	if err != nil {
		return nil, fmt.Errorf("top-n state: %w", err)
	}
	l := &topList{}
	if !ok {
		return l, nil
	}
	bad := fmt.Errorf("top-n state: a bad entry")
	n, w := binary.Uvarint(v)
	if w <= 0 {
		return nil, bad
	}
	v = v[w:]
	str := func() (string, bool) {
		m, w := binary.Uvarint(v)
		if w <= 0 || uint64(len(v)-w) < m {
			return "", false
		}
		s := string(v[w : w+int(m)])
		v = v[w+int(m):]
		return s, true
	}
	for range n {
		var r topRow
		var ok bool
		if r.key, ok = str(); !ok {
			return nil, bad
		}
		seq, w := binary.Uvarint(v)
		if w <= 0 {
			return nil, bad
		}
		r.seq, v = seq, v[w:]
		if r.row, ok = str(); !ok {
			return nil, bad
		}
		l.rows = append(l.rows, r)
	}
	return l, nil
}

// save writes a partition's kept rows back to the state.
func (t *TopN) save(p touchedPart, l *topList) error {
	v := binary.AppendUvarint(t.valBuf[:0], uint64(len(l.rows)))
	for _, r := range l.rows {
		v = binary.AppendUvarint(v, uint64(len(r.key)))
		v = append(v, r.key...)
		v = binary.AppendUvarint(v, r.seq)
		v = binary.AppendUvarint(v, uint64(len(r.row)))
		v = append(v, r.row...)
	}
	t.valBuf = v
	if err := t.kv.Put(p.kg, unsafeBytes(p.key), v); err != nil {
		return fmt.Errorf("top-n state: %w", err)
	}
	return nil
}

// write appends an encoded row with its number and kind to the output.
func (t *TopN) write(row string, rn int, k types.ChangeKind) error {
	rest := row
	var err error
	for c := range t.in {
		if rest, err = decodeKey(t.out.Cols[c], rest); err != nil {
			return err
		}
	}
	t.out.Cols[len(t.in)].AppendInt(int64(rn))
	j := t.out.Len()
	t.out.SetLen(j + 1)
	t.out.SetKind(j, k)
	return nil
}

// appendSortKey appends row i of v encoded so that the bytes of two
// values compare as the values do (NULL first), inverted for a
// descending order (NULL last then, as Flink has it). A DECIMAL wider
// than 18 digits orders by its nearest DOUBLE.
func appendSortKey(dst []byte, v *types.Vector, i int, desc bool) []byte {
	start := len(dst)
	if v.IsNull(i) {
		dst = append(dst, 0)
	} else {
		dst = append(dst, 1)
		t := v.Type
		switch {
		case t.Kind == types.KindString || t.Kind == types.KindBytes || t.Kind == types.KindJSON:
			for _, c := range v.Bytes(i) {
				if c == 0 {
					dst = append(dst, 0, 0xff)
				} else {
					dst = append(dst, c)
				}
			}
			dst = append(dst, 0, 0)
		case t.Kind == types.KindBoolean:
			if v.Bools[i] {
				dst = append(dst, 1)
			} else {
				dst = append(dst, 0)
			}
		case t.Kind == types.KindFloat:
			dst = appendFloatKey(dst, v.Floats[i])
		case t.Kind == types.KindDecimal && !t.Decimal64():
			f, _ := v.Decs[i].Float64()
			dst = appendFloatKey(dst, f)
		case t.Kind == types.KindInterval:
			iv := v.Intervals[i]
			dst = binary.BigEndian.AppendUint64(dst, uint64(iv.Months)^(1<<63))
			dst = binary.BigEndian.AppendUint64(dst, uint64(iv.Micros)^(1<<63))
		default:
			dst = binary.BigEndian.AppendUint64(dst, uint64(v.Ints[i])^(1<<63))
		}
	}
	if desc {
		for j := start; j < len(dst); j++ {
			dst[j] = ^dst[j]
		}
	}
	return dst
}

// appendFloatKey orders floats as bytes: -0 as 0, NaN above everything.
func appendFloatKey(dst []byte, f float64) []byte {
	switch {
	case f == 0:
		f = 0
	case math.IsNaN(f):
		f = math.NaN()
	}
	b := math.Float64bits(f)
	if b&(1<<63) != 0 {
		b = ^b
	} else {
		b |= 1 << 63
	}
	return binary.BigEndian.AppendUint64(dst, b)
}

// Finish implements Operator.
func (t *TopN) Finish(Emit) error { return nil }
