// Package datagen generates rows of any schema, as Flink's datagen
// connector does: each column is a sequence (start to end, one step a
// row) or random values (within bounds, with a share of NULLs), the rows
// optionally paced at a rate and bounded by a count.
//
// Rows are numbered 0, 1, 2, ... over the whole table. Row r's value in
// column c is a function of (Config, c, r) alone: sequences take
// Start + r*Step, random values come from a generator seeded with a hash
// of (Seed, c, r). The one exception is a random TIMESTAMP without
// bounds, which is drawn back from the clock's now (Flink's 'max-past').
//
// Invariants a change must keep:
//   - Row r's content depends only on (Config, c, r) and, for the
//     clock-relative timestamps, the clock: never on the split that
//     produces it, on batch sizes or on what was generated before. With
//     the same seed the same table holds the same rows at any parallelism.
//   - Split i of n produces exactly the rows r with r mod n == i, in
//     increasing r, so the splits together produce every row once.
//   - The table ends after Config.Rows rows or when its shortest
//     sequence is exhausted, whichever comes first; with neither it never
//     ends.
//   - Pacing follows the table's schedule: split i's row r is due
//     (r-i)/Rate seconds after the split first asks, so n splits together
//     make Rate rows a second.
//   - Filling a batch allocates nothing once its vectors and the source's
//     scratch buffer have grown to size.
package datagen
