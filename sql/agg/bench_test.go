package agg

import (
	"math/rand/v2"
	"testing"

	"github.com/sluice-sql/sluice/sql/types"
)

// BenchmarkUpdate folds 1024-row batches of inserts into 1,000 groups and
// reports ns/row.
func BenchmarkUpdate(b *testing.B) {
	const n, groups = 1024, 1000
	rng := rand.New(rand.NewPCG(1, 2))
	ints := types.NewVector(types.BigInt(), n)
	decs := types.NewVector(types.Decimal(10, 2), n)
	strs := types.NewVector(types.String(), n)
	rows, slots := seq(n), make([]int32, n)
	for i := range n {
		ints.AppendInt(rng.Int64N(1_000_000))
		decs.AppendInt(rng.Int64N(100_000_000))
		strs.AppendString([]string{"bidder-1", "bidder-22", "bidder-333", "x"}[rng.IntN(4)])
		slots[i] = int32(rng.IntN(groups))
	}
	cases := []struct {
		name string
		spec Spec
		arg  *types.Vector
	}{
		{"COUNT(*)", Spec{Fn: FnCountStar}, nil},
		{"COUNT(BIGINT)", Spec{Fn: FnCount, Arg: types.BigInt()}, ints},
		{"SUM(BIGINT)", Spec{Fn: FnSum, Arg: types.BigInt()}, ints},
		{"MIN(BIGINT)", Spec{Fn: FnMin, Arg: types.BigInt()}, ints},
		{"MAX(BIGINT)/retract", Spec{Fn: FnMax, Arg: types.BigInt(), Retract: true}, ints},
		{"AVG(DECIMAL(10,2))", Spec{Fn: FnAvg, Arg: types.Decimal(10, 2)}, decs},
		{"SUM(DOUBLE)", Spec{Fn: FnSum, Arg: types.Double()}, nil},
		{"COUNT(DISTINCT BIGINT)", Spec{Fn: FnCount, Distinct: true, Arg: types.BigInt()}, ints},
		{"COUNT(DISTINCT STRING)", Spec{Fn: FnCount, Distinct: true, Arg: types.String()}, strs},
		{"STDDEV_POP(BIGINT)", Spec{Fn: FnStddevPop, Arg: types.BigInt()}, ints},
	}
	floats := types.NewVector(types.Double(), n)
	for i := range n {
		floats.AppendFloat(float64(ints.Ints[i]) / 7)
	}
	for _, c := range cases {
		if c.spec.Arg == types.Double() {
			c.arg = floats
		}
		b.Run(c.name, func(b *testing.B) {
			a, err := New(c.spec)
			if err != nil {
				b.Fatal(err)
			}
			a.Grow(groups)
			b.ReportAllocs()
			for b.Loop() {
				if err := a.Update(c.arg, rows, slots, nil); err != nil {
					// SUM may overflow after enough iterations: start over.
					a, _ = New(c.spec)
					a.Grow(groups)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/row")
		})
	}
}

// BenchmarkMerge merges one slot into another, as a session window does
// when a row bridges two sessions: 1,000 pairs of slots, each side having
// received 64 rows, half of the values in src also in dst. Every 1,000
// merges the dst slots are restored from their states, off the clock.
func BenchmarkMerge(b *testing.B) {
	const pairs, perSlot = 1000, 64
	cases := []struct {
		name string
		spec Spec
	}{
		{"SUM(BIGINT)", Spec{Fn: FnSum, Arg: types.BigInt()}},
		{"COUNT(DISTINCT BIGINT)", Spec{Fn: FnCount, Distinct: true, Arg: types.BigInt()}},
	}
	v := types.NewVector(types.BigInt(), 2*pairs*perSlot)
	var slots []int32
	for p := range pairs {
		base := int64(p) * 1000
		for i := range perSlot {
			v.AppendInt(base + int64(i)) // dst: base+0 .. base+63
			slots = append(slots, int32(p))
			v.AppendInt(base + perSlot/2 + int64(i)) // src: base+32 .. base+95
			slots = append(slots, int32(pairs+p))
		}
	}
	rows := seq(len(slots))
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			a, err := New(c.spec)
			if err != nil {
				b.Fatal(err)
			}
			a.Grow(2 * pairs)
			if err := a.Update(v, rows, slots, nil); err != nil {
				b.Fatal(err)
			}
			states := make([][]byte, pairs)
			for p := range pairs {
				states[p] = a.AppendState(nil, p)
			}
			b.ReportAllocs()
			p := 0
			for b.Loop() {
				if p == pairs {
					b.StopTimer()
					for q := range pairs {
						if err := a.LoadState(q, states[q]); err != nil {
							b.Fatal(err)
						}
					}
					p = 0
					b.StartTimer()
				}
				if err := a.Merge(p, pairs+p); err != nil {
					b.Fatal(err)
				}
				p++
			}
			if c.spec.Distinct {
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*perSlot), "ns/src-value")
			}
		})
	}
}
