package runtime

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/cockroachdb/apd/v3"

	"github.com/sluice-sql/sluice/sql"
	"github.com/sluice-sql/sluice/sql/agg"
	"github.com/sluice-sql/sluice/sql/types"
)

// GroupAggregateSpec returns the spec of a GroupAggregate over rows of
// schema in, grouped by the keys columns, computing calls.
// retract says the input is updating, so the aggregates must take
// retractions.
func GroupAggregateSpec(name string, in types.Schema, keys []int, calls []sql.AggCall, retract bool) OperatorSpec {
	return OperatorSpec{Name: name, New: func() (Operator, error) { return NewGroupAggregate(in, keys, calls, retract) }}
}

// GroupAggregate is an unwindowed GROUP BY: it keeps every group's
// aggregates and, for each input batch, emits the changes of the groups
// the batch touched, as a changelog: +I for a group's first row, -U and
// +U (its row before and after) when it changes, -D when its last row is
// retracted. Its input may be updating: a -U or -D row is retracted from
// its group.
//
// State is held in memory for now (the state package takes it over).
type GroupAggregate struct {
	in    types.Schema
	keys  []int
	calls []sql.AggCall
	aggs  []agg.Agg
	// schema is the output's: the keys, then one column per call.
	schema types.Schema
	out    *types.Batch

	// slots maps a group's encoded key to its slot; keyStore holds each
	// slot's key values (row = slot), rows its live row count and
	// emitted whether its row is in the output now.
	slots    map[string]int32
	keyStore []*types.Vector
	rows     []int64
	emitted  []bool

	// Per batch: the live rows, their slots and weights; the slots
	// touched, once each, in first-touch order; the result rows of the
	// touched groups before the batch.
	keyBuf  []byte
	rowIdx  []int32
	slotOf  []int32
	weights []int8
	touched []int32
	mark    []uint32
	epoch   uint32
	before  *types.Batch
	// wasEmitted[i] says whether touched[i] had a row before the batch;
	// its row in before is beforeRow[i].
	wasEmitted []bool
	beforeRow  []int32
}

// NewGroupAggregate builds a GroupAggregate; see GroupAggregateSpec.
func NewGroupAggregate(in types.Schema, keys []int, calls []sql.AggCall, retract bool) (*GroupAggregate, error) {
	g := &GroupAggregate{in: in, keys: keys, calls: calls, slots: make(map[string]int32)}
	out := make(types.Schema, 0, len(keys)+len(calls))
	for _, k := range keys {
		if k < 0 || k >= len(in) {
			return nil, fmt.Errorf("runtime: aggregate key column %d out of range", k)
		}
		out = append(out, in[k])
		g.keyStore = append(g.keyStore, types.NewVector(in[k].Type, 0))
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
	g.epoch++
	g.rowIdx, g.slotOf, g.weights, g.touched = g.rowIdx[:0], g.slotOf[:0], g.weights[:0], g.touched[:0]
	b.ForEach(func(i int) {
		g.keyBuf = g.keyBuf[:0]
		for _, k := range g.keys {
			g.keyBuf = appendKey(g.keyBuf, b.Cols[k], i)
		}
		s, ok := g.slots[string(g.keyBuf)]
		if !ok {
			s = g.newSlot(b, i)
		}
		w := int8(1)
		if b.Kind(i).IsRetraction() {
			w = -1
		}
		g.rowIdx = append(g.rowIdx, int32(i))
		g.slotOf = append(g.slotOf, s)
		g.weights = append(g.weights, w)
		if g.mark[s] != g.epoch {
			g.mark[s] = g.epoch
			g.touched = append(g.touched, s)
		}
	})
	// The touched groups' rows before the batch.
	g.before.Reset(g.schema, len(g.touched))
	g.wasEmitted, g.beforeRow = g.wasEmitted[:0], g.beforeRow[:0]
	for _, s := range g.touched {
		g.wasEmitted = append(g.wasEmitted, g.emitted[s])
		g.beforeRow = append(g.beforeRow, int32(g.before.Len()))
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
		if err := a.Update(arg, g.rowIdx, g.slotOf, g.weights); err != nil {
			return fmt.Errorf("%s: %w", g.calls[k], err)
		}
	}
	for j, s := range g.slotOf {
		g.rows[s] += int64(g.weights[j])
	}
	// The changes: per touched group, its row before (-U, or -D when it
	// has no row left) and after (+U, or +I when it had none).
	g.out.Reset(g.schema, 2*len(g.touched))
	for i, s := range g.touched {
		was, now := g.wasEmitted[i], g.rows[s] > 0
		switch {
		case was && now:
			g.copyBefore(g.beforeRow[i], types.UpdateBefore)
			if err := g.writeRow(g.out, s); err != nil {
				return err
			}
			g.out.SetKind(g.out.Len()-1, types.UpdateAfter)
		case was:
			g.copyBefore(g.beforeRow[i], types.Delete)
		case now:
			if err := g.writeRow(g.out, s); err != nil {
				return err
			}
			g.out.SetKind(g.out.Len()-1, types.Insert)
		}
		g.emitted[s] = now
		if g.rows[s] < 0 {
			return fmt.Errorf("runtime: group retracted more rows than it received (the input's changelog is inconsistent)")
		}
	}
	if g.out.Len() == 0 {
		return forwardWatermark(b, g.out, emit)
	}
	g.out.Watermark = b.Watermark
	return emit(g.out)
}

// newSlot makes a slot for the group of row i of b.
func (g *GroupAggregate) newSlot(b *types.Batch, i int) int32 {
	s := int32(len(g.rows))
	g.slots[string(g.keyBuf)] = s
	for j, k := range g.keys {
		appendValue(g.keyStore[j], b.Cols[k], i)
	}
	g.rows = append(g.rows, 0)
	g.emitted = append(g.emitted, false)
	g.mark = append(g.mark, 0)
	for _, a := range g.aggs {
		a.Grow(int(s) + 1)
	}
	return s
}

// writeRow appends slot s's row (keys, then results) to out.
func (g *GroupAggregate) writeRow(out *types.Batch, s int32) error {
	j := out.Len()
	row := [1]int32{s}
	for k := range g.keys {
		appendVectorRows(out.Cols[k], g.keyStore[k], row[:], j)
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
	if len(g.keys) > 0 || len(g.rows) > 0 {
		return nil
	}
	for _, a := range g.aggs {
		a.Grow(1)
	}
	g.out.Reset(g.schema, 1)
	if err := g.writeRow(g.out, 0); err != nil {
		return err
	}
	return emit(g.out)
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
