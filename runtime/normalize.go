package runtime

import (
	"bytes"
	"fmt"

	"github.com/sluice-sql/sluice/sql/types"
)

// UpsertNormalizeSpec returns the spec of an UpsertNormalize over rows of
// schema in keyed by the keys columns.
// op numbers the operator in the job's state.
func UpsertNormalizeSpec(name string, op uint32, in types.Schema, keys []int) OperatorSpec {
	return OperatorSpec{Name: name, NewWith: func(oc OperatorContext) (Operator, error) {
		kv, err := oc.keyedState(op)
		if err != nil {
			return nil, err
		}
		return NewUpsertNormalize(in, keys, kv)
	}}
}

// UpsertNormalize turns an upsert table's rows (each the latest row of
// its key; a delete naming a key) into a changelog: the first row of a
// key is an insert, a later one an update (-U of the row it replaces,
// +U), a delete a -D of the key's row; a row equal to the one its key has
// changes nothing, and a delete of an absent key is dropped (compaction
// may have removed what it deleted).
//
// State, the latest row of every key (encoded as group keys are), is
// kept in keyed state.
type UpsertNormalize struct {
	in     types.Schema
	keys   []int
	kv     KeyedState
	out    *types.Batch
	hashes []uint64
	keyBuf []byte
	rowBuf []byte
	old    []byte
}

// NewUpsertNormalize builds an UpsertNormalize keeping its rows in kv (a
// map in memory when nil); see UpsertNormalizeSpec.
func NewUpsertNormalize(in types.Schema, keys []int, kv KeyedState) (*UpsertNormalize, error) {
	if kv == nil {
		kv = newMemKeyedState()
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("runtime: an upsert table needs a key")
	}
	for _, k := range keys {
		if k < 0 || k >= len(in) {
			return nil, fmt.Errorf("runtime: upsert key column %d out of range", k)
		}
	}
	return &UpsertNormalize{in: in, keys: keys, kv: kv, out: types.NewBatch(in, 0)}, nil
}

// Process implements Operator.
func (u *UpsertNormalize) Process(b *types.Batch, emit Emit) error {
	if b.Live() == 0 {
		return forwardWatermark(b, u.out, emit)
	}
	u.out.Reset(u.in, 0)
	u.hashes = types.HashKeys(b, u.keys, u.hashes)
	var err error
	b.ForEach(func(i int) {
		if err != nil {
			return
		}
		u.keyBuf = u.keyBuf[:0]
		for _, k := range u.keys {
			u.keyBuf = appendKey(u.keyBuf, b.Cols[k], i)
		}
		kg := types.KeyGroup(u.hashes[i], types.DefaultKeyGroups)
		old, had, gerr := u.kv.Get(kg, u.keyBuf)
		if gerr != nil {
			err = fmt.Errorf("upsert state: %w", gerr)
			return
		}
		u.old = append(u.old[:0], old...) // the state may reuse old's bytes
		if b.Kind(i) == types.Delete || b.Kind(i) == types.UpdateBefore {
			if had {
				if err = u.kv.Delete(kg, u.keyBuf); err == nil {
					err = u.write(string(u.old), types.Delete)
				}
			}
			return
		}
		u.rowBuf = u.rowBuf[:0]
		for c := range b.Cols {
			u.rowBuf = appendKey(u.rowBuf, b.Cols[c], i)
		}
		if had && bytes.Equal(u.old, u.rowBuf) {
			return
		}
		if err = u.kv.Put(kg, u.keyBuf, u.rowBuf); err != nil {
			return
		}
		if had {
			if err = u.write(string(u.old), types.UpdateBefore); err == nil {
				err = u.write(string(u.rowBuf), types.UpdateAfter)
			}
			return
		}
		err = u.write(string(u.rowBuf), types.Insert)
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
