package server

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"

	"github.com/sluice-sql/sluice/sql"
	"github.com/sluice-sql/sluice/sql/types"
)

// Client talks to a Sluice server through its HTTP API. Its methods are
// safe for concurrent use.
type Client struct {
	base string
	hc   *http.Client
}

// NewClient returns a Client of the server at base ("http://host:port").
// A nil hc uses a client without a timeout, since a SELECT's rows may
// stream for as long as the caller's context lasts.
func NewClient(base string, hc *http.Client) (*Client, error) {
	u, err := url.Parse(strings.TrimSpace(base))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("server URL %q: want http://HOST:PORT", base)
	}
	if hc == nil {
		hc = &http.Client{}
	}
	return &Client{base: strings.TrimSuffix(u.String(), "/"), hc: hc}, nil
}

// URL returns the server's base URL.
func (c *Client) URL() string { return c.base }

// APIError is an error response of the server.
type APIError struct {
	// StatusCode is the response's HTTP status; 200 for an error that
	// ended a stream of rows.
	StatusCode int
	Info       Error
	// Results are those of the statements that ran before the failure.
	Results []Result
}

// Error returns the server's message, after the line and column of an
// error in the SQL.
func (e *APIError) Error() string {
	if e.Info.Line > 0 {
		return fmt.Sprintf("line %d:%d: %s", e.Info.Line, e.Info.Column, e.Info.Message)
	}
	return e.Info.Message
}

// SQLError returns the error as a *sql.Error pointing into text, the SQL
// that was sent, when the server placed it there; else nil.
func (e *APIError) SQLError(text string) *sql.Error {
	if e.Info.Position == nil || *e.Info.Position > len(text) {
		return nil
	}
	return sql.NewError(text, *e.Info.Position, e.Info.Message)
}

// Health reports whether the server answers, and answers that it is ok.
func (c *Client) Health(ctx context.Context) error {
	var h HealthResponse
	if err := c.do(ctx, http.MethodGet, "/v1/health", &h); err != nil {
		return err
	}
	if h.Status != "ok" {
		return fmt.Errorf("server %s: status %q", c.base, h.Status)
	}
	return nil
}

// Jobs lists the server's jobs in the order they were started.
func (c *Client) Jobs(ctx context.Context) ([]Job, error) {
	var r JobsResponse
	err := c.do(ctx, http.MethodGet, "/v1/jobs", &r)
	return r.Jobs, err
}

// Job describes job id.
func (c *Client) Job(ctx context.Context, id string) (Job, error) {
	var j Job
	err := c.do(ctx, http.MethodGet, "/v1/jobs/"+url.PathEscape(id), &j)
	return j, err
}

// StopJob stops job id, with a savepoint first when savepoint is set.
func (c *Client) StopJob(ctx context.Context, id string, savepoint bool) (StopResponse, error) {
	path := "/v1/jobs/" + url.PathEscape(id)
	if savepoint {
		path += "?savepoint=true"
	}
	var r StopResponse
	err := c.do(ctx, http.MethodDelete, path, &r)
	return r, err
}

// Savepoint takes a savepoint of running job id and returns its path.
func (c *Client) Savepoint(ctx context.Context, id string) (string, error) {
	var r SavepointResponse
	err := c.do(ctx, http.MethodPost, "/v1/jobs/"+url.PathEscape(id)+"/savepoint", &r)
	return r.Savepoint, err
}

// Topics lists the server's topics, the internal ones too when internal
// is set.
func (c *Client) Topics(ctx context.Context, internal bool) ([]Topic, error) {
	path := "/v1/topics"
	if internal {
		path += "?internal=true"
	}
	var r TopicsResponse
	err := c.do(ctx, http.MethodGet, path, &r)
	return r.Topics, err
}

// do sends a request without a body and decodes the response into out.
func (c *Client) do(ctx context.Context, method, path string, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := c.send(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return readError(resp)
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("server %s: read response: %w", c.base, err)
	}
	return nil
}

func (c *Client) send(req *http.Request) (*http.Response, error) {
	resp, err := c.hc.Do(req)
	if err != nil {
		if ctxErr := req.Context().Err(); ctxErr != nil {
			return nil, ctxErr
		}
		// The url.Error around err repeats the method and URL.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, fmt.Errorf("cannot reach the server at %s: %w", c.base, err)
	}
	return resp, nil
}

// readError reads an error response. One that is not the API's JSON
// (a proxy's page) is described by its status.
func readError(resp *http.Response) error {
	var er ErrorResponse
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err := json.Unmarshal(body, &er); err != nil || er.Error.Message == "" {
		er.Error = Error{Message: fmt.Sprintf("server answered %s", resp.Status)}
	}
	return &APIError{StatusCode: resp.StatusCode, Info: er.Error, Results: er.Results}
}

// StatementResult is what one statement did, read back from the server.
// Values are in the form DecodeValue gives.
type StatementResult struct {
	Statement string
	Message   string
	JobID     string
	Bounded   bool
	Columns   types.Schema
	Rows      [][]any
	// Stream is set instead of Rows for a SELECT: its rows as the server
	// sends them. It is valid until the callback that got it returns.
	Stream *RowStream
}

// Execute sends text, one or more statements, to the server and calls
// each with what every statement did, in order: see the package
// documentation. When a statement fails, each is called for the ones
// before it, and the error is an *APIError. A SELECT's rows stream until
// it ends, each returns, or ctx ends, which stops the query on the
// server.
func (c *Client) Execute(ctx context.Context, text string, each func(StatementResult) error) error {
	body, err := json.Marshal(StatementRequest{SQL: text})
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+"/v1/statements", bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, application/x-ndjson")
	resp, err := c.send(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		err := readError(resp)
		for _, r := range err.(*APIError).Results {
			sr, cerr := statementResultOf(r)
			if cerr != nil {
				return cerr
			}
			if cerr := each(sr); cerr != nil {
				return cerr
			}
		}
		return err
	}
	if ct, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); ct == "application/x-ndjson" {
		return readStream(bufio.NewReader(resp.Body), each)
	}
	var sr StatementResponse
	if err := json.NewDecoder(resp.Body).Decode(&sr); err != nil {
		return fmt.Errorf("server %s: read response: %w", c.base, err)
	}
	for _, r := range sr.Results {
		res, err := statementResultOf(r)
		if err != nil {
			return err
		}
		if err := each(res); err != nil {
			return err
		}
	}
	return nil
}

// readStream reads a streamed response up to the SELECT's columns, and
// hands each the rest as a RowStream.
func readStream(r *bufio.Reader, each func(StatementResult) error) error {
	for {
		l, err := readLine(r)
		if err != nil {
			return err
		}
		switch {
		case l.Result != nil:
			res, err := statementResultOf(*l.Result)
			if err != nil {
				return err
			}
			if err := each(res); err != nil {
				return err
			}
		case l.Columns != nil:
			cols, err := schemaOf(l.Columns)
			if err != nil {
				return err
			}
			s := &RowStream{TableColumns: cols, Columns: cols, Updating: l.Updating, r: r}
			if l.Updating {
				s.Columns = append(types.Schema{{Name: "op", Type: types.String().WithNotNull(true)}}, cols...)
			}
			return each(StatementResult{Statement: l.Statement, Bounded: l.Bounded, Columns: s.Columns, Stream: s})
		case l.Error != nil:
			return &APIError{StatusCode: http.StatusOK, Info: *l.Error}
		default:
			return errors.New("server: the stream holds no columns")
		}
	}
}

// readLine reads one line of a stream; io.ErrUnexpectedEOF when the
// stream was cut.
func readLine(r *bufio.Reader) (StreamLine, error) {
	var l StreamLine
	b, err := r.ReadBytes('\n')
	if err == io.EOF {
		if len(bytes.TrimSpace(b)) == 0 {
			return l, fmt.Errorf("server: the stream was cut: %w", io.ErrUnexpectedEOF)
		}
		err = nil
	}
	if err != nil {
		return l, err
	}
	if err := json.Unmarshal(b, &l); err != nil {
		return l, fmt.Errorf("server: bad stream line %.100q: %w", b, err)
	}
	return l, nil
}

// RowStream is the rows of a SELECT running on the server, as they come.
type RowStream struct {
	// Columns names and types the rows: TableColumns, led by "op" when
	// the rows are changes (Updating), as runtime.RowStream does.
	Columns      types.Schema
	TableColumns types.Schema
	Updating     bool
	r            *bufio.Reader
	// end is how the stream ended, once it has.
	end error
}

// maxChunk bounds the rows one Next returns.
const maxChunk = 1024

// Next waits for the next row and returns it with the rows that arrived
// with it, each led by its op when Updating. At the end it returns
// io.EOF for a query that ended, the server's *APIError for one that
// failed, or the context's error when the Execute's context ended.
func (s *RowStream) Next() ([][]any, error) {
	var rows [][]any
	for s.end == nil && len(rows) < maxChunk {
		// Past the first row, only rows already received: a chunk is
		// what arrived together, never a wait for more.
		if len(rows) > 0 && !lineBuffered(s.r) {
			break
		}
		l, err := readLine(s.r)
		switch {
		case err != nil:
			s.end = err
		case l.End:
			s.end = io.EOF
		case l.Error != nil:
			s.end = &APIError{StatusCode: http.StatusOK, Info: *l.Error}
		case l.Row != nil:
			row, err := s.decode(l)
			if err != nil {
				s.end = err
				break
			}
			rows = append(rows, row)
		default:
			s.end = fmt.Errorf("server: unexpected stream line %+v", l)
		}
	}
	if len(rows) > 0 {
		return rows, nil
	}
	return nil, s.end
}

func (s *RowStream) decode(l StreamLine) ([]any, error) {
	if len(l.Row) != len(s.TableColumns) {
		return nil, fmt.Errorf("server: a row of %d values for %d columns", len(l.Row), len(s.TableColumns))
	}
	row := make([]any, 0, len(s.Columns))
	if s.Updating {
		row = append(row, l.Op)
	}
	for c, raw := range l.Row {
		v, err := DecodeValue(raw, s.TableColumns[c].Type)
		if err != nil {
			return nil, fmt.Errorf("server: column %s: %w", s.TableColumns[c].Name, err)
		}
		row = append(row, v)
	}
	return row, nil
}

// lineBuffered reports whether r holds a whole line already read.
func lineBuffered(r *bufio.Reader) bool {
	b, _ := r.Peek(r.Buffered())
	return bytes.IndexByte(b, '\n') >= 0
}

func statementResultOf(r Result) (StatementResult, error) {
	out := StatementResult{Statement: r.Statement, Message: r.Message, JobID: r.JobID, Bounded: r.Bounded}
	if r.Columns == nil {
		return out, nil
	}
	cols, err := schemaOf(r.Columns)
	if err != nil {
		return out, err
	}
	out.Columns, out.Rows = cols, make([][]any, len(r.Rows))
	for i, raw := range r.Rows {
		if len(raw) != len(cols) {
			return out, fmt.Errorf("server: a row of %d values for %d columns", len(raw), len(cols))
		}
		row := make([]any, len(raw))
		for c := range raw {
			if row[c], err = DecodeValue(raw[c], cols[c].Type); err != nil {
				return out, fmt.Errorf("server: column %s: %w", cols[c].Name, err)
			}
		}
		out.Rows[i] = row
	}
	return out, nil
}

func schemaOf(cols []Column) (types.Schema, error) {
	s := make(types.Schema, len(cols))
	for i, c := range cols {
		t, err := sql.ParseType(c.Type)
		if err != nil {
			return nil, fmt.Errorf("server: column %s: %w", c.Name, err)
		}
		s[i] = types.Field{Name: c.Name, Type: t}
	}
	return s, nil
}
