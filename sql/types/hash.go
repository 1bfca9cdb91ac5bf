package types

import (
	"encoding/binary"
	"math"
	"math/bits"

	"github.com/cockroachdb/apd/v3"
)

// Key hashing and key groups.
//
// A hash exchange, keyed state and (later) rescaling must agree on which
// instance owns a key, so the mapping is fixed and stable:
//
//	key columns ─HashKeys─▶ uint64 ─KeyGroup─▶ key group ─KeyGroupOwner─▶ instance
//
// The hash is deterministic: no random seed, no dependence on the process,
// the platform's word size or the Go version. Key groups are persisted with
// keyed state (DESIGN.md §6: state is keyed by operator, key group, key),
// so changing HashKeys, HashColumn, KeyGroup or KeyGroupOwner for a value
// moves it to another key group and orphans its state. TestHashGolden pins
// the values; a change that breaks it is a state-format change.
//
// A key is mapped to one of a fixed number of key groups (DefaultKeyGroups
// unless the job says otherwise, as Flink's maximum parallelism), and key
// groups to instances in contiguous ranges. Rescaling from n to m instances
// then moves whole key groups and never splits one, so the state of a key
// group can be handed over as a unit. The number of key groups bounds the
// parallelism of a keyed operator and cannot change without rehashing
// every key.
//
// Equality the hash respects (rows equal under these rules hash equal):
//   - NULL equals NULL (as GROUP BY and hash partitioning need; a join
//     drops NULL keys itself). NULL hashes the same in every column type.
//   - FLOAT/DOUBLE: -0.0 equals 0.0, and every NaN equals every NaN.
//   - DECIMAL: numerically equal values hash equal whatever their storage
//     (scaled int64 or apd.Decimal), precision or scale: 1.5 and 1.50
//     hash alike.
//   - STRING, BYTES, JSON: byte-wise equality (no collation).
//   - INTERVAL: months and microseconds separately ('1' MONTH is not
//     '30' DAY).
//
// Values of different kinds are not made to hash alike (BIGINT 1 and
// DECIMAL 1.0 may differ): both sides of a hash exchange must present the
// key columns in the same types, which the planner's casts ensure.

// DefaultKeyGroups is the number of key groups a job has unless it sets
// another; it is the most instances a keyed operator can run.
const DefaultKeyGroups = 128

// MaxKeyGroups is the largest number of key groups.
const MaxKeyGroups = 1 << 15

// The constants of the hash. They are part of its definition: changing one
// changes every key's group.
const (
	hashSeed       uint64 = 0x9e3779b97f4a7c15 // 2^64 / golden ratio
	bytesSeed      uint64 = 0x1d8e4e27c47d124f // start of a byte string's hash
	hashMul        uint64 = 0xa0761d6478bd642f
	hashMul2       uint64 = 0xe7037ed1a0b428db
	nullKey        uint64 = 0x8ebc6af09c88c6e3 // what a NULL contributes
	nanKey         uint64 = 0x7ff8000000000001 // every NaN
	decimalZeroKey uint64 = 0x589965cc75374cc3 // decimal zero, at any scale
)

// fold multiplies to 128 bits and folds the halves: every input bit
// reaches the high output bits, which KeyGroup reads.
func fold(x, k uint64) uint64 {
	hi, lo := bits.Mul64(x, k)
	return hi ^ lo
}

// combine mixes the value v of one key column into the running hash h.
func combine(h, v uint64) uint64 { return fold(h^v, hashMul) }

// HashBytes returns the hash of a STRING, BYTES or JSON value as
// HashColumn uses it. It does not allocate.
func HashBytes(b []byte) uint64 {
	h := bytesSeed ^ uint64(len(b))*hashMul2
	for len(b) >= 8 {
		h = fold(h^binary.LittleEndian.Uint64(b), hashMul)
		b = b[8:]
	}
	if len(b) > 0 {
		var t uint64
		for i, c := range b {
			t |= uint64(c) << (8 * uint(i))
		}
		h = fold(h^t, hashMul2)
	}
	return h
}

func floatKey(x float64) uint64 {
	switch {
	case x == 0:
		return 0 // -0.0 and 0.0
	case x != x:
		return nanKey
	}
	return math.Float64bits(x)
}

// decimalKey hashes the decimal ±(hi·2^64 + lo)·10^exp after removing
// trailing zeros from the coefficient, so that every representation of a
// number hashes alike.
func decimalKey(lo, hi uint64, exp int64, neg bool) uint64 {
	if lo == 0 && hi == 0 {
		return decimalZeroKey
	}
	for {
		qhi, r := hi/10, hi%10
		qlo, r := bits.Div64(r, lo, 10)
		if r != 0 {
			break
		}
		hi, lo, exp = qhi, qlo, exp+1
	}
	k := fold(lo^hashSeed, hashMul)
	k = fold(k^hi, hashMul)
	s := uint64(exp) << 1
	if neg {
		s |= 1
	}
	return fold(k^s, hashMul2)
}

func decimal64Key(x int64, scale uint8) uint64 {
	mag := uint64(x)
	if x < 0 {
		mag = -mag // also right for math.MinInt64
	}
	return decimalKey(mag, 0, -int64(scale), x < 0)
}

// decimalValueKey hashes an apd.Decimal of a wide DECIMAL column.
// Coefficients of at most 128 bits (every DECIMAL(38,s)) are read from
// the BigInt's inline words without allocating.
func (v *Vector) decimalValueKey(i int) uint64 {
	d := &v.Decs[i]
	if d.Form != apd.Finite { // infinite or NaN: not SQL values, but hash stably
		return combine(uint64(d.Form), 0)
	}
	var lo, hi uint64
	words := d.Coeff.Bits()
	const w = bits.UintSize
	for j, x := range words {
		switch sh := j * w; {
		case sh < 64:
			lo |= uint64(x) << uint(sh)
		case sh < 128:
			hi |= uint64(x) << uint(sh-64)
		default:
			// Beyond 128 bits (no DECIMAL(38) value is): fold the rest
			// into hi, still deterministically.
			hi = fold(hi^uint64(x), hashMul)
		}
	}
	return decimalKey(lo, hi, int64(d.Exponent), d.Negative)
}

// HashKeys sets hashes[i], for every live row i of b (see Batch.Sel), to
// the hash of the row's values in the columns keys, in that order, and
// returns hashes, grown to b.Len() if it was shorter. Entries of rows that
// are not live are left unspecified. It allocates nothing when hashes is
// long enough.
func HashKeys(b *Batch, keys []int, hashes []uint64) []uint64 {
	n := b.Len()
	if cap(hashes) < n {
		hashes = make([]uint64, n)
	}
	hashes = hashes[:n]
	if b.Sel == nil {
		for i := range hashes {
			hashes[i] = hashSeed
		}
	} else {
		for _, i := range b.Sel {
			hashes[i] = hashSeed
		}
	}
	for _, k := range keys {
		HashColumn(b.Cols[k], b.Sel, n, hashes)
	}
	return hashes
}

// HashColumn combines the values of v at the rows sel (rows 0 to n-1 when
// sel is nil) into hashes, which is indexed by row. HashKeys calls it once
// per key column after setting each live row's hash to the seed; an
// operator that computes its keys into separate vectors can call it the
// same way. It allocates nothing.
func HashColumn(v *Vector, sel []int32, n int, hashes []uint64) {
	t := v.Type
	nulls := v.Nulls
	if !nulls.Any() {
		nulls = nil
	}
	switch {
	case t.Kind == KindNull:
		forRows(sel, n, func(i int) { hashes[i] = combine(hashes[i], nullKey) })
	case t.Kind == KindInt || t.Kind == KindDate || t.Kind == KindTimestamp:
		hashInts(v.Ints, nulls, sel, n, hashes)
	case t.Decimal64():
		ints, scale := v.Ints, t.Scale
		forRows(sel, n, func(i int) {
			k := nullKey
			if !nulls.Get(i) {
				k = decimal64Key(ints[i], scale)
			}
			hashes[i] = combine(hashes[i], k)
		})
	case t.Kind == KindDecimal:
		forRows(sel, n, func(i int) {
			k := nullKey
			if !nulls.Get(i) {
				k = v.decimalValueKey(i)
			}
			hashes[i] = combine(hashes[i], k)
		})
	case t.Kind == KindFloat:
		fl := v.Floats
		forRows(sel, n, func(i int) {
			k := nullKey
			if !nulls.Get(i) {
				k = floatKey(fl[i])
			}
			hashes[i] = combine(hashes[i], k)
		})
	case t.Kind == KindBoolean:
		bs := v.Bools
		forRows(sel, n, func(i int) {
			k := nullKey
			if !nulls.Get(i) {
				k = 0
				if bs[i] {
					k = 1
				}
			}
			hashes[i] = combine(hashes[i], k)
		})
	case t.Kind == KindInterval:
		iv := v.Intervals
		forRows(sel, n, func(i int) {
			k := nullKey
			if !nulls.Get(i) {
				k = fold(uint64(iv[i].Micros)^hashSeed, hashMul) ^ uint64(uint32(iv[i].Months))
			}
			hashes[i] = combine(hashes[i], k)
		})
	case t.varWidth():
		hashVarWidth(v.Offsets, v.Data, nulls, sel, n, hashes)
	default:
		panic("types: hash of a " + t.String() + " vector")
	}
}

// forRows calls fn for the rows sel, or 0 to n-1. The closure is called
// per row, which is fine for the less common key types; BIGINT and STRING
// keys have loops of their own.
func forRows(sel []int32, n int, fn func(i int)) {
	if sel == nil {
		for i := range n {
			fn(i)
		}
		return
	}
	for _, i := range sel {
		fn(int(i))
	}
}

func hashInts(ints []int64, nulls Bitmap, sel []int32, n int, hashes []uint64) {
	switch {
	case nulls == nil && sel == nil:
		ints, hashes := ints[:n], hashes[:n]
		for i, x := range ints {
			hashes[i] = combine(hashes[i], uint64(x))
		}
	case nulls == nil:
		for _, i := range sel {
			hashes[i] = combine(hashes[i], uint64(ints[i]))
		}
	default:
		forRows(sel, n, func(i int) {
			k := uint64(ints[i])
			if nulls.Get(i) {
				k = nullKey
			}
			hashes[i] = combine(hashes[i], k)
		})
	}
}

func hashVarWidth(offsets []int32, data []byte, nulls Bitmap, sel []int32, n int, hashes []uint64) {
	if nulls == nil && sel == nil {
		offsets, hashes := offsets[:n+1], hashes[:n]
		for i := range hashes {
			hashes[i] = combine(hashes[i], HashBytes(data[offsets[i]:offsets[i+1]]))
		}
		return
	}
	forRows(sel, n, func(i int) {
		k := nullKey
		if !nulls.Get(i) {
			k = HashBytes(data[offsets[i]:offsets[i+1]])
		}
		hashes[i] = combine(hashes[i], k)
	})
}

// KeyGroup returns the key group, in [0, keyGroups), of a key whose hash
// is h: the high bits of h scaled to the range (h·keyGroups / 2^64), so
// every group receives an equal share of the hash space. keyGroups must be
// in [1, MaxKeyGroups].
func KeyGroup(h uint64, keyGroups int) int {
	hi, _ := bits.Mul64(h, uint64(keyGroups))
	return int(hi)
}

// KeyGroupOwner returns the instance, in [0, parallelism), that owns key
// group kg when keyGroups groups are spread over parallelism instances:
// kg·parallelism / keyGroups. Each instance owns one contiguous range of
// groups (KeyGroupRange) and the ranges differ in size by at most one.
// parallelism must be in [1, keyGroups].
func KeyGroupOwner(kg, keyGroups, parallelism int) int {
	return kg * parallelism / keyGroups
}

// KeyGroupRange returns the key groups [first, end) that instance owns,
// the inverse of KeyGroupOwner: the groups whose state it must hold, and
// what it hands over when the job is rescaled.
func KeyGroupRange(instance, keyGroups, parallelism int) (first, end int) {
	ceilDiv := func(a, b int) int { return (a + b - 1) / b }
	return ceilDiv(instance*keyGroups, parallelism), ceilDiv((instance+1)*keyGroups, parallelism)
}

// Partition returns the instance that owns the key whose hash is h:
// KeyGroupOwner(KeyGroup(h, keyGroups), keyGroups, parallelism).
func Partition(h uint64, keyGroups, parallelism int) int {
	return KeyGroupOwner(KeyGroup(h, keyGroups), keyGroups, parallelism)
}
