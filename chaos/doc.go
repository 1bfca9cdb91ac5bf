// Package chaos holds Sluice's crash tests (DESIGN.md §11): a real
// `sluice server` process runs checkpointing jobs from bounded,
// rate-limited sources into log topics, is stopped at random moments
// (SIGKILL, or SIGTERM for a graceful shutdown) and restarted each time
// until its jobs have finished; then the read_committed contents of every
// output topic must equal those of a failure-free run of the same
// statements, record for record.
//
// The package has no code of its own: everything is in its tests, which
// build the sluice binary and drive it as a user would, through its
// command line and HTTP API. They take about a minute each and are
// skipped with -short.
//
// What must stay true for the comparison to be exact: the server runs
// with --parallelism 1, so each job has one instance of every stage and
// its output order is decided by its input alone; the sources are
// deterministic (seeded datagen, nexmark) and resume by row number; and
// the updating aggregation groups by a key with more values than a batch
// has rows, so no batch touches a group twice and its changelog holds one
// change per input row whatever the batch boundaries were.
package chaos
