package state

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// State TTL. A store with a TTL stamps each Put with its clock; an entry
// whose last write is TTL or more in the past is absent to Get and to
// iteration. Expired entries leave Badger three ways: Get turns an expired
// entry into a delete that the next Commit writes; CompactExpired removes
// expired entries from the committed keyspace directly; and a store
// without a TTL never expires anything (its entries are stamped at Commit,
// so a TTL set later measures from then).
//
// CompactExpired deletes committed keys outside Commit. That does not
// break the invariant that Badger holds the cut of the last Commit: it
// only removes entries every reader already treats as absent, and the
// clock does not run backwards. It holds commitMu while it deletes, and
// checks each key again inside the deleting transaction, so it never
// removes a value a Commit wrote meanwhile.

// compactBatch is how many expired keys CompactExpired deletes per
// transaction, between which Commit may run.
const compactBatch = 1000

// CompactExpired removes from Badger the committed entries of every
// operator with a TTL whose last write is at least TTL old, and runs
// Badger's value log GC. It returns the number of entries removed.
func (db *DB) CompactExpired(ctx context.Context) (int, error) {
	db.mu.Lock()
	if db.mu.closed {
		db.mu.Unlock()
		return 0, ErrClosed
	}
	ops := make(map[uint32]int64, len(db.mu.ttl))
	for op, ttl := range db.mu.ttl {
		ops[op] = ttl
	}
	db.mu.Unlock()
	total := 0
	for op, ttl := range ops {
		n, err := db.compactOperator(ctx, op, ttl)
		total += n
		if err != nil {
			return total, err
		}
	}
	// Values over ValueThreshold live in the value log; reclaim files
	// that are mostly garbage. ErrNoRewrite just means none is.
	for {
		err := db.bdb.RunValueLogGC(0.5)
		if err != nil {
			if !errors.Is(err, badger.ErrNoRewrite) && !errors.Is(err, badger.ErrRejected) {
				return total, fmt.Errorf("state: value log gc: %w", err)
			}
			break
		}
	}
	return total, nil
}

func (db *DB) compactOperator(ctx context.Context, op uint32, ttl int64) (int, error) {
	prefix := appendStateKey(nil, nsCommitted, op, 0, nil)[:5]
	start := prefix
	total := 0
	for {
		if err := ctx.Err(); err != nil {
			return total, err
		}
		now := db.opts.Clock.Now().UnixNano()
		var keys [][]byte
		var next []byte
		err := db.bdb.View(func(txn *badger.Txn) error {
			it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix, PrefetchValues: false})
			defer it.Close()
			for it.Seek(start); it.Valid(); it.Next() {
				item := it.Item()
				if len(keys) == compactBatch {
					next = item.KeyCopy(nil)
					return nil
				}
				var written int64
				if err := item.Value(func(b []byte) error {
					var err error
					_, written, _, err = decodeValue(b)
					return err
				}); err != nil {
					return err
				}
				if now-written >= ttl {
					keys = append(keys, item.KeyCopy(nil))
				}
			}
			return nil
		})
		if err != nil {
			return total, fmt.Errorf("state: compact operator %d: %w", op, err)
		}
		n, err := db.deleteExpired(keys, ttl, now)
		total += n
		if err != nil || next == nil {
			return total, err
		}
		start = next
	}
}

// deleteExpired deletes those of keys still expired at now, under
// commitMu.
func (db *DB) deleteExpired(keys [][]byte, ttl, now int64) (int, error) {
	if len(keys) == 0 {
		return 0, nil
	}
	db.commitMu.Lock()
	defer db.commitMu.Unlock()
	db.mu.Lock()
	closed := db.mu.closed
	db.mu.Unlock()
	if closed {
		return 0, ErrClosed
	}
	n := 0
	txn := db.bdb.NewTransaction(true)
	defer func() { txn.Discard() }()
	for _, k := range keys {
		item, err := txn.Get(k)
		if errors.Is(err, badger.ErrKeyNotFound) {
			continue
		}
		var written int64
		if err == nil {
			err = item.Value(func(b []byte) error {
				var err error
				_, written, _, err = decodeValue(b)
				return err
			})
		}
		if err != nil {
			return n, fmt.Errorf("state: compact: %w", err)
		}
		if now-written < ttl {
			continue // rewritten by a Commit since the scan
		}
		err = txn.Delete(k)
		if errors.Is(err, badger.ErrTxnTooBig) {
			if err = txn.Commit(); err == nil {
				txn = db.bdb.NewTransaction(true)
				err = txn.Delete(k)
			}
		}
		if err != nil {
			return n, fmt.Errorf("state: compact: %w", err)
		}
		n++
	}
	if err := txn.Commit(); err != nil {
		return 0, fmt.Errorf("state: compact: %w", err)
	}
	return n, nil
}

// expireLoop runs CompactExpired every ExpiryInterval until ctx ends.
func (db *DB) expireLoop(ctx context.Context) {
	defer db.wg.Done()
	t := time.NewTicker(db.opts.ExpiryInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if _, err := db.CompactExpired(ctx); err != nil && ctx.Err() == nil && !errors.Is(err, ErrClosed) {
			db.opts.Logger.Warningf("expiring state: %v", err)
		}
	}
}
