package state

// An entry is one key of a Store's write-back cache. It is either clean
// (equal to what Badger's committed keyspace, overlaid by the staging
// namespace, holds) or dirty (written since the last Commit and not yet
// in Badger). absent records that the key has no value: a cached miss
// when clean, a delete when dirty.
//
// Entries are never reused once evicted, so a slice returned by Get stays
// valid until the next Put or Delete of its key even if the entry is
// evicted meanwhile.
type entry struct {
	prev, next *entry // in the store's clean or dirty list
	key        string // also the key of the group's map: one allocation
	val        []byte
	written    int64 // Unix ns of the last write; 0: stamp at Commit
	kg         uint16
	dirty      bool
	absent     bool
}

// entryOverhead approximates the memory of an entry beyond its key and
// value: the struct and its share of the map.
const entryOverhead = 120

func (e *entry) size() int64 { return entryOverhead + int64(len(e.key)) + int64(cap(e.val)) }

// lru is a circular doubly-linked list with a sentinel: front is the most
// recently used entry, back the least.
type lru struct {
	root entry
	n    int
}

func (l *lru) init() { l.root.next, l.root.prev = &l.root, &l.root }

func (l *lru) pushFront(e *entry) {
	e.prev, e.next = &l.root, l.root.next
	e.next.prev, l.root.next = e, e
	l.n++
}

func (l *lru) remove(e *entry) {
	e.prev.next, e.next.prev = e.next, e.prev
	e.prev, e.next = nil, nil
	l.n--
}

// back returns the least recently used entry, or nil.
func (l *lru) back() *entry {
	if l.root.prev == &l.root {
		return nil
	}
	return l.root.prev
}

// moveToFront marks e, which is in l, as just used.
func (l *lru) moveToFront(e *entry) {
	if l.root.next == e {
		return
	}
	e.prev.next, e.next.prev = e.next, e.prev
	e.prev, e.next = &l.root, l.root.next
	e.next.prev, l.root.next = e, e
}

// each calls fn for every entry from front to back; fn must not change l.
func (l *lru) each(fn func(e *entry)) {
	for e := l.root.next; e != &l.root; e = e.next {
		fn(e)
	}
}
