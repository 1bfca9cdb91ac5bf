package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/sluice-sql/sluice/runtime"
	"github.com/sluice-sql/sluice/sql"
	"github.com/sluice-sql/sluice/sql/types"
)

// statements runs the statements of a request; see the package
// documentation for the two forms of its response.
func (s *Server) statements(w http.ResponseWriter, r *http.Request) {
	req, ok := s.readStatementRequest(w, r)
	if !ok {
		return
	}
	stmts, err := sql.Parse(req.SQL)
	if err != nil {
		writeError(w, http.StatusBadRequest, errorOf(err))
		return
	}
	if len(stmts) == 0 {
		writeError(w, http.StatusBadRequest, Error{Message: "sql holds no statement, only blanks and comments"})
		return
	}
	last := len(stmts) - 1
	for _, st := range stmts[:last] {
		if sql.Classify(st).Kind == sql.KindSelect {
			err := sql.Errorf(req.SQL, st.Offset, "a SELECT must be the last statement of a request, since its rows stream until it ends: send the statements after it in another request")
			writeError(w, http.StatusBadRequest, errorOf(err))
			return
		}
	}
	streaming := sql.Classify(stmts[last]).Kind == sql.KindSelect

	ctx := r.Context()
	if streaming {
		// A SELECT's job runs on this context: it ends when the client
		// goes away or the server closes, whichever is first.
		var cancel context.CancelCauseFunc
		ctx, cancel = context.WithCancelCause(ctx)
		defer cancel(nil)
		stop := context.AfterFunc(s.ctx, func() { cancel(context.Cause(s.ctx)) })
		defer stop()
	}
	var (
		done     []Result
		streamed bool
	)
	err = s.e.Run(ctx, req.SQL, func(res runtime.Result) error {
		if streaming && len(done) == last {
			streamed = true
			s.stream(ctx, w, done, res)
			return nil
		}
		done = append(done, resultOf(res))
		return nil
	})
	switch {
	case streamed:
		// The stream's own lines said how it ended.
	case err != nil:
		code := http.StatusBadRequest
		if r.Context().Err() != nil {
			code = http.StatusServiceUnavailable
		}
		writeJSON(w, code, ErrorResponse{Error: errorOf(err), Results: done})
	default:
		writeJSON(w, http.StatusOK, StatementResponse{Results: done})
	}
}

// readStatementRequest reads and checks the body of a statement request;
// when it is not ok it has answered the request.
func (s *Server) readStatementRequest(w http.ResponseWriter, r *http.Request) (req StatementRequest, ok bool) {
	const want = `want {"sql": "..."}`
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, s.opts.MaxBodyBytes))
	dec.DisallowUnknownFields()
	err := dec.Decode(&req)
	// More reads the body to its end, which a streamed response needs:
	// only then does the server watch the connection, and cancel the
	// request's context when the client goes away.
	if err == nil && dec.More() {
		err = errors.New("more than one JSON value")
	}
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		writeError(w, http.StatusRequestEntityTooLarge, Error{Message: fmt.Sprintf("request body is larger than %d bytes", tooBig.Limit)})
		return req, false
	case err == io.EOF:
		writeError(w, http.StatusBadRequest, Error{Message: "empty request body: " + want})
		return req, false
	case err != nil:
		writeError(w, http.StatusBadRequest, Error{Message: fmt.Sprintf("malformed JSON body: %v; %s", err, want)})
		return req, false
	case len(req.Properties) > 0:
		writeError(w, http.StatusBadRequest, Error{Message: "properties are not supported: the server's options are shared by all its clients; set them with SET statements"})
		return req, false
	case strings.TrimSpace(req.SQL) == "":
		writeError(w, http.StatusBadRequest, Error{Message: "missing sql: " + want})
		return req, false
	}
	return req, true
}

// stream answers with newline-delimited JSON: the results before the
// SELECT, then res's columns and rows as they come, flushed chunk by
// chunk, then how the query ended. It returns when the query ends, ctx
// ends, or the client stops reading.
func (s *Server) stream(ctx context.Context, w http.ResponseWriter, before []Result, res runtime.Result) {
	h := w.Header()
	h.Set("Content-Type", "application/x-ndjson")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	send := func(b []byte) bool {
		if _, err := w.Write(b); err != nil {
			return false
		}
		return rc.Flush() == nil
	}

	var b []byte
	for i := range before {
		b = appendLine(b, StreamLine{Result: &before[i]})
	}
	cols, updating := res.Columns, false
	if res.Stream != nil {
		cols, updating = res.Stream.TableColumns, res.Stream.Updating
	}
	b = appendLine(b, StreamLine{Statement: res.Statement, Columns: columnsOf(cols), Updating: updating, Bounded: res.Bounded})
	if res.Stream == nil {
		// Answered without a job (a materialized view's key lookup): the
		// rows are all here.
		b = appendRows(b, res.Rows, cols, false)
		send(appendLine(b, StreamLine{End: true}))
		return
	}
	if !send(b) {
		return
	}
	for {
		rows, err := res.Stream.Next(ctx)
		switch {
		case err == io.EOF:
			send(appendLine(b[:0], StreamLine{End: true}))
			return
		case err != nil && ctx.Err() != nil:
			// The client went away (nobody reads this) or the server
			// is closing (the client learns why).
			send(appendLine(b[:0], StreamLine{Error: &Error{Message: context.Cause(ctx).Error()}}))
			return
		case err != nil:
			e := errorOf(err)
			send(appendLine(b[:0], StreamLine{Error: &e}))
			return
		}
		if !send(appendRows(b[:0], rows, cols, updating)) {
			return
		}
	}
}

// appendRows appends one line per row: {"row": [...]}, led by "op" when
// the rows are changes, whose first value is the op.
func appendRows(b []byte, rows [][]any, cols types.Schema, updating bool) []byte {
	for _, row := range rows {
		b = append(b, '{')
		if updating {
			b = append(b, `"op":`...)
			b = AppendValue(b, row[0], types.String())
			b = append(b, ',')
			row = row[1:]
		}
		b = append(b, `"row":[`...)
		for c, v := range row {
			if c > 0 {
				b = append(b, ',')
			}
			b = AppendValue(b, v, cols[c].Type)
		}
		b = append(b, "]}\n"...)
	}
	return b
}

func appendLine(b []byte, l StreamLine) []byte {
	b, err := marshal(b, l)
	if err != nil {
		// Every field is a plain value or RawMessage this package wrote.
		panic(fmt.Sprintf("server: encode stream line: %v", err))
	}
	return b
}

// resultOf is res as the API says it, its rows in JSON.
func resultOf(res runtime.Result) Result {
	out := Result{Statement: res.Statement, Message: res.Message, JobID: res.JobID}
	if res.JobID != "" {
		out.Bounded = res.Bounded
	}
	if res.Columns != nil {
		out.Columns = columnsOf(res.Columns)
		out.Rows = make([][]json.RawMessage, len(res.Rows))
		for i, row := range res.Rows {
			out.Rows[i] = make([]json.RawMessage, len(row))
			for c, v := range row {
				out.Rows[i][c] = AppendValue(nil, v, res.Columns[c].Type)
			}
		}
	}
	return out
}
