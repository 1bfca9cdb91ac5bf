package server

import (
	"encoding/json"

	"github.com/sluice-sql/sluice/broker"
	"github.com/sluice-sql/sluice/runtime"
	"github.com/sluice-sql/sluice/sql/types"
)

// The bodies of the API's requests and responses, shared by the handlers
// and Client so that the two cannot drift apart.

// StatementRequest is the body of POST /v1/statements.
type StatementRequest struct {
	// SQL is one or more statements, separated by semicolons.
	SQL string `json:"sql"`
	// Properties would set options for this request only. They are
	// refused (400) rather than applied with SET, because the Engine's
	// options are shared by every client of the server: a SET in a
	// request changes them for all.
	Properties map[string]string `json:"properties,omitempty"`
}

// Column is one column of a result set: its name and its SQL type as
// types.Type.String spells it ("BIGINT", "DECIMAL(10,2)",
// "TIMESTAMP(3) NOT NULL"), which sql.ParseType reads back.
type Column struct {
	Name string `json:"name"`
	Type string `json:"type"`
}

// Result is what one statement did, as runtime.Result says it. Rows hold
// one JSON value per column (see AppendValue for their form); Rows is
// present, perhaps empty, whenever Columns is.
type Result struct {
	Statement string `json:"statement"`
	Message   string `json:"message,omitempty"`
	// JobID is the job an INSERT started; Bounded says whether it ends
	// on its own.
	JobID   string              `json:"job_id,omitempty"`
	Bounded bool                `json:"bounded,omitempty"`
	Columns []Column            `json:"columns,omitempty"`
	Rows    [][]json.RawMessage `json:"rows,omitzero"`
}

// StatementResponse is the response to a statement request whose last
// statement is not a SELECT: one Result per statement, in order.
type StatementResponse struct {
	Results []Result `json:"results"`
}

// StreamLine is one line of the newline-delimited JSON response to a
// statement request whose last statement is a SELECT. Exactly one of its
// groups of fields is set on each line, in this order over the stream:
//
//	{"result": {...}}                          a statement before the SELECT
//	{"statement": "...", "columns": [...],     the SELECT's columns
//	 "updating": true, "bounded": false}
//	{"row": [...]}                             a row; "op" leads it
//	{"op": "-U", "row": [...]}                   (+I, -U, +U or -D) when
//	                                             the result is updating
//	{"end": true}                              the query ended
//	{"error": {...}}                           the query failed
//
// A stream that stops without an end or error line was cut: the server
// went away.
type StreamLine struct {
	Result *Result `json:"result,omitempty"`

	Statement string   `json:"statement,omitempty"`
	Columns   []Column `json:"columns,omitempty"`
	// Updating says the rows are changes to a table (an unwindowed GROUP
	// BY's): each carries an op.
	Updating bool `json:"updating,omitempty"`
	// Bounded says the query ends on its own.
	Bounded bool `json:"bounded,omitempty"`

	Op  string            `json:"op,omitempty"`
	Row []json.RawMessage `json:"row,omitempty"`

	End   bool   `json:"end,omitempty"`
	Error *Error `json:"error,omitempty"`
}

// ErrorResponse is the body of every response with a 4xx or 5xx status.
// Results are the statements of the request that ran before the one that
// failed, whose effects (a table created, a job started) stay.
type ErrorResponse struct {
	Error   Error    `json:"error"`
	Results []Result `json:"results,omitempty"`
}

// Error describes what went wrong. Line, Column and Position are set for
// an error in the SQL of a statement request (a *sql.Error): Line and
// Column are 1-based (Column counts characters), Position is the byte
// offset in the request's sql.
type Error struct {
	Message  string `json:"message"`
	Line     int    `json:"line,omitempty"`
	Column   int    `json:"column,omitempty"`
	Position *int   `json:"position,omitempty"`
}

// Job describes one job: runtime.JobInfo's fields, with its stages named
// in the API's style.
type Job struct {
	runtime.JobInfo
	Stages []Stage `json:"stages"`
}

// Stage is the row counts of one stage of a job.
type Stage struct {
	Name    string `json:"name"`
	RowsIn  int64  `json:"rows_in"`
	RowsOut int64  `json:"rows_out"`
	// LateRows are the rows a window dropped because the watermark had
	// passed their window.
	LateRows int64 `json:"late_rows"`
}

// JobsResponse is the response to GET /v1/jobs: the jobs in the order
// they were started.
type JobsResponse struct {
	Jobs []Job `json:"jobs"`
}

// StopResponse is the response to DELETE /v1/jobs/{id}: the job's status
// once stopped, and the savepoint's path when one was asked for.
type StopResponse struct {
	ID        string `json:"id"`
	Status    string `json:"status"`
	Savepoint string `json:"savepoint,omitempty"`
}

// SavepointResponse is the response to POST /v1/jobs/{id}/savepoint.
type SavepointResponse struct {
	ID        string `json:"id"`
	Savepoint string `json:"savepoint"`
}

// Topic describes one topic of the broker.
type Topic struct {
	Name       string      `json:"name"`
	Internal   bool        `json:"internal,omitempty"`
	Partitions []Partition `json:"partitions"`
	// Config are the config keys set when the topic was created.
	Config map[string]string `json:"config,omitempty"`
}

// Partition describes one partition of a topic.
type Partition struct {
	Partition   int32 `json:"partition"`
	StartOffset int64 `json:"start_offset"`
	EndOffset   int64 `json:"end_offset"`
	Segments    int   `json:"segments"`
	Bytes       int64 `json:"bytes"`
}

// TopicsResponse is the response to GET /v1/topics, sorted by name.
type TopicsResponse struct {
	Topics []Topic `json:"topics"`
}

// HealthResponse is the response to GET /v1/health.
type HealthResponse struct {
	Status string `json:"status"`
}

func columnsOf(s types.Schema) []Column {
	cols := make([]Column, len(s))
	for i, f := range s {
		cols[i] = Column{Name: f.Name, Type: f.Type.String()}
	}
	return cols
}

func jobOf(in runtime.JobInfo) Job {
	j := Job{JobInfo: in, Stages: make([]Stage, len(in.Stages))}
	for i, s := range in.Stages {
		j.Stages[i] = Stage{Name: s.Name, RowsIn: s.RowsIn, RowsOut: s.RowsOut, LateRows: s.LateRows}
	}
	return j
}

func topicOf(t broker.TopicInfo) Topic {
	out := Topic{Name: t.Name, Internal: t.Internal, Partitions: make([]Partition, len(t.Partitions))}
	if len(t.Overrides) > 0 {
		out.Config = t.Overrides
	}
	for i, p := range t.Partitions {
		out.Partitions[i] = Partition{Partition: p.Partition, StartOffset: p.StartOffset, EndOffset: p.EndOffset, Segments: p.Segments, Bytes: p.Bytes}
	}
	return out
}
