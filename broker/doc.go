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
//
// # Durability policy
//
// Options.FsyncInterval zero (the default) is the durable policy above. A
// positive interval acknowledges appends once written to the operating
// system and syncs every interval: a process crash loses nothing, a
// machine crash may lose up to one interval of acknowledged appends, and
// the log is still cut cleanly at the first torn batch.
package broker
