// Package broker is Sluice's built-in partitioned log: durable topics on
// disk that the engine's sources and sinks read and write, and that Kafka
// clients will reach through the wire-protocol listener.
//
// # Layout
//
// A data directory holds, besides its LOCK file (one process at a time),
// one directory per topic under topics/, with topic.json (partition count
// and config overrides) and one directory per partition. A partition is a
// list of segments, each three files named by the segment's base offset:
//
//	00000000000000000000.log        Kafka record batches, magic v2, byte for byte
//	00000000000000000000.index      sparse offset index (offset -> byte position)
//	00000000000000000000.timeindex  sparse time index (max timestamp -> offset)
//
// The internal topics __consumer_offsets (group offsets) and
// __transaction_state (the transaction coordinator's state, see
// Transactions) are topics like the others, compacted.
//
// Only the last segment takes appends. Batches are stored exactly as a
// Kafka client would send or receive them (see batch.go), so a fetch is a
// read of the file, never a re-encoding.
//
// # Invariants
//
//   - Offsets are dense per partition as appended and never change;
//     compaction leaves gaps but never renumbers.
//   - Under the default policy an append is acknowledged only after an
//     fdatasync covering it (and, for a new segment, its directory entry)
//     has completed. One fdatasync covers every batch written while the
//     previous one ran: group commit, done by one syncer goroutine per
//     partition (partition.go).
//   - Readers never see past the high watermark, which moves only after
//     that sync: no reader sees a batch a crash could take back. Every
//     batch a reader gets has passed its CRC-32C check; damage is reported
//     as a *CorruptionError naming the file and byte offset.
//   - A sealed segment's indexes end in a trailer naming the log size they
//     describe. On open, a segment whose indexes match is trusted; any
//     other (the tail written since the last sync) is scanned batch by
//     batch, and everything from the first torn or damaged batch on is cut
//     and reported in Broker.Recovery. Acknowledged data is never in that
//     region, because acknowledgement waits for the sync.
//   - Nothing reads a whole segment into memory: sealed indexes are
//     searched on disk, scans use a bounded window, and compaction maps
//     key hashes with at most Options.CleanerMaxKeys entries (or one
//     segment's keys, if a single segment holds more).
//   - Retention and compaction work only on sealed segments and swap files
//     by rename, so appends are never blocked by them and a crash leaves
//     either the old file or the new one.
//   - Readers at ReadCommitted never see at or past the last stable
//     offset (LSO), which is at most the high watermark, nor a batch of
//     an aborted transaction; no reader ever gets a control record. A
//     transaction holds the LSO back until its marker is durable, so
//     nothing a read_committed reader saw can be taken back by a crash.
//   - A transaction's outcome is decided by one durable record in
//     __transaction_state (PrepareCommit or PrepareAbort) before any of
//     its markers is written; markers are written to every partition it
//     touched and are durable before CommitTransaction or
//     AbortTransaction returns.
//   - A batch of an older epoch than its producer's current one is never
//     written: the epoch check and the write happen under the
//     transactional id's lock, and the markers that end a fenced
//     producer's transaction carry the new epoch.
//   - Compaction and retention work only below the LSO. Compaction
//     removes the records of aborted transactions, never lets one
//     supersede another record, and keeps every control batch.
//
// # Transactions
//
// Producers (InitProducer, or the Producer helper) get a producer id and
// an epoch; batches carry them with a sequence number, and transactional
// ones the transactional attribute, in the v2 batch header as Kafka
// clients send them. Each partition rebuilds its producer state (epochs,
// sequences, open transactions, the aborted-transactions index) from the
// log when it opens (producer_state.go). The coordinator (transactions.go)
// keeps each transactional id's producer id, epoch, state and partitions
// in the compacted internal topic __transaction_state, created by the
// first transactional InitProducer, and replays it on open.
//
// Recovery rules, applied by Open:
//
//   - A transaction whose PrepareCommit or PrepareAbort is in the log is
//     finished: its missing markers are written (a marker is written only
//     where the transaction is still open, so this is idempotent).
//   - A transaction still Ongoing stays open, holding the LSO, until its
//     producer commits or aborts it with the id and epoch it had (a sink
//     recovering a checkpoint commits it), until InitProducer with the
//     same transactional id aborts it and fences the old epoch, or until
//     Options.TransactionTimeout passes, counted from Open: a crash alone
//     never aborts a transaction whose producer may come back for it.
//   - A transaction open in a partition that no transactional id owns at
//     that epoch cannot be ended by anyone and is aborted at once.
//
// # Durability policy
//
// Options.FsyncInterval zero (the default) is the durable policy above. A
// positive interval acknowledges appends once written to the operating
// system and syncs every interval: a process crash loses nothing, a
// machine crash may lose up to one interval of acknowledged appends, and
// the log is still cut cleanly at the first torn batch.
package broker
