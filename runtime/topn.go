package runtime

import (
	"fmt"
	"sort"
	"strings"

	"github.com/cockroachdb/apd/v3"

	"github.com/sluice-sql/sluice/sql"
	"github.com/sluice-sql/sluice/sql/types"
)

// TopNSpec returns the spec of a TopN over rows of schema in for rank r
// (its partition, order and limit).
func TopNSpec(name string, in types.Schema, r *sql.Rank) OperatorSpec {
	return OperatorSpec{Name: name, New: func() (Operator, error) { return NewTopN(in, r) }}
}

// TopN keeps, per partition, the first Limit rows in the rank's order and
// emits the changes to that table as an updating result: the row number
// is the last column, so a row entering at position p inserts it (+I),
// moves every row after it down one (-U, +U) and, beyond the limit,
// deletes the last (-D). Ties keep arrival order. With a limit of 1 it
// is a deduplication: ORDER BY time keeps the first row per key, ORDER BY
// time DESC the latest.
//
// State is held in memory for now (the state package takes it over).
type TopN struct {
	in     types.Schema
	part   []int
	order  []sql.SortKey
	limit  int
	schema types.Schema // the output's: the input's columns, then the number
	out    *types.Batch
	parts  map[string]*topList
	seq    uint64

	keyBuf []byte
}

// topList is one partition's kept rows, best first.
type topList struct {
	rows []topRow
}

// topRow is a kept row: its order values, its arrival number (for ties)
// and the row itself, encoded as group keys are.
type topRow struct {
	vals []sortVal
	seq  uint64
	row  string
}

// sortVal is one order column's value, in the field its type uses.
type sortVal struct {
	null bool
	i    int64
	f    float64
	s    string
	d    apd.Decimal
}

// NewTopN builds a TopN; see TopNSpec.
func NewTopN(in types.Schema, r *sql.Rank) (*TopN, error) {
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
		out: types.NewBatch(out, 0), parts: make(map[string]*topList)}, nil
}

// Process implements Operator.
func (t *TopN) Process(b *types.Batch, emit Emit) error {
	if b.Live() == 0 {
		return forwardWatermark(b, t.out, emit)
	}
	t.out.Reset(t.schema, 0)
	var err error
	b.ForEach(func(i int) {
		if err != nil {
			return
		}
		if b.Kind(i).IsRetraction() {
			err = fmt.Errorf("runtime: ROW_NUMBER over an updating input is not supported yet")
			return
		}
		t.keyBuf = t.keyBuf[:0]
		for _, c := range t.part {
			t.keyBuf = appendKey(t.keyBuf, b.Cols[c], i)
		}
		l, ok := t.parts[string(t.keyBuf)]
		if !ok {
			l = &topList{}
			t.parts[string(t.keyBuf)] = l
		}
		row := topRow{vals: make([]sortVal, len(t.order)), seq: t.seq}
		t.seq++
		for k, o := range t.order {
			row.vals[k] = readSortVal(b.Cols[o.Col], i)
		}
		n := len(l.rows)
		if n == t.limit && !t.before(&row, &l.rows[n-1]) {
			return // not in the top
		}
		p := sort.Search(n, func(j int) bool { return t.before(&row, &l.rows[j]) })
		var enc []byte
		for c := range b.Cols {
			enc = appendKey(enc, b.Cols[c], i)
		}
		row.row = string(enc)
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
	t.out.Watermark = b.Watermark
	if t.out.Len() == 0 {
		return forwardWatermark(b, t.out, emit)
	}
	return emit(t.out)
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

// before reports whether a comes before b in the rank's order; ties go to
// the earlier arrival. NULL comes first, as the smallest value.
func (t *TopN) before(a, b *topRow) bool {
	for k, o := range t.order {
		c := compareSortVal(&a.vals[k], &b.vals[k], t.in[o.Col].Type)
		if o.Desc {
			c = -c
		}
		if c != 0 {
			return c < 0
		}
	}
	return a.seq < b.seq
}

func readSortVal(v *types.Vector, i int) sortVal {
	if v.IsNull(i) {
		return sortVal{null: true}
	}
	t := v.Type
	switch {
	case t.Kind == types.KindString || t.Kind == types.KindBytes:
		return sortVal{s: string(v.Bytes(i))}
	case t.Kind == types.KindFloat:
		return sortVal{f: v.Floats[i]}
	case t.Kind == types.KindBoolean:
		if v.Bools[i] {
			return sortVal{i: 1}
		}
		return sortVal{}
	case t.Kind == types.KindDecimal && !t.Decimal64():
		var s sortVal
		s.d.Set(&v.Decs[i])
		return s
	}
	return sortVal{i: v.Ints[i]}
}

func compareSortVal(a, b *sortVal, t types.Type) int {
	switch {
	case a.null && b.null:
		return 0
	case a.null:
		return -1
	case b.null:
		return 1
	}
	switch {
	case t.Kind == types.KindString || t.Kind == types.KindBytes:
		return strings.Compare(a.s, b.s)
	case t.Kind == types.KindFloat:
		switch {
		case a.f < b.f:
			return -1
		case a.f > b.f:
			return 1
		}
		return 0
	case t.Kind == types.KindDecimal && !t.Decimal64():
		return a.d.Cmp(&b.d)
	}
	switch {
	case a.i < b.i:
		return -1
	case a.i > b.i:
		return 1
	}
	return 0
}

// Finish implements Operator.
func (t *TopN) Finish(Emit) error { return nil }
