// Package types is Sluice's data model: the SQL value types and the
// columnar batch that operators pass to each other. It is a leaf: it
// imports nothing of Sluice, and every other package may import it.
//
// A Batch holds rows column by column: one Vector per column, each a typed
// Go slice (no per-value interface boxing), a null bitmap, and, for the
// batch, a selection vector (the rows still live after a filter) and one
// change kind per row (+I, -U, +U, -D). Expressions compiled by the sql
// package are functions from vectors to vectors; hot loops read and write
// the exported slices directly.
//
// Invariants:
//   - Every vector of a batch has the batch's length (Len). A row that is
//     not selected still has a value in every vector; it is skipped, not
//     removed.
//   - A vector's storage follows its type's Kind (see Vector): a reader
//     picks the slice by kind once per batch, never per row.
//   - A null row's value slot holds the zero value of its storage, so
//     kernels may compute over it and mask the result with the null bitmap.
//   - DECIMAL(p,s) with p <= 18 is stored as int64 scaled by 10^s; wider
//     decimals as apd.Decimal. Arithmetic on either is exact.
//   - TIMESTAMP is microseconds since the Unix epoch, UTC; DATE is days
//     since the epoch.
package types
