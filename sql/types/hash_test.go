package types

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"testing"

	"github.com/cockroachdb/apd/v3"
)

// hashOf returns the hash of every row of a one-column batch holding vals
// (nil is NULL) in a column of type t.
func hashOf(t *testing.T, typ Type, vals ...any) []uint64 {
	t.Helper()
	b := NewBatch(Schema{{Name: "k", Type: typ}}, len(vals))
	appendValues(t, b.Cols[0], vals...)
	b.SetLen(len(vals))
	return HashKeys(b, []int{0}, nil)
}

func appendValues(t testing.TB, v *Vector, vals ...any) {
	t.Helper()
	for _, x := range vals {
		switch x := x.(type) {
		case nil:
			v.AppendNull()
		case bool:
			v.AppendBool(x)
		case int:
			v.AppendInt(int64(x))
		case int64:
			v.AppendInt(x)
		case float64:
			v.AppendFloat(x)
		case string:
			if v.Type.Kind == KindDecimal {
				d, _, err := apd.NewFromString(x)
				if err != nil {
					t.Fatal(err)
				}
				if !v.AppendDecimal(d) {
					t.Fatalf("%s does not fit %s", x, v.Type)
				}
			} else {
				v.AppendString(x)
			}
		case IntervalValue:
			v.AppendInterval(x)
		default:
			t.Fatalf("value %T", x)
		}
	}
}

func TestHashEqualities(t *testing.T) {
	for _, tc := range []struct {
		name string
		typ  Type
		same []any // all hash alike
		diff any   // hashes unlike them
	}{
		{"zeros", Double(), []any{0.0, math.Copysign(0, -1)}, 1.0},
		{"nans", Double(), []any{math.NaN(), math.Float64frombits(0x7ff0000000000123), -math.NaN()}, math.Inf(1)},
		{"null double", Double(), []any{nil, nil}, 0.0},
		{"null bigint", BigInt(), []any{nil, nil}, 0},
		{"null string", String(), []any{nil, nil}, ""},
		{"null bool", Boolean(), []any{nil, nil}, false},
		{"bigint", BigInt(), []any{42, 42}, 43},
		{"string", String(), []any{"abcdefghijk", "abcdefghijk"}, "abcdefghijK"},
		{"empty string", String(), []any{"", ""}, "\x00"},
		{"decimal64", Decimal(10, 2), []any{"1.5", "1.50", "1.499999"}, "1.51"},
		{"decimal wide", Decimal(38, 4), []any{"-12.5", "-12.50"}, "12.5"},
		{"decimal zero", Decimal(38, 10), []any{"0", "-0.0"}, "0.0000000001"},
		{"interval", Interval(), []any{IntervalValue{Months: 1}, IntervalValue{Months: 1}}, IntervalValue{Micros: 30 * 86400e6}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := hashOf(t, tc.typ, append(tc.same, tc.diff)...)
			for i := 1; i < len(tc.same); i++ {
				if h[i] != h[0] {
					t.Errorf("%v and %v hash %x and %x", tc.same[0], tc.same[i], h[0], h[i])
				}
			}
			if h[len(h)-1] == h[0] {
				t.Errorf("%v and %v both hash %x", tc.same[0], tc.diff, h[0])
			}
		})
	}
}

// A decimal hashes by value, whether stored as a scaled int64 or as an
// apd.Decimal, whatever its scale: both sides of a hash exchange agree.
func TestHashDecimalForms(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	narrow, wide := Decimal(18, 2), Decimal(38, 5)
	nv, wv := NewVector(narrow, 0), NewVector(wide, 0)
	const n = 2000
	for i := range n {
		var s string
		switch i % 4 {
		case 0:
			s = strconv.FormatInt(r.Int64N(2e15)-1e15, 10)
		case 1:
			s = fmt.Sprintf("%d.%02d", r.Int64N(2e15)-1e15, r.IntN(100))
		case 2:
			s = fmt.Sprintf("%d.%d0", r.IntN(100), r.IntN(10))
		default:
			s = fmt.Sprintf("-%d00", r.IntN(1000))
		}
		appendValues(t, nv, s)
		appendValues(t, wv, s)
	}
	if nv.Decs != nil || wv.Ints != nil {
		t.Fatal("the two vectors do not use the two storages")
	}
	hn, hw := make([]uint64, n), make([]uint64, n)
	for i := range n {
		hn[i], hw[i] = hashSeed, hashSeed
	}
	HashColumn(nv, nil, n, hn)
	HashColumn(wv, nil, n, hw)
	for i := range n {
		if hn[i] != hw[i] {
			a, b := nv.Decimal(i), wv.Decimal(i)
			t.Fatalf("row %d: %s as %s hashes %x, %s as %s hashes %x", i, a.String(), narrow, hn[i], b.String(), wide, hw[i])
		}
	}
	// 38 digits: beyond int64, still deterministic and value-based.
	h := hashOf(t, Decimal(38, 0), "12345678901234567890123456789012345678", "12345678901234567890123456789012345678", "12345678901234567890123456789012345670")
	if h[0] != h[1] || h[0] == h[2] {
		t.Errorf("38-digit hashes %x", h)
	}
}

// Only live rows are hashed, and a row's hash does not depend on which
// other rows are live or on how many key columns came before in other
// batches.
func TestHashKeysSelection(t *testing.T) {
	schema := Schema{{Name: "a", Type: BigInt()}, {Name: "s", Type: String()}, {Name: "f", Type: Double()}}
	b := NewBatch(schema, 8)
	r := rand.New(rand.NewPCG(3, 4))
	for i := range 100 {
		if i%7 == 0 {
			b.Cols[0].AppendNull()
		} else {
			b.Cols[0].AppendInt(r.Int64N(10))
		}
		if i%5 == 0 {
			b.Cols[1].AppendNull()
		} else {
			b.Cols[1].AppendString(strconv.Itoa(r.IntN(1000)))
		}
		b.Cols[2].AppendFloat(float64(r.IntN(3)))
	}
	b.SetLen(100)
	keys := []int{0, 1, 2}
	all := HashKeys(b, keys, nil)
	b.Sel = []int32{1, 5, 50, 99}
	const poison = 0xdeadbeef
	sel := make([]uint64, 100)
	for i := range sel {
		sel[i] = poison
	}
	sel = HashKeys(b, keys, sel)
	for i := range 100 {
		live := i == 1 || i == 5 || i == 50 || i == 99
		switch {
		case live && sel[i] != all[i]:
			t.Errorf("row %d: %x with Sel, %x without", i, sel[i], all[i])
		case !live && sel[i] != poison:
			t.Errorf("row %d is not live but was hashed", i)
		}
	}
	// Column order is part of the key.
	swapped := HashKeys(b, []int{1, 0, 2}, nil)
	if swapped[1] == all[1] && swapped[5] == all[5] {
		t.Error("key order does not change the hash")
	}
}

// TestHashGolden pins the hash: key groups are persisted with state, so a
// change here is a state-format change and must be deliberate.
func TestHashGolden(t *testing.T) {
	for _, tc := range []struct {
		typ  Type
		val  any
		want uint64
	}{
		{BigInt(), 0, 0x670527f286862c69},
		{BigInt(), 42, 0x34a4f54ed59bbc5d},
		{BigInt(), nil, 0x385a320768df6d5d},
		{String(), "", 0xd5c031562b49819e},
		{String(), "auction-1729", 0xa3ed9fa797ac64e7},
		{Double(), 2.5, 0xb8343d73fe64b613},
		{Decimal(10, 2), "3.14", 0x9e2451d2a9ced8a0},
		{Boolean(), true, 0x0093c56e1dcb401d},
	} {
		if got := hashOf(t, tc.typ, tc.val)[0]; got != tc.want {
			t.Errorf("hash of %v %v = %#x, want %#x", tc.typ, tc.val, got, tc.want)
		}
	}
}

func TestHashKeysAllocatesNothing(t *testing.T) {
	b := NewBatch(Schema{{Name: "a", Type: BigInt()}, {Name: "s", Type: String()}, {Name: "d", Type: Decimal(30, 2)}}, 1024)
	for i := range 1024 {
		b.Cols[0].AppendInt(int64(i))
		b.Cols[1].AppendString("key-" + strconv.Itoa(i))
		appendValues(t, b.Cols[2], fmt.Sprintf("%d.25", i))
	}
	b.Cols[1].AppendNull()
	b.Cols[0].AppendNull()
	b.Cols[2].AppendNull()
	b.SetLen(1025)
	hashes := make([]uint64, 1025)
	if n := testing.AllocsPerRun(10, func() { HashKeys(b, []int{0, 1, 2}, hashes) }); n != 0 {
		t.Errorf("HashKeys allocates %v times per batch", n)
	}
}

func TestKeyGroupsSpreadAndOwnership(t *testing.T) {
	for _, g := range []int{1, 7, 128, MaxKeyGroups} {
		for _, n := range []int{1, 2, 3, 5, 128} {
			if n > g {
				continue
			}
			end := 0
			for inst := range n {
				first, e := KeyGroupRange(inst, g, n)
				if first != end || e <= first {
					t.Fatalf("g=%d n=%d: instance %d owns [%d,%d) after %d", g, n, inst, first, e, end)
				}
				for kg := first; kg < e; kg++ {
					if o := KeyGroupOwner(kg, g, n); o != inst {
						t.Fatalf("g=%d n=%d: group %d owned by %d, range says %d", g, n, kg, o, inst)
					}
				}
				end = e
			}
			if end != g {
				t.Fatalf("g=%d n=%d: ranges end at %d", g, n, end)
			}
		}
	}
	// Sequential BIGINT keys spread evenly over the key groups.
	const keys = 128 * 1000
	b := NewBatch(Schema{{Name: "a", Type: BigInt()}}, keys)
	for i := range keys {
		b.Cols[0].AppendInt(int64(i))
	}
	b.SetLen(keys)
	counts := make([]int, DefaultKeyGroups)
	for _, h := range HashKeys(b, []int{0}, nil) {
		counts[KeyGroup(h, DefaultKeyGroups)]++
	}
	for kg, c := range counts {
		if c < 850 || c > 1150 {
			t.Errorf("key group %d holds %d keys, want about 1000", kg, c)
		}
	}
	if p := Partition(0xffffffffffffffff, 128, 3); p != 2 {
		t.Errorf("Partition of the top hash = %d, want the last instance", p)
	}
}

func BenchmarkHashKeys(b *testing.B) {
	const rows = 1024
	for _, tc := range []struct {
		name string
		typ  Type
		fill func(v *Vector, i int)
	}{
		{"BIGINT", BigInt(), func(v *Vector, i int) { v.AppendInt(int64(i) * 7919) }},
		{"STRING", String(), func(v *Vector, i int) { v.AppendString("customer-" + strconv.Itoa(i*7919)) }},
	} {
		b.Run(tc.name, func(b *testing.B) {
			batch := NewBatch(Schema{{Name: "k", Type: tc.typ}}, rows)
			for i := range rows {
				tc.fill(batch.Cols[0], i)
			}
			batch.SetLen(rows)
			hashes := make([]uint64, rows)
			b.ReportAllocs()
			for b.Loop() {
				HashKeys(batch, []int{0}, hashes)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*rows), "ns/row")
		})
	}
}
