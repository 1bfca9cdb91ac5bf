package state

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/dgraph-io/badger/v4"
)

// Errors of the package.
var (
	// ErrCorrupt means the database holds a record this package did not
	// write.
	ErrCorrupt = errors.New("state: corrupt database")
	// ErrClosed is returned by calls on a closed DB.
	ErrClosed = errors.New("state: database closed")
	// ErrEpochOrder is returned by Commit when the epoch is not above the
	// last committed one.
	ErrEpochOrder = errors.New("state: epoch not above the last committed epoch")
	// ErrMustReopen is returned after a Commit failed once its epoch was
	// durable but before it was fully moved into place: the DB refuses
	// further work, and the next Open completes the commit.
	ErrMustReopen = errors.New("state: commit interrupted, reopen the database")
	// ErrKeyGroups is returned by Open when the database was created with
	// another number of key groups.
	ErrKeyGroups = errors.New("state: number of key groups differs from the database's")
	// ErrOverlap is returned by DB.Store when another store of the same
	// operator owns one of the key groups, or was made with another TTL.
	ErrOverlap = errors.New("state: stores of one operator overlap")
)

// A DB is the state of one job: one Badger database in a directory.
//
// Locking: commitMu serializes Commit, CompactExpired's deletes,
// DropOperator and Close; mu guards the registry of stores and the last
// checkpoint. Lock order: commitMu, then mu. Stores have no lock of their
// own (see Store).
type DB struct {
	opts Options
	bdb  *badger.DB

	commitMu sync.Mutex
	mu       struct {
		sync.Mutex
		stores    []*Store
		ttl       map[uint32]int64 // operators' TTL, in ns
		last      checkpoint
		lastBytes int64 // what the last Commit wrote
		failed    error // sticky: ErrMustReopen
		closed    bool
	}

	// spilled says that staging may hold entries of the uncommitted
	// epoch, so Commit must take the staged path. Stores set it from
	// their goroutines before they write staging.
	spilled atomic.Bool
	// written counts the bytes (keys and values) written for the
	// uncommitted epoch, spills included; Commit moves it to
	// mu.lastBytes.
	written atomic.Int64

	// hook, when set (by tests), is called at each point of Commit and
	// spill where a crash must leave the last commit intact.
	hook func(point string)

	stop context.CancelFunc
	wg   sync.WaitGroup
}

// Open opens or creates the state database in dir. If the last Commit was
// interrupted after it became durable, Open completes it; whatever an
// uncommitted epoch left in staging is discarded. The state read through
// the DB is then exactly that of the last successful Commit.
func Open(dir string, opts Options) (*DB, error) {
	opts.EnsureDefaults()
	if err := opts.Validate(); err != nil {
		return nil, fmt.Errorf("state: options: %w", err)
	}
	if err := removeEmptyMemtables(dir); err != nil {
		return nil, err
	}
	bdb, err := badger.Open(opts.badgerOptions(dir))
	if err != nil {
		return nil, fmt.Errorf("state: open %s: %w", dir, err)
	}
	db := &DB{opts: opts, bdb: bdb}
	db.mu.ttl = map[uint32]int64{}
	if err := db.recover(); err != nil {
		bdb.Close()
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	db.stop = cancel
	if opts.ExpiryInterval > 0 {
		db.wg.Add(1)
		go db.expireLoop(ctx)
	}
	return db, nil
}

// removeEmptyMemtables deletes the memtable logs (*.mem) of length zero
// in dir. A crash just after Badger created a memtable file, before it
// wrote the file's header, leaves one; Badger then refuses to open the
// database ("Create a new file", dgraph-io/badger#2207), although the
// file holds nothing. The crash test finds this.
func removeEmptyMemtables(dir string) error {
	names, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("state: open %s: %w", dir, err)
	}
	for _, n := range names {
		if !strings.HasSuffix(n.Name(), ".mem") || !n.Type().IsRegular() {
			continue
		}
		info, err := n.Info()
		if err == nil && info.Size() == 0 {
			err = os.Remove(filepath.Join(dir, n.Name()))
		}
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("state: open %s: %w", dir, err)
		}
	}
	return nil
}

// recover checks the format, finishes a pending commit and empties
// staging.
func (db *DB) recover() error {
	var kgs int
	var ck checkpoint
	err := db.bdb.View(func(txn *badger.Txn) error {
		var err error
		if kgs, err = getMeta(txn, formatKey, decodeFormat); err != nil {
			return err
		}
		ck, err = getMeta(txn, checkpointKey, decodeCheckpoint)
		return err
	})
	if err != nil {
		return err
	}
	switch {
	case kgs == 0:
		err := db.bdb.Update(func(txn *badger.Txn) error {
			return txn.Set([]byte(formatKey), encodeFormat(db.opts.KeyGroups))
		})
		if err != nil {
			return fmt.Errorf("state: write format: %w", err)
		}
	case kgs != db.opts.KeyGroups:
		return fmt.Errorf("%w: %d, the database has %d", ErrKeyGroups, db.opts.KeyGroups, kgs)
	}
	if ck.pending {
		if err := db.promote(); err != nil {
			return err
		}
		ck.pending = false
		if err := db.writeCheckpoint(ck); err != nil {
			return err
		}
	}
	if err := db.discardStaging(); err != nil {
		return err
	}
	db.mu.last = ck
	return nil
}

// getMeta reads and decodes a metadata record; the zero T when absent.
func getMeta[T any](txn *badger.Txn, key string, decode func([]byte) (T, error)) (T, error) {
	var zero T
	item, err := txn.Get([]byte(key))
	if errors.Is(err, badger.ErrKeyNotFound) {
		return zero, nil
	}
	if err != nil {
		return zero, fmt.Errorf("state: read %q: %w", key[1:], err)
	}
	b, err := item.ValueCopy(nil)
	if err != nil {
		return zero, fmt.Errorf("state: read %q: %w", key[1:], err)
	}
	return decode(b)
}

func (db *DB) writeCheckpoint(ck checkpoint) error {
	err := db.bdb.Update(func(txn *badger.Txn) error {
		return txn.Set([]byte(checkpointKey), ck.encode())
	})
	if err != nil {
		return fmt.Errorf("state: write checkpoint %d: %w", ck.epoch, err)
	}
	return db.sync()
}

func (db *DB) sync() error {
	if err := db.bdb.Sync(); err != nil {
		return fmt.Errorf("state: sync: %w", err)
	}
	return nil
}

// discardStaging deletes everything in the staging namespace.
func (db *DB) discardStaging() error {
	wb := db.bdb.NewWriteBatch()
	defer wb.Cancel()
	n := 0
	err := db.bdb.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte{nsStaging}})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			n++
			if err := wb.Delete(it.Item().KeyCopy(nil)); err != nil {
				return err
			}
		}
		return nil
	})
	if err == nil {
		err = wb.Flush()
	}
	if err != nil {
		return fmt.Errorf("state: discard staging: %w", err)
	}
	return nil
}

// promote moves every staging entry into the committed keyspace, in as
// many transactions as Badger needs. It is idempotent: staging holds final
// values and delete markers, and a staging key is deleted only in or after
// the transaction that applied it, so a crash part-way leaves a staging
// that a second promote completes.
func (db *DB) promote() error {
	rtxn := db.bdb.NewTransaction(false)
	defer rtxn.Discard()
	it := rtxn.NewIterator(badger.IteratorOptions{Prefix: []byte{nsStaging}, PrefetchValues: true, PrefetchSize: 100})
	defer it.Close()
	wtxn := db.bdb.NewTransaction(true)
	defer func() { wtxn.Discard() }()
	// apply adds one write to wtxn, committing it and starting another
	// when it is full.
	apply := func(op func(*badger.Txn) error) error {
		err := op(wtxn)
		if !errors.Is(err, badger.ErrTxnTooBig) {
			return err
		}
		if err := wtxn.Commit(); err != nil {
			return err
		}
		if db.hook != nil {
			db.hook("promote")
		}
		wtxn = db.bdb.NewTransaction(true)
		return op(wtxn)
	}
	for it.Rewind(); it.Valid(); it.Next() {
		item := it.Item()
		sk := item.KeyCopy(nil)
		v, err := item.ValueCopy(nil)
		if err != nil {
			return fmt.Errorf("state: promote: %w", err)
		}
		kind, _, _, err := decodeValue(v)
		if err != nil {
			return err
		}
		ck := append([]byte{nsCommitted}, sk[1:]...)
		if kind == kindDelete {
			err = apply(func(t *badger.Txn) error { return t.Delete(ck) })
		} else {
			err = apply(func(t *badger.Txn) error { return t.Set(ck, v) })
		}
		if err == nil {
			err = apply(func(t *badger.Txn) error { return t.Delete(sk) })
		}
		if err != nil {
			return fmt.Errorf("state: promote: %w", err)
		}
	}
	if err := wtxn.Commit(); err != nil {
		return fmt.Errorf("state: promote: %w", err)
	}
	return nil
}

// Store returns the store of operator op for the key groups in o. Each
// operator instance takes its own store; stores of one operator must own
// disjoint key groups and have the same TTL.
func (db *DB) Store(op uint32, o StoreOptions) (*Store, error) {
	if o.FirstKeyGroup == 0 && o.EndKeyGroup == 0 {
		o.EndKeyGroup = db.opts.KeyGroups
	}
	if o.FirstKeyGroup < 0 || o.EndKeyGroup > db.opts.KeyGroups || o.FirstKeyGroup >= o.EndKeyGroup {
		return nil, fmt.Errorf("state: key groups [%d, %d) not within [0, %d)", o.FirstKeyGroup, o.EndKeyGroup, db.opts.KeyGroups)
	}
	if o.CacheBytes == 0 {
		o.CacheBytes = db.opts.CacheBytes
	}
	db.mu.Lock()
	defer db.mu.Unlock()
	if db.mu.closed {
		return nil, ErrClosed
	}
	ttl := ttlNanos(o.TTL)
	for _, s := range db.mu.stores {
		if s.op != op {
			continue
		}
		if first, end := s.KeyGroups(); first < o.EndKeyGroup && o.FirstKeyGroup < end {
			return nil, fmt.Errorf("%w: operator %d has a store for key groups [%d, %d)", ErrOverlap, op, first, end)
		}
		if s.ttl != ttl {
			return nil, fmt.Errorf("%w: operator %d has TTL %v, not %v", ErrOverlap, op, s.ttl, o.TTL)
		}
	}
	s := &Store{
		db:     db,
		op:     op,
		first:  o.FirstKeyGroup,
		groups: make([]group, o.EndKeyGroup-o.FirstKeyGroup),
		ttl:    ttl,
		bound:  o.CacheBytes,
		clock:  db.opts.Clock,
		onDisk: newKeyFilter(),
		// A database with a checkpoint holds keys this store never
		// wrote: then every miss must look.
		trustFilter: db.mu.last.epoch == 0,
	}
	for i := range s.groups {
		s.groups[i].m = map[string]*entry{}
	}
	s.clean.init()
	s.dirty.init()
	db.mu.stores = append(db.mu.stores, s)
	if ttl > 0 {
		db.mu.ttl[op] = ttl
	}
	return s, nil
}

// LastCommit returns the epoch and metadata of the last successful
// Commit, or 0 and nil if there was none.
func (db *DB) LastCommit() (epoch uint64, meta []byte) {
	db.mu.Lock()
	defer db.mu.Unlock()
	return db.mu.last.epoch, append([]byte(nil), db.mu.last.meta...)
}

// Commit makes the dirty state of every store, and the entries they
// spilled, together with the checkpoint record (epoch, meta) the state
// Badger holds, atomically: after a crash at any point, Open yields either
// the previous commit or this one, entire. It must be called when no
// store is in use (at a barrier); stores keep their caches, now clean.
//
// An epoch whose writes fit in one Badger transaction, and that spilled
// nothing, commits in that one transaction. A larger one is written to
// staging, then made durable by writing its checkpoint record marked
// pending, then moved to the committed keyspace (see doc.go, "Commit").
func (db *DB) Commit(epoch uint64, meta []byte) error {
	db.commitMu.Lock()
	defer db.commitMu.Unlock()
	db.mu.Lock()
	last, failed, closed := db.mu.last.epoch, db.mu.failed, db.mu.closed
	stores := db.mu.stores
	db.mu.Unlock()
	switch {
	case closed:
		return ErrClosed
	case failed != nil:
		return failed
	case epoch <= last:
		return fmt.Errorf("%w: %d after %d", ErrEpochOrder, epoch, last)
	}
	for _, s := range stores {
		s.dropReadTxn()
	}
	eachDirty(stores, func(_ *Store, e *entry) error {
		db.written.Add(int64(len(e.key)) + int64(len(e.val)))
		return nil
	})
	now := db.opts.Clock.Now().UnixNano()
	ck := checkpoint{epoch: epoch, meta: append([]byte(nil), meta...)}
	done := false
	if !db.spilled.Load() {
		var err error
		if done, err = db.commitOne(stores, ck, now); err != nil {
			return err
		}
	}
	if !done {
		if err := db.commitStaged(stores, ck, now); err != nil {
			return err
		}
	}
	for _, s := range stores {
		s.committed(now)
	}
	db.spilled.Store(false)
	db.mu.Lock()
	db.mu.last = ck
	db.mu.lastBytes = db.written.Swap(0) + int64(len(meta))
	db.mu.Unlock()
	return nil
}

// LastCommitBytes returns the bytes of state the last Commit wrote: the
// keys and values changed in its epoch (spilled or not) and its meta.
func (db *DB) LastCommitBytes() int64 {
	db.mu.Lock()
	defer db.mu.Unlock()
	return db.mu.lastBytes
}

// eachDirty calls fn for every dirty entry of stores.
func eachDirty(stores []*Store, fn func(s *Store, e *entry) error) error {
	for _, s := range stores {
		for e := s.dirty.root.next; e != &s.dirty.root; e = e.next {
			if err := fn(s, e); err != nil {
				return err
			}
		}
	}
	return nil
}

// commitOne tries to commit in one transaction; it reports false, having
// written nothing, when the epoch does not fit.
func (db *DB) commitOne(stores []*Store, ck checkpoint, now int64) (bool, error) {
	txn := db.bdb.NewTransaction(true)
	defer txn.Discard()
	var a arena
	err := eachDirty(stores, func(s *Store, e *entry) error {
		k := a.stateKey(nsCommitted, s.op, int(e.kg), e.key)
		if e.absent {
			return txn.Delete(k)
		}
		return txn.Set(k, a.value(e, now))
	})
	if err == nil {
		err = txn.Set([]byte(checkpointKey), ck.encode())
	}
	if errors.Is(err, badger.ErrTxnTooBig) {
		return false, nil
	}
	if err == nil {
		err = txn.Commit()
	}
	if err == nil {
		err = db.sync()
	}
	if err != nil {
		return false, fmt.Errorf("state: commit %d: %w", ck.epoch, err)
	}
	if db.hook != nil {
		db.hook("committed")
	}
	return true, nil
}

// commitStaged commits through staging: dirty entries join the spilled
// ones in staging; the checkpoint record marked pending makes the epoch
// durable; promote moves staging into place; the record is rewritten
// without the mark.
func (db *DB) commitStaged(stores []*Store, ck checkpoint, now int64) error {
	db.spilled.Store(true)
	wb := db.bdb.NewWriteBatch()
	defer wb.Cancel()
	var a arena
	err := eachDirty(stores, func(s *Store, e *entry) error {
		return wb.Set(a.stateKey(nsStaging, s.op, int(e.kg), e.key), a.value(e, now))
	})
	if err == nil {
		err = wb.Flush()
	}
	if err == nil {
		err = db.sync() // staging durable before the record that names it
	}
	if err != nil {
		return fmt.Errorf("state: commit %d: stage: %w", ck.epoch, err)
	}
	if db.hook != nil {
		db.hook("staged")
	}
	ck.pending = true
	if err := db.writeCheckpoint(ck); err != nil {
		// The record may or may not be durable: only a reopen knows.
		return db.fail(err)
	}
	if db.hook != nil {
		db.hook("pending")
	}
	if err := db.promote(); err != nil {
		return db.fail(err)
	}
	if db.hook != nil {
		db.hook("promoted")
	}
	ck.pending = false
	if err := db.writeCheckpoint(ck); err != nil {
		return db.fail(err)
	}
	return nil
}

func (db *DB) fail(err error) error {
	err = fmt.Errorf("%w: %w", ErrMustReopen, err)
	db.mu.Lock()
	db.mu.failed = err
	db.mu.Unlock()
	return err
}

// DropOperator deletes all state of operator op, committed and staged.
// It changes the committed cut outside an epoch, so it is meant for a
// restore that maps a checkpoint onto a plan without the operator, before
// the job runs; the operator must have no store. It is not atomic but
// idempotent: after a crash, drop again.
func (db *DB) DropOperator(op uint32) error {
	db.commitMu.Lock()
	defer db.commitMu.Unlock()
	db.mu.Lock()
	for _, s := range db.mu.stores {
		if s.op == op {
			db.mu.Unlock()
			return fmt.Errorf("state: drop operator %d: it has a store", op)
		}
	}
	db.mu.Unlock()
	var c, st []byte
	c = appendStateKey(c, nsCommitted, op, 0, nil)[:5]
	st = appendStateKey(st, nsStaging, op, 0, nil)[:5]
	if err := db.bdb.DropPrefix(c, st); err != nil {
		return fmt.Errorf("state: drop operator %d: %w", op, err)
	}
	return nil
}

// Close stops the background work and closes the database. Uncommitted
// state is dropped; the next Open yields the last commit.
func (db *DB) Close() error {
	db.stop()
	db.wg.Wait()
	db.commitMu.Lock()
	defer db.commitMu.Unlock()
	db.mu.Lock()
	if db.mu.closed {
		db.mu.Unlock()
		return ErrClosed
	}
	db.mu.closed = true
	stores := db.mu.stores
	db.mu.Unlock()
	for _, s := range stores {
		s.dropReadTxn()
	}
	if err := db.bdb.Close(); err != nil {
		return fmt.Errorf("state: close: %w", err)
	}
	return nil
}

// Size returns the bytes the database takes on disk (Badger's LSM tree
// and value log), as Badger last measured them.
func (db *DB) Size() int64 {
	lsm, vlog := db.bdb.Size()
	return lsm + vlog
}
