package log

import (
	"context"
	"testing"
	"time"

	"github.com/sluice-sql/sluice/broker"
	"github.com/sluice-sql/sluice/connectors"
)

// benchSink writes b.N batches of 1,024 keyed JSON rows to a topic of 4
// partitions under the default durable policy, ending a checkpoint every
// checkpointRows rows: a Flush for the at-least-once Sink, a PreCommit
// and a Commit for the TransactionalSink. It reports rows/s, the last
// checkpoint included.
func benchSink(b *testing.B, exactlyOnce bool, checkpointRows int) {
	br, err := broker.Open(b.TempDir(), broker.Options{MaintenanceInterval: -1})
	if err != nil {
		b.Fatal(err)
	}
	defer br.Close()
	if err := br.CreateTopic("bench", 4, nil); err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	so := SinkOptions{Broker: br, Topic: "bench", Schema: testSchema, Format: "json", KeyColumns: []string{"id"}}
	var sink connectors.Sink
	checkpoint := func() error { return sink.Flush(ctx) }
	if exactlyOnce {
		so.TransactionalIDPrefix = "sluice/bench/t"
		ts, err := NewTransactionalSink(so)
		if err != nil {
			b.Fatal(err)
		}
		sink = ts
		checkpoint = func() error {
			if _, err := ts.PreCommit(ctx); err != nil {
				return err
			}
			return ts.Commit(ctx)
		}
	} else if sink, err = NewSink(so); err != nil {
		b.Fatal(err)
	}
	if err := sink.Open(ctx); err != nil {
		b.Fatal(err)
	}
	defer sink.Close()
	if ts, ok := sink.(connectors.TransactionalSink); ok {
		if err := ts.Recover(ctx, nil); err != nil {
			b.Fatal(err)
		}
	}
	const perBatch = 1024
	batch := rows(0, perBatch)
	b.ResetTimer()
	start := time.Now()
	since := 0
	for range b.N {
		if err := sink.Write(ctx, batch); err != nil {
			b.Fatal(err)
		}
		if since += perBatch; since >= checkpointRows {
			if err := checkpoint(); err != nil {
				b.Fatal(err)
			}
			since = 0
		}
	}
	if err := checkpoint(); err != nil {
		b.Fatal(err)
	}
	el := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(perBatch*b.N)/el.Seconds(), "rows/s")
}

func BenchmarkSinkAtLeastOnce(b *testing.B)     { benchSink(b, false, 1_000_000) }
func BenchmarkSinkExactlyOnce(b *testing.B)     { benchSink(b, true, 1_000_000) }
func BenchmarkSinkExactlyOnce100k(b *testing.B) { benchSink(b, true, 100_000) }
func BenchmarkSinkAtLeastOnce100k(b *testing.B) { benchSink(b, false, 100_000) }
