package file

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/sluice-sql/sluice/connectors"
	"github.com/sluice-sql/sluice/connectors/format"
	"github.com/sluice-sql/sluice/sql/types"
)

// SinkOptions configure a Sink.
type SinkOptions struct {
	// Path is the file written; Open creates it, or truncates it unless
	// Append is set.
	Path          string
	Append        bool
	Schema        types.Schema
	Format        string
	FormatOptions map[string]string
}

// Sink writes rows as lines. It implements connectors.Sink.
type Sink struct {
	opts SinkOptions
	enc  format.Encoder
	f    *os.File
	w    *bufio.Writer
	buf  []byte
}

var _ connectors.Sink = (*Sink)(nil)

// NewSink returns a Sink over opts; the file is opened in Open.
func NewSink(opts SinkOptions) (*Sink, error) {
	if opts.Path == "" {
		return nil, errors.New("file sink: no path")
	}
	enc, err := format.NewEncoder(opts.Format, opts.Schema, opts.FormatOptions)
	if err != nil {
		return nil, fmt.Errorf("file sink %s: %w", opts.Path, err)
	}
	return &Sink{opts: opts, enc: enc}, nil
}

// Open creates (or truncates, or opens for appending) the file.
func (s *Sink) Open(ctx context.Context) error {
	flags := os.O_WRONLY | os.O_CREATE | os.O_TRUNC
	if s.opts.Append {
		flags = os.O_WRONLY | os.O_CREATE | os.O_APPEND
	}
	f, err := os.OpenFile(s.opts.Path, flags, 0o644)
	if err != nil {
		return fmt.Errorf("file sink: %w", err)
	}
	s.f, s.w = f, bufio.NewWriterSize(f, 64<<10)
	return nil
}

// Write encodes the live rows of b, one line each.
func (s *Sink) Write(ctx context.Context, b *types.Batch) error {
	var err error
	b.ForEach(func(i int) {
		if err != nil {
			return
		}
		if b.Kind(i) != types.Insert {
			err = fmt.Errorf("file sink %s: %w (row is %v)", s.opts.Path, connectors.ErrRetraction, b.Kind(i))
			return
		}
		if s.buf, err = s.enc.Encode(s.buf[:0], b, i); err != nil {
			err = fmt.Errorf("file sink %s: %w", s.opts.Path, err)
			return
		}
		s.buf = append(s.buf, '\n')
		if _, err = s.w.Write(s.buf); err != nil {
			err = fmt.Errorf("file sink: %w", err)
		}
	})
	return err
}

// Flush writes out the buffer and fsyncs the file.
func (s *Sink) Flush(ctx context.Context) error {
	if err := s.w.Flush(); err != nil {
		return fmt.Errorf("file sink: %w", err)
	}
	if err := s.f.Sync(); err != nil {
		return fmt.Errorf("file sink: %w", err)
	}
	return nil
}

// Close closes the file without flushing rows still buffered.
func (s *Sink) Close() error {
	if s.f == nil {
		return nil
	}
	err := s.f.Close()
	s.f = nil
	return err
}
