// Package log connects tables to topics of Sluice's built-in log
// (package broker): a Source reading a topic's records and decoding their
// values with a format, and a Sink encoding rows into records.
//
// Invariants a change must keep:
//   - A Source reads only the partitions its split owns (or the subset it
//     was given), each in offset order, and never blocks in Next; Wait
//     blocks on the broker's append notification, never by polling.
//   - A Source says which partitions it reads from Open on, even those
//     with no record yet (Partitions), and which rows of each batch came
//     from which partition (SourceStatus.Spans), so the runtime keeps a
//     watermark per partition.
//   - A bounded Source fixes each partition's end at the high watermark
//     seen in Open and never returns a record at or past it, so a run over
//     finite data ends exactly there whatever is appended meanwhile.
//   - A Sink puts a keyed row where Kafka's default partitioner would:
//     murmur2 of the key bytes, sign bit cleared, modulo the partition
//     count (KeyPartition). The key bytes are the key columns encoded with
//     the sink's format, so a reader sees the same key text as the value.
//   - A Sink keeps at most MaxInFlight appends unacknowledged; Flush
//     returns only when none is, with the first error any of them met.
package log
