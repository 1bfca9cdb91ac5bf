package runtime

import (
	"fmt"

	"github.com/sluice-sql/sluice/sql/types"
	"github.com/sluice-sql/sluice/state"
)

// mvIndexOp numbers the state of materialized-view indexes, apart from
// the operators' (numbered by plan node); each instance adds its own
// number, as every instance indexes whatever keys reach it.
const mvIndexOp = 1 << 24

// MaterializedIndexSpec returns the spec of a MaterializedIndex of rows
// of schema in keyed by the key columns.
func MaterializedIndexSpec(name string, in types.Schema, key []int) OperatorSpec {
	return OperatorSpec{Name: name, NewWith: func(oc OperatorContext) (Operator, error) {
		var kv KeyedState
		if oc.State != nil {
			s, err := oc.State.Store(mvIndexOp+uint32(oc.Instance), state.StoreOptions{})
			if err != nil {
				return nil, fmt.Errorf("runtime: materialized view index: %w", err)
			}
			kv = s
		}
		return NewMaterializedIndex(in, key, kv)
	}}
}

// MaterializedIndex keeps a materialized view's current rows by key, from
// the changelog its job writes, so that a query naming a key is answered
// from it (Lookup, through Job.Query) instead of a scan of the view's
// topic. It passes every batch on unchanged.
type MaterializedIndex struct {
	in     types.Schema
	key    []int
	kv     KeyedState
	hashes []uint64
	keyBuf []byte
	rowBuf []byte
}

// NewMaterializedIndex builds a MaterializedIndex keeping its rows in kv
// (a map in memory when nil).
func NewMaterializedIndex(in types.Schema, key []int, kv KeyedState) (*MaterializedIndex, error) {
	if len(key) == 0 {
		return nil, fmt.Errorf("runtime: a materialized view index needs a key")
	}
	if kv == nil {
		kv = newMemKeyedState()
	}
	return &MaterializedIndex{in: in, key: key, kv: kv}, nil
}

// Process implements Operator.
func (x *MaterializedIndex) Process(b *types.Batch, emit Emit) error {
	if b.Live() > 0 {
		x.hashes = types.HashKeys(b, x.key, x.hashes)
		var err error
		b.ForEach(func(i int) {
			if err != nil {
				return
			}
			kg := types.KeyGroup(x.hashes[i], types.DefaultKeyGroups)
			x.keyBuf = x.keyBuf[:0]
			for _, c := range x.key {
				x.keyBuf = appendKey(x.keyBuf, b.Cols[c], i)
			}
			switch b.Kind(i) {
			case types.UpdateBefore: // the update-after replaces it
			case types.Delete:
				err = x.kv.Delete(kg, x.keyBuf)
			default:
				x.rowBuf = x.rowBuf[:0]
				for c := range b.Cols {
					x.rowBuf = appendKey(x.rowBuf, b.Cols[c], i)
				}
				err = x.kv.Put(kg, x.keyBuf, x.rowBuf)
			}
		})
		if err != nil {
			return fmt.Errorf("materialized view index: %w", err)
		}
	}
	return emit(b)
}

// Finish implements Operator.
func (x *MaterializedIndex) Finish(Emit) error { return nil }

// Lookup appends to out (a batch of the view's schema) the row whose key
// is the one row of key (a batch of the key columns), if this instance
// holds it.
func (x *MaterializedIndex) Lookup(key *types.Batch, out *types.Batch) error {
	hashes := types.HashKeys(key, allColumns(len(key.Cols)), nil)
	kg := types.KeyGroup(hashes[0], types.DefaultKeyGroups)
	var k []byte
	for c := range key.Cols {
		k = appendKey(k, key.Cols[c], 0)
	}
	row, ok, err := x.kv.Get(kg, k)
	if err != nil || !ok {
		return err
	}
	rest := string(row)
	for c := range x.in {
		if rest, err = decodeKey(out.Cols[c], rest); err != nil {
			return err
		}
	}
	out.SetLen(out.Len() + 1)
	return nil
}

func allColumns(n int) []int {
	cols := make([]int, n)
	for i := range cols {
		cols[i] = i
	}
	return cols
}
