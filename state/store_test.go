package state

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/sluice-sql/sluice/sql/types"
)

// fakeClock is a Clock that moves only when told.
type fakeClock struct{ ns atomic.Int64 }

func newFakeClock() *fakeClock {
	c := &fakeClock{}
	c.ns.Store(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano())
	return c
}

func (c *fakeClock) Now() time.Time          { return time.Unix(0, c.ns.Load()) }
func (c *fakeClock) Advance(d time.Duration) { c.ns.Add(int64(d)) }

func openTest(t testing.TB, dir string, o Options) *DB {
	t.Helper()
	if o.ExpiryInterval == 0 {
		o.ExpiryInterval = -1
	}
	db, err := Open(dir, o)
	if err != nil {
		t.Fatal(err)
	}
	return db
}

func mustStore(t testing.TB, db *DB, op uint32, o StoreOptions) *Store {
	t.Helper()
	s, err := db.Store(op, o)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func kgOf(key []byte) int { return types.KeyGroup(types.HashBytes(key), types.DefaultKeyGroups) }

func get(t testing.TB, s *Store, key string) (string, bool) {
	t.Helper()
	v, ok, err := s.Get(kgOf([]byte(key)), []byte(key))
	if err != nil {
		t.Fatal(err)
	}
	return string(v), ok
}

func put(t testing.TB, s *Store, key, val string) {
	t.Helper()
	if err := s.Put(kgOf([]byte(key)), []byte(key), []byte(val)); err != nil {
		t.Fatal(err)
	}
}

func del(t testing.TB, s *Store, key string) {
	t.Helper()
	if err := s.Delete(kgOf([]byte(key)), []byte(key)); err != nil {
		t.Fatal(err)
	}
}

// scanAll returns every live key of s, through Scan over each of its key
// groups.
func scanAll(t testing.TB, s *Store) map[string]string {
	t.Helper()
	got := map[string]string{}
	first, end := s.KeyGroups()
	for kg := first; kg < end; kg++ {
		for k, v := range scanGroup(t, s, kg, nil) {
			got[k] = v
		}
	}
	return got
}

// scanGroup scans one key group with a prefix, checking the order.
func scanGroup(t testing.TB, s *Store, kg int, prefix []byte) map[string]string {
	t.Helper()
	got := map[string]string{}
	it := s.Scan(kg, prefix)
	var prev []byte
	for it.Next() {
		if prev != nil && bytes.Compare(prev, it.Key()) >= 0 {
			t.Fatalf("scan of group %d: %q after %q", kg, it.Key(), prev)
		}
		if !bytes.HasPrefix(it.Key(), prefix) {
			t.Fatalf("scan with prefix %q yielded %q", prefix, it.Key())
		}
		prev = append(prev[:0], it.Key()...)
		got[string(it.Key())] = string(it.Value())
	}
	if err := it.Close(); err != nil {
		t.Fatal(err)
	}
	return got
}

// badgerCount counts the raw Badger keys with the prefix.
func badgerCount(t testing.TB, db *DB, prefix []byte) int {
	t.Helper()
	n := 0
	err := db.bdb.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			n++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestGetPutDelete(t *testing.T) {
	dir := t.TempDir()
	db := openTest(t, dir, Options{})
	s := mustStore(t, db, 1, StoreOptions{})
	if _, ok := get(t, s, "a"); ok {
		t.Fatal("a present in an empty store")
	}
	put(t, s, "a", "1")
	put(t, s, "b", "2")
	put(t, s, "a", "10")
	del(t, s, "b")
	if v, ok := get(t, s, "a"); !ok || v != "10" {
		t.Fatalf("a = %q, %v; want 10", v, ok)
	}
	if _, ok := get(t, s, "b"); ok {
		t.Fatal("b present after delete")
	}
	if err := db.Commit(1, []byte("m1")); err != nil {
		t.Fatal(err)
	}
	put(t, s, "c", "3") // not committed
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	db = openTest(t, dir, Options{})
	defer db.Close()
	if e, m := db.LastCommit(); e != 1 || string(m) != "m1" {
		t.Fatalf("LastCommit = %d, %q; want 1, m1", e, m)
	}
	s = mustStore(t, db, 1, StoreOptions{})
	if got, want := scanAll(t, s), map[string]string{"a": "10"}; !maps.Equal(got, want) {
		t.Fatalf("after reopen: %v, want %v", got, want)
	}
	// Another operator sees nothing of operator 1.
	if got := scanAll(t, mustStore(t, db, 2, StoreOptions{})); len(got) != 0 {
		t.Fatalf("operator 2 sees %v", got)
	}
	if err := db.Commit(1, nil); !errors.Is(err, ErrEpochOrder) {
		t.Fatalf("Commit(1) again: %v, want ErrEpochOrder", err)
	}
}

func TestReopenKeyGroupsDiffer(t *testing.T) {
	dir := t.TempDir()
	openTest(t, dir, Options{KeyGroups: 64}).Close()
	if db, err := Open(dir, Options{ExpiryInterval: -1}); !errors.Is(err, ErrKeyGroups) {
		if err == nil {
			db.Close()
		}
		t.Fatalf("open with 128 key groups after 64: %v, want ErrKeyGroups", err)
	}
}

func TestStoreOverlap(t *testing.T) {
	db := openTest(t, t.TempDir(), Options{})
	defer db.Close()
	mustStore(t, db, 1, StoreOptions{FirstKeyGroup: 0, EndKeyGroup: 64})
	mustStore(t, db, 1, StoreOptions{FirstKeyGroup: 64, EndKeyGroup: 128})
	if _, err := db.Store(1, StoreOptions{FirstKeyGroup: 60, EndKeyGroup: 70}); !errors.Is(err, ErrOverlap) {
		t.Fatalf("overlapping store: %v, want ErrOverlap", err)
	}
	mustStore(t, db, 2, StoreOptions{FirstKeyGroup: 60, EndKeyGroup: 70})
}

// TestScanMerge checks that a scan merges dirty entries over spilled
// ones over committed ones, with prefixes, deletes and order.
func TestScanMerge(t *testing.T) {
	db := openTest(t, t.TempDir(), Options{})
	defer db.Close()
	// A bound so small that every write beyond the first few spills.
	s := mustStore(t, db, 7, StoreOptions{CacheBytes: 1000})
	const kg = 5
	p := func(k, v string) {
		if err := s.Put(kg, []byte(k), []byte(v)); err != nil {
			t.Fatal(err)
		}
	}
	d := func(k string) {
		if err := s.Delete(kg, []byte(k)); err != nil {
			t.Fatal(err)
		}
	}
	// Committed: w1/a..w1/e, w2/a, w2/b.
	for _, k := range []string{"w1/a", "w1/b", "w1/c", "w1/d", "w1/e", "w2/a", "w2/b"} {
		p(k, "c-"+k)
	}
	if err := db.Commit(1, nil); err != nil {
		t.Fatal(err)
	}
	// Staged by spills: overwrite w1/b, delete w1/c, add w1/f and many
	// fillers in w3 to force the spill.
	p("w1/b", "s-w1/b")
	d("w1/c")
	p("w1/f", "s-w1/f")
	for i := range 40 {
		p(fmt.Sprintf("w3/%02d", i), "filler")
	}
	if st := s.Stats(); st.Spills == 0 {
		t.Fatalf("nothing spilled: %+v", st)
	}
	// Dirty, the latest: overwrite w1/d, delete w1/e, delete w1/f, add
	// w1/aa, w1/g.
	p("w1/d", "d-w1/d")
	d("w1/e")
	d("w1/f")
	p("w1/aa", "d-w1/aa")
	p("w1/g", "d-w1/g")

	want := map[string]string{
		"w1/a": "c-w1/a", "w1/aa": "d-w1/aa", "w1/b": "s-w1/b", "w1/d": "d-w1/d", "w1/g": "d-w1/g",
	}
	if got := scanGroup(t, s, kg, []byte("w1/")); !maps.Equal(got, want) {
		t.Fatalf("scan w1/ before commit:\n got %v\nwant %v", got, want)
	}
	if got := scanGroup(t, s, kg, []byte("w2/")); len(got) != 2 {
		t.Fatalf("scan w2/: %v", got)
	}
	if got := scanGroup(t, s, kg, nil); len(got) != len(want)+2+40 {
		t.Fatalf("scan of the group: %d keys, want %d", len(got), len(want)+42)
	}
	if got := scanGroup(t, s, kg+1, nil); len(got) != 0 {
		t.Fatalf("scan of another group: %v", got)
	}
	for k, v := range want {
		if got, ok, _ := s.Get(kg, []byte(k)); !ok || string(got) != v {
			t.Fatalf("Get %s = %q, %v; want %q", k, got, ok, v)
		}
	}
	// Deleting while iterating: free the window w1.
	it := s.Scan(kg, []byte("w1/"))
	n := 0
	for it.Next() {
		if err := s.Delete(kg, it.Key()); err != nil {
			t.Fatal(err)
		}
		n++
	}
	if err := it.Close(); err != nil || n != len(want) {
		t.Fatalf("delete-as-you-go visited %d keys (err %v), want %d", n, err, len(want))
	}
	if err := db.Commit(2, nil); err != nil {
		t.Fatal(err)
	}
	if got := scanGroup(t, s, kg, []byte("w1/")); len(got) != 0 {
		t.Fatalf("w1/ after freeing it: %v", got)
	}
	if got := badgerCount(t, db, []byte{nsStaging}); got != 0 {
		t.Fatalf("%d staging keys after commit", got)
	}
}

// TestRandomAgainstModel runs random operations against a store with a
// small cache and against a map, committing, closing without committing
// and reopening along the way, and compares reads and scans.
func TestRandomAgainstModel(t *testing.T) {
	for _, bound := range []int64{2 << 10, 64 << 10, 16 << 20} {
		t.Run(fmt.Sprint(bound), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(uint64(bound), 1))
			dir := t.TempDir()
			opts := Options{MemTableBytes: 1 << 20} // transactions of 157 KB: large epochs stage
			db := openTest(t, dir, opts)
			s := mustStore(t, db, 3, StoreOptions{CacheBytes: bound})
			committed := map[string]string{}
			live := map[string]string{}
			epoch := uint64(0)
			steps := 20000
			if testing.Short() {
				steps = 4000
			}
			for step := range steps {
				k := fmt.Sprintf("key%04d", rng.IntN(1500))
				switch r := rng.IntN(1000); {
				case r < 450:
					v := fmt.Sprintf("v%d-%s", step, bytes.Repeat([]byte("x"), rng.IntN(100)))
					put(t, s, k, v)
					live[k] = v
				case r < 600:
					del(t, s, k)
					delete(live, k)
				case r < 990:
					got, ok := get(t, s, k)
					want, wok := live[k]
					if ok != wok || got != want {
						t.Fatalf("step %d: Get %s = %q, %v; want %q, %v", step, k, got, ok, want, wok)
					}
				case r < 996:
					epoch++
					if err := db.Commit(epoch, []byte(fmt.Sprint(epoch))); err != nil {
						t.Fatal(err)
					}
					committed = maps.Clone(live)
				case r < 998:
					if got := scanAll(t, s); !maps.Equal(got, live) {
						t.Fatalf("step %d: scan differs from the model: %d keys, want %d", step, len(got), len(live))
					}
				default:
					// Crash-like: close without committing.
					if err := db.Close(); err != nil {
						t.Fatal(err)
					}
					db = openTest(t, dir, opts)
					if e, _ := db.LastCommit(); e != epoch {
						t.Fatalf("reopened at epoch %d, want %d", e, epoch)
					}
					if n := badgerCount(t, db, []byte{nsStaging}); n != 0 {
						t.Fatalf("%d staging keys after reopen", n)
					}
					s = mustStore(t, db, 3, StoreOptions{CacheBytes: bound})
					live = maps.Clone(committed)
				}
				if st := s.Stats(); st.Bytes > bound && st.Entries > 1 {
					t.Fatalf("step %d: cache holds %d bytes over its bound %d", step, st.Bytes, bound)
				}
			}
			if got := scanAll(t, s); !maps.Equal(got, live) {
				t.Fatalf("final scan differs from the model: %d keys, want %d", len(got), len(live))
			}
			t.Logf("bound %d: %+v", bound, s.Stats())
			db.Close()
		})
	}
}

// TestStateTwentyTimesCache keeps 20 times more state than the cache
// holds: it must all be readable, correct, and the cache must stay within
// its bound, evicting clean entries and spilling dirty ones.
func TestStateTwentyTimesCache(t *testing.T) {
	const bound = 256 << 10
	const valSize = 100
	n := 20 * bound / (valSize + 12) // entries of ~112 bytes of key and value
	dir := t.TempDir()
	db := openTest(t, dir, Options{})
	s := mustStore(t, db, 1, StoreOptions{CacheBytes: bound})
	val := func(i, round int) []byte {
		v := bytes.Repeat([]byte{byte(i)}, valSize)
		copy(v, fmt.Sprintf("%d/%d", i, round))
		return v
	}
	key := func(i int) []byte { return fmt.Appendf(nil, "key-%07d", i) }
	// Round 0 writes everything in one epoch: dirty state alone is 20
	// times the bound, so most of it spills.
	for i := range n {
		k := key(i)
		if err := s.Put(kgOf(k), k, val(i, 0)); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.Commit(1, nil); err != nil {
		t.Fatal(err)
	}
	st := s.Stats()
	if st.Spills == 0 || st.Evictions == 0 || st.Bytes > bound {
		t.Fatalf("after writing %d entries: %+v", n, st)
	}
	// Round 1 updates every third key over many epochs, reading first.
	epoch := uint64(1)
	for i := 0; i < n; i += 3 {
		k := key(i)
		v, ok, err := s.Get(kgOf(k), k)
		if err != nil || !ok || !bytes.Equal(v, val(i, 0)) {
			t.Fatalf("key %d = %q, %v, %v", i, v, ok, err)
		}
		if err := s.Put(kgOf(k), k, val(i, 1)); err != nil {
			t.Fatal(err)
		}
		if i%3000 == 0 {
			epoch++
			if err := db.Commit(epoch, nil); err != nil {
				t.Fatal(err)
			}
		}
	}
	epoch++
	if err := db.Commit(epoch, nil); err != nil {
		t.Fatal(err)
	}
	db.Close()
	db = openTest(t, dir, Options{})
	defer db.Close()
	s = mustStore(t, db, 1, StoreOptions{CacheBytes: bound})
	for i := range n {
		k := key(i)
		want := val(i, 0)
		if i%3 == 0 {
			want = val(i, 1)
		}
		v, ok, err := s.Get(kgOf(k), k)
		if err != nil || !ok || !bytes.Equal(v, want) {
			t.Fatalf("after reopen, key %d = %q, %v, %v", i, v, ok, err)
		}
	}
	got := scanAll(t, s)
	if len(got) != n {
		t.Fatalf("scan found %d keys, want %d", len(got), n)
	}
	st = s.Stats()
	if st.Bytes > bound {
		t.Fatalf("cache of %d bytes over its bound %d", st.Bytes, bound)
	}
	t.Logf("%d entries, ~%d KiB of state, cache bound %d KiB: %+v", n, n*(valSize+12)>>10, bound>>10, st)
}

// TestSpillIsNotCommitted checks that spilled entries stay out of the
// committed keyspace until Commit, and are gone after a reopen without it.
func TestSpillIsNotCommitted(t *testing.T) {
	dir := t.TempDir()
	db := openTest(t, dir, Options{})
	s := mustStore(t, db, 1, StoreOptions{CacheBytes: 4 << 10})
	put(t, s, "kept", "1")
	if err := db.Commit(1, []byte("one")); err != nil {
		t.Fatal(err)
	}
	committedBefore := badgerCount(t, db, []byte{nsCommitted})
	for i := range 500 {
		put(t, s, fmt.Sprint("k", i), "spilled value")
	}
	del(t, s, "kept")
	if st := s.Stats(); st.Spills < 400 {
		t.Fatalf("only %d spills", st.Spills)
	}
	if got := badgerCount(t, db, []byte{nsCommitted}); got != committedBefore {
		t.Fatalf("committed keyspace went from %d to %d keys without a commit", committedBefore, got)
	}
	if got := badgerCount(t, db, []byte{nsStaging}); got < 400 {
		t.Fatalf("%d keys in staging", got)
	}
	if _, ok := get(t, s, "kept"); ok {
		t.Fatal("deleted key visible")
	}
	if v, ok := get(t, s, "k17"); !ok || v != "spilled value" {
		t.Fatalf("spilled key k17 = %q, %v", v, ok)
	}
	db.Close()
	db = openTest(t, dir, Options{})
	s = mustStore(t, db, 1, StoreOptions{CacheBytes: 4 << 10})
	if got := scanAll(t, s); !maps.Equal(got, map[string]string{"kept": "1"}) {
		t.Fatalf("after reopen without commit: %v", got)
	}
	if n := badgerCount(t, db, []byte{nsStaging}); n != 0 {
		t.Fatalf("%d staging keys after reopen", n)
	}
	// The same again, committed this time.
	for i := range 500 {
		put(t, s, fmt.Sprint("k", i), "spilled value")
	}
	del(t, s, "kept")
	if err := db.Commit(2, []byte("two")); err != nil {
		t.Fatal(err)
	}
	db.Close()
	db = openTest(t, dir, Options{})
	defer db.Close()
	s = mustStore(t, db, 1, StoreOptions{})
	if got := scanAll(t, s); len(got) != 500 || got["kept"] != "" {
		t.Fatalf("after commit and reopen: %d keys (kept=%q)", len(got), got["kept"])
	}
	if e, m := db.LastCommit(); e != 2 || string(m) != "two" {
		t.Fatalf("LastCommit = %d, %q", e, m)
	}
}

// TestStagedCommit commits an epoch far larger than one Badger
// transaction, without spills, through staging.
func TestStagedCommit(t *testing.T) {
	dir := t.TempDir()
	opts := Options{MemTableBytes: 1 << 20}
	db := openTest(t, dir, opts)
	s := mustStore(t, db, 1, StoreOptions{CacheBytes: 64 << 20})
	var points []string
	db.hook = func(p string) { points = append(points, p) }
	want := map[string]string{}
	for i := range 20000 {
		k, v := fmt.Sprint("key", i), fmt.Sprint("value-", i, "-padding-padding-padding")
		put(t, s, k, v)
		want[k] = v
	}
	if err := db.Commit(1, nil); err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(points, "staged") || !slices.Contains(points, "promote") {
		t.Fatalf("commit of 20000 entries took the path %v", points)
	}
	if s.Stats().Spills != 0 {
		t.Fatal("spilled")
	}
	db.Close()
	db = openTest(t, dir, opts)
	defer db.Close()
	if got := scanAll(t, mustStore(t, db, 1, StoreOptions{})); !maps.Equal(got, want) {
		t.Fatalf("after reopen: %d keys, want %d", len(got), len(want))
	}
}

// TestConcurrentStores runs one goroutine per operator instance, each on
// its own key groups, with a barrier before each Commit.
func TestConcurrentStores(t *testing.T) {
	dir := t.TempDir()
	db := openTest(t, dir, Options{})
	const instances = 4
	stores := make([]*Store, instances)
	for i := range stores {
		first, end := types.KeyGroupRange(i, types.DefaultKeyGroups, instances)
		stores[i] = mustStore(t, db, 9, StoreOptions{FirstKeyGroup: first, EndKeyGroup: end, CacheBytes: 8 << 10})
	}
	const keys = 4000
	for epoch := uint64(1); epoch <= 5; epoch++ {
		var wg sync.WaitGroup
		errs := make(chan error, instances)
		for i, s := range stores {
			wg.Go(func() {
				for k := range keys {
					key := fmt.Appendf(nil, "k%d", k)
					kg := kgOf(key)
					if types.KeyGroupOwner(kg, types.DefaultKeyGroups, instances) != i {
						continue
					}
					v, ok, err := s.Get(kg, key)
					if err == nil && epoch > 1 && (!ok || string(v) != fmt.Sprint(epoch-1)) {
						err = fmt.Errorf("epoch %d: %s = %q, %v", epoch, key, v, ok)
					}
					if err == nil {
						err = s.Put(kg, key, fmt.Append(nil, epoch))
					}
					if err != nil {
						errs <- err
						return
					}
				}
			})
		}
		wg.Wait() // the barrier
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		if err := db.Commit(epoch, nil); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()
	db = openTest(t, dir, Options{})
	defer db.Close()
	got := scanAll(t, mustStore(t, db, 9, StoreOptions{}))
	if len(got) != keys {
		t.Fatalf("%d keys after reopen, want %d", len(got), keys)
	}
	for k, v := range got {
		if v != "5" {
			t.Fatalf("%s = %q, want 5", k, v)
		}
	}
}

func TestTTL(t *testing.T) {
	dir := t.TempDir()
	clock := newFakeClock()
	opts := Options{Clock: clock}
	db := openTest(t, dir, opts)
	s := mustStore(t, db, 1, StoreOptions{TTL: time.Hour})
	plain := mustStore(t, db, 2, StoreOptions{}) // no TTL: never expires
	put(t, s, "old", "1")
	put(t, plain, "old", "1")
	clock.Advance(40 * time.Minute)
	put(t, s, "young", "2")
	if err := db.Commit(1, nil); err != nil {
		t.Fatal(err)
	}
	clock.Advance(30 * time.Minute) // old: 70 min, young: 30 min
	if _, ok := get(t, s, "old"); ok {
		t.Fatal("old entry of a 1h TTL visible after 70 min")
	}
	if v, ok := get(t, s, "young"); !ok || v != "2" {
		t.Fatalf("young = %q, %v", v, ok)
	}
	if got := scanAll(t, s); !maps.Equal(got, map[string]string{"young": "2"}) {
		t.Fatalf("scan: %v", got)
	}
	// Rewriting refreshes an entry.
	clock.Advance(20 * time.Minute) // young: 50 min
	put(t, s, "young", "3")
	clock.Advance(20 * time.Minute) // young: 20 min since the rewrite
	if v, ok := get(t, s, "young"); !ok || v != "3" {
		t.Fatalf("young after rewrite = %q, %v", v, ok)
	}
	if v, ok := get(t, plain, "old"); !ok || v != "1" {
		t.Fatalf("entry without TTL = %q, %v", v, ok)
	}
	// Get turned "old" into a delete: the commit removes it from Badger.
	if err := db.Commit(2, nil); err != nil {
		t.Fatal(err)
	}
	if n := badgerCount(t, db, appendStateKey(nil, nsCommitted, 1, 0, nil)[:5]); n != 1 {
		t.Fatalf("%d committed keys of the TTL operator, want 1", n)
	}
	db.Close()

	// Compaction removes expired entries that nobody reads.
	db = openTest(t, dir, opts)
	defer db.Close()
	s = mustStore(t, db, 1, StoreOptions{TTL: time.Hour})
	for i := range 3000 {
		put(t, s, fmt.Sprint("k", i), "v")
	}
	if err := db.Commit(3, nil); err != nil {
		t.Fatal(err)
	}
	clock.Advance(59 * time.Minute)
	put(t, s, "k0", "fresh") // dirty, rewritten: must survive
	if err := db.Commit(4, nil); err != nil {
		t.Fatal(err)
	}
	clock.Advance(2 * time.Minute)
	n, err := db.CompactExpired(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if n != 3000 { // k1..k2999 and "young"
		t.Fatalf("compaction removed %d entries, want 3000", n)
	}
	if got := scanAll(t, s); !maps.Equal(got, map[string]string{"k0": "fresh"}) {
		t.Fatalf("after compaction: %d keys", len(got))
	}
	if got := badgerCount(t, db, []byte{nsCommitted}); got != 2 { // k0 and plain's "old"
		t.Fatalf("%d committed keys after compaction, want 2", got)
	}
}

func TestCodecOrder(t *testing.T) {
	ints := []int64{-1 << 63, -1000, -1, 0, 1, 42, 1<<63 - 1}
	for i := 1; i < len(ints); i++ {
		a, b := AppendInt64(nil, ints[i-1]), AppendInt64(nil, ints[i])
		if bytes.Compare(a, b) >= 0 || Int64(b) != ints[i] {
			t.Fatalf("int64 %d, %d: %x, %x", ints[i-1], ints[i], a, b)
		}
	}
	inf := math.Inf(1)
	floats := []float64{-inf, -1e10, -1, -1e-300, 0, 1e-300, 1, 1e10, inf}
	for i := 1; i < len(floats); i++ {
		a, b := AppendFloat64(nil, floats[i-1]), AppendFloat64(nil, floats[i])
		if bytes.Compare(a, b) >= 0 || Float64(b) != floats[i] {
			t.Fatalf("float64 %g, %g: %x, %x", floats[i-1], floats[i], a, b)
		}
	}
}

// Misses on keys never written to Badger skip the lookup; a key that
// was spilled is still found.
func TestKeyFilterSkipsLookups(t *testing.T) {
	db, err := Open(t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	s, err := db.Store(1, StoreOptions{CacheBytes: 4 << 10})
	if err != nil {
		t.Fatal(err)
	}
	key := func(i int) []byte { return AppendInt64(nil, int64(i)) }
	for i := range 2000 { // far beyond 4 KiB: most spill
		if err := s.Put(i%128, key(i), []byte("v")); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 2000 {
		v, ok, err := s.Get(i%128, key(i))
		if err != nil || !ok || string(v) != "v" {
			t.Fatalf("key %d: %q %v %v", i, v, ok, err)
		}
	}
	before := s.Stats().Filtered
	for i := 2000; i < 3000; i++ {
		if _, ok, err := s.Get(i%128, key(i)); err != nil || ok {
			t.Fatalf("key %d: found %v, err %v", i, ok, err)
		}
	}
	if n := s.Stats().Filtered - before; n < 950 {
		t.Errorf("only %d of 1000 misses on new keys skipped Badger", n)
	}
}
