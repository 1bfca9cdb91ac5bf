package file

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/sluice-sql/sluice/connectors"
	"github.com/sluice-sql/sluice/connectors/format"
	"github.com/sluice-sql/sluice/sql/types"
)

// SourceOptions configure a Source.
type SourceOptions struct {
	Path string
	// Schema is the table's columns, which lines decode into.
	Schema types.Schema
	// Format names the record format ("json", "csv"); FormatOptions are
	// its options.
	Format        string
	FormatOptions map[string]string
	// Split is this instance's share. A file is one partition: instance
	// 0 reads it, the others are empty.
	Split connectors.Split
}

// Source reads a file's lines as rows. It implements connectors.Source.
type Source struct {
	opts SourceOptions
	dec  format.Decoder
	f    *os.File
	r    *bufio.Reader
	line int64 // lines read so far
	long []byte
	done bool
}

var _ connectors.Source = (*Source)(nil)

// NewSource returns a Source over opts; the file is opened in Open.
func NewSource(opts SourceOptions) (*Source, error) {
	if opts.Path == "" {
		return nil, errors.New("file source: no path")
	}
	if err := opts.Split.Validate(); err != nil {
		return nil, err
	}
	dec, err := format.NewDecoder(opts.Format, opts.Schema, opts.FormatOptions)
	if err != nil {
		return nil, fmt.Errorf("file source %s: %w", opts.Path, err)
	}
	return &Source{opts: opts, dec: dec}, nil
}

// Open opens the file, unless another instance owns it.
func (s *Source) Open(ctx context.Context) error {
	if !s.opts.Split.Owns(0) {
		s.done = true
		return nil
	}
	f, err := os.Open(s.opts.Path)
	if err != nil {
		return fmt.Errorf("file source: %w", err)
	}
	s.f, s.r = f, bufio.NewReaderSize(f, 64<<10)
	return nil
}

// Position is the number of lines read: the position a checkpoint will
// save.
func (s *Source) Position() int64 { return s.line }

// Next appends the rows of up to max further lines. Blank lines are
// skipped for JSON, whose records are never empty; for CSV an empty line
// is a record (a single empty field).
func (s *Source) Next(ctx context.Context, b *types.Batch, max int) (connectors.SourceStatus, error) {
	st := connectors.SourceStatus{State: connectors.More, EventTime: connectors.NoEventTime}
	for rows := 0; rows < max; {
		if s.done {
			st.State = connectors.Done
			return st, nil
		}
		line, err := s.readLine()
		if errors.Is(err, io.EOF) {
			s.done = true
			if line == nil {
				continue
			}
		} else if err != nil {
			return st, fmt.Errorf("file source: %s: %w", s.opts.Path, err)
		}
		s.line++
		if s.opts.Format == "json" && len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		if err := s.dec.Decode(line, b); err != nil {
			return st, &connectors.RecordError{File: s.opts.Path, Line: s.line, Err: err}
		}
		rows++
	}
	if s.done {
		st.State = connectors.Done
	}
	return st, nil
}

// readLine returns the next line without its terminator ("\n" or
// "\r\n"), valid until the next call; at the end of the file it returns
// the unterminated last line, if any, with io.EOF, and then nil, io.EOF.
func (s *Source) readLine() ([]byte, error) {
	line, err := s.r.ReadSlice('\n')
	if errors.Is(err, bufio.ErrBufferFull) {
		s.long = append(s.long[:0], line...)
		for errors.Is(err, bufio.ErrBufferFull) {
			line, err = s.r.ReadSlice('\n')
			s.long = append(s.long, line...)
		}
		line = s.long
	}
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	if errors.Is(err, io.EOF) && len(line) == 0 {
		return nil, io.EOF
	}
	line = bytes.TrimSuffix(line, []byte("\n"))
	line = bytes.TrimSuffix(line, []byte("\r"))
	return line, err
}

// Wait returns at once: a file source never waits for data.
func (s *Source) Wait(ctx context.Context) error { return ctx.Err() }

// Close closes the file.
func (s *Source) Close() error {
	if s.f == nil {
		return nil
	}
	err := s.f.Close()
	s.f = nil
	return err
}
