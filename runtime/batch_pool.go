package runtime

import (
	"context"

	"github.com/sluice-sql/sluice/sql/types"
)

// batchPool recycles the batches of one edge. Only the edge's sender calls
// get and only its receiver calls put, so allocated needs no lock. At most
// max batches ever exist, which is what bounds how far a sender runs ahead.
type batchPool struct {
	free      chan *types.Batch
	schema    types.Schema
	capacity  int // rows per batch
	allocated int
}

func newBatchPool(schema types.Schema, batches, rows int) *batchPool {
	return &batchPool{free: make(chan *types.Batch, batches), schema: schema, capacity: rows}
}

// get returns an empty batch, blocking while all of them are in flight.
func (p *batchPool) get(ctx context.Context) (*types.Batch, error) {
	var b *types.Batch
	select {
	case b = <-p.free:
	default:
		if p.allocated < cap(p.free) {
			p.allocated++
			return types.NewBatch(p.schema, p.capacity), nil
		}
		select {
		case b = <-p.free:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	b.Reset(p.schema, p.capacity)
	return b, nil
}

// put returns a batch; it never blocks, since the pool has room for every
// batch it made.
func (p *batchPool) put(b *types.Batch) {
	select {
	case p.free <- b:
	default:
		panic("runtime: batch returned to a full pool")
	}
}
