package state

import (
	"hash/maphash"
)

// keyFilter is a scalable Bloom filter of the keys a Store has put in
// Badger (spilled or committed), so that a miss on a key never written
// there costs no Badger lookup: most misses of a growing keyspace are of
// new keys. It answers "maybe" for every key it holds, and "no" for
// almost every other (about 1% false positives). It grows by adding a
// filter twice the size of the last when that one is full.
type keyFilter struct {
	seed  maphash.Seed
	parts []bloom
}

type bloom struct {
	bits  []uint64
	n     int // keys added
	limit int // keys it is sized for
}

const (
	bloomBitsPerKey = 10 // about 1% false positives with bloomHashes
	bloomHashes     = 7
	bloomFirstKeys  = 1 << 14
)

func newKeyFilter() *keyFilter { return &keyFilter{seed: maphash.MakeSeed()} }

func newBloom(keys int) bloom {
	return bloom{bits: make([]uint64, (keys*bloomBitsPerKey+63)/64), limit: keys}
}

// hashes returns the two hashes the probe positions derive from.
func (f *keyFilter) hashes(key string) (uint64, uint64) {
	h := maphash.String(f.seed, key)
	return h, h>>32 | h<<32 | 1
}

func (f *keyFilter) add(key string) {
	if len(f.parts) == 0 || f.parts[len(f.parts)-1].n >= f.parts[len(f.parts)-1].limit {
		next := bloomFirstKeys
		if len(f.parts) > 0 {
			next = 2 * f.parts[len(f.parts)-1].limit
		}
		f.parts = append(f.parts, newBloom(next))
	}
	b := &f.parts[len(f.parts)-1]
	h1, h2 := f.hashes(key)
	m := uint64(len(b.bits) * 64)
	for i := range uint64(bloomHashes) {
		p := (h1 + i*h2) % m
		b.bits[p/64] |= 1 << (p % 64)
	}
	b.n++
}

func (f *keyFilter) mayContain(key string) bool {
	h1, h2 := f.hashes(key)
	for k := range f.parts {
		b := &f.parts[k]
		m := uint64(len(b.bits) * 64)
		in := true
		for i := range uint64(bloomHashes) {
			p := (h1 + i*h2) % m
			if b.bits[p/64]&(1<<(p%64)) == 0 {
				in = false
				break
			}
		}
		if in {
			return true
		}
	}
	return false
}

// bytes is the filter's memory.
func (f *keyFilter) bytes() int64 {
	n := 0
	for _, b := range f.parts {
		n += len(b.bits) * 8
	}
	return int64(n)
}
