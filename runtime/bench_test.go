package runtime

import (
	"context"
	"runtime"
	"strconv"
	"testing"
)

// BenchmarkPipelineQ2 runs nexmark bids → Filter(MOD(auction,123)=0) →
// Project → a discarding sink, reporting events/s (bids generated and
// Nexmark events of the sequence (bids are 46 in 50 of them) per second of
// wall time, job start-up included.
func BenchmarkPipelineQ2(b *testing.B) {
	for _, par := range []int{1, runtime.GOMAXPROCS(0)} {
		b.Run("par="+strconv.Itoa(par), func(b *testing.B) {
			const events = 1_000_000
			var runs int64
			b.ReportAllocs()
			for b.Loop() {
				c := &collector{discard: true}
				j, err := NewJob(q2Pipeline(b, events, par, c))
				if err != nil {
					b.Fatal(err)
				}
				if err := j.Start(context.Background()); err != nil {
					b.Fatal(err)
				}
				if err := j.Wait(); err != nil {
					b.Fatal(err)
				}
				runs++
			}
			b.ReportMetric(float64(runs*events)/b.Elapsed().Seconds(), "events/s")
		})
	}
}
