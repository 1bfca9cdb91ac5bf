// Package file connects tables to local files of records, one record a
// line: JSON lines or CSV (package format does the records; this package
// does the lines).
//
// Invariants a change must keep:
//   - A Source is bounded: it reads its file once, from the first line to
//     the last, and then reports Done. It never blocks waiting for data.
//   - Lines are counted from 1 and every line counts, blank or not, so a
//     *connectors.RecordError names the line an editor shows.
//   - A Sink's rows are on disk when Flush returns (the file is fsynced).
//
// CSV records are one line each: a quoted field may not hold a newline.
package file
