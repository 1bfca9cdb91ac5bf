// Package server is the HTTP face of `sluice server`: a JSON API over one
// runtime.Engine and its broker, Prometheus metrics read from the
// Engine's jobs at scrape time, and a Go client of that API (Client) that
// the command line uses.
//
// # The API
//
//	POST   /v1/statements            run SQL: {"sql": "..."}
//	GET    /v1/jobs                  every job the engine knows
//	GET    /v1/jobs/{id}             one job
//	DELETE /v1/jobs/{id}             stop a job (?savepoint=true: take one first)
//	POST   /v1/jobs/{id}/savepoint   take a savepoint of a running job
//	GET    /v1/topics                the broker's topics (?internal=true: with __*)
//	GET    /v1/health                {"status": "ok"}
//	GET    /metrics                  Prometheus text
//
// A statement request runs every statement of its text in order through
// Engine.Run, so the whole text is parsed first and a syntax error
// anywhere runs nothing. Its response is one JSON document
// (StatementResponse) unless the last statement is a SELECT: then it is
// newline-delimited JSON (StreamLine), the results of the statements
// before the SELECT first, then the SELECT's columns, then its rows as the
// query produces them, flushed one by one, until the query ends ({"end":
// true}), fails ({"error": ...}) or the client goes away, which stops the
// query. A SELECT anywhere but last is refused before anything runs: its
// rows could go on forever and hold back the statements after it.
//
// Errors are JSON too (ErrorResponse): the message, and for an error in
// the SQL its line, column and byte position in the text sent.
//
// Invariants a change must keep:
//
//   - Every response, errors included (an unknown path, a wrong method, a
//     body too large), is JSON, except /metrics; so a client never has to
//     guess how to read one.
//   - Nothing a statement request starts outlives it unless the Engine
//     owns it: a SELECT's job runs on the request's context and ends with
//     it; an INSERT's job belongs to the Engine and runs on.
//   - The status of a streamed response is decided before its first byte:
//     every statement before the SELECT has run and the SELECT has been
//     planned and started. An error after that is the stream's last line.
//   - The metrics collector reads Engine.Jobs() at each scrape and keeps
//     no state of its own, so it can never disagree with the API.
package server
