package runtime

import (
	"encoding/binary"
	"fmt"
	"math"
	"sort"

	"github.com/cockroachdb/apd/v3"

	"github.com/sluice-sql/sluice/sql"
	"github.com/sluice-sql/sluice/sql/agg"
	"github.com/sluice-sql/sluice/sql/types"
)

// GroupAggregateSpec returns the spec of a GroupAggregate over rows of
// schema in, grouped by the keys columns, computing calls. op numbers the
// operator in the job's state; retract says the input is updating, so the
// aggregates must take retractions.
func GroupAggregateSpec(name string, op uint32, in types.Schema, keys []int, calls []sql.AggCall, retract bool) OperatorSpec {
	return OperatorSpec{Name: name, NewWith: func(oc OperatorContext) (Operator, error) {
		kv, err := oc.keyedState(op)
		if err != nil {
			return nil, err
		}
		g, err := NewGroupAggregate(in, keys, calls, retract, kv)
		if err != nil {
			return nil, err
		}
		g.residentGroups(oc.residentGroups())
		if oc.StateTTL > 0 {
			// Expiry is the state's: every group goes back to it after
			// each batch, and comes back through its clock.
			g.residentGroups(0)
		}
		return g, nil
	}}
}

// GroupAggregate is an unwindowed GROUP BY: it keeps every group's
// aggregates and, for each input batch, emits the changes of the groups
// the batch touched, as a changelog: +I for a group's first row, -U and
// +U (its row before and after) when it changes, -D when its last row is
// retracted. Its input may be updating: a -U or -D row is retracted from
// its group.
//
// Groups live in keyed state (a state.Store: a write-back cache over
// Badger, so they may outgrow memory), one entry per group keyed by the
// encoded group key in the group's key group. The groups in use stay
// resident, decoded in slots of the aggregates, up to a number; the
// least recently used beyond it go back to the state, encoded. (With a
// state TTL every group goes back after each batch, so that the state's
// clock decides what has expired.)
type GroupAggregate struct {
	in    types.Schema
	keys  []int
	calls []sql.AggCall
	aggs  []agg.Agg
	kv    KeyedState
	// schema is the output's: the keys, then one column per call.
	schema types.Schema
	out    *types.Batch

	// The resident groups, by slot: slotOf maps an encoded key to its
	// slot; key, kg, rows, emitted and used are the slot's key, key
	// group, row count, whether its row is out, and the batch that last
	// used it; free are the slots to reuse.
	slotOf      map[string]int32
	key         []string
	kg          []int
	rows        []int64
	emitted     []bool
	used        []uint64
	free        []int32
	maxResident int
	batch       uint64
	// dirty says which resident groups changed since they were last
	// written to the state; dirtyList lists them (with stale entries
	// of slots since written or reused), for Snapshot.
	dirty     []bool
	dirtyList []int32

	// Per batch: the slots touched, in first-touch order, and whether
	// each had a row out before the batch.
	touched []int32
	wasOut  []bool
	hashes  []uint64
	keyBuf  []byte
	valBuf  []byte
	rowIdx  []int32
	rowSlot []int32
	weights []int8
	before  *types.Batch
	seen    bool // any row ever came
}

// DefaultResidentGroups is how many groups a GroupAggregate instance
// keeps decoded in memory; the others wait in its state.
const DefaultResidentGroups = 1 << 16

// NewGroupAggregate builds a GroupAggregate keeping its groups in kv (an
// in-memory map when nil); see GroupAggregateSpec.
func NewGroupAggregate(in types.Schema, keys []int, calls []sql.AggCall, retract bool, kv KeyedState) (*GroupAggregate, error) {
	if kv == nil {
		kv = newMemKeyedState()
	}
	g := &GroupAggregate{in: in, keys: keys, calls: calls, kv: kv, slotOf: make(map[string]int32), maxResident: DefaultResidentGroups}
	out := make(types.Schema, 0, len(keys)+len(calls))
	for _, k := range keys {
		if k < 0 || k >= len(in) {
			return nil, fmt.Errorf("runtime: aggregate key column %d out of range", k)
		}
		out = append(out, in[k])
	}
	for _, c := range calls {
		spec := agg.Spec{Fn: agg.FnCountStar, Distinct: c.Distinct, Retract: retract}
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
		g.aggs = append(g.aggs, a)
		out = append(out, types.Field{Name: c.String(), Type: c.T})
	}
	g.schema = out
	g.out = types.NewBatch(out, 0)
	g.before = types.NewBatch(out, 0)
	return g, nil
}

// Process implements Operator.
func (g *GroupAggregate) Process(b *types.Batch, emit Emit) error {
	if b.Live() == 0 {
		return forwardWatermark(b, g.out, emit)
	}
	if !g.seen && len(g.keys) == 0 {
		if err := g.kv.Put(globalKeyGroup(), seenKey, []byte{1}); err != nil {
			return fmt.Errorf("aggregate state: %w", err)
		}
	}
	g.seen = true
	g.batch++
	g.touched = g.touched[:0]
	g.rowIdx, g.rowSlot, g.weights = g.rowIdx[:0], g.rowSlot[:0], g.weights[:0]
	g.hashes = types.HashKeys(b, g.keys, g.hashes)
	var err error
	b.ForEach(func(i int) {
		if err != nil {
			return
		}
		g.keyBuf = g.keyBuf[:0]
		for _, k := range g.keys {
			g.keyBuf = appendKey(g.keyBuf, b.Cols[k], i)
		}
		s, ok := g.slotOf[string(g.keyBuf)]
		if !ok {
			if s, err = g.load(types.KeyGroup(g.hashes[i], types.DefaultKeyGroups)); err != nil {
				return
			}
		}
		if g.used[s] != g.batch {
			g.used[s] = g.batch
			g.touched = append(g.touched, s)
		}
		w := int8(1)
		if b.Kind(i).IsRetraction() {
			w = -1
		}
		g.rowIdx = append(g.rowIdx, int32(i))
		g.rowSlot = append(g.rowSlot, s)
		g.weights = append(g.weights, w)
	})
	if err != nil {
		return err
	}
	// The touched groups' rows before the batch.
	g.before.Reset(g.schema, len(g.touched))
	g.wasOut = g.wasOut[:0]
	for _, s := range g.touched {
		g.wasOut = append(g.wasOut, g.emitted[s])
		if g.emitted[s] {
			if err := g.writeRow(g.before, s); err != nil {
				return err
			}
		}
	}
	for k, a := range g.aggs {
		var arg *types.Vector
		if c := g.calls[k]; c.Arg >= 0 {
			arg = b.Cols[c.Arg]
		}
		if err := a.Update(arg, g.rowIdx, g.rowSlot, g.weights); err != nil {
			return fmt.Errorf("%s: %w", g.calls[k], err)
		}
	}
	for j, s := range g.rowSlot {
		g.rows[s] += int64(g.weights[j])
	}
	// The changes: per touched group, its row before (-U, or -D when it
	// has no row left) and after (+U, or +I when it had none).
	g.out.Reset(g.schema, 2*len(g.touched))
	before := int32(0)
	for i, s := range g.touched {
		was, now := g.wasOut[i], g.rows[s] > 0
		if g.rows[s] < 0 {
			return fmt.Errorf("runtime: group retracted more rows than it received (the input's changelog is inconsistent)")
		}
		switch {
		case was && now:
			g.copyBefore(before, types.UpdateBefore)
			if err := g.writeRow(g.out, s); err != nil {
				return err
			}
			g.out.SetKind(g.out.Len()-1, types.UpdateAfter)
		case was:
			g.copyBefore(before, types.Delete)
		case now:
			if err := g.writeRow(g.out, s); err != nil {
				return err
			}
			g.out.SetKind(g.out.Len()-1, types.Insert)
		}
		if was {
			before++
		}
		g.emitted[s] = now
	}
	// A group with no row left leaves; the least used go back to the
	// state beyond the resident bound.
	for _, s := range g.touched {
		if g.rows[s] != 0 && !g.dirty[s] {
			g.dirty[s] = true
			g.dirtyList = append(g.dirtyList, s)
		}
		if g.rows[s] == 0 {
			if err := g.kv.Delete(g.kg[s], unsafeBytes(g.key[s])); err != nil {
				return fmt.Errorf("aggregate state: %w", err)
			}
			g.release(s)
		}
	}
	if err := g.evict(); err != nil {
		return err
	}
	if g.out.Len() == 0 {
		return forwardWatermark(b, g.out, emit)
	}
	g.out.Watermark = b.Watermark
	return emit(g.out)
}

// load gives the group whose key is in g.keyBuf a slot, loaded from the
// state.
func (g *GroupAggregate) load(kg int) (int32, error) {
	var s int32
	if n := len(g.free); n > 0 {
		s, g.free = g.free[n-1], g.free[:n-1]
	} else {
		s = int32(len(g.key))
		g.key, g.kg, g.rows, g.emitted, g.used = append(g.key, ""), append(g.kg, 0), append(g.rows, 0), append(g.emitted, false), append(g.used, 0)
		g.dirty = append(g.dirty, false)
		for _, a := range g.aggs {
			a.Grow(len(g.key))
		}
	}
	key := string(g.keyBuf)
	g.slotOf[key] = s
	g.key[s], g.kg[s], g.used[s] = key, kg, 0
	val, ok, err := g.kv.Get(kg, g.keyBuf)
	if err != nil {
		return 0, fmt.Errorf("aggregate state: %w", err)
	}
	if !ok {
		for _, a := range g.aggs {
			a.Reset(int(s))
		}
		g.rows[s], g.emitted[s] = 0, false
		return s, nil
	}
	// The entry: the row count, whether the row is out, then each
	// aggregate's state, length-prefixed.
	rows, n := binary.Varint(val)
	if n <= 0 || len(val) < n+1 {
		return 0, fmt.Errorf("aggregate state: a bad entry")
	}
	g.rows[s], g.emitted[s] = rows, val[n] == 1
	val = val[n+1:]
	for _, a := range g.aggs {
		l, n := binary.Uvarint(val)
		if n <= 0 || uint64(len(val)-n) < l {
			return 0, fmt.Errorf("aggregate state: a bad entry")
		}
		if err := a.LoadState(int(s), val[n:n+int(l)]); err != nil {
			return 0, fmt.Errorf("aggregate state: %w", err)
		}
		val = val[n+int(l):]
	}
	return s, nil
}

// residentGroups sets how many groups stay decoded in memory (0: none,
// every group goes back to the state after each batch).
func (g *GroupAggregate) residentGroups(n int) { g.maxResident = n }

// release frees slot s.
func (g *GroupAggregate) release(s int32) {
	g.dirty[s] = false
	delete(g.slotOf, g.key[s])
	g.key[s] = ""
	for _, a := range g.aggs {
		a.Reset(int(s))
	}
	g.free = append(g.free, s)
}

// evict writes the least recently used groups back to the state until
// the resident ones are within three quarters of the bound (all of them
// when the bound is zero).
func (g *GroupAggregate) evict() error {
	if len(g.slotOf) <= g.maxResident {
		return nil
	}
	keep := g.maxResident * 3 / 4
	var slots []int32
	for _, s := range g.slotOf {
		slots = append(slots, s)
	}
	sort.Slice(slots, func(i, j int) bool { return g.used[slots[i]] < g.used[slots[j]] })
	for _, s := range slots[:len(slots)-keep] {
		if err := g.store(s); err != nil {
			return err
		}
		g.release(s)
	}
	return nil
}

// Snapshot writes the resident groups changed since the last one to the
// state, and keeps them resident. It implements Snapshotter.
func (g *GroupAggregate) Snapshot() error {
	for _, s := range g.dirtyList {
		if g.dirty[s] {
			if err := g.store(s); err != nil {
				return err
			}
		}
	}
	g.dirtyList = g.dirtyList[:0]
	return nil
}

// store writes slot s's group to the state.
func (g *GroupAggregate) store(s int32) error {
	g.dirty[s] = false
	v := binary.AppendVarint(g.valBuf[:0], g.rows[s])
	if g.emitted[s] {
		v = append(v, 1)
	} else {
		v = append(v, 0)
	}
	for _, a := range g.aggs {
		at := len(v)
		v = append(v, make([]byte, binary.MaxVarintLen64)...)
		v = a.AppendState(v, int(s))
		n := len(v) - at - binary.MaxVarintLen64
		w := binary.PutUvarint(v[at:], uint64(n))
		copy(v[at+w:], v[at+binary.MaxVarintLen64:])
		v = v[:at+w+n]
	}
	g.valBuf = v
	if err := g.kv.Put(g.kg[s], unsafeBytes(g.key[s]), v); err != nil {
		return fmt.Errorf("aggregate state: %w", err)
	}
	return nil
}

// writeRow appends slot s's row (keys, then results) to out.
func (g *GroupAggregate) writeRow(out *types.Batch, s int32) error {
	j := out.Len()
	rest := g.key[s]
	var err error
	for k := range g.keys {
		if rest, err = decodeKey(out.Cols[k], rest); err != nil {
			return err
		}
	}
	nk := len(g.keys)
	for k, a := range g.aggs {
		if err := a.Result(int(s), out.Cols[nk+k]); err != nil {
			return fmt.Errorf("%s: %w", g.calls[k], err)
		}
	}
	out.SetLen(j + 1)
	return nil
}

// copyBefore appends row r of g.before to the output with kind k.
func (g *GroupAggregate) copyBefore(r int32, k types.ChangeKind) {
	j := g.out.Len()
	row := [1]int32{r}
	for c, v := range g.before.Cols {
		appendVectorRows(g.out.Cols[c], v, row[:], j)
	}
	g.out.SetLen(j + 1)
	g.out.SetKind(j, k)
}

// Finish implements Operator: every change is already out, but for one
// case. A global aggregate (no GROUP BY) whose bounded input had no row
// at all is, as in batch SQL, one row: COUNT 0, the others NULL.
func (g *GroupAggregate) Finish(emit Emit) error {
	if len(g.keys) > 0 || g.seen {
		return nil
	}
	// Rows came before the checkpoint this run restarted from: their
	// row is out already.
	if _, ok, err := g.kv.Get(globalKeyGroup(), seenKey); err != nil || ok {
		return err
	}
	for _, a := range g.aggs {
		a.Grow(1)
		a.Reset(0)
	}
	g.out.Reset(g.schema, 1)
	nk := len(g.keys)
	for k, a := range g.aggs {
		if err := a.Result(0, g.out.Cols[nk+k]); err != nil {
			return err
		}
	}
	g.out.SetLen(1)
	return emit(g.out)
}

// seenKey marks in a global aggregate's state that a row came, for
// Finish after a restart; no encoded key starts with 0xff.
var seenKey = []byte{0xff, 'S'}

// globalKeyGroup is the key group of a global aggregate's one group,
// whose key has no column.
func globalKeyGroup() int {
	b := types.NewBatch(nil, 0)
	b.SetLen(1)
	return types.KeyGroup(types.HashKeys(b, nil, nil)[0], types.DefaultKeyGroups)
}

// appendValue appends row i of src to dst, a vector of its type that
// grows (appendVectorRows needs its room made first).
func appendValue(dst, src *types.Vector, i int) {
	if src.IsNull(i) {
		dst.AppendNull()
		return
	}
	t := src.Type
	switch {
	case t.Kind == types.KindString || t.Kind == types.KindBytes || t.Kind == types.KindJSON:
		dst.AppendBytes(src.Bytes(i))
	case t.Kind == types.KindBoolean:
		dst.AppendBool(src.Bools[i])
	case t.Kind == types.KindFloat:
		dst.AppendFloat(src.Floats[i])
	case t.Kind == types.KindInterval:
		dst.AppendInterval(src.Intervals[i])
	case t.Kind == types.KindDecimal && !t.Decimal64():
		d := src.Decs[i]
		dst.AppendDecimal(&d)
	default:
		dst.AppendInt(src.Ints[i])
	}
}

// appendKey appends an encoding of row i of v that is equal for equal
// values (and NULL) and unambiguous when keys are concatenated.
func appendKey(dst []byte, v *types.Vector, i int) []byte {
	if v.IsNull(i) {
		return append(dst, 0)
	}
	dst = append(dst, 1)
	t := v.Type
	switch {
	case t.Kind == types.KindString || t.Kind == types.KindBytes || t.Kind == types.KindJSON:
		b := v.Bytes(i)
		dst = binary.AppendUvarint(dst, uint64(len(b)))
		return append(dst, b...)
	case t.Kind == types.KindBoolean:
		if v.Bools[i] {
			return append(dst, 1)
		}
		return append(dst, 0)
	case t.Kind == types.KindFloat:
		f := v.Floats[i]
		switch {
		case f == 0:
			f = 0 // -0 groups with 0
		case math.IsNaN(f):
			f = math.NaN()
		}
		return binary.LittleEndian.AppendUint64(dst, math.Float64bits(f))
	case t.Kind == types.KindInterval:
		iv := v.Intervals[i]
		dst = binary.LittleEndian.AppendUint64(dst, uint64(iv.Months))
		return binary.LittleEndian.AppendUint64(dst, uint64(iv.Micros))
	case t.Kind == types.KindDecimal && !t.Decimal64():
		d := v.Decs[i]
		d.Reduce(&d) // 1.50 groups with 1.5
		s := d.String()
		dst = binary.AppendUvarint(dst, uint64(len(s)))
		return append(dst, s...)
	}
	return binary.LittleEndian.AppendUint64(dst, uint64(v.Ints[i]))
}

// decodeKey appends to v the value appendKey encoded at the start of key,
// and returns the rest of key.
func decodeKey(v *types.Vector, key string) (string, error) {
	bad := fmt.Errorf("runtime: bad group key encoding")
	if len(key) == 0 {
		return "", bad
	}
	if key[0] == 0 {
		v.AppendNull()
		return key[1:], nil
	}
	key = key[1:]
	fixed := func(n int) (uint64, error) {
		if len(key) < n {
			return 0, bad
		}
		var x uint64
		if n == 8 {
			x = binary.LittleEndian.Uint64([]byte(key[:8]))
		}
		key = key[n:]
		return x, nil
	}
	t := v.Type
	switch {
	case t.Kind == types.KindString || t.Kind == types.KindBytes || t.Kind == types.KindJSON,
		t.Kind == types.KindDecimal && !t.Decimal64():
		n, w := binary.Uvarint([]byte(key[:min(len(key), binary.MaxVarintLen64)]))
		if w <= 0 || uint64(len(key)-w) < n {
			return "", bad
		}
		body := key[w : w+int(n)]
		key = key[w+int(n):]
		if t.Kind == types.KindDecimal {
			var d apd.Decimal
			if _, _, err := d.SetString(body); err != nil {
				return "", bad
			}
			v.AppendDecimal(&d)
		} else {
			v.AppendString(body)
		}
		return key, nil
	case t.Kind == types.KindBoolean:
		if len(key) < 1 {
			return "", bad
		}
		v.AppendBool(key[0] == 1)
		return key[1:], nil
	case t.Kind == types.KindFloat:
		x, err := fixed(8)
		if err != nil {
			return "", err
		}
		v.AppendFloat(math.Float64frombits(x))
		return key, nil
	case t.Kind == types.KindInterval:
		m, err := fixed(8)
		if err != nil {
			return "", err
		}
		us, err := fixed(8)
		if err != nil {
			return "", err
		}
		v.AppendInterval(types.IntervalValue{Months: int32(m), Micros: int64(us)})
		return key, nil
	}
	x, err := fixed(8)
	if err != nil {
		return "", err
	}
	v.AppendInt(int64(x))
	return key, nil
}
