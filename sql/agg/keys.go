package agg

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"strings"
	"unsafe"

	"github.com/cockroachdb/apd/v3"
	"github.com/sluice-sql/sluice/sql/types"
)

// keyOps turns the values of one SQL type into comparable Go keys, for
// the multisets and kept values of MIN, MAX, FIRST_VALUE, LAST_VALUE and
// DISTINCT. Three key types cover every SQL type, so the generic code is
// instantiated three times:
//
//	int64   integers, DATE, TIMESTAMP, DECIMAL(p<=18) (coefficient),
//	        BOOLEAN (0, 1), FLOAT/DOUBLE (canonical IEEE bits)
//	i128    DECIMAL(p>18) (coefficient), INTERVAL (months, micros)
//	string  STRING, BYTES, JSON
type keyOps[K comparable] struct {
	// read returns row r's key. A string key aliases the vector: pass it
	// through own before keeping it past the call.
	read func(v *types.Vector, r int32) K
	own  func(k K) K
	// cmp orders keys as SQL orders the values.
	cmp func(a, b K) int
	// put appends the value of k to a vector of the type.
	put func(out *types.Vector, k K)
	enc func(dst []byte, k K) []byte
	dec func(r *reader) K
}

func keep[K any](k K) K { return k }

// keysFor returns the key operations of type t: exactly one result is
// non-nil.
func keysFor(t types.Type) (*keyOps[int64], *keyOps[i128], *keyOps[string]) {
	ints := &keyOps[int64]{
		read: func(v *types.Vector, r int32) int64 { return v.Ints[r] },
		own:  keep[int64],
		cmp:  cmp.Compare[int64],
		put:  func(out *types.Vector, k int64) { out.AppendInt(k) },
		enc:  appendVarint,
		dec:  (*reader).varint,
	}
	switch {
	case intBacked(t):
		return ints, nil, nil
	case t.Kind == types.KindBoolean:
		ints.read = func(v *types.Vector, r int32) int64 {
			if v.Bools[r] {
				return 1
			}
			return 0
		}
		ints.put = func(out *types.Vector, k int64) { out.AppendBool(k != 0) }
		return ints, nil, nil
	case t.Kind == types.KindFloat:
		ints.read = func(v *types.Vector, r int32) int64 { return floatKey(v.Floats[r]) }
		ints.cmp = func(a, b int64) int { return cmpFloat(floatOf(a), floatOf(b)) }
		ints.put = func(out *types.Vector, k int64) { out.AppendFloat(floatOf(k)) }
		return ints, nil, nil
	case t.Kind == types.KindDecimal:
		scale := t.Scale
		return nil, &keyOps[i128]{
			read: func(v *types.Vector, r int32) i128 {
				x, err := wideAt(v, r)
				if err != nil {
					panic(fmt.Sprintf("agg: %s vector holds %s: %v", v.Type, v.Decs[r].String(), err))
				}
				return x
			},
			own: keep[i128],
			cmp: i128.cmp,
			put: func(out *types.Vector, k i128) {
				var d apd.Decimal
				k.decimal(&d, scale)
				out.AppendDecimal(&d)
			},
			enc: appendI128,
			dec: (*reader).i128,
		}, nil
	case t.Kind == types.KindInterval:
		return nil, &keyOps[i128]{
			read: func(v *types.Vector, r int32) i128 {
				x := v.Intervals[r]
				return i128{hi: int64(x.Months), lo: uint64(x.Micros)}
			},
			own: keep[i128],
			cmp: i128.cmp, // months, then micros: a total order, not SQL's
			put: func(out *types.Vector, k i128) {
				out.AppendInterval(types.IntervalValue{Months: int32(k.hi), Micros: int64(k.lo)})
			},
			enc: appendI128,
			dec: (*reader).i128,
		}, nil
	}
	return nil, nil, &keyOps[string]{
		read: func(v *types.Vector, r int32) string {
			b := v.Data[v.Offsets[r]:v.Offsets[r+1]]
			if len(b) == 0 {
				return ""
			}
			// No copy on the hot path: map lookups with the aliasing key
			// are safe, and every key kept goes through own.
			return unsafe.String(&b[0], len(b))
		},
		own: strings.Clone,
		cmp: strings.Compare,
		put: func(out *types.Vector, k string) { out.AppendString(k) },
		enc: appendBytes,
		dec: (*reader).bytes,
	}
}

// canonicalNaN is the one NaN a float key holds, so that every NaN is the
// same group member (as SQL's GROUP BY and DISTINCT treat them).
const canonicalNaN = 0x7ff8000000000001

// floatKey maps x to bits that are equal exactly when SQL calls the
// values equal: -0 is 0 and every NaN is one NaN.
func floatKey(x float64) int64 {
	if x != x {
		return canonicalNaN
	}
	if x == 0 {
		return 0
	}
	return int64(math.Float64bits(x))
}

func floatOf(k int64) float64 { return math.Float64frombits(uint64(k)) }

// cmpFloat orders floats with NaN above every number.
func cmpFloat(a, b float64) int {
	an, bn := a != a, b != b
	switch {
	case an || bn:
		if an && bn {
			return 0
		}
		if an {
			return 1
		}
		return -1
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// decCtx is wide enough for every exact operation on DECIMAL(38) values
// and rounds half away from zero. It is never modified.
var decCtx = func() *apd.Context {
	c := apd.BaseContext.WithPrecision(2*types.MaxDecimalPrecision + 4)
	c.Rounding = apd.RoundHalfUp
	return c
}()

var errNotDecimal38 = errors.New("decimal does not fit DECIMAL(38)")

// pow10[i] is 10^i.
var pow10 = func() (p [19]int64) {
	p[0] = 1
	for i := 1; i < len(p); i++ {
		p[i] = p[i-1] * 10
	}
	return p
}()
