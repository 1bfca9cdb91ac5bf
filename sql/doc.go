// Package sql is Sluice's language front end: it splits a script into
// statements, applies the streaming dialect, hands standard SQL to the TiDB
// parser, and reports every error against the user's own text.
//
// The path of one script is Split, then for each piece the dialect rewrite,
// then the TiDB parser (see Parse). The dialect layer has its own small
// tokenizer (lexer.go); it recognizes the streaming clauses the TiDB grammar
// rejects (WITH options, WATERMARK FOR, window table functions, Flink CASTs
// and types, ...) and replaces each with text of the same byte length that
// the TiDB parser accepts, recording what it replaced in a side table
// (Dialect) keyed by position.
//
// Invariants a reader must not break:
//   - The rewritten text of a piece has exactly the byte length of the
//     piece, so an offset the TiDB parser reports in the rewritten text is
//     the same offset in the user's text. Every rewrite writes in place; none
//     inserts or deletes bytes. The fuzz test checks this.
//   - Every position stored in a Piece, Statement, Dialect or Error is a byte
//     offset into the whole input given to Split or Parse, never into a piece.
//   - Only this package imports the TiDB parser; consumers see ast nodes only
//     through Statement.
//   - Every error this package returns for bad input is an *Error.
package sql
