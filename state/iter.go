package state

import (
	"bytes"
	"fmt"
	"slices"
	"strings"

	"github.com/dgraph-io/badger/v4"
)

// An Iterator walks the keys of one key group of a Store that start with
// a prefix, in byte order, merging three sources: the cache's dirty
// entries, which win; staging, which holds the entries the store spilled
// this epoch; and the committed keyspace. Deletes and expired entries are
// skipped. Iteration does not fill the cache.
//
// The store may be written during iteration (deleting each key as it is
// visited is the common use); a write to a key not yet visited may or
// may not be seen. Key and Value are valid until the next call to Next.
type Iterator struct {
	s      *Store
	prefix int // length of the Badger key header
	now    int64

	dirty []*entry // dirty entries in range, sorted by key
	di    int

	txn                *badger.Txn
	staging, committed *badger.Iterator

	key, val []byte
	err      error
	done     bool
}

// Scan returns an iterator over the keys of key group kg that start with
// prefix (all of the group's keys when prefix is empty). Close it when
// done.
func (s *Store) Scan(kg int, prefix []byte) *Iterator {
	g := s.group(kg)
	it := &Iterator{s: s, prefix: stateHeader}
	if s.ttl > 0 {
		it.now = s.now()
	}
	// The dirty entries of the group: from the dirty list or the group's
	// map, whichever is shorter.
	match := func(e *entry) bool {
		return e.dirty && int(e.kg) == kg && strings.HasPrefix(e.key, string(prefix))
	}
	if s.dirty.n < len(g.m) {
		s.dirty.each(func(e *entry) {
			if match(e) {
				it.dirty = append(it.dirty, e)
			}
		})
	} else {
		for _, e := range g.m {
			if match(e) {
				it.dirty = append(it.dirty, e)
			}
		}
	}
	slices.SortFunc(it.dirty, func(a, b *entry) int { return strings.Compare(a.key, b.key) })

	it.txn = s.db.bdb.NewTransaction(false)
	open := func(ns byte) *badger.Iterator {
		p := appendStateKey(nil, ns, s.op, kg, prefix)
		bi := it.txn.NewIterator(badger.IteratorOptions{Prefix: p, PrefetchValues: true, PrefetchSize: 64})
		bi.Rewind()
		return bi
	}
	if g.spilled {
		it.staging = open(nsStaging)
	}
	it.committed = open(nsCommitted)
	return it
}

// Next advances to the next live key and reports whether there is one.
func (it *Iterator) Next() bool {
	if it.done {
		return false
	}
	for {
		// The smallest key among the sources' heads.
		var dk, sk, ck []byte
		var d *entry
		if it.di < len(it.dirty) {
			d = it.dirty[it.di]
			dk = []byte(d.key) // escapes nowhere; compared then dropped
		}
		if it.staging != nil && it.staging.Valid() {
			sk = it.staging.Item().Key()[it.prefix:]
		}
		if it.committed.Valid() {
			ck = it.committed.Item().Key()[it.prefix:]
		}
		if d == nil && sk == nil && ck == nil {
			it.done = true
			return false
		}
		min := pickMin(dk, d != nil, sk, sk != nil, ck, ck != nil)
		// The winner is the first source, in priority order, at min.
		var live bool
		switch {
		case d != nil && bytes.Equal(dk, min):
			it.key = append(it.key[:0], d.key...)
			live = !d.absent && !(it.s.ttl > 0 && d.written != 0 && it.s.expired(d.written, it.now))
			it.val = append(it.val[:0], d.val...)
		case sk != nil && bytes.Equal(sk, min):
			it.key = append(it.key[:0], sk...)
			live = it.load(it.staging.Item())
		default:
			it.key = append(it.key[:0], ck...)
			live = it.load(it.committed.Item())
		}
		if it.err != nil {
			it.done = true
			return false
		}
		// Advance every source at min; the key is copied in it.key.
		k := it.key
		if d != nil && d.key == string(k) {
			it.di++
		}
		if sk != nil && bytes.Equal(sk, k) {
			it.staging.Next()
		}
		if ck != nil && bytes.Equal(ck, k) {
			it.committed.Next()
		}
		if live {
			return true
		}
	}
}

// load decodes a Badger item into it.val and reports whether it is live.
func (it *Iterator) load(item *badger.Item) bool {
	var live bool
	err := item.Value(func(b []byte) error {
		kind, written, v, err := decodeValue(b)
		if err != nil {
			return err
		}
		live = kind == kindPut && !(it.s.ttl > 0 && it.s.expired(written, it.now))
		it.val = append(it.val[:0], v...)
		return nil
	})
	if err != nil {
		it.err = fmt.Errorf("state: scan: %w", err)
	}
	return live
}

func pickMin(a []byte, okA bool, b []byte, okB bool, c []byte, okC bool) []byte {
	var m []byte
	ok := false
	for _, x := range [...]struct {
		k  []byte
		ok bool
	}{{a, okA}, {b, okB}, {c, okC}} {
		if x.ok && (!ok || bytes.Compare(x.k, m) < 0) {
			m, ok = x.k, true
		}
	}
	return m
}

// Key returns the current key, without the key group.
func (it *Iterator) Key() []byte { return it.key }

// Value returns the current value.
func (it *Iterator) Value() []byte { return it.val }

// Err returns the error that ended the iteration, if any.
func (it *Iterator) Err() error { return it.err }

// Close releases the iterator's Badger snapshot.
func (it *Iterator) Close() error {
	if it.txn == nil {
		return it.err
	}
	if it.staging != nil {
		it.staging.Close()
	}
	it.committed.Close()
	it.txn.Discard()
	it.txn = nil
	it.done = true
	return it.err
}
