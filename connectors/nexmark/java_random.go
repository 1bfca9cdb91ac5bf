package nexmark

// javaRandom is java.util.Random: a 48-bit linear congruential generator.
// The standard Nexmark generator seeds one per event with the event id and
// draws every field from it; reproducing it bit for bit is what lets Seed 0
// yield the standard generator's field values. It is a value type so that
// reseeding per event costs nothing.
type javaRandom struct{ seed uint64 }

const (
	javaMultiplier = 0x5DEECE66D
	javaAddend     = 0xB
	javaMask       = 1<<48 - 1
)

func (r *javaRandom) setSeed(s int64) { r.seed = (uint64(s) ^ javaMultiplier) & javaMask }

func (r *javaRandom) next(bits uint) int32 {
	r.seed = (r.seed*javaMultiplier + javaAddend) & javaMask
	return int32(r.seed >> (48 - bits))
}

// nextInt is Random.nextInt(): 32 random bits, signed.
func (r *javaRandom) nextInt() int32 { return r.next(32) }

// intn is Random.nextInt(bound), bound > 0, including Java's rejection
// loop (int32 wrap-around is the loop's test, as in Java).
func (r *javaRandom) intn(bound int32) int32 {
	x := r.next(31)
	m := bound - 1
	if bound&m == 0 {
		return int32((int64(bound) * int64(x)) >> 31)
	}
	for u := x; ; u = r.next(31) {
		x = u % bound
		if u-x+m >= 0 {
			return x
		}
	}
}

// nextLong is Random.nextLong().
func (r *javaRandom) nextLong() int64 {
	hi := int64(r.next(32))
	return hi<<32 + int64(r.next(32))
}

// nextDouble is Random.nextDouble(): 53 random bits in [0, 1).
func (r *javaRandom) nextDouble() float64 {
	hi := int64(r.next(26))
	return float64(hi<<27+int64(r.next(27))) * (1.0 / (1 << 53))
}

// longn is the Nexmark generator's LongGenerator.nextLong(random, n):
// nextInt when n fits, else |nextLong() % n|.
func (r *javaRandom) longn(n int64) int64 {
	if n < 1<<31-1 {
		return int64(r.intn(int32(n)))
	}
	x := r.nextLong() % n
	if x < 0 {
		x = -x
	}
	return x
}
