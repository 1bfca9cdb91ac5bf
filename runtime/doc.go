// Package runtime runs jobs: graphs of tasks joined by bounded channels that
// carry columnar batches (types.Batch) from sources through operators into
// sinks.
//
// This first runtime runs linear pipelines (Pipeline): with parallelism n it
// builds n instances, instance i reading connectors.Split{Index: i, Count:
// n}. Each instance is two tasks, each one goroutine owned by the Job:
//
//	source task ──(bounded channel + batch pool)──▶ chain task
//	                                                 operators… → sink
//
// The chain task runs the instance's operators fused in one goroutine (as
// Flink chains forward edges) and ends in the instance's own Sink: sinks are
// not shared between instances, because a connectors.Sink is not safe for
// concurrent use and one sink per instance keeps its writes in order without
// a lock. Exchanges (hash, broadcast) will add edges between chains later.
//
// An Engine (engine.go) executes statements over a catalog: CREATE and
// DROP TABLE, SHOW TABLES, INSERT INTO ... SELECT (plan with package
// planner, connectors from connectors/registry, then a Job it keeps until
// it ends) and SELECT over bounded sources (run to completion into a
// collecting sink). Jobs run on the Engine's own context, not on the
// context of the statement that started them; Close stops them all.
//
// Invariants a change must keep:
//
//   - Ownership of batches. A batch sent on an edge belongs to the receiver
//     from the send on; the sender never touches it again. The receiver
//     returns it to the edge's pool once nothing refers to it (after the
//     chain's last emit and the sink's Write returned), and the source task
//     Resets it before refilling. Inside a chain, emit lends a batch for the
//     duration of the call only: an operator may reuse its output batch as
//     soon as emit returns, and a callee (the next operator, the sink) must
//     not keep it — the same rule connectors.Sink.Write states.
//   - Backpressure. An edge's pool holds at most ChannelCapacity+2 batches,
//     so a source is never more than that many batches ahead of its sink;
//     every blocking point (pool, channel send and receive, Source.Wait,
//     Sink.Write) also watches the job's context.
//   - Steady state allocates nothing per batch: batches come back through
//     the pool, operators own their scratch and output batches, and
//     compiled expressions allocate nothing once warm.
//   - Lifecycle. Every task opens its one connector and closes it exactly
//     once, whatever happens. A source closes its edge only on Done, never
//     on error or cancellation, so a chain that sees the edge closed knows
//     the input is complete and only then finishes its operators and
//     flushes its sink; a failed or cancelled job never flushes.
//   - Failure. The first task error, or a panic recovered at the task
//     boundary (with its stack), cancels the job's context and is what Wait
//     reports, as a *TaskError naming the job and task. Jobs share nothing,
//     so one job's failure never affects another.
package runtime
