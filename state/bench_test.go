package state

import (
	"bytes"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
)

func benchKeys(n int) (keys [][]byte, kgs []int) {
	for i := range n {
		k := fmt.Appendf(nil, "bench-key-%08d", i)
		keys = append(keys, k)
		kgs = append(kgs, kgOf(k))
	}
	return keys, kgs
}

// BenchmarkGetHit reads keys that are all in the cache.
func BenchmarkGetHit(b *testing.B) {
	db := openTest(b, b.TempDir(), Options{})
	defer db.Close()
	s := mustStore(b, db, 1, StoreOptions{CacheBytes: 64 << 20})
	keys, kgs := benchKeys(10000)
	val := make([]byte, 16)
	for i, k := range keys {
		if err := s.Put(kgs[i], k, val); err != nil {
			b.Fatal(err)
		}
	}
	if err := db.Commit(1, nil); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, ok, err := s.Get(kgs[i], keys[i]); !ok || err != nil {
			b.Fatal(ok, err)
		}
		if i++; i == len(keys) {
			i = 0
		}
	}
}

// BenchmarkPutHit overwrites cached keys with values of the same size.
func BenchmarkPutHit(b *testing.B) {
	for _, ttl := range []bool{false, true} {
		b.Run(fmt.Sprintf("ttl=%v", ttl), func(b *testing.B) {
			db := openTest(b, b.TempDir(), Options{})
			defer db.Close()
			o := StoreOptions{CacheBytes: 64 << 20}
			if ttl {
				o.TTL = 1 << 40
			}
			s := mustStore(b, db, 1, o)
			keys, kgs := benchKeys(10000)
			val := make([]byte, 16)
			for i, k := range keys {
				if err := s.Put(kgs[i], k, val); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				val[0]++
				if err := s.Put(kgs[i], keys[i], val); err != nil {
					b.Fatal(err)
				}
				if i++; i == len(keys) {
					i = 0
				}
			}
		})
	}
}

// BenchmarkCommit measures Commit alone, for epochs of n dirty entries of
// 16-byte keys and 32-byte values; small epochs commit in one
// transaction, large ones through staging.
func BenchmarkCommit(b *testing.B) {
	for _, n := range []int{1000, 10000, 100000} {
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			db := openTest(b, b.TempDir(), Options{})
			defer db.Close()
			s := mustStore(b, db, 1, StoreOptions{CacheBytes: 256 << 20})
			keys, kgs := benchKeys(n)
			val := make([]byte, 32)
			epoch := uint64(0)
			for b.Loop() {
				b.StopTimer()
				val[0]++
				for i, k := range keys {
					if err := s.Put(kgs[i], k, val); err != nil {
						b.Fatal(err)
					}
				}
				epoch++
				b.StartTimer()
				if err := db.Commit(epoch, []byte("offsets")); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "entries/s")
		})
	}
}

// BenchmarkStateTwentyTimesCache runs a keyed-aggregation-like load whose
// state (about 80 MiB in 700,000 keys) is 20 times the cache bound
// (4 MiB): each op reads a random key, then writes it, with a commit every
// 50,000 ops. It reports the peak RSS of the process; run it alone
// (-run '^$' -bench StateTwenty) for the figure to mean anything.
func BenchmarkStateTwentyTimesCache(b *testing.B) {
	const bound = 4 << 20
	const keys = 700000
	db := openTest(b, b.TempDir(), Options{})
	defer db.Close()
	s := mustStore(b, db, 1, StoreOptions{CacheBytes: bound})
	val := bytes.Repeat([]byte("v"), 100)
	key := make([]byte, 0, 32)
	epoch := uint64(0)
	x := uint64(88172645463325252)
	ops := 0
	load := func(i int) {
		key = fmt.Appendf(key[:0], "agg-key-%08d", i)
		kg := kgOf(key)
		if _, _, err := s.Get(kg, key); err != nil {
			b.Fatal(err)
		}
		if err := s.Put(kg, key, val); err != nil {
			b.Fatal(err)
		}
		if ops++; ops%50000 == 0 {
			epoch++
			if err := db.Commit(epoch, nil); err != nil {
				b.Fatal(err)
			}
		}
	}
	for i := range keys { // fill: every key once
		load(i)
	}
	b.ResetTimer()
	for b.Loop() {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		load(int(x % keys))
	}
	b.StopTimer()
	st := s.Stats()
	if st.Bytes > bound {
		b.Fatalf("cache of %d bytes over its bound", st.Bytes)
	}
	if hwm := procStatus("VmHWM:"); hwm > 0 {
		b.ReportMetric(float64(hwm)/(1<<20), "peak-RSS-MiB")
		// What is resident now: the Go heap and Badger's allocations
		// (anonymous), and pages of Badger's mapped files (file).
		b.ReportMetric(float64(procStatus("RssAnon:"))/(1<<20), "anon-RSS-MiB")
		b.ReportMetric(float64(procStatus("RssFile:"))/(1<<20), "file-RSS-MiB")
	}
	b.ReportMetric(float64(st.Misses)/float64(st.Hits+st.Misses), "miss-ratio")
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	b.ReportMetric(float64(ms.HeapInuse)/(1<<20), "heap-inuse-MiB")
	b.ReportMetric(float64(ms.HeapSys)/(1<<20), "heap-sys-MiB")
}

// procStatus returns a size in bytes from /proc/self/status (VmHWM: the
// peak resident set), or 0 where /proc does not tell.
func procStatus(field string) int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, field); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}
