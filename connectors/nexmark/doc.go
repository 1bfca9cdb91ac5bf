// Package nexmark generates the Nexmark benchmark's events — people,
// auctions and bids — as columnar batches, following the standard
// generator of Apache Beam and the Flink nexmark project: the same id
// arithmetic, hot auction/bidder/seller ratios, price, string, padding and
// auction-length distributions, and java.util.Random seeded per event, so
// that with Seed 0 an event's random draws are the ones the Java generator
// makes for the same event id.
//
// One deterministic sequence of events underlies the three tables. Event
// number n has id FirstEventID+n; the id modulo the total proportion (50
// by default) decides whether it is a person, an auction or a bid (1:3:46),
// and everything about the event is a function of its number and the
// Config alone. A Generator produces one table's rows of that sequence, so
// the person, auction and bid tables of one Config agree with each other
// (a bid's auction refers to the auctions of the same sequence) however
// they are read.
//
// Invariants a change must keep:
//   - Event n's content depends only on (Config, n): never on which table
//     or split reads it, on batch sizes, or on what was generated before.
//     Determinism, splits and resumption (SetPosition) all rest on this.
//   - Within one table, rows come in increasing event number, and event
//     time never decreases with event number, so Progress.EventTime is a
//     valid watermark bound.
//   - Split i of n owns whole proportion cycles (50 consecutive ids), cycle
//     c going to split c mod n; the splits partition the sequence exactly.
//   - Filling a batch allocates nothing once the batch's vectors and the
//     generator's scratch buffers have grown to size.
package nexmark
