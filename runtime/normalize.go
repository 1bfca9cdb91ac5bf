package runtime

import (
	"fmt"

	"github.com/sluice-sql/sluice/sql/types"
)

// UpsertNormalizeSpec returns the spec of an UpsertNormalize over rows of
// schema in keyed by the keys columns.
func UpsertNormalizeSpec(name string, in types.Schema, keys []int) OperatorSpec {
	return OperatorSpec{Name: name, New: func() (Operator, error) { return NewUpsertNormalize(in, keys) }}
}

// UpsertNormalize turns an upsert table's rows (each the latest row of
// its key; a delete naming a key) into a changelog: the first row of a
// key is an insert, a later one an update (-U of the row it replaces,
// +U), a delete a -D of the key's row; a row equal to the one its key has
// changes nothing, and a delete of an absent key is dropped (compaction
// may have removed what it deleted).
//
// State, the latest row of every key, is held in memory for now (the
// state package takes it over).
type UpsertNormalize struct {
	in     types.Schema
	keys   []int
	rows   map[string]string // encoded key → encoded row
	out    *types.Batch
	keyBuf []byte
	rowBuf []byte
}

// NewUpsertNormalize builds an UpsertNormalize; see UpsertNormalizeSpec.
func NewUpsertNormalize(in types.Schema, keys []int) (*UpsertNormalize, error) {
	if len(keys) == 0 {
		return nil, fmt.Errorf("runtime: an upsert table needs a key")
	}
	for _, k := range keys {
		if k < 0 || k >= len(in) {
			return nil, fmt.Errorf("runtime: upsert key column %d out of range", k)
		}
	}
	return &UpsertNormalize{in: in, keys: keys, rows: make(map[string]string), out: types.NewBatch(in, 0)}, nil
}

// Process implements Operator.
func (u *UpsertNormalize) Process(b *types.Batch, emit Emit) error {
	if b.Live() == 0 {
		return forwardWatermark(b, u.out, emit)
	}
	u.out.Reset(u.in, 0)
	var err error
	b.ForEach(func(i int) {
		if err != nil {
			return
		}
		u.keyBuf = u.keyBuf[:0]
		for _, k := range u.keys {
			u.keyBuf = appendKey(u.keyBuf, b.Cols[k], i)
		}
		old, had := u.rows[string(u.keyBuf)]
		if b.Kind(i) == types.Delete || b.Kind(i) == types.UpdateBefore {
			if had {
				delete(u.rows, string(u.keyBuf))
				err = u.write(old, types.Delete)
			}
			return
		}
		u.rowBuf = u.rowBuf[:0]
		for c := range b.Cols {
			u.rowBuf = appendKey(u.rowBuf, b.Cols[c], i)
		}
		if had && old == string(u.rowBuf) {
			return
		}
		row := string(u.rowBuf)
		u.rows[string(u.keyBuf)] = row
		if had {
			if err = u.write(old, types.UpdateBefore); err == nil {
				err = u.write(row, types.UpdateAfter)
			}
			return
		}
		err = u.write(row, types.Insert)
	})
	if err != nil {
		return err
	}
	u.out.Watermark = b.Watermark
	if u.out.Len() == 0 {
		return forwardWatermark(b, u.out, emit)
	}
	return emit(u.out)
}

// write appends an encoded row with kind k to the output.
func (u *UpsertNormalize) write(row string, k types.ChangeKind) error {
	var err error
	for c := range u.in {
		if row, err = decodeKey(u.out.Cols[c], row); err != nil {
			return err
		}
	}
	j := u.out.Len()
	u.out.SetLen(j + 1)
	u.out.SetKind(j, k)
	return nil
}

// Finish implements Operator.
func (u *UpsertNormalize) Finish(Emit) error { return nil }
