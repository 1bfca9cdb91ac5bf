// Package log connects tables to topics of Sluice's built-in log
// (package broker): a Source reading a topic's records and decoding their
// values with a format, and a Sink encoding rows into records, with a
// TransactionalSink that writes them exactly once.
//
// Invariants a change must keep:
//   - A Source reads only the partitions its split owns (or the subset it
//     was given), each in offset order, and never blocks in Next; Wait
//     blocks on the broker's append notification, never by polling.
//   - A Source reads committed records by default (broker.ReadCommitted,
//     as Sluice's own sources must, DESIGN.md §6): nothing at or past a
//     partition's last stable offset (LSO), nothing of an aborted
//     transaction, no control record. SourceOptions.ReadUncommitted reads
//     up to the high watermark, open and aborted transactions included.
//     Wait returns only when Next has a record: an open transaction's
//     appends or an abort marker wake the broker but bring no row.
//   - A Source says which partitions it reads from Open on, even those
//     with no record yet (Partitions), and which rows of each batch came
//     from which partition (SourceStatus.Spans), so the runtime keeps a
//     watermark per partition.
//   - A bounded Source fixes each partition's end in Open, at the LSO (or,
//     reading uncommitted, the high watermark), and never returns a record
//     at or past it, so a run over finite data ends exactly there whatever
//     is appended or committed meanwhile, and never waits on a transaction.
//   - A Source's Position is the offset of the next record it would
//     return; skipped control batches and aborted records lie on either
//     side of it, so a Seek there resumes with no row lost or repeated.
//   - A Sink puts a keyed row where Kafka's default partitioner would:
//     murmur2 of the key bytes, sign bit cleared, modulo the partition
//     count (KeyPartition). The key bytes are the key columns encoded with
//     the sink's format, so a reader sees the same key text as the value.
//   - A Sink keeps at most MaxInFlight appends unacknowledged; Flush
//     returns only when none is, with the first error any of them met.
//
// Exactly-once (TransactionalSink):
//   - Split i of a sink writes under two transactional ids,
//     <prefix>/<i>/a and <prefix>/<i>/b, one transaction on each in turn.
//     A transaction begins with the first Write after a Commit, is named
//     by PreCommit (a TransactionToken) and committed by Commit; only
//     then does the next one begin, on the other id. So the transaction a
//     checkpoint names is the newest on its id for as long as that
//     checkpoint is the last one, and committing it again on recovery
//     (Recover) cannot touch a newer one.
//   - Recover commits the token's transaction (a transaction committed
//     before stays committed, also if its id was re-initialized since)
//     and then re-initializes both ids, which aborts what an earlier run
//     left open and fences its writers: a zombie instance can neither
//     append nor commit, and its rows are never visible to read_committed
//     readers. A transaction the token names that was aborted is
//     ErrTransactionLost, never a silent success.
//   - Sequence numbers go on per id and partition across the
//     transactions of an epoch, and restart at 0 with each epoch, as the
//     broker checks them.
//   - Close does not commit. The broker aborts a transaction left open
//     past its transaction timeout; see RecommendedTransactionTimeout for
//     the value exactly-once needs.
package log
