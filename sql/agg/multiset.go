package agg

// multiset counts the values of one slot: key to net count, where a count
// may be negative (a retraction that came before its insert) but never
// zero: a key whose count returns to zero is removed. Entries sit in
// dense slices indexed by the map, so a count changes without a map
// write (a map write with a string key that aliases a vector would keep
// the alias) and removal swaps the last entry in.
type multiset[K comparable] struct {
	idx  map[K]int32
	keys []K
	cnts []int64
}

// add adds w to k's count and returns the counts before and after, and
// the stored (owned) key when the count after is not zero.
func (m *multiset[K]) add(k K, w int64, own func(K) K) (before, after int64, stored K) {
	if i, ok := m.idx[k]; ok {
		before = m.cnts[i]
		after = before + w
		if after != 0 {
			m.cnts[i] = after
			return before, after, m.keys[i]
		}
		m.remove(i)
		return before, 0, stored
	}
	if m.idx == nil {
		m.idx = make(map[K]int32)
	}
	k = own(k)
	m.idx[k] = int32(len(m.keys))
	m.keys = append(m.keys, k)
	m.cnts = append(m.cnts, w)
	return 0, w, k
}

func (m *multiset[K]) remove(i int32) {
	delete(m.idx, m.keys[i])
	last := int32(len(m.keys) - 1)
	if i != last {
		m.keys[i], m.cnts[i] = m.keys[last], m.cnts[last]
		m.idx[m.keys[i]] = i
	}
	var zero K
	m.keys[last] = zero // drop the reference to a string
	m.keys, m.cnts = m.keys[:last], m.cnts[:last]
}

// best returns the smallest (or, with max, the largest) key of positive
// count, scanning every entry.
func (m *multiset[K]) best(cmp func(a, b K) int, max bool) (K, bool) {
	var b K
	found := false
	for i, k := range m.keys {
		if m.cnts[i] <= 0 {
			continue
		}
		if !found {
			b, found = k, true
			continue
		}
		c := cmp(k, b)
		if c < 0 && !max || c > 0 && max {
			b = k
		}
	}
	return b, found
}

func (m *multiset[K]) appendState(dst []byte, ops *keyOps[K]) []byte {
	dst = appendUvarint(dst, uint64(len(m.keys)))
	for i, k := range m.keys {
		dst = ops.enc(dst, k)
		dst = appendVarint(dst, m.cnts[i])
	}
	return dst
}

func (m *multiset[K]) load(r *reader, ops *keyOps[K]) {
	n := r.uvarint()
	if n > uint64(len(r.b)) { // every entry takes at least a byte
		r.fail()
		return
	}
	*m = multiset[K]{}
	for range n {
		k := ops.dec(r)
		c := r.varint()
		if r.err != nil {
			return
		}
		if _, dup := m.idx[k]; dup || c == 0 {
			r.fail()
			return
		}
		m.add(k, c, keep[K])
	}
}
