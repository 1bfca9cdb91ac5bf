// Package format holds the record codecs of Sluice's connectors: the
// translation between one record's bytes (a JSON object, a CSV line) and
// one row of a *types.Batch laid out by a types.Schema.
//
// A Decoder appends exactly one row per successful Decode to every column
// of the batch and grows the batch's Len by one. A Decode that fails
// appends nothing: values are converted into a staging row first and
// copied into the vectors only once every column has converted, so a
// caller that drops or dead-letters a bad record keeps a consistent batch.
//
// An Encoder appends one row's record to a byte slice, without a record
// terminator (a newline): framing belongs to the connector.
//
// Errors from Decode are *DecodeError values naming the column (when one
// is to blame) and the byte offset within the record. They carry no
// topic, partition, file or line: the connector wraps them with that.
//
// Invariants a change must keep:
//   - No allocation per record in steady state on the common shapes
//     (integers, strings, timestamps): decoders reuse their parser and
//     scratch buffers, encoders append in place. Slow paths (decimals,
//     base64, errors) may allocate.
//   - Decimal text is never parsed through float64.
//   - TIMESTAMP values are UTC microseconds truncated (toward minus
//     infinity) to the column's precision; DATE values are days since the
//     epoch.
//   - Decoders and Encoders are not safe for concurrent use: one per task.
package format
