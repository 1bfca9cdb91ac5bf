package agg

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/sluice-sql/sluice/sql/expr"
	"github.com/sluice-sql/sluice/sql/types"
)

// The merge tests split random rows between two slots, dst (0) and src
// (1), give every row in that order to a third slot, whole (2), merge src
// into dst and compare dst with the reference over dst's live rows then
// src's, with whole, and with itself after further rows and a state round
// trip.

const (
	mDst, mSrc, mWhole = 0, 1, 2
)

// sideKind is what one side of a merge holds.
type sideKind int

const (
	sideRandom   sideKind = iota
	sideEmpty             // no rows at all
	sideNullOnly          // only NULL arguments
	sideEmptied           // rows, every one taken back (when retracting)
)

func (k sideKind) String() string {
	return [...]string{"random", "empty", "null-only", "emptied"}[k]
}

// sideOps returns n random rows for slot, of the kind asked, retracting
// (when the scenario retracts) only rows the slot holds, as a session
// window does: a retraction goes to the session its row went to.
func (sc *scenario) sideOps(slot, n int, kind sideKind) []op {
	if kind == sideEmpty {
		return nil
	}
	pending := append([]any(nil), sc.live[slot]...)
	var ops []op
	for range n {
		if sc.retracts && len(pending) > 0 && sc.rng.IntN(3) == 0 {
			i := sc.rng.IntN(len(pending))
			ops = append(ops, op{slot: slot, v: pending[i], w: -1})
			pending = append(pending[:i:i], pending[i+1:]...)
			continue
		}
		var v any
		if kind != sideNullOnly && sc.rng.IntN(5) != 0 {
			v = sc.genValue()
		}
		pending = append(pending, v)
		ops = append(ops, op{slot: slot, v: v, w: 1})
	}
	if kind == sideEmptied {
		for _, v := range pending {
			ops = append(ops, op{slot: slot, v: v, w: -1})
		}
	}
	return ops
}

func (sc *scenario) genValue() any { return genValue(sc.rng, sc.spec.Arg) }

func retarget(ops []op, slot int) []op {
	out := make([]op, len(ops))
	for i, o := range ops {
		o.slot = slot
		out[i] = o
	}
	return out
}

// interleave merges two slots' rows into batches, keeping each slot's
// order: the accumulators must not care how slots share a batch.
func (sc *scenario) interleave(a, b []op) {
	var batch []op
	for len(a) > 0 || len(b) > 0 {
		if len(b) == 0 || len(a) > 0 && sc.rng.IntN(2) == 0 {
			batch, a = append(batch, a[0]), a[1:]
		} else {
			batch, b = append(batch, b[0]), b[1:]
		}
		if sc.rng.IntN(8) == 0 {
			sc.apply(batch)
			batch = nil
		}
	}
	if len(batch) > 0 {
		sc.apply(batch)
	}
}

// sameSlots compares two slots' Count and Result: exactly, or for floats
// within the tolerance the reference comparison allows.
func (sc *scenario) sameSlots(when string, x, y int) {
	t := sc.t
	t.Helper()
	if cx, cy := sc.a.Count(x), sc.a.Count(y); cx != cy {
		t.Fatalf("%s: Count(%d) = %d, Count(%d) = %d", when, x, cx, y, cy)
	}
	sc.out.Reset(sc.rt, 2)
	if err := sc.a.Result(x, sc.out); err != nil {
		t.Fatal(err)
	}
	if err := sc.a.Result(y, sc.out); err != nil {
		t.Fatal(err)
	}
	gx, gy := sc.out.Value(0), sc.out.Value(1)
	if b, ok := gy.([]byte); ok { // BYTES: compare as sameValue compares
		gy = string(b)
	}
	if !sameValue(gx, gy) && !closeStat(sc.spec.Fn, gx, gy, sc.live[y]) {
		t.Fatalf("%s: slot %d = %v, slot %d = %v", when, x, show(gx), y, show(gy))
	}
}

// mergeOrderMatters reports whether one slot that received every row can
// differ from the merge in which of equal values a retraction removed
// (see firstLastRetract.Merge).
func mergeOrderMatters(spec Spec) bool {
	return spec.Retract && (spec.Fn == FnFirstValue || spec.Fn == FnLastValue)
}

func (sc *scenario) runMerge(dstKind, srcKind sideKind) {
	t := sc.t
	t.Helper()
	dstOps := sc.sideOps(mDst, 1+sc.rng.IntN(40), dstKind)
	srcOps := sc.sideOps(mSrc, 1+sc.rng.IntN(40), srcKind)
	sc.interleave(dstOps, srcOps)
	sc.apply(retarget(dstOps, mWhole))
	sc.apply(retarget(srcOps, mWhole))
	sc.check("before Merge")

	srcState := sc.a.AppendState(nil, mSrc)
	if err := sc.a.Merge(mDst, mSrc); err != nil {
		t.Fatalf("Merge: %v", err)
	}
	sc.live[mDst] = append(sc.live[mDst], sc.live[mSrc]...)
	sc.check("after Merge") // src is unchanged, dst is both
	if got := sc.a.AppendState(nil, mSrc); !bytes.Equal(got, srcState) {
		t.Fatalf("Merge changed src's state")
	}
	if !mergeOrderMatters(sc.spec) {
		sc.sameSlots("after Merge", mDst, mWhole)
	}

	// src is released; dst and whole take the same further rows,
	// retractions included.
	sc.a.Reset(mSrc)
	sc.live[mSrc] = nil
	for i := range 4 {
		ops := sc.sideOps(mDst, 1+sc.rng.IntN(12), sideRandom)
		sc.apply(append(ops, retarget(ops, mWhole)...))
		when := fmt.Sprintf("update %d after Merge", i)
		sc.check(when)
		if !mergeOrderMatters(sc.spec) {
			sc.sameSlots(when, mDst, mWhole)
		}
		if i == 1 {
			sc.roundTrip()
			sc.check("round trip after Merge")
		}
	}
	if sc.retracts {
		var ops []op
		for _, s := range []int{mDst, mWhole} {
			for _, v := range sc.live[s] {
				ops = append(ops, op{slot: s, v: v, w: -1})
			}
		}
		sc.apply(ops)
		sc.check("after retracting everything")
	}
}

var mergeCases = []struct{ dst, src sideKind }{
	{sideRandom, sideRandom}, {sideRandom, sideRandom}, {sideRandom, sideRandom},
	{sideEmpty, sideRandom}, {sideRandom, sideEmpty}, {sideEmpty, sideEmpty},
	{sideNullOnly, sideRandom}, {sideRandom, sideNullOnly}, {sideNullOnly, sideNullOnly},
	{sideEmpty, sideNullOnly}, {sideEmptied, sideRandom}, {sideRandom, sideEmptied},
}

func TestMergeAgainstReference(t *testing.T) {
	seed := uint64(1000)
	argTypes := append(testArgTypes[:len(testArgTypes):len(testArgTypes)], types.Interval())
	for _, fn := range allFns {
		for _, arg := range argTypes {
			if !accepts(fn, arg) {
				continue
			}
			for _, distinct := range []bool{false, true} {
				if distinct && fn == FnCountStar {
					continue
				}
				for _, retract := range []bool{false, true} {
					spec := Spec{Fn: fn, Distinct: distinct, Arg: arg, Retract: retract}
					retracts := retract || !needsRetractFlag(fn)
					t.Run(fmt.Sprintf("%s/%s/distinct=%v/retract=%v", fn, arg, distinct, retract), func(t *testing.T) {
						for _, c := range mergeCases {
							seed++
							if !retracts && (c.dst == sideEmptied || c.src == sideEmptied) {
								continue
							}
							t.Run(fmt.Sprintf("%s+%s", c.dst, c.src), func(t *testing.T) {
								sc := newScenario(t, spec, 3, seed)
								sc.retracts = retracts
								sc.runMerge(c.dst, c.src)
							})
						}
					})
				}
			}
		}
	}
}

// TestMergeOrder pins the FIRST_VALUE and LAST_VALUE contract: dst's rows
// arrived before src's, whichever slot was filled first.
func TestMergeOrder(t *testing.T) {
	for _, retract := range []bool{false, true} {
		for _, c := range []struct {
			fn       string
			dst, src []string
			want     any
		}{
			{FnFirstValue, []string{"a", "b"}, []string{"c", "d"}, "a"},
			{FnLastValue, []string{"a", "b"}, []string{"c", "d"}, "d"},
			{FnFirstValue, nil, []string{"c", "d"}, "c"},
			{FnLastValue, []string{"a", "b"}, nil, "b"},
			{FnFirstValue, nil, nil, nil},
		} {
			a, _ := New(Spec{Fn: c.fn, Arg: types.String(), Retract: retract})
			a.Grow(2)
			// src is filled first: the Merge call decides the order, not
			// the arrival at the operator.
			for _, side := range []struct {
				slot int32
				vals []string
			}{{1, c.src}, {0, c.dst}} {
				v := types.NewVector(types.String(), len(side.vals))
				slots := make([]int32, len(side.vals))
				for i, s := range side.vals {
					v.AppendString(s)
					slots[i] = side.slot
				}
				mustUpdate(t, a, v, seq(len(side.vals)), slots, nil)
			}
			if err := a.Merge(0, 1); err != nil {
				t.Fatal(err)
			}
			got := result(t, a, 0)
			if got != c.want && !(c.want == nil && got == nil) {
				t.Errorf("%s retract=%v: Merge(%v, %v) = %v, want %v", c.fn, retract, c.dst, c.src, got, c.want)
			}
		}
	}
}

// TestMergeRetractionAcrossSlots covers a retraction that src took before
// the row it retracts reached it, the row having gone to dst: the
// multisets record it as a negative count, which the merge cancels.
func TestMergeRetractionAcrossSlots(t *testing.T) {
	cases := []struct {
		spec Spec
		want any // after dst {7, 8, 8} and src {-8}
	}{
		{Spec{Fn: FnCount, Distinct: true, Arg: types.BigInt()}, int64(2)},
		{Spec{Fn: FnSum, Distinct: true, Arg: types.BigInt()}, int64(15)},
		{Spec{Fn: FnSum, Arg: types.BigInt()}, int64(15)},
		{Spec{Fn: FnMax, Arg: types.BigInt(), Retract: true}, int64(8)},
		{Spec{Fn: FnMin, Arg: types.BigInt(), Retract: true}, int64(7)},
	}
	for _, c := range cases {
		a, _ := New(c.spec)
		a.Grow(2)
		v := intVec(7, 8, 8)
		mustUpdate(t, a, v, []int32{1}, []int32{1}, []int8{-1})
		mustUpdate(t, a, v, seq(3), []int32{0, 0, 0}, nil)
		if err := a.Merge(0, 1); err != nil {
			t.Fatal(err)
		}
		if got := result(t, a, 0); got != c.want || a.Count(0) != 2 {
			t.Errorf("%s distinct=%v: %v (Count %d), want %v (Count 2)", c.spec.Fn, c.spec.Distinct, got, a.Count(0), c.want)
		}
		// Taking back the other 8 leaves 7 alone.
		mustUpdate(t, a, v, []int32{1}, []int32{0}, []int8{-1})
		want := int64(7)
		if c.spec.Fn == FnCount {
			want = 1
		}
		if got := result(t, a, 0); got != want {
			t.Errorf("%s distinct=%v after the last 8 left: %v, want %v", c.spec.Fn, c.spec.Distinct, got, want)
		}
	}
	// The current maximum's only copy cancelled by src: the next Result
	// finds the one below.
	a, _ := New(Spec{Fn: FnMax, Arg: types.BigInt(), Retract: true})
	a.Grow(2)
	v := intVec(7, 9)
	mustUpdate(t, a, v, seq(2), []int32{0, 0}, nil)
	mustUpdate(t, a, v, []int32{1}, []int32{1}, []int8{-1})
	if err := a.Merge(0, 1); err != nil {
		t.Fatal(err)
	}
	if got := result(t, a, 0); got != int64(7) {
		t.Fatalf("MAX after src cancelled the maximum = %v, want 7", got)
	}
}

func TestMergeOverflow(t *testing.T) {
	a, _ := New(Spec{Fn: FnSum, Arg: types.BigInt()})
	a.Grow(3)
	mustUpdate(t, a, intVec(math.MaxInt64, 1, -1), seq(3), []int32{0, 1, 2}, nil)
	if err := a.Merge(0, 2); err != nil {
		t.Fatalf("MaxInt64 + -1: %v", err)
	}
	if err := a.Merge(1, 2); err != nil {
		t.Fatal(err)
	}
	if got := result(t, a, 0); got != int64(math.MaxInt64-1) {
		t.Fatalf("SUM = %v", got)
	}
	mustUpdate(t, a, intVec(2), seq(1), []int32{1}, nil) // slot 1: 2
	err := a.Merge(0, 1)
	if !errors.Is(err, expr.ErrOverflow) || !strings.Contains(err.Error(), "SUM") {
		t.Fatalf("MaxInt64-1 + 2: err = %v, want an overflow naming SUM", err)
	}

	typ := types.Decimal(38, 0)
	for _, fn := range []string{FnSum, FnAvg} {
		a, _ = New(Spec{Fn: fn, Arg: typ})
		a.Grow(2)
		v := types.NewVector(typ, 1)
		// 1.2e38 is past DECIMAL(38) but within 128 bits.
		big := dec("6" + strings.Repeat("0", 37))
		v.AppendDecimal(&big)
		mustUpdate(t, a, v, []int32{0, 0}, []int32{0, 1}, nil)
		if err := a.Merge(0, 1); !errors.Is(err, expr.ErrOverflow) {
			t.Fatalf("%s(DECIMAL(38)): err = %v, want overflow", fn, err)
		}
	}
}

// TestMergeNonFinite checks that infinities and NaN are counted apart
// across a merge: taking them back after it restores the finite result.
func TestMergeNonFinite(t *testing.T) {
	v := types.NewVector(types.Double(), 5)
	for _, x := range []float64{1, math.Inf(1), 2, 3, math.NaN()} {
		v.AppendFloat(x)
	}
	cases := []struct {
		fn         string
		finiteWant float64
	}{
		{FnSum, 6},
		{FnAvg, 2},
		{FnVarPop, 2.0 / 3},
		{FnStddevSamp, 1},
	}
	for _, c := range cases {
		a, _ := New(Spec{Fn: c.fn, Arg: types.Double()})
		a.Grow(2)
		mustUpdate(t, a, v, seq(5), []int32{0, 0, 1, 1, 1}, nil)
		if err := a.Merge(0, 1); err != nil {
			t.Fatal(err)
		}
		if got := result(t, a, 0).(float64); !math.IsNaN(got) {
			t.Errorf("%s with +Inf and NaN = %v", c.fn, got)
		}
		mustUpdate(t, a, v, []int32{4}, []int32{0}, []int8{-1})
		if c.fn == FnSum {
			if got := result(t, a, 0); got != math.Inf(1) {
				t.Errorf("SUM with +Inf = %v", got)
			}
		}
		mustUpdate(t, a, v, []int32{1}, []int32{0}, []int8{-1})
		if got := result(t, a, 0).(float64); math.Abs(got-c.finiteWant) > 1e-12 {
			t.Errorf("%s after taking +Inf and NaN back = %v, want %v", c.fn, got, c.finiteWant)
		}
	}
}

// TestMergeCompensated checks that the merge of two compensated sums
// keeps what each compensated: a naive merge of 1e16+1+1 and -1e16+1+1
// gives 2 or 0, not 4.
func TestMergeCompensated(t *testing.T) {
	a, _ := New(Spec{Fn: FnSum, Arg: types.Double()})
	a.Grow(2)
	v := types.NewVector(types.Double(), 6)
	for _, x := range []float64{1e16, 1, 1, -1e16, 1, 1} {
		v.AppendFloat(x)
	}
	mustUpdate(t, a, v, seq(6), []int32{0, 0, 0, 1, 1, 1}, nil)
	if err := a.Merge(0, 1); err != nil {
		t.Fatal(err)
	}
	if got := result(t, a, 0); got != 4.0 {
		t.Fatalf("SUM = %v, want 4", got)
	}
}

func TestMergeIntoItselfPanics(t *testing.T) {
	a, _ := New(Spec{Fn: FnCountStar})
	a.Grow(1)
	defer func() {
		if recover() == nil {
			t.Fatal("Merge(0, 0) did not panic")
		}
	}()
	a.Merge(0, 0)
}

// TestMergeStringsDoNotAlias checks that a merged slot keeps its strings
// when src is reset and its vectors reused.
func TestMergeStringsDoNotAlias(t *testing.T) {
	for _, spec := range []Spec{
		{Fn: FnMax, Arg: types.String()},
		{Fn: FnMax, Arg: types.String(), Retract: true},
		{Fn: FnLastValue, Arg: types.String(), Retract: true},
		{Fn: FnCount, Distinct: true, Arg: types.String()},
	} {
		a, _ := New(spec)
		a.Grow(2)
		v := types.NewVector(types.String(), 1)
		v.AppendString("zz")
		mustUpdate(t, a, v, []int32{0}, []int32{1}, nil)
		if err := a.Merge(0, 1); err != nil {
			t.Fatal(err)
		}
		a.Reset(1)
		copy(v.Data, "aa")
		mustUpdate(t, a, v, []int32{0}, []int32{1}, nil)
		want := any("zz")
		if spec.Fn == FnCount {
			want = int64(1)
		}
		if got := result(t, a, 0); got != want {
			t.Errorf("%s: %v, want %v", spec.Fn, got, want)
		}
	}
}

// TestMergeDropsDrift checks that a merge leaving no values forgets the
// rounding residue, as Update does: src took back, in another order, the
// rows dst received, and the two compensated sums differ in their last
// bits.
func TestMergeDropsDrift(t *testing.T) {
	a, _ := New(Spec{Fn: FnSum, Arg: types.Double()})
	a.Grow(2)
	v := types.NewVector(types.Double(), 5)
	for _, x := range []float64{-9.3, -6.27e11, 6e-06, -36.7, 0} {
		v.AppendFloat(x)
	}
	mustUpdate(t, a, v, seq(4), []int32{0, 0, 0, 0}, nil)
	mustUpdate(t, a, v, []int32{2, 3, 0, 1}, []int32{1, 1, 1, 1}, []int8{-1, -1, -1, -1})
	if err := a.Merge(0, 1); err != nil {
		t.Fatal(err)
	}
	if got := result(t, a, 0); got != nil {
		t.Fatalf("SUM of no values = %v", got)
	}
	mustUpdate(t, a, v, []int32{4}, []int32{0}, nil)
	if got := result(t, a, 0); got != 0.0 {
		t.Fatalf("SUM of {0} after the merge = %v, want 0", got)
	}
}
