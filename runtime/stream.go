package runtime

import (
	"context"
	"fmt"
	"io"

	"github.com/sluice-sql/sluice/sql/types"
)

// RowStream is the rows of a running SELECT, delivered as the job
// produces them: a push query. Rows come in chunks, one per batch a sink
// instance wrote, in no order across instances. The job runs until its
// sources end, it fails, or the stream is closed; a consumer that stops
// reading holds the job back (backpressure), never makes it drop rows.
type RowStream struct {
	// Columns names and types the rows.
	Columns types.Schema
	rows    chan [][]any
	job     *Job
	// limit bounds Collect (sql.max-result-rows).
	limit int
	// err is the job's end, set before rows is closed.
	err error
}

// rowStreamDepth is how many chunks a stream holds before the job waits
// for its reader.
const rowStreamDepth = 8

func newRowStream(cols types.Schema, limit int) *RowStream {
	return &RowStream{Columns: cols, rows: make(chan [][]any, rowStreamDepth), limit: limit}
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
	for {
		rows, err := s.Next(ctx)
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		if len(out)+len(rows) > limit {
			s.Close()
			return nil, fmt.Errorf("%w: more than %d (write it to a table with INSERT INTO)", ErrTooManyRows, limit)
		}
		out = append(out, rows...)
	}
}

// streamSink is the sink of a SELECT: every instance sends its rows to the
// stream. Sending blocks while the stream is full.
type streamSink struct {
	s *RowStream
}

func (c *streamSink) Open(context.Context) error { return nil }

func (c *streamSink) Write(ctx context.Context, b *types.Batch) error {
	rows := make([][]any, 0, b.Live())
	b.ForEach(func(i int) {
		row := make([]any, len(b.Cols))
		for k, v := range b.Cols {
			row[k] = v.Value(i)
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
