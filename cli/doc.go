// Package cli is Sluice's command line: the command tree that main runs,
// built with cobra.
//
// Every command reads and writes only the streams it is given (an Env),
// never os.Stdout or os.Stderr directly, so the whole tree can run in a
// test process. Results go to standard output; errors go to standard
// error as "sluice: <message>", except SQL errors, which print as
// "ERROR: line L:C: <message>" with the source line and a caret.
//
// Exit codes, which scripts may rely on:
//
//	0  success (including a consume ended by --max, --timeout or a signal)
//	1  the command ran and failed: a topic that does not exist, a value
//	   the broker rejects, a data directory held by another process, ...
//	2  the command line itself is wrong: an unknown command or flag, a
//	   flag value of the wrong type, the wrong number of arguments, or
//	   flags that contradict each other; no data was touched
//
// Invariants a change must keep:
//
//   - A command opens the broker (and so takes the data directory's lock)
//     only after its command line has been checked, and closes it before
//     returning, so an exit code 2 never leaves a trace on disk.
//   - Commands other than "topic create" and "run" (whose script may create
//     topics) refuse a data directory that does not exist instead of
//     creating it, so a mistyped --data leaves no stray directory behind.
//   - "topic produce" writes every line before a bad line and nothing after
//     it, and reports how many records were acknowledged when it fails.
//   - "topic consume --group" commits, for each partition, the offset after
//     the last record it has flushed to standard output: what was printed
//     is never printed again by the next consume with the group, and what
//     was not printed is never skipped.
package cli
