package state

import (
	"errors"
	"fmt"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// A Store is the state of one operator instance: the keys of one operator
// in the key groups the instance owns, read and written through a
// write-back cache with a memory bound.
//
// A Store is used by one goroutine at a time (its operator instance's)
// and has no lock. DB.Commit reads every store's dirty entries, so it
// must happen after the epoch's last call on each store and before the
// next epoch's first one: the checkpoint barrier gives that order.
//
// Keys are user bytes within a key group. The caller computes the key
// group with types.KeyGroup(types.HashKeys(...), keyGroups), as the hash
// exchange does, so that state lives where the exchange routes its keys;
// the store never hashes. A key group outside the store's range is a
// broken invariant and panics.
type Store struct {
	db     *DB
	op     uint32
	first  int // key groups [first, first+len(groups))
	groups []group
	ttl    int64 // ns; 0: no TTL
	bound  int64
	clock  Clock

	bytes        int64 // memory of all entries
	clean, dirty lru
	spilledAny   bool        // something of this store is in staging
	rtxn         *badger.Txn // read snapshot for misses; nil when stale
	// onDisk holds the keys this store has put in Badger; when
	// trustFilter (Badger held nothing of the job's when the store was
	// made), a miss on a key it does not hold is absent without a lookup.
	onDisk      *keyFilter
	trustFilter bool
	keyBuf      []byte
	stats       Stats
}

// group is one key group of a Store.
type group struct {
	m map[string]*entry
	// spilled says that staging may hold keys of this group, so a miss
	// must look there before the committed keyspace.
	spilled bool
}

// Stats counts what a Store did since it was made.
type Stats struct {
	Hits, Misses int64 // Get found the key cached, or not
	Filtered     int64 // misses the key filter answered absent, with no Badger lookup
	Evictions    int64 // clean entries dropped for the memory bound
	Spills       int64 // dirty entries written to staging for the bound
	SpillBatches int64
	Expired      int64 // entries found expired by Get
	Bytes        int64 // memory of cached entries now
	Entries      int   // cached entries now
	DirtyEntries int   // of which dirty
	CacheBound   int64
}

// Stats returns the store's counters.
func (s *Store) Stats() Stats {
	st := s.stats
	st.Bytes, st.Entries, st.DirtyEntries, st.CacheBound = s.bytes, s.clean.n+s.dirty.n, s.dirty.n, s.bound
	return st
}

// Op returns the operator id of the store.
func (s *Store) Op() uint32 { return s.op }

// KeyGroups returns the key groups [first, end) of the store.
func (s *Store) KeyGroups() (first, end int) { return s.first, s.first + len(s.groups) }

func (s *Store) group(kg int) *group {
	i := kg - s.first
	if uint(i) >= uint(len(s.groups)) {
		panic(fmt.Sprintf("state: key group %d outside the store's [%d, %d) of operator %d",
			kg, s.first, s.first+len(s.groups), s.op))
	}
	return &s.groups[i]
}

// Get returns the value of key in key group kg, and whether it has one.
// The value must not be modified; it stays valid until the next Put or
// Delete of the same key. A cache hit does not allocate.
func (s *Store) Get(kg int, key []byte) ([]byte, bool, error) {
	g := s.group(kg)
	if e := g.m[string(key)]; e != nil {
		s.stats.Hits++
		if e.dirty {
			s.dirty.moveToFront(e)
		} else {
			s.clean.moveToFront(e)
		}
		if e.absent {
			return nil, false, nil
		}
		if s.ttl > 0 && e.written != 0 && s.expired(e.written, s.now()) {
			s.stats.Expired++
			s.setAbsent(e)
			return nil, false, s.enforceBound()
		}
		return e.val, true, nil
	}
	s.stats.Misses++
	return s.load(kg, g, key)
}

func (s *Store) now() int64 { return s.clock.Now().UnixNano() }

func (s *Store) expired(written, now int64) bool { return now-written >= s.ttl }

// load reads key from Badger, caches what it finds (a value or its
// absence) and returns it.
func (s *Store) load(kg int, g *group, key []byte) ([]byte, bool, error) {
	var val []byte
	var written int64
	var found bool
	if !s.trustFilter || s.onDisk.mayContain(string(key)) {
		var err error
		if val, written, found, err = s.read(kg, g, key); err != nil {
			return nil, false, err
		}
	} else {
		s.stats.Filtered++
	}
	e := &entry{key: string(key), kg: uint16(kg), absent: !found, written: written}
	if found {
		e.val = val
	}
	g.m[e.key] = e
	s.clean.pushFront(e)
	s.bytes += e.size()
	if found && s.ttl > 0 && s.expired(written, s.now()) {
		// Expired in Badger: absent from now on, and removed by the
		// next Commit.
		s.stats.Expired++
		s.setAbsent(e)
		found = false
	}
	if err := s.enforceBound(); err != nil {
		return nil, false, err
	}
	if !found {
		return nil, false, nil
	}
	return e.val, true, nil
}

// read looks key up in staging (when the group spilled this epoch) and
// then in the committed keyspace. The returned value is a copy.
func (s *Store) read(kg int, g *group, key []byte) (val []byte, written int64, found bool, err error) {
	if s.rtxn == nil {
		s.rtxn = s.db.bdb.NewTransaction(false)
	}
	if g.spilled {
		s.keyBuf = appendStateKey(s.keyBuf[:0], nsStaging, s.op, kg, key)
		kind, w, v, ok, err := s.readKey(s.keyBuf)
		if err != nil || ok {
			return v, w, ok && kind == kindPut, err
		}
	}
	s.keyBuf = appendStateKey(s.keyBuf[:0], nsCommitted, s.op, kg, key)
	kind, w, v, ok, err := s.readKey(s.keyBuf)
	if err == nil && ok && kind != kindPut {
		err = fmt.Errorf("%w: delete marker in the committed keyspace", ErrCorrupt)
	}
	return v, w, ok, err
}

func (s *Store) readKey(k []byte) (kind byte, written int64, v []byte, ok bool, err error) {
	item, err := s.rtxn.Get(k)
	if errors.Is(err, badger.ErrKeyNotFound) {
		return 0, 0, nil, false, nil
	}
	if err != nil {
		return 0, 0, nil, false, fmt.Errorf("state: read: %w", err)
	}
	var raw []byte
	err = item.Value(func(b []byte) error {
		var derr error
		kind, written, raw, derr = decodeValue(b)
		if derr == nil && kind == kindPut {
			v = append(make([]byte, 0, len(raw)), raw...)
		}
		return derr
	})
	return kind, written, v, err == nil, err
}

// Put sets the value of key in key group kg to a copy of val.
func (s *Store) Put(kg int, key, val []byte) error {
	g := s.group(kg)
	e := g.m[string(key)]
	if e == nil {
		e = &entry{key: string(key), kg: uint16(kg)}
		g.m[e.key] = e
		s.bytes += e.size()
		s.dirty.pushFront(e)
		e.dirty = true
	} else {
		s.markDirty(e)
	}
	if cap(e.val) < len(val) {
		s.bytes -= int64(cap(e.val))
		e.val = make([]byte, len(val))
		s.bytes += int64(cap(e.val))
	}
	e.val = append(e.val[:0], val...)
	e.absent = false
	e.written = 0
	if s.ttl > 0 {
		e.written = s.now()
	}
	return s.enforceBound()
}

// Delete removes key from key group kg.
func (s *Store) Delete(kg int, key []byte) error {
	g := s.group(kg)
	e := g.m[string(key)]
	switch {
	case e == nil:
		e = &entry{key: string(key), kg: uint16(kg), absent: true, dirty: true}
		g.m[e.key] = e
		s.bytes += e.size()
		s.dirty.pushFront(e)
	case e.absent && !e.dirty:
		// Known absent in Badger's view: nothing to do.
		s.clean.moveToFront(e)
		return nil
	default:
		s.setAbsent(e)
	}
	return s.enforceBound()
}

// setAbsent turns e into a dirty delete.
func (s *Store) setAbsent(e *entry) {
	s.markDirty(e)
	s.bytes -= int64(cap(e.val))
	e.val, e.absent, e.written = nil, true, 0
}

func (s *Store) markDirty(e *entry) {
	if e.dirty {
		s.dirty.moveToFront(e)
		return
	}
	s.clean.remove(e)
	s.dirty.pushFront(e)
	e.dirty = true
}

// enforceBound brings the cache under its bound: it evicts clean entries,
// least recently used first, and when only dirty entries are left it
// spills the least recently used of them to staging, which makes them
// clean, and evicts those.
func (s *Store) enforceBound() error {
	for s.bytes > s.bound {
		if e := s.clean.back(); e != nil {
			s.evict(e)
			continue
		}
		if s.dirty.n == 0 {
			return nil // an empty cache is within any bound
		}
		if err := s.spill(); err != nil {
			return err
		}
	}
	return nil
}

func (s *Store) evict(e *entry) {
	s.clean.remove(e)
	delete(s.groups[int(e.kg)-s.first].m, e.key)
	s.bytes -= e.size()
	s.stats.Evictions++
}

// spill writes the least recently used dirty entries to staging until the
// cache would be at three quarters of its bound once they are evicted, so
// that one Badger batch carries many entries. Staging is not the
// committed keyspace: Open discards it unless a Commit promoted it.
func (s *Store) spill() error {
	target := s.bytes - s.bound*3/4
	var batch []*entry
	var freed int64
	for e := s.dirty.root.prev; e != &s.dirty.root && freed < target; e = e.prev {
		batch = append(batch, e)
		freed += e.size()
	}
	now := s.now()
	s.db.spilled.Store(true) // before the first staging write
	wb := s.db.bdb.NewWriteBatch()
	defer wb.Cancel()
	var a arena
	for _, e := range batch {
		s.db.written.Add(int64(len(e.key)) + int64(len(e.val)))
		k := a.stateKey(nsStaging, s.op, int(e.kg), e.key)
		if err := wb.Set(k, a.value(e, now)); err != nil {
			return fmt.Errorf("state: spill: %w", err)
		}
	}
	if err := wb.Flush(); err != nil {
		return fmt.Errorf("state: spill: %w", err)
	}
	if h := s.db.hook; h != nil {
		h("spill")
	}
	for _, e := range batch {
		s.onDisk.add(e.key)
		if e.written == 0 {
			e.written = now
		}
		s.dirty.remove(e)
		e.dirty = false
		s.clean.pushFront(e)
		s.groups[int(e.kg)-s.first].spilled = true
	}
	s.spilledAny = true
	s.dropReadTxn() // the snapshot predates the spill
	s.stats.Spills += int64(len(batch))
	s.stats.SpillBatches++
	return nil
}

func (s *Store) dropReadTxn() {
	if s.rtxn != nil {
		s.rtxn.Discard()
		s.rtxn = nil
	}
}

// committed is called by Commit once the epoch is durable: every dirty
// entry is now what Badger holds, and staging is empty.
func (s *Store) committed(now int64) {
	for e := s.dirty.back(); e != nil; e = s.dirty.back() {
		s.onDisk.add(e.key)
		s.dirty.remove(e)
		e.dirty = false
		if e.written == 0 {
			e.written = now
		}
		s.clean.pushFront(e)
	}
	if s.spilledAny {
		for i := range s.groups {
			s.groups[i].spilled = false
		}
		s.spilledAny = false
	}
}

// arena hands out byte slices carved from large chunks, for the keys and
// values a Badger batch holds until it is flushed. Slices are never
// reused, so each stays valid after the arena grows.
type arena struct{ buf []byte }

func (a *arena) alloc(n int) []byte {
	if cap(a.buf)-len(a.buf) < n {
		a.buf = make([]byte, 0, max(n, 64<<10))
	}
	b := a.buf[len(a.buf) : len(a.buf) : len(a.buf)+n]
	a.buf = a.buf[:len(a.buf)+n]
	return b
}

func (a *arena) stateKey(ns byte, op uint32, kg int, key string) []byte {
	b := a.alloc(stateHeader + len(key))
	b = appendStateKey(b, ns, op, kg, nil)
	return append(b, key...)
}

// value encodes e for Badger, stamping now when e has no write time.
func (a *arena) value(e *entry, now int64) []byte {
	w := e.written
	if w == 0 {
		w = now
	}
	kind := kindPut
	if e.absent {
		kind = kindDelete
	}
	return appendValue(a.alloc(valueHeader+len(e.val)), kind, w, e.val)
}

// ttlNanos converts a TTL to nanoseconds, 0 for none.
func ttlNanos(d time.Duration) int64 {
	if d <= 0 {
		return 0
	}
	return int64(d)
}
