package broker

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"
)

// benchProduce appends b.N batches of 1,000 records with 100-byte values to
// each of the given partitions, one producer goroutine per partition, each
// keeping up to inflight batches unacknowledged, under the default durable
// policy.
func benchProduce(b *testing.B, partitions, inflight int) {
	br, err := Open(b.TempDir(), Options{MaintenanceInterval: -1})
	if err != nil {
		b.Fatal(err)
	}
	defer br.Close()
	if err := br.CreateTopic("bench", partitions, nil); err != nil {
		b.Fatal(err)
	}
	const perBatch = 1000
	value := make([]byte, 100)
	for i := range value {
		value[i] = byte('a' + i%26)
	}
	b.SetBytes(int64(partitions * perBatch * len(value)))
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, partitions)
	for p := 0; p < partitions; p++ {
		wg.Add(1)
		go func(p int32) {
			defer wg.Done()
			sem := make(chan struct{}, inflight)
			var bb BatchBuilder
			var failed sync.Once
			rec := Record{Value: value}
			for i := 0; i < b.N; i++ {
				sem <- struct{}{}
				bb.Reset()
				ts := time.Now().UnixMilli()
				for j := 0; j < perBatch; j++ {
					rec.Timestamp = ts
					bb.Add(&rec)
				}
				br.AppendAsync("bench", p, bb.Build(), func(r AppendResult) {
					if r.Err != nil {
						failed.Do(func() { errs <- r.Err })
					}
					<-sem
				})
			}
			for i := 0; i < inflight; i++ {
				sem <- struct{}{}
			}
		}(int32(p))
	}
	wg.Wait()
	el := time.Since(start)
	b.StopTimer()
	select {
	case err := <-errs:
		b.Fatal(err)
	default:
	}
	b.ReportMetric(float64(partitions*perBatch*b.N)/el.Seconds(), "records/s")
}

func BenchmarkAppendOnePartition(b *testing.B)   { benchProduce(b, 1, 5) }
func BenchmarkAppendFourPartitions(b *testing.B) { benchProduce(b, 4, 5) }

// BenchmarkSequentialRead reads a partition of 100-byte records from the
// start with a Reader, decoding every record.
func BenchmarkSequentialRead(b *testing.B) {
	br, err := Open(b.TempDir(), Options{MaintenanceInterval: -1})
	if err != nil {
		b.Fatal(err)
	}
	defer br.Close()
	if err := br.CreateTopic("bench", 1, nil); err != nil {
		b.Fatal(err)
	}
	const total = 2_000_000
	value := make([]byte, 100)
	var bb BatchBuilder
	rec := Record{Value: value, Timestamp: time.Now().UnixMilli()}
	ctx := context.Background()
	for n := 0; n < total; n += 1000 {
		bb.Reset()
		for j := 0; j < 1000; j++ {
			bb.Add(&rec)
		}
		if _, err := br.Append(ctx, "bench", 0, bb.Build()); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	start := time.Now()
	read := 0
	for i := 0; i < b.N; i++ {
		r := br.NewReader("bench", 0, 0)
		for r.Offset() < total {
			rec, ok, err := r.TryNext()
			if err != nil || !ok {
				b.Fatal(err, ok)
			}
			read += len(rec.Value)
		}
	}
	el := time.Since(start)
	b.ReportMetric(float64(total*b.N)/el.Seconds(), "records/s")
	if read != total*b.N*len(value) {
		b.Fatal(fmt.Sprint("read ", read))
	}
}

// benchTxnAppend appends b.N batches of 100 records with 100-byte values
// to one partition, waiting for each, as one producer: plain, idempotent,
// or transactional with a commit every commitEvery batches.
func benchTxnAppend(b *testing.B, transactionalID string, idempotent bool, commitEvery int) {
	br, err := Open(b.TempDir(), Options{MaintenanceInterval: -1})
	if err != nil {
		b.Fatal(err)
	}
	defer br.Close()
	if err := br.CreateTopic("bench", 1, nil); err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	var p *Producer
	if idempotent || transactionalID != "" {
		if p, err = br.NewProducer(ctx, transactionalID); err != nil {
			b.Fatal(err)
		}
	}
	const perBatch = 100
	value := make([]byte, 100)
	recs := make([]Record, perBatch)
	for i := range recs {
		recs[i] = Record{Value: value}
	}
	b.SetBytes(perBatch * int64(len(value)))
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		ts := time.Now().UnixMilli()
		for j := range recs {
			recs[j].Timestamp = ts
		}
		if p != nil {
			_, err = p.Append(ctx, "bench", 0, recs...)
		} else {
			_, err = br.AppendRecords(ctx, "bench", 0, recs...)
		}
		if err != nil {
			b.Fatal(err)
		}
		if transactionalID != "" && (i+1)%commitEvery == 0 {
			if err := p.Commit(ctx); err != nil {
				b.Fatal(err)
			}
		}
	}
	if transactionalID != "" {
		if err := p.Commit(ctx); err != nil {
			b.Fatal(err)
		}
	}
	el := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(perBatch*b.N)/el.Seconds(), "records/s")
}

func BenchmarkAppendPlain(b *testing.B)      { benchTxnAppend(b, "", false, 0) }
func BenchmarkAppendIdempotent(b *testing.B) { benchTxnAppend(b, "", true, 0) }
func BenchmarkAppendTransactional1000(b *testing.B) {
	benchTxnAppend(b, "bench", false, 1000)
}
