package types

import (
	"fmt"
	"math"
)

// Watermarks: a batch's Watermark is NoWatermark when it says nothing of
// event time, and EndOfTime after the last row of a bounded stream.
const (
	NoWatermark int64 = math.MinInt64
	EndOfTime   int64 = math.MaxInt64
)

// ChangeKind says what a row does to the result it belongs to, as in
// Flink's changelogs. Append-only streams carry only inserts.
type ChangeKind uint8

// The change kinds.
const (
	Insert       ChangeKind = iota // +I
	UpdateBefore                   // -U: the old row of an update, retracted
	UpdateAfter                    // +U: the new row of an update
	Delete                         // -D
)

func (k ChangeKind) String() string {
	switch k {
	case Insert:
		return "+I"
	case UpdateBefore:
		return "-U"
	case UpdateAfter:
		return "+U"
	case Delete:
		return "-D"
	}
	return fmt.Sprintf("ChangeKind(%d)", k)
}

// IsRetraction reports whether the row takes a previous row back.
func (k ChangeKind) IsRetraction() bool { return k == UpdateBefore || k == Delete }

// Batch is a set of rows in columnar form. All vectors have Len rows.
type Batch struct {
	Cols []*Vector
	// Kinds holds one change kind per row; nil means every row is an
	// insert.
	Kinds []ChangeKind
	// Sel lists the live rows in ascending order; nil means all rows are
	// live. A filter narrows Sel instead of moving data.
	Sel []int32
	// Watermark, unless NoWatermark, is the stream's event-time clock
	// after this batch (TIMESTAMP microseconds): no later row has an
	// event time below it, or that row is late. Watermarks of a
	// stream never go back. A batch may have no live row and carry only
	// a watermark.
	Watermark int64
	n         int
}

// NewBatch returns an empty batch for schema with room for capacity rows.
func NewBatch(schema Schema, capacity int) *Batch {
	b := &Batch{}
	b.Reset(schema, capacity)
	return b
}

// Reset empties the batch for schema, reusing its vectors.
func (b *Batch) Reset(schema Schema, capacity int) {
	for len(b.Cols) < len(schema) {
		b.Cols = append(b.Cols, &Vector{})
	}
	b.Cols = b.Cols[:len(schema)]
	for i, f := range schema {
		b.Cols[i].Reset(f.Type, capacity)
	}
	b.Kinds = nil
	b.Sel = nil
	b.Watermark = NoWatermark
	b.n = 0
}

// Len is the number of rows, live or not.
func (b *Batch) Len() int { return b.n }

// SetLen records that every vector now holds n rows; it panics if one
// does not, which is a bug in the operator that filled it.
func (b *Batch) SetLen(n int) {
	for i, c := range b.Cols {
		if c.Len() != n {
			panic(fmt.Sprintf("types: column %d has %d rows, batch has %d", i, c.Len(), n))
		}
	}
	if len(b.Kinds) > n {
		panic(fmt.Sprintf("types: %d change kinds for %d rows", len(b.Kinds), n))
	}
	for b.Kinds != nil && len(b.Kinds) < n {
		b.Kinds = append(b.Kinds, Insert)
	}
	b.n = n
}

// Live returns the number of live rows.
func (b *Batch) Live() int {
	if b.Sel != nil {
		return len(b.Sel)
	}
	return b.n
}

// Kind returns the change kind of row i.
func (b *Batch) Kind(i int) ChangeKind {
	if b.Kinds == nil {
		return Insert
	}
	return b.Kinds[i]
}

// SetKind sets the change kind of row i. Batches of inserts need not
// call it.
func (b *Batch) SetKind(i int, k ChangeKind) {
	if b.Kinds == nil && k == Insert {
		return
	}
	for len(b.Kinds) <= i {
		b.Kinds = append(b.Kinds, Insert)
	}
	b.Kinds[i] = k
}

// ForEach calls fn with the index of every live row, in order.
func (b *Batch) ForEach(fn func(i int)) {
	if b.Sel != nil {
		for _, i := range b.Sel {
			fn(int(i))
		}
		return
	}
	for i := 0; i < b.n; i++ {
		fn(i)
	}
}
