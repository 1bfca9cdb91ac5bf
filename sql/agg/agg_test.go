package agg

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/cockroachdb/apd/v3"
	"github.com/sluice-sql/sluice/sql/expr"
	"github.com/sluice-sql/sluice/sql/types"
)

// The tests drive every accumulator with random sequences of inserts,
// NULLs and retractions over a few slots, and after every batch compare
// each slot's Result and Count with a reference that keeps the live rows
// of each group in arrival order and computes the aggregate directly.

var testArgTypes = []types.Type{
	types.BigInt(), types.Int(), types.Double(), types.Decimal(10, 2), types.Decimal(30, 4),
	types.String(), types.Boolean(), types.Date(), types.Timestamp(6), types.Bytes(),
}

var allFns = []string{FnCountStar, FnCount, FnSum, FnAvg, FnMin, FnMax, FnFirstValue, FnLastValue,
	FnStddevPop, FnStddevSamp, FnVarPop, FnVarSamp}

// genValue returns a random non-NULL value of t from a small domain, so
// that groups hold duplicates.
func genValue(rng *rand.Rand, t types.Type) any {
	switch t.Kind {
	case types.KindInt:
		return int64(rng.IntN(11) - 5)
	case types.KindDate:
		return int64(rng.IntN(11))
	case types.KindTimestamp:
		return int64(rng.IntN(11)) * 1_000_000
	case types.KindFloat:
		return float64(rng.IntN(41)-20) / 4
	case types.KindDecimal:
		var d apd.Decimal
		if t.Decimal64() {
			d.SetFinite(int64(rng.IntN(2001)-1000), -int32(t.Scale))
			return d
		}
		// Beyond int64: up to 25 digits.
		s := fmt.Sprintf("%d%015d.%04d", rng.IntN(201)-100, rng.Int64N(1e15), rng.IntN(10000))
		if _, _, err := d.SetString(s); err != nil {
			panic(err)
		}
		return d
	case types.KindString, types.KindBytes:
		return []string{"", "a", "ab", "b", "ba", "zz", "Ä"}[rng.IntN(7)]
	case types.KindBoolean:
		return rng.IntN(2) == 1
	case types.KindInterval:
		return types.IntervalValue{Months: int32(rng.IntN(3)), Micros: int64(rng.IntN(3))}
	}
	panic(t.String())
}

func appendValue(t *testing.T, v *types.Vector, x any) {
	t.Helper()
	switch x := x.(type) {
	case nil:
		v.AppendNull()
	case int64:
		v.AppendInt(x)
	case float64:
		v.AppendFloat(x)
	case apd.Decimal:
		if !v.AppendDecimal(&x) {
			t.Fatalf("decimal %s does not fit %s", x.String(), v.Type)
		}
	case string:
		v.AppendString(x)
	case bool:
		v.AppendBool(x)
	case types.IntervalValue:
		v.AppendInterval(x)
	default:
		t.Fatalf("value %T", x)
	}
}

// keyOf is the reference's notion of equal values.
func keyOf(x any) string {
	if d, ok := x.(apd.Decimal); ok {
		return "dec:" + d.String()
	}
	return fmt.Sprintf("%T:%v", x, x)
}

func cmpAny(a, b any) int {
	switch a := a.(type) {
	case int64:
		b := b.(int64)
		return map[bool]int{true: -1, false: 0}[a < b] + map[bool]int{true: 1, false: 0}[a > b]
	case float64:
		return cmpFloat(a, b.(float64))
	case apd.Decimal:
		bd := b.(apd.Decimal)
		return a.Cmp(&bd)
	case string:
		return strings.Compare(a, b.(string))
	case bool:
		bb := b.(bool)
		switch {
		case a == bb:
			return 0
		case !a:
			return -1
		}
		return 1
	}
	panic(fmt.Sprintf("cmp %T", a))
}

func toFloat(x any) float64 {
	switch x := x.(type) {
	case int64:
		return float64(x)
	case float64:
		return x
	case apd.Decimal:
		f, _ := x.Float64()
		return f
	}
	panic(fmt.Sprintf("float of %T", x))
}

// reference computes fn over the live rows of a group, in arrival order.
func reference(fn string, distinct bool, arg, rt types.Type, live []any) any {
	var vals []any
	seen := map[string]bool{}
	if fn == FnMin || fn == FnMax || fn == FnFirstValue || fn == FnLastValue {
		distinct = false // it does not change the result
	}
	for _, v := range live {
		if v == nil {
			continue
		}
		if distinct {
			if seen[keyOf(v)] {
				continue
			}
			seen[keyOf(v)] = true
		}
		vals = append(vals, v)
	}
	switch fn {
	case FnCountStar:
		return int64(len(live))
	case FnCount:
		return int64(len(vals))
	}
	if len(vals) == 0 {
		return nil
	}
	switch fn {
	case FnSum, FnAvg:
		switch arg.Kind {
		case types.KindInt:
			var s int64
			for _, v := range vals {
				s += v.(int64)
			}
			if fn == FnAvg {
				return float64(s) / float64(len(vals))
			}
			return s
		case types.KindFloat:
			var s float64
			for _, v := range vals {
				s += v.(float64)
			}
			if fn == FnAvg {
				return s / float64(len(vals))
			}
			return s
		default:
			ctx := apd.BaseContext.WithPrecision(100)
			ctx.Rounding = apd.RoundHalfUp
			var s apd.Decimal
			for _, v := range vals {
				d := v.(apd.Decimal)
				ctx.Add(&s, &s, &d)
			}
			if fn == FnAvg {
				var n apd.Decimal
				n.SetInt64(int64(len(vals)))
				ctx.Quo(&s, &s, &n)
			}
			ctx.Quantize(&s, &s, -int32(rt.Scale))
			return s
		}
	case FnMin, FnMax:
		b := vals[0]
		for _, v := range vals[1:] {
			c := cmpAny(v, b)
			if c < 0 && fn == FnMin || c > 0 && fn == FnMax {
				b = v
			}
		}
		return b
	case FnFirstValue:
		return vals[0]
	case FnLastValue:
		return vals[len(vals)-1]
	case FnVarPop, FnVarSamp, FnStddevPop, FnStddevSamp:
		n := float64(len(vals))
		if (fn == FnVarSamp || fn == FnStddevSamp) && len(vals) < 2 {
			return nil
		}
		var mean float64
		for _, v := range vals {
			mean += toFloat(v)
		}
		mean /= n
		var m2 float64
		for _, v := range vals {
			d := toFloat(v) - mean
			m2 += d * d
		}
		r := m2 / n
		if fn == FnVarSamp || fn == FnStddevSamp {
			r = m2 / (n - 1)
		}
		if fn == FnStddevPop || fn == FnStddevSamp {
			r = math.Sqrt(r)
		}
		return r
	}
	panic(fn)
}

func sameValue(got, want any) bool {
	switch w := want.(type) {
	case nil:
		return got == nil
	case float64:
		g, ok := got.(float64)
		return ok && (g == w || math.Abs(g-w) <= 1e-9*math.Max(1, math.Abs(w)))
	case apd.Decimal:
		g, ok := got.(apd.Decimal)
		return ok && g.Cmp(&w) == 0
	case string:
		switch g := got.(type) {
		case string:
			return g == w
		case []byte:
			return string(g) == w
		}
		return false
	}
	return got == want
}

// scenario is one randomized run against the reference.
type scenario struct {
	t        *testing.T
	spec     Spec
	rt       types.Type
	a        Agg
	live     [][]any // per slot, live rows in arrival order
	rng      *rand.Rand
	out      *types.Vector
	retracts bool
}

func newScenario(t *testing.T, spec Spec, slots int, seed uint64) *scenario {
	t.Helper()
	a, err := New(spec)
	if err != nil {
		t.Fatal(err)
	}
	rt, err := ResultType(spec.Fn, spec.Distinct, spec.Arg)
	if err != nil {
		t.Fatal(err)
	}
	if a.Type() != rt {
		t.Fatalf("Type() = %s, ResultType = %s", a.Type(), rt)
	}
	a.Grow(slots)
	return &scenario{t: t, spec: spec, rt: rt, a: a, live: make([][]any, slots),
		rng: rand.New(rand.NewPCG(seed, 7)), out: types.NewVector(rt, 1)}
}

// op is one row of a batch: a value for a slot with a weight.
type op struct {
	slot int
	v    any
	w    int8
}

// apply runs one batch through Update, with a junk row before each real
// one so that rows must be followed, and through the reference.
func (sc *scenario) apply(ops []op) {
	t := sc.t
	t.Helper()
	var vec *types.Vector
	if sc.spec.Fn != FnCountStar {
		vec = types.NewVector(sc.spec.Arg, 2*len(ops))
	}
	var rows, slots []int32
	var weights []int8
	anyRetract := false
	for k, o := range ops {
		if vec != nil {
			appendValue(t, vec, genValue(sc.rng, sc.spec.Arg)) // junk
			appendValue(t, vec, o.v)
		}
		rows = append(rows, int32(2*k+1))
		slots = append(slots, int32(o.slot))
		weights = append(weights, o.w)
		anyRetract = anyRetract || o.w < 0
		if o.w > 0 {
			sc.live[o.slot] = append(sc.live[o.slot], o.v)
			continue
		}
		l := sc.live[o.slot]
		for i, v := range l {
			if (v == nil) == (o.v == nil) && (v == nil || keyOf(v) == keyOf(o.v)) {
				sc.live[o.slot] = append(l[:i:i], l[i+1:]...)
				break
			}
		}
	}
	if !anyRetract && sc.rng.IntN(2) == 0 {
		weights = nil
	}
	if err := sc.a.Update(vec, rows, slots, weights); err != nil {
		t.Fatalf("Update: %v", err)
	}
}

// check compares every slot with the reference.
func (sc *scenario) check(when string) {
	t := sc.t
	t.Helper()
	for s := range sc.live {
		if got, want := sc.a.Count(s), int64(len(sc.live[s])); got != want {
			t.Fatalf("%s: slot %d: Count = %d, want %d", when, s, got, want)
		}
		sc.out.Reset(sc.rt, 1)
		if err := sc.a.Result(s, sc.out); err != nil {
			t.Fatalf("%s: slot %d: Result: %v", when, s, err)
		}
		if sc.out.Len() != 1 {
			t.Fatalf("%s: Result appended %d rows", when, sc.out.Len())
		}
		got := sc.out.Value(0)
		want := reference(sc.spec.Fn, sc.spec.Distinct, sc.spec.Arg, sc.rt, sc.live[s])
		if !sameValue(got, want) && !closeStat(sc.spec.Fn, got, want, sc.live[s]) {
			t.Fatalf("%s: slot %d over %v: got %v, want %v", when, s, sc.live[s], show(got), show(want))
		}
	}
}

// closeStat accepts a variance or standard deviation within the rounding
// error that removing values leaves in Welford's m2: a few ulps of the
// largest square, which a square root amplifies near zero.
func closeStat(fn string, got, want any, live []any) bool {
	g, ok1 := got.(float64)
	w, ok2 := want.(float64)
	if !ok1 || !ok2 {
		return false
	}
	var maxSq float64
	for _, v := range live {
		if v != nil {
			maxSq = math.Max(maxSq, toFloat(v)*toFloat(v))
		}
	}
	tol := 1e-12 * math.Max(1, maxSq)
	switch fn {
	case FnVarPop, FnVarSamp:
		return math.Abs(g-w) <= tol
	case FnStddevPop, FnStddevSamp:
		return math.Abs(g*g-w*w) <= tol
	}
	return false
}

func show(x any) any {
	if d, ok := x.(apd.Decimal); ok {
		return d.String()
	}
	return x
}

// randomBatch inserts values (a fifth NULL) and, when the scenario
// retracts, takes back live rows.
func (sc *scenario) randomBatch(n int) []op {
	ops := make([]op, 0, n)
	pending := make([][]any, len(sc.live))
	for s := range sc.live {
		pending[s] = append([]any(nil), sc.live[s]...)
	}
	for range n {
		s := sc.rng.IntN(len(sc.live))
		if sc.retracts && len(pending[s]) > 0 && sc.rng.IntN(3) == 0 {
			i := sc.rng.IntN(len(pending[s]))
			v := pending[s][i]
			pending[s] = append(pending[s][:i:i], pending[s][i+1:]...)
			ops = append(ops, op{slot: s, v: v, w: -1})
			continue
		}
		var v any
		if sc.rng.IntN(5) != 0 {
			v = genValue(sc.rng, sc.spec.Arg)
		}
		pending[s] = append(pending[s], v)
		ops = append(ops, op{slot: s, v: v, w: 1})
	}
	return ops
}

// roundTrip replaces the accumulator by a fresh one loaded from the
// states of every slot.
func (sc *scenario) roundTrip() {
	t := sc.t
	t.Helper()
	b, err := New(sc.spec)
	if err != nil {
		t.Fatal(err)
	}
	b.Grow(len(sc.live))
	for s := range sc.live {
		st := sc.a.AppendState(nil, s)
		if err := b.LoadState(s, st); err != nil {
			t.Fatalf("LoadState(slot %d): %v", s, err)
		}
		if again := b.AppendState(nil, s); string(again) != string(st) {
			t.Fatalf("slot %d: state changed in a round trip", s)
		}
		if err := b.LoadState(s, st[:len(st)-1]); !errors.Is(err, ErrBadState) && len(st) > 2 {
			t.Fatalf("LoadState of a truncated state: %v", err)
		}
		if err := b.LoadState(s, st); err != nil {
			t.Fatal(err)
		}
	}
	sc.a = b
}

func (sc *scenario) run(batches int) {
	for i := range batches {
		sc.apply(sc.randomBatch(1 + sc.rng.IntN(24)))
		sc.check(fmt.Sprintf("batch %d", i))
		if i == batches/2 {
			sc.roundTrip()
			sc.check("after round trip")
		}
	}
	if !sc.retracts {
		return
	}
	// Take everything back, in random order: every slot is empty again.
	var ops []op
	for s, l := range sc.live {
		for _, v := range l {
			ops = append(ops, op{slot: s, v: v, w: -1})
		}
	}
	sc.rng.Shuffle(len(ops), func(i, j int) { ops[i], ops[j] = ops[j], ops[i] })
	sc.apply(ops)
	sc.check("after retracting everything")
}

func accepts(fn string, t types.Type) bool {
	_, err := ResultType(fn, false, t)
	return err == nil
}

func TestAgainstReference(t *testing.T) {
	seed := uint64(1)
	for _, fn := range allFns {
		for _, arg := range testArgTypes {
			if !accepts(fn, arg) {
				continue
			}
			for _, distinct := range []bool{false, true} {
				if distinct && fn == FnCountStar {
					continue
				}
				for _, retract := range []bool{false, true} {
					seed++
					name := fmt.Sprintf("%s/%s/distinct=%v/retract=%v", fn, arg, distinct, retract)
					t.Run(name, func(t *testing.T) {
						sc := newScenario(t, Spec{Fn: fn, Distinct: distinct, Arg: arg, Retract: retract}, 4, seed)
						sc.retracts = retract || !needsRetractFlag(fn)
						sc.run(30)
					})
				}
			}
		}
	}
}

func needsRetractFlag(fn string) bool {
	return fn == FnMin || fn == FnMax || fn == FnFirstValue || fn == FnLastValue
}

func TestIntervalFirstLastAndDistinct(t *testing.T) {
	for i, fn := range []string{FnFirstValue, FnLastValue, FnCount} {
		sc := newScenario(t, Spec{Fn: fn, Distinct: fn == FnCount, Arg: types.Interval(), Retract: true}, 3, uint64(100+i))
		sc.retracts = true
		sc.run(20)
	}
}

func TestRetractCurrentMinimum(t *testing.T) {
	for _, arg := range []types.Type{types.BigInt(), types.String(), types.Decimal(30, 2), types.Double()} {
		t.Run(arg.String(), func(t *testing.T) {
			sc := newScenario(t, Spec{Fn: FnMin, Arg: arg, Retract: true}, 1, 1)
			vals := map[string][]any{
				"BIGINT":        {int64(5), int64(3), int64(3), int64(9)},
				"STRING":        {"e", "c", "c", "i"},
				"DECIMAL(30,2)": {dec("5.00"), dec("3.00"), dec("3.00"), dec("9.00")},
				"DOUBLE":        {5.0, 3.0, 3.0, 9.0},
			}[arg.String()]
			var ops []op
			for _, v := range vals {
				ops = append(ops, op{v: v, w: 1})
			}
			sc.apply(ops)
			sc.check("inserted")
			sc.apply([]op{{v: vals[1], w: -1}}) // one copy of the minimum left
			sc.check("one 3 retracted")
			sc.apply([]op{{v: vals[1], w: -1}}) // the next minimum is 5
			sc.check("both 3s retracted")
			sc.out.Reset(sc.rt, 1)
			sc.a.Result(0, sc.out)
			if !sameValue(sc.out.Value(0), vals[0]) {
				t.Fatalf("MIN after retracting the minimum = %v, want %v", show(sc.out.Value(0)), show(vals[0]))
			}
			sc.apply([]op{{v: vals[0], w: -1}, {v: vals[3], w: -1}})
			sc.check("empty")
			if sc.out.Reset(sc.rt, 1); sc.a.Result(0, sc.out) != nil || sc.out.Value(0) != nil {
				t.Fatalf("MIN of an empty group = %v", sc.out.Value(0))
			}
		})
	}
}

func dec(s string) apd.Decimal {
	var d apd.Decimal
	if _, _, err := d.SetString(s); err != nil {
		panic(err)
	}
	return d
}

func TestRetractionBeforeInsert(t *testing.T) {
	// A retraction that arrives before its insert leaves a negative count
	// in a multiset; the insert then cancels it.
	a, _ := New(Spec{Fn: FnCount, Distinct: true, Arg: types.BigInt()})
	a.Grow(1)
	v := types.NewVector(types.BigInt(), 2)
	v.AppendInt(7)
	v.AppendInt(8)
	mustUpdate(t, a, v, []int32{0}, []int32{0}, []int8{-1})
	mustUpdate(t, a, v, []int32{1, 0}, []int32{0, 0}, []int8{1, 1})
	if got := result(t, a, 0); got != int64(1) {
		t.Fatalf("COUNT(DISTINCT) = %v, want 1", got)
	}
}

func mustUpdate(t *testing.T, a Agg, v *types.Vector, rows, slots []int32, w []int8) {
	t.Helper()
	if err := a.Update(v, rows, slots, w); err != nil {
		t.Fatal(err)
	}
}

func result(t *testing.T, a Agg, s int) any {
	t.Helper()
	out := types.NewVector(a.Type(), 1)
	if err := a.Result(s, out); err != nil {
		t.Fatal(err)
	}
	return out.Value(0)
}

func intVec(xs ...int64) *types.Vector {
	v := types.NewVector(types.BigInt(), len(xs))
	for _, x := range xs {
		v.AppendInt(x)
	}
	return v
}

func seq(n int) []int32 {
	r := make([]int32, n)
	for i := range r {
		r[i] = int32(i)
	}
	return r
}

func TestSumOverflow(t *testing.T) {
	cases := []struct {
		name string
		fn   string
		vals []int64
		w    []int8
	}{
		{"up", FnSum, []int64{math.MaxInt64, 1}, nil},
		{"down", FnSum, []int64{math.MinInt64, -1}, nil},
		{"retracting a negative", FnSum, []int64{math.MaxInt64, -1}, []int8{1, -1}},
		{"retracting MinInt64", FnSum, []int64{math.MinInt64}, []int8{-1}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a, _ := New(Spec{Fn: c.fn, Arg: types.BigInt()})
			a.Grow(1)
			err := a.Update(intVec(c.vals...), seq(len(c.vals)), make([]int32, len(c.vals)), c.w)
			if !errors.Is(err, expr.ErrOverflow) || !strings.Contains(err.Error(), "SUM") {
				t.Fatalf("err = %v, want an overflow naming SUM", err)
			}
		})
	}
	// AVG of integers sums in 128 bits and does not overflow.
	a, _ := New(Spec{Fn: FnAvg, Arg: types.BigInt()})
	a.Grow(1)
	mustUpdate(t, a, intVec(math.MaxInt64, math.MaxInt64), seq(2), []int32{0, 0}, nil)
	if got := result(t, a, 0); got != float64(math.MaxInt64) {
		t.Fatalf("AVG = %v", got)
	}
}

func TestSumDecimalOverflow(t *testing.T) {
	typ := types.Decimal(38, 0)
	a, _ := New(Spec{Fn: FnSum, Arg: typ})
	a.Grow(1)
	v := types.NewVector(typ, 2)
	big := dec(strings.Repeat("9", 38))
	v.AppendDecimal(&big)
	v.AppendDecimal(&big)
	mustUpdate(t, a, v, []int32{0}, []int32{0}, nil)
	if got := result(t, a, 0).(apd.Decimal); got.Cmp(&big) != 0 {
		t.Fatalf("SUM = %s", got.String())
	}
	err := a.Update(v, []int32{1}, []int32{0}, nil)
	if !errors.Is(err, expr.ErrOverflow) {
		t.Fatalf("err = %v, want overflow", err)
	}
	// DECIMAL(18,0) sums past int64 exactly.
	typ = types.Decimal(18, 0)
	a, _ = New(Spec{Fn: FnSum, Arg: typ})
	a.Grow(1)
	v = types.NewVector(typ, 3)
	for range 3 {
		v.AppendInt(999_999_999_999_999_999)
	}
	mustUpdate(t, a, v, seq(3), []int32{0, 0, 0}, nil)
	want := dec("2999999999999999997")
	if got := result(t, a, 0).(apd.Decimal); got.Cmp(&want) != 0 || a.Type() != types.Decimal(38, 0) {
		t.Fatalf("SUM = %s (%s)", got.String(), a.Type())
	}
}

func TestAvgDecimalRounding(t *testing.T) {
	cases := []struct {
		typ  types.Type
		vals []string
		want string
	}{
		{types.Decimal(10, 2), []string{"0.01", "0.02"}, "0.015000"},
		{types.Decimal(10, 2), []string{"0.01", "0.01", "0.02"}, "0.013333"},
		{types.Decimal(10, 2), []string{"0.02", "0.02", "0.01"}, "0.016667"},
		{types.Decimal(10, 6), []string{"0.000001", "0.000002"}, "0.000002"},
		{types.Decimal(10, 6), []string{"-0.000001", "-0.000002"}, "-0.000002"},
		{types.Decimal(10, 8), []string{"0.00000001", "0.00000002"}, "0.00000002"},
		{types.Decimal(30, 2), []string{"12345678901234567890.01", "0.02"}, "6172839450617283945.015000"},
	}
	for _, c := range cases {
		a, _ := New(Spec{Fn: FnAvg, Arg: c.typ})
		a.Grow(1)
		v := types.NewVector(c.typ, len(c.vals))
		for _, s := range c.vals {
			d := dec(s)
			v.AppendDecimal(&d)
		}
		mustUpdate(t, a, v, seq(len(c.vals)), make([]int32, len(c.vals)), nil)
		got := result(t, a, 0).(apd.Decimal)
		if got.Text('f') != c.want {
			t.Errorf("AVG(%s) of %v = %s, want %s", c.typ, c.vals, got.Text('f'), c.want)
		}
	}
}

func TestFloatSumRetractsInfinity(t *testing.T) {
	a, _ := New(Spec{Fn: FnSum, Arg: types.Double()})
	a.Grow(1)
	v := types.NewVector(types.Double(), 3)
	v.AppendFloat(1.5)
	v.AppendFloat(math.Inf(1))
	v.AppendFloat(math.NaN())
	mustUpdate(t, a, v, seq(3), []int32{0, 0, 0}, nil)
	if got := result(t, a, 0).(float64); !math.IsNaN(got) {
		t.Fatalf("SUM with NaN = %v", got)
	}
	mustUpdate(t, a, v, []int32{2}, []int32{0}, []int8{-1})
	if got := result(t, a, 0); got != math.Inf(1) {
		t.Fatalf("SUM with +Inf = %v", got)
	}
	mustUpdate(t, a, v, []int32{1}, []int32{0}, []int8{-1})
	if got := result(t, a, 0); got != 1.5 {
		t.Fatalf("SUM after retracting +Inf = %v, want 1.5", got)
	}
}

func TestCompensatedSum(t *testing.T) {
	// 1e16 + 1 + 1 - 1e16 is 0 in a naive float sum and 2 compensated.
	a, _ := New(Spec{Fn: FnSum, Arg: types.Double()})
	a.Grow(1)
	v := types.NewVector(types.Double(), 4)
	for _, x := range []float64{1e16, 1, 1, -1e16} {
		v.AppendFloat(x)
	}
	mustUpdate(t, a, v, seq(4), make([]int32, 4), nil)
	if got := result(t, a, 0); got != 2.0 {
		t.Fatalf("SUM = %v, want 2", got)
	}
}

func TestAppendOnlyRefusesRetraction(t *testing.T) {
	for _, fn := range []string{FnMin, FnMax, FnFirstValue, FnLastValue} {
		for _, arg := range []types.Type{types.BigInt(), types.String()} {
			a, _ := New(Spec{Fn: fn, Arg: arg})
			a.Grow(1)
			v := types.NewVector(arg, 1)
			appendValue(t, v, genValue(rand.New(rand.NewPCG(1, 1)), arg))
			if err := a.Update(v, []int32{0}, []int32{0}, []int8{-1}); !errors.Is(err, ErrRetraction) {
				t.Errorf("%s(%s): err = %v, want ErrRetraction", fn, arg, err)
			}
		}
	}
}

func TestResultType(t *testing.T) {
	cases := []struct {
		fn       string
		distinct bool
		arg      types.Type
		want     string // type, or "error: " and a fragment of the message
	}{
		{FnCountStar, false, types.Type{}, "BIGINT NOT NULL"},
		{FnCountStar, true, types.Type{}, "error: COUNT(DISTINCT *)"},
		{FnCount, true, types.String(), "BIGINT NOT NULL"},
		{"count", false, types.JSON(), "BIGINT NOT NULL"},
		{FnSum, false, types.Int(), "BIGINT"},
		{FnSum, false, types.Decimal(10, 2), "DECIMAL(38,2)"},
		{FnSum, false, types.Float(), "DOUBLE"},
		{FnSum, false, types.String(), "error: SUM does not take STRING"},
		{FnSum, false, types.Timestamp(3), "error: SUM does not take TIMESTAMP(3)"},
		{FnAvg, false, types.SmallInt(), "DOUBLE"},
		{FnAvg, false, types.Decimal(10, 2), "DECIMAL(38,6)"},
		{FnAvg, false, types.Decimal(20, 8), "DECIMAL(38,8)"},
		{FnAvg, false, types.Double(), "DOUBLE"},
		{FnAvg, false, types.Boolean(), "error: AVG does not take BOOLEAN"},
		{FnMin, false, types.Varchar(10).WithNotNull(true), "VARCHAR(10)"},
		{FnMax, false, types.Timestamp(3), "TIMESTAMP(3)"},
		{FnMax, false, types.Boolean(), "BOOLEAN"},
		{FnMax, false, types.Interval(), "error: MAX does not take INTERVAL"},
		{FnMin, false, types.JSON(), "error: MIN does not take JSON"},
		{FnFirstValue, false, types.Interval(), "INTERVAL"},
		{FnLastValue, false, types.Decimal(30, 3), "DECIMAL(30,3)"},
		{FnStddevSamp, false, types.BigInt(), "DOUBLE"},
		{FnVarPop, false, types.Decimal(5, 1), "DOUBLE"},
		{FnVarPop, false, types.String(), "error: VAR_POP does not take STRING"},
		{"MEDIAN", false, types.BigInt(), "error: unknown function: aggregate MEDIAN"},
	}
	for _, c := range cases {
		got, err := ResultType(c.fn, c.distinct, c.arg)
		if frag, ok := strings.CutPrefix(c.want, "error: "); ok {
			if err == nil || !strings.Contains(err.Error(), frag) {
				t.Errorf("ResultType(%s, %s) error = %v, want one containing %q", c.fn, c.arg, err, frag)
			}
			if _, nerr := New(Spec{Fn: c.fn, Distinct: c.distinct, Arg: c.arg}); nerr == nil {
				t.Errorf("New(%s, %s) succeeded", c.fn, c.arg)
			}
			continue
		}
		if err != nil || got.String() != c.want {
			t.Errorf("ResultType(%s, %s) = %s, %v; want %s", c.fn, c.arg, got, err, c.want)
		}
	}
	if _, err := ResultType(FnSum, false, types.String()); !errors.Is(err, expr.ErrArgumentType) {
		t.Errorf("SUM(STRING) error does not wrap expr.ErrArgumentType")
	}
	if _, err := ResultType("MEDIAN", false, types.BigInt()); !errors.Is(err, expr.ErrUnknownFunction) {
		t.Errorf("MEDIAN error does not wrap expr.ErrUnknownFunction")
	}
}

func TestLoadStateRejectsOtherStates(t *testing.T) {
	sum, _ := New(Spec{Fn: FnSum, Arg: types.BigInt()})
	cnt, _ := New(Spec{Fn: FnCount, Arg: types.BigInt()})
	sum.Grow(1)
	cnt.Grow(1)
	st := cnt.AppendState(nil, 0)
	if err := sum.LoadState(0, st); !errors.Is(err, ErrBadState) {
		t.Fatalf("SUM loading a COUNT state: %v", err)
	}
	st = sum.AppendState(nil, 0)
	st[0] = 99
	if err := sum.LoadState(0, st); !errors.Is(err, ErrBadState) {
		t.Fatalf("unknown version: %v", err)
	}
	if err := sum.LoadState(0, append(sum.AppendState(nil, 0), 0)); !errors.Is(err, ErrBadState) {
		t.Fatalf("trailing bytes: %v", err)
	}
}

func TestResetEmptiesSlot(t *testing.T) {
	for _, fn := range allFns {
		a, _ := New(Spec{Fn: fn, Arg: types.BigInt(), Retract: true})
		a.Grow(2)
		mustUpdate(t, a, intVec(3, 4), seq(2), []int32{0, 1}, nil)
		a.Reset(0)
		if a.Count(0) != 0 || a.Count(1) != 1 {
			t.Errorf("%s: Count after Reset = %d, %d", fn, a.Count(0), a.Count(1))
		}
		want := any(nil)
		if fn == FnCount || fn == FnCountStar {
			want = int64(0)
		}
		if got := result(t, a, 0); got != want {
			t.Errorf("%s: Result after Reset = %v", fn, got)
		}
	}
}

func TestI128(t *testing.T) {
	p := dec("1" + strings.Repeat("0", 38))
	x, ok := i128FromDecimal(&p, 0)
	if !ok || x != pow10x38 {
		t.Fatalf("10^38 = %x %x, want pow10x38", x.hi, x.lo)
	}
	for _, s := range []string{"0", "-1", "9223372036854775808", "-18446744073709551616",
		"99999999999999999999999999999999999999", "-99999999999999999999999999999999999999"} {
		d := dec(s)
		x, ok := i128FromDecimal(&d, 0)
		if !ok {
			t.Fatalf("%s does not convert", s)
		}
		var back apd.Decimal
		x.decimal(&back, 0)
		if back.Cmp(&d) != 0 {
			t.Errorf("round trip of %s gave %s", s, back.String())
		}
		if !x.fitsDecimal38() {
			t.Errorf("%s does not fit DECIMAL(38)", s)
		}
	}
	if pow10x38.fitsDecimal38() || pow10x38.neg().fitsDecimal38() {
		t.Error("10^38 fits DECIMAL(38)")
	}
}

func TestUpdateDoesNotAllocate(t *testing.T) {
	const n = 1024
	v := intVec(make([]int64, n)...)
	for i := range v.Ints {
		v.Ints[i] = int64(i * 7919 % 1000)
	}
	rows, slots := seq(n), make([]int32, n)
	for i := range slots {
		slots[i] = int32(i % 100)
	}
	dec := types.NewVector(types.Decimal(10, 2), n)
	for i := range n {
		dec.AppendInt(int64(i))
	}
	cases := []struct {
		spec Spec
		arg  *types.Vector
	}{
		{Spec{Fn: FnCountStar}, nil},
		{Spec{Fn: FnCount, Arg: types.BigInt()}, v},
		{Spec{Fn: FnSum, Arg: types.BigInt()}, v},
		{Spec{Fn: FnMin, Arg: types.BigInt()}, v},
		{Spec{Fn: FnMax, Arg: types.BigInt()}, v},
		{Spec{Fn: FnAvg, Arg: types.Decimal(10, 2)}, dec},
		{Spec{Fn: FnCount, Distinct: true, Arg: types.BigInt()}, v}, // once its maps have grown
	}
	for _, c := range cases {
		a, _ := New(c.spec)
		a.Grow(100)
		mustUpdate(t, a, c.arg, rows, slots, nil)
		if allocs := testing.AllocsPerRun(10, func() { a.Update(c.arg, rows, slots, nil) }); allocs != 0 {
			t.Errorf("%s: %v allocations per Update", c.spec.Fn, allocs)
		}
	}
}
