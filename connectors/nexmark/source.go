package nexmark

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/sluice-sql/sluice/connectors"
	"github.com/sluice-sql/sluice/sql/types"
)

// Source is a connectors.Source over a Generator: one table of the
// Nexmark event sequence, split i of n.
type Source struct {
	cfg   Config
	table Table
	gen   *Generator
	due   time.Time // when a rate-limited generator has rows again
	done  bool
}

// NewSource returns the source of table for split; cfg's Split and Splits
// are set from it.
func NewSource(cfg Config, table Table, split connectors.Split) (*Source, error) {
	if err := split.Validate(); err != nil {
		return nil, err
	}
	cfg.Split, cfg.Splits = split.Index, max(split.Count, 1)
	cfg.EnsureDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Source{cfg: cfg, table: table}, nil
}

// Open builds the generator at the start of the sequence.
func (s *Source) Open(context.Context) error {
	g, err := New(s.cfg, s.table)
	if err != nil {
		return err
	}
	s.gen = g
	return nil
}

var _ connectors.CheckpointedSource = (*Source)(nil)

// Position returns the split's place in the event sequence: partition
// the split's index, offset the next event number it considers.
func (s *Source) Position() []connectors.PartitionPosition {
	return []connectors.PartitionPosition{{Partition: int32(s.cfg.Split), Offset: s.gen.Position()}}
}

// Seek resumes the split at its position in pos. The events are split
// by number among the splits, so the positions must be those of as
// many splits as this job has (one each, partitions 0 to n-1): positions
// saved with another parallelism are refused.
func (s *Source) Seek(pos []connectors.PartitionPosition) error {
	seen := make([]bool, s.cfg.Splits)
	var at int64 = -1
	for _, p := range pos {
		if p.Partition < 0 || int(p.Partition) >= s.cfg.Splits || seen[p.Partition] {
			return fmt.Errorf("nexmark: cannot resume split %d of %d from positions saved with another parallelism", s.cfg.Split, s.cfg.Splits)
		}
		seen[p.Partition] = true
		if int(p.Partition) == s.cfg.Split {
			at = p.Offset
		}
	}
	if len(pos) == 0 {
		return nil
	}
	if len(pos) != s.cfg.Splits {
		return fmt.Errorf("nexmark: cannot resume split %d of %d from positions saved with another parallelism", s.cfg.Split, s.cfg.Splits)
	}
	s.gen.SetPosition(at)
	s.done = false
	return nil
}

// errNotEmpty is a caller's bug: the generator fills whole batches.
var errNotEmpty = errors.New("nexmark source: Next needs an empty batch")

// Next fills the empty batch b with up to max rows.
func (s *Source) Next(_ context.Context, b *types.Batch, max int) (connectors.SourceStatus, error) {
	if s.done {
		return connectors.SourceStatus{State: connectors.Done, EventTime: connectors.NoEventTime}, nil
	}
	if b.Len() > 0 {
		return connectors.SourceStatus{}, errNotEmpty
	}
	p := s.gen.Next(b, max)
	st := connectors.SourceStatus{State: connectors.More, EventTime: p.EventTime}
	switch {
	case p.Done:
		s.done = true
		st.State = connectors.Done
	case p.Rows < max && !p.Due.IsZero():
		s.due = p.Due
		st.State = connectors.Wait
	}
	return st, nil
}

// Wait sleeps, on a timer, until the rate limit lets the next row out.
func (s *Source) Wait(ctx context.Context) error {
	d := time.Until(s.due)
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Close releases nothing: the generator holds only memory.
func (s *Source) Close() error { return nil }
