// Package state keeps the keyed state of a job's operators in one Badger
// database, behind a write-back cache, and commits it by epochs so that a
// checkpoint is one atomic step (DESIGN.md §6). It is the only package
// that imports Badger.
//
// # Shape
//
// Open(dir, Options) opens the job's database; DB.Store(op, StoreOptions)
// gives each operator instance a *Store over the key groups it owns;
// operators Get, Put, Delete and Scan through it; at a checkpoint barrier
// the coordinator calls DB.Commit(epoch, meta) with the sources' offsets
// as meta, and after a restart DB.LastCommit returns them.
//
// # Invariants
//
//   - Badger's committed keyspace always holds the cut of the last
//     successful Commit, whatever the moment of a crash. Dirty entries
//     reach it only inside Commit. Open completes a Commit that was
//     durable but not fully in place, and discards every write of an
//     epoch that was not committed.
//   - The caller computes key groups (types.KeyGroup of the hash the
//     exchange uses) and passes them in; the package never hashes, so
//     state lives where the exchange routes its keys. The number of key
//     groups is fixed at the database's creation (ErrKeyGroups).
//   - A Store is used by one goroutine; stores of one operator own
//     disjoint key groups; Commit runs when every store is quiescent (at a
//     barrier), so its reads of the stores' caches are ordered after
//     their writes by the barrier, not by a lock. Lock order inside DB:
//     commitMu, then mu.
//
// # On disk
//
// Every Badger key begins with a namespace byte; integers are big-endian
// so that byte order groups state by operator, then key group, then key:
//
//	0x01 "checkpoint"               version flags epoch:u64 meta
//	0x01 "format"                   version keyGroups:u16
//	0x02 op:u32 kg:u16 key          committed value: kind=1 written:i64 bytes
//	0x03 op:u32 kg:u16 key          staging: kind(1 put | 2 delete) written:i64 bytes
//
// A key group's state is one contiguous range (handed over whole when a
// job is rescaled), an operator's state is one range (DropOperator drops
// it with one DropPrefix), and a key prefix within a group, such as the
// encoded start of a window (AppendInt64), is one range for Scan. written
// is the Unix time in nanoseconds of the entry's last write, for TTL.
//
// # Cache
//
// Each Store has a map per key group (a hit allocates nothing) and two
// LRU lists, clean and dirty, bounded together by StoreOptions.CacheBytes
// (each entry counts its key, its value's capacity and ~120 bytes). A
// miss reads staging (only if the key group spilled this epoch) and then
// the committed keyspace, and caches what it finds, a value or its
// absence. Over the bound, the store evicts clean entries, least
// recently used first. If only dirty entries are left it spills the
// least recently used dirty entries (deletes as delete markers) to the
// staging namespace in one Badger write batch, down to 3/4 of the bound;
// they become clean (staging is now their copy) and are evicted. Staging
// is not the committed keyspace, so spilling never breaks the invariant.
// Scan merges three sorted sources, dirty entries over staging over
// committed, skipping deletes and expired entries; it costs O(dirty
// entries of the group) to start, and does not fill the cache.
//
// # Commit
//
// Badger makes one transaction atomic on replay (a transaction whose
// final marker is missing from the log is dropped), but bounds its size
// to 15% of a memtable (2.4 MB by default). So Commit has two paths:
//
//   - Small, nothing spilled: every dirty entry (a Set, or a Delete of the
//     committed key) and the checkpoint record in one transaction, then
//     Sync.
//   - Otherwise (spills, or ErrTxnTooBig): (1) write the dirty entries to
//     staging beside the spilled ones, Sync; (2) write the checkpoint
//     record with the pending flag in one transaction, Sync: this is the
//     commit point; (3) promote: move each staging entry to the committed
//     keyspace and delete it from staging, in as many transactions as
//     needed; (4) rewrite the record without the flag.
//
// A crash before (2) leaves the record of the previous epoch: Open deletes
// staging. A crash after (2) leaves the flag: Open promotes what is left
// in staging before anything reads state. Promotion is idempotent because
// staging holds final values and is not written between (2) and (4), and a
// staging key is deleted only with or after its promotion. Badger's log is
// replayed as a prefix, so a durable record implies durable staging; the
// Syncs make that hold across power loss too, not only process death.
// TestCrashKilledCommits kills a committing child process with SIGKILL at
// each of these points and at random moments and checks that Open yields
// exactly one epoch's state and metadata. It also found that Badger
// cannot open a directory where a crash left an empty memtable file
// (dgraph-io/badger#2207); Open removes such files, which hold nothing.
//
// # TTL
//
// A store with StoreOptions.TTL stamps every Put with the injected Clock;
// an entry whose last write is TTL old is absent to Get and Scan. Get
// turns an expired entry into a delete that the next Commit writes, and
// DB.CompactExpired (run every Options.ExpiryInterval in the background,
// or by hand) deletes expired committed entries in batches under the
// commit lock, re-checking each in its transaction. Deleting entries that
// every reader already treats as absent leaves the visible cut unchanged.
// Stores without a TTL are stamped at Commit, so a TTL set later counts
// from then. TTL is processing time (as Flink's): replay after a restore
// may expire differently.
//
// # Badger settings
//
// Badger's defaults reserve about 500 MB (five 64 MB memtables, a 256 MB
// block cache, 1 GB value log files). An embedded engine runs one
// database per job beside the broker, and the operators' own cache is
// the first level of caching, so the settings are (Options fields):
//
//   - MemTableBytes 16 MiB (default 64): memtable arena; an epoch of up to
//     15% of it (2.4 MB) commits in one transaction.
//   - NumMemtables 2 (default 5): one being written, one being flushed.
//   - BlockCacheBytes 8 MiB (default 256): decompressed SST blocks; misses
//     of the operators' cache land here. Badger requires one with Snappy.
//   - IndexCacheBytes 4 MiB (default 0, which keeps every table's index
//     and bloom filter in memory, growing with the state).
//   - ValueLogFileBytes 32 MiB (default 1 GiB): only values over
//     ValueThreshold (64 KiB) go there; CompactExpired runs its GC.
//   - NumLevelZeroTables 2, stall at 8 (default 5 and 15): fewer
//     memtable-sized L0 tables held before compaction.
//   - NumCompactors 2 (the minimum), NumGoroutines 2, metrics off,
//     conflict detection off (stores own disjoint keys and Commit is
//     serialized), SyncWrites off (Commit syncs where the order needs it),
//     Snappy compression, L0 compacted on Close.
//   - BaseTableSize 512 KiB (default 2 MiB) and BlockSize 4 KiB: a spilling
//     job writes many small tables; smaller table builders cut the peak
//     memory of Nexmark q18 (millions of spilled keys) from 1.70 to 1.41
//     GiB and raised it from 131K to 151K events/s per core.
//
// Measured (linux/amd64, 2 vCPU, Go 1.26, no -race): a test that opens a
// database and commits a few keys peaks at 15 MiB RSS;
// TestStateTwentyTimesCache (5 MiB of state, 256 KiB cache) at 113 MiB;
// BenchmarkStateTwentyTimesCache (80 MiB of state in 700,000 keys, 4 MiB
// cache, uniform random reads and writes, 99% misses) at 555 MiB, of
// which about 150 MiB is live (mostly Badger's table-builder buffers and
// memtables) and the rest garbage from Badger's per-miss block decoding
// awaiting the Go collector: a GOMEMLIMIT bounds it (GOGC=50 gave
// 459 MiB).
package state
