package runtime

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/sluice-sql/sluice/sql/types"
)

// RowStream is the rows of a running SELECT, delivered as the job
// produces them: a push query. Rows come in chunks, one per batch a sink
// instance wrote, in no order across instances. The job runs until its
// sources end, it fails, or the stream is closed; a consumer that stops
// reading holds the job back (backpressure), never makes it drop rows.
//
// An updating result (an unwindowed GROUP BY) is a changelog: its first
// column, "op", says what each row does (+I, -U, +U, -D, as Flink's
// client shows them), and Collect applies the changes to give the final
// table, without that column.
type RowStream struct {
	// Columns names and types the rows.
	Columns types.Schema
	// Updating says the rows are a changelog, led by the op column.
	Updating bool
	// TableColumns are the columns of the rows Collect returns: Columns
	// without op.
	TableColumns types.Schema
	rows         chan [][]any
	job          *Job
	// limit bounds Collect (sql.max-result-rows).
	limit int
	// err is the job's end, set before rows is closed.
	err error
}

// rowStreamDepth is how many chunks a stream holds before the job waits
// for its reader.
const rowStreamDepth = 8

func newRowStream(table types.Schema, limit int, updating bool) *RowStream {
	cols := table
	if updating {
		cols = append(types.Schema{{Name: "op", Type: types.String().WithNotNull(true)}}, table...)
	}
	return &RowStream{Columns: cols, TableColumns: table, Updating: updating, rows: make(chan [][]any, rowStreamDepth), limit: limit}
}

// start runs job, whose sink is s.sink(), and closes the stream when the
// job ends.
func (s *RowStream) start(ctx context.Context, job *Job) error {
	s.job = job
	if err := job.Start(ctx); err != nil {
		return err
	}
	go func() {
		s.err = job.Wait()
		close(s.rows)
	}()
	return nil
}

// Next returns the next chunk of rows, each row one value per column in
// the Go form of types.Vector.Value (nil for NULL). At the end it returns
// io.EOF for a job that finished, ErrCancelled after Close, or the job's
// failure; ctx ending returns ctx.Err() and leaves the job running.
func (s *RowStream) Next(ctx context.Context) ([][]any, error) {
	select {
	case rows, ok := <-s.rows:
		if ok {
			return rows, nil
		}
		if s.err != nil {
			return nil, s.err
		}
		return nil, io.EOF
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// Close stops the job, if it still runs, waits for it to end and drops
// the rows not read: Next then reports how the job ended.
func (s *RowStream) Close() {
	if s.job == nil {
		return
	}
	s.job.Cancel()
	for range s.rows {
	}
}

// Collect reads the stream to its end, holding at most the rows
// sql.max-result-rows allows (more fails with ErrTooManyRows and stops
// the job).
func (s *RowStream) Collect(ctx context.Context) ([][]any, error) {
	limit := s.limit
	var out [][]any
	var m materializer
	for {
		rows, err := s.Next(ctx)
		if err == io.EOF {
			if s.Updating {
				return m.table(), nil
			}
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		n := len(out) + len(rows)
		if s.Updating {
			for _, r := range rows {
				if err := m.apply(r); err != nil {
					s.Close()
					return nil, err
				}
			}
			n = m.live
		} else {
			out = append(out, rows...)
		}
		if n > limit {
			s.Close()
			return nil, fmt.Errorf("%w: more than %d (write it to a table with INSERT INTO)", ErrTooManyRows, limit)
		}
	}
}

// materializer applies a changelog (rows led by their op) to a table:
// an insert adds its row, a retraction removes an equal row. Rows keep
// the order they were added in.
type materializer struct {
	rows [][]any
	// at lists, by a row's text, the indexes in rows of its live copies.
	at   map[string][]int
	live int
	key  strings.Builder
}

func (m *materializer) apply(r []any) error {
	op, row := r[0].(string), r[1:]
	m.key.Reset()
	for _, v := range row {
		fmt.Fprintf(&m.key, "%T:%v\x00", v, v)
	}
	k := m.key.String()
	if m.at == nil {
		m.at = make(map[string][]int)
	}
	switch op {
	case "+I", "+U":
		m.at[k] = append(m.at[k], len(m.rows))
		m.rows = append(m.rows, row)
		m.live++
	case "-U", "-D":
		idx := m.at[k]
		if len(idx) == 0 {
			return fmt.Errorf("runtime: the changelog retracts a row it never added: %v", row)
		}
		m.rows[idx[len(idx)-1]] = nil
		m.at[k] = idx[:len(idx)-1]
		m.live--
	default:
		return fmt.Errorf("runtime: unknown change %q", op)
	}
	return nil
}

func (m *materializer) table() [][]any {
	out := make([][]any, 0, m.live)
	for _, r := range m.rows {
		if r != nil {
			out = append(out, r)
		}
	}
	return out
}

// streamSink is the sink of a SELECT: every instance sends its rows to the
// stream. Sending blocks while the stream is full.
type streamSink struct {
	s *RowStream
}

// opText is how the op column spells each change kind.
var opText = [...]string{types.Insert: "+I", types.UpdateBefore: "-U", types.UpdateAfter: "+U", types.Delete: "-D"}

func (c *streamSink) Open(context.Context) error { return nil }

func (c *streamSink) Write(ctx context.Context, b *types.Batch) error {
	rows := make([][]any, 0, b.Live())
	lead := 0
	if c.s.Updating {
		lead = 1
	}
	b.ForEach(func(i int) {
		row := make([]any, lead+len(b.Cols))
		if lead > 0 {
			row[0] = opText[b.Kind(i)]
		}
		for k, v := range b.Cols {
			row[lead+k] = v.Value(i)
		}
		rows = append(rows, row)
	})
	if len(rows) == 0 {
		return nil
	}
	select {
	case c.s.rows <- rows:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (c *streamSink) Flush(context.Context) error { return nil }
func (c *streamSink) Close() error                { return nil }
