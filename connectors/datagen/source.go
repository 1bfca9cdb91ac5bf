package datagen

import (
	"context"
	"fmt"
	"math"
	"math/bits"
	"time"

	"github.com/cockroachdb/apd/v3"
	"github.com/sluice-sql/sluice/connectors"
	"github.com/sluice-sql/sluice/sql/types"
)

// Source is a connectors.Source of generated rows: split i of n
// produces the rows r with r mod n == i.
type Source struct {
	cfg  Config
	cols []column

	first, stride int64 // the split's first row and the split count
	// paceFrom is the row the pacing schedule starts at: first, or
	// where Seek resumed.
	paceFrom int64
	end      int64 // one past the table's last row; MaxInt64 unbounded
	pos      int64 // the next row this split produces

	// Pacing: the split's row first+k*stride is due at wallStart +
	// k*stride/Rate seconds.
	wallStarted bool
	wallStart   time.Time
	due         time.Time

	scratch []byte
	dec     apd.Decimal
}

var _ connectors.CheckpointedSource = (*Source)(nil)

// Position returns the split's position: partition the split's index,
// offset the next row it produces.
func (s *Source) Position() []connectors.PartitionPosition {
	return []connectors.PartitionPosition{{Partition: int32(s.first), Offset: s.pos}}
}

// Seek resumes the split at its position in pos, if there is one. A
// position that is not a row of this split (saved by a job of another
// parallelism) is refused: a generator's rows are split by row number,
// so its splits cannot be redistributed. The pacing restarts from there.
func (s *Source) Seek(pos []connectors.PartitionPosition) error {
	for _, p := range pos {
		if int64(p.Partition) != s.first {
			continue
		}
		if p.Offset < s.first || (p.Offset-s.first)%s.stride != 0 {
			return fmt.Errorf("datagen: cannot resume split %d of %d at row %d: it was saved with another parallelism", s.first, s.stride, p.Offset)
		}
		s.pos, s.paceFrom = p.Offset, p.Offset
		s.wallStarted = false
	}
	return nil
}

// NewSource returns the source of split. cfg is completed with
// EnsureDefaults and validated.
func NewSource(cfg Config, split connectors.Split) (*Source, error) {
	if err := split.Validate(); err != nil {
		return nil, err
	}
	cfg.Fields = append([]Field(nil), cfg.Fields...) // ours to complete
	cfg.EnsureDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	s := &Source{cfg: cfg, first: int64(split.Index), stride: int64(max(split.Count, 1)), end: math.MaxInt64}
	if n := cfg.Total(); n >= 0 {
		s.end = n
	}
	s.pos, s.paceFrom = s.first, s.first
	for i, f := range cfg.Fields {
		s.cols = append(s.cols, newColumn(cfg.Seed, i, cfg.Schema[i].Type, f))
	}
	return s, nil
}

// Open does nothing: the schedule starts at the first Next.
func (s *Source) Open(context.Context) error { return nil }

// Next appends up to max rows to b: as many as are due, at most to the
// end of the table.
func (s *Source) Next(_ context.Context, b *types.Batch, max int) (connectors.SourceStatus, error) {
	st := connectors.SourceStatus{State: connectors.More, EventTime: connectors.NoEventTime}
	left := s.left()
	if left == 0 {
		st.State = connectors.Done
		return st, nil
	}
	n := min(int64(max), left)
	var now time.Time
	if s.cfg.Rate > 0 || s.clockRelative() {
		now = s.cfg.Clock.Now()
	}
	if s.cfg.Rate > 0 {
		if due := s.dueRows(now); due < n {
			n = due
			st.State = connectors.Wait
		}
	}
	have := b.Len()
	for i := range s.cols {
		s.scratch = s.cols[i].fill(b.Cols[i], s.pos, s.stride, int(n), now.UnixMicro(), s.scratch, &s.dec)
	}
	b.SetLen(have + int(n))
	s.pos += n * s.stride
	switch {
	case s.left() == 0:
		st.State = connectors.Done
	case st.State == connectors.Wait:
		s.due = s.dueTime(s.pos)
	}
	return st, nil
}

// left returns how many rows the split has still to produce.
func (s *Source) left() int64 {
	if s.pos >= s.end {
		return 0
	}
	if s.end == math.MaxInt64 {
		return math.MaxInt64
	}
	return (s.end - s.pos + s.stride - 1) / s.stride
}

func (s *Source) clockRelative() bool {
	for i := range s.cols {
		c := &s.cols[i]
		if c.t.Kind == types.KindTimestamp && c.f.Gen == Random && !c.f.Bounded {
			return true
		}
	}
	return false
}

// dueRows returns how many of the split's rows from pos on are due at
// now, starting the schedule on first use.
func (s *Source) dueRows(now time.Time) int64 {
	if !s.wallStarted {
		s.wallStarted, s.wallStart = true, now
	}
	elapsed := max(now.Sub(s.wallStart), 0)
	// Row first+k*stride is due when k*stride*1e9/Rate <= elapsed ns,
	// so the rows due are k <= elapsed*Rate/(stride*1e9).
	hi, lo := bits.Mul64(uint64(elapsed), uint64(s.cfg.Rate))
	d := uint64(s.stride) * 1e9
	if hi >= d {
		return math.MaxInt64
	}
	k, _ := bits.Div64(hi, lo, d)
	done := (s.pos - s.paceFrom) / s.stride
	return max(int64(k)+1-done, 0)
}

// dueTime returns when the split's row pos is due.
func (s *Source) dueTime(pos int64) time.Time {
	hi, lo := bits.Mul64(uint64(pos-s.paceFrom), 1e9)
	rate := uint64(s.cfg.Rate)
	if hi >= rate {
		return s.wallStart.Add(math.MaxInt64)
	}
	q, r := bits.Div64(hi, lo, rate)
	if r != 0 {
		q++
	}
	if q > math.MaxInt64 {
		return s.wallStart.Add(math.MaxInt64)
	}
	return s.wallStart.Add(time.Duration(q))
}

// Wait blocks, on the clock, until the next row is due.
func (s *Source) Wait(ctx context.Context) error {
	if s.left() == 0 {
		return ctx.Err()
	}
	d := s.due.Sub(s.cfg.Clock.Now())
	if d <= 0 {
		return nil
	}
	select {
	case <-s.cfg.Clock.After(d):
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Close releases nothing: the source holds only memory.
func (s *Source) Close() error { return nil }
