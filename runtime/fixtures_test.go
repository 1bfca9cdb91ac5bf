package runtime

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/sluice-sql/sluice/connectors"
	"github.com/sluice-sql/sluice/connectors/nexmark"
	"github.com/sluice-sql/sluice/sql/expr"
	"github.com/sluice-sql/sluice/sql/types"
)

// genSource adapts a bounded, unpaced nexmark generator to
// connectors.Source for tests and benchmarks.
type genSource struct {
	g       *nexmark.Generator
	batches atomic.Int64 // Next calls that returned rows
	before  func()       // called at the start of each Next, if set
}

func newGenSource(events int64, split connectors.Split) (*genSource, error) {
	g, err := nexmark.New(nexmark.Config{MaxEvents: events, Split: split.Index, Splits: split.Count}, nexmark.TableBid)
	if err != nil {
		return nil, err
	}
	return &genSource{g: g}, nil
}

func (s *genSource) Open(context.Context) error { return nil }
func (s *genSource) Next(_ context.Context, b *types.Batch, max int) (connectors.SourceStatus, error) {
	if s.before != nil {
		s.before()
	}
	p := s.g.Next(b, max)
	if p.Rows > 0 {
		s.batches.Add(1)
	}
	st := connectors.SourceStatus{State: connectors.More, EventTime: p.EventTime}
	if p.Done {
		st.State = connectors.Done
	}
	return st, nil
}
func (s *genSource) Wait(ctx context.Context) error { return ctx.Err() }
func (s *genSource) Close() error                   { return nil }

var bidSchema = nexmark.TableBid.Schema()

func bidCol(name string) *expr.ColumnRef {
	i := bidSchema.Index(name)
	return &expr.ColumnRef{Index: i, T: bidSchema[i].Type, Name: name}
}

func mustCall(tb testing.TB, fn string, args ...expr.Expr) expr.Expr {
	tb.Helper()
	ts := make([]types.Type, len(args))
	for i, a := range args {
		ts[i] = a.Type()
	}
	t, err := expr.ResultType(fn, ts)
	if err != nil {
		tb.Fatal(err)
	}
	return &expr.Call{Fn: fn, Args: args, T: t}
}

func bigint(v int64) expr.Expr { return &expr.Const{Value: v, T: types.BigInt()} }

// q2Ops is Nexmark q2 with a computed column: WHERE MOD(auction, 123) = 0,
// SELECT auction, price * 2, bidder.
func q2Ops(tb testing.TB) []OperatorSpec {
	pred := mustCall(tb, expr.FnEq, mustCall(tb, expr.FnMod, bidCol("auction"), bigint(123)), bigint(0))
	return []OperatorSpec{
		FilterSpec("filter", pred, expr.Options{}),
		ProjectSpec("project", []string{"auction", "price2", "bidder"},
			[]expr.Expr{bidCol("auction"), mustCall(tb, expr.FnMul, bidCol("price"), bigint(2)), bidCol("bidder")}, expr.Options{}),
	}
}

// expectedQ2 computes q2's rows directly over the unsplit generator.
func expectedQ2(tb testing.TB, events int64) []string {
	g, err := nexmark.New(nexmark.Config{MaxEvents: events}, nexmark.TableBid)
	if err != nil {
		tb.Fatal(err)
	}
	a, p, bd := bidSchema.Index("auction"), bidSchema.Index("price"), bidSchema.Index("bidder")
	var out []string
	b := types.NewBatch(bidSchema, 0)
	for {
		pr := g.Next(b, 1000)
		for i := range pr.Rows {
			if b.Cols[a].Ints[i]%123 == 0 {
				out = append(out, fmt.Sprintf("%d,%d,%d", b.Cols[a].Ints[i], b.Cols[p].Ints[i]*2, b.Cols[bd].Ints[i]))
			}
		}
		if pr.Done {
			break
		}
	}
	sort.Strings(out)
	return out
}

// collector gathers the rows its sinks write, as comma-joined values, and
// counts their lifecycle calls.
type collector struct {
	mu                   sync.Mutex
	rows                 []string
	opens, flushes, clos atomic.Int64
	writes               atomic.Int64  // Write calls completed
	gate                 chan struct{} // if set, each Write first takes a token
	writing              chan struct{} // if set, signalled as a Write starts
	discard              bool
}

func (c *collector) newSink(connectors.Split) (connectors.Sink, error) {
	return &collectSink{c: c}, nil
}

func (c *collector) sorted() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := append([]string(nil), c.rows...)
	sort.Strings(out)
	return out
}

type collectSink struct {
	c   *collector
	buf []byte
}

func (s *collectSink) Open(context.Context) error { s.c.opens.Add(1); return nil }
func (s *collectSink) Write(ctx context.Context, b *types.Batch) error {
	c := s.c
	if c.writing != nil {
		select {
		case c.writing <- struct{}{}:
		default:
		}
	}
	if c.gate != nil {
		select {
		case <-c.gate:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	defer c.writes.Add(1)
	if c.discard {
		return nil
	}
	var rows []string
	b.ForEach(func(i int) {
		s.buf = s.buf[:0]
		for k, col := range b.Cols {
			if k > 0 {
				s.buf = append(s.buf, ',')
			}
			s.buf = fmt.Append(s.buf, col.Value(i))
		}
		rows = append(rows, string(s.buf))
	})
	c.mu.Lock()
	c.rows = append(c.rows, rows...)
	c.mu.Unlock()
	return nil
}
func (s *collectSink) Flush(context.Context) error { s.c.flushes.Add(1); return nil }
func (s *collectSink) Close() error                { s.c.clos.Add(1); return nil }
