package registry

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/sluice-sql/sluice/broker"
	"github.com/sluice-sql/sluice/connectors"
	"github.com/sluice-sql/sluice/connectors/nexmark"
	"github.com/sluice-sql/sluice/sql/types"
)

func TestOptionErrors(t *testing.T) {
	bid := nexmark.TableBid.Schema()
	cases := []struct {
		opts map[string]string
		want string
	}{
		{map[string]string{}, "missing 'connector'"},
		{map[string]string{"connector": "kafkaa"}, `unknown connector "kafkaa"`},
		{map[string]string{"connector": "nexmark", "nexmark.table": "bid", "nexmark.event": "5"}, `(did you mean "nexmark.events"?)`},
		{map[string]string{"connector": "nexmark", "nexmark.table": "bids"}, "'nexmark.table'"},
		{map[string]string{"connector": "nexmark", "nexmark.table": "bid", "nexmark.events": "-1"}, "not a non-negative integer"},
		{map[string]string{"connector": "log"}, "needs 'topic'"},
		{map[string]string{"connector": "log", "topic": "t", "scan.startup.mode": "middle"}, "scan.startup.mode"},
	}
	for _, c := range cases {
		_, err := Source(c.opts, bid, Env{Broker: &broker.Broker{}})
		if !errors.Is(err, ErrInvalidOptions) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: %v, want %q", c.opts, err, c.want)
		}
	}
	wrong := types.Schema{{Name: "auction", Type: types.BigInt()}}
	if _, err := Source(map[string]string{"connector": "nexmark", "nexmark.table": "bid"}, wrong, Env{}); !errors.Is(err, ErrInvalidOptions) {
		t.Errorf("wrong nexmark columns: %v", err)
	}
	if _, err := Sink(map[string]string{"connector": "nexmark", "nexmark.table": "bid"}, bid, Env{}); !errors.Is(err, ErrInvalidOptions) {
		t.Errorf("nexmark as a sink: %v", err)
	}
}

// drain reads a bounded source to its end.
func drain(t *testing.T, src connectors.Source, schema types.Schema) []*types.Batch {
	t.Helper()
	ctx := context.Background()
	if err := src.Open(ctx); err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	var out []*types.Batch
	for {
		b := types.NewBatch(schema, 256)
		st, err := src.Next(ctx, b, 256)
		if err != nil {
			t.Fatal(err)
		}
		if b.Len() > 0 {
			out = append(out, b)
		}
		if st.State == connectors.Done {
			return out
		}
		if st.State == connectors.Wait {
			t.Fatal("bounded source waits")
		}
	}
}

func TestNexmarkToLogToPrint(t *testing.T) {
	b, err := broker.Open(t.TempDir(), broker.Options{MaintenanceInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	env := Env{Broker: b}
	bid := nexmark.TableBid.Schema()
	srcF, err := Source(map[string]string{"connector": "nexmark", "nexmark.table": "bid", "nexmark.events": "500"}, bid, env)
	if err != nil {
		t.Fatal(err)
	}
	src, _ := srcF(connectors.Split{})
	batches := drain(t, src, bid)
	rows := 0
	for _, bt := range batches {
		rows += bt.Len()
	}
	if rows != 460 { // 46 of every 50 events are bids
		t.Fatalf("%d bids from 500 events", rows)
	}

	sinkF, err := Sink(map[string]string{"connector": "log", "topic": "bids", "format": "json"}, bid, env)
	if err != nil {
		t.Fatal(err)
	}
	sink, _ := sinkF(connectors.Split{})
	ctx := context.Background()
	if err := sink.Open(ctx); err != nil {
		t.Fatal(err)
	}
	for _, bt := range batches {
		if err := sink.Write(ctx, bt); err != nil {
			t.Fatal(err)
		}
	}
	if err := sink.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	sink.Close()

	back, err := Source(map[string]string{"connector": "log", "topic": "bids", "scan.bounded": "true"}, bid, env)
	if err != nil {
		t.Fatal(err)
	}
	src2, _ := back(connectors.Split{})
	got := drain(t, src2, bid)
	var out bytes.Buffer
	printF, err := Sink(map[string]string{"connector": "print"}, bid, Env{Stdout: &out})
	if err != nil {
		t.Fatal(err)
	}
	ps, _ := printF(connectors.Split{})
	for _, bt := range got {
		ps.Write(ctx, bt)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 460 || !strings.HasPrefix(lines[0], "+I[") {
		t.Fatalf("%d printed lines, first %q", len(lines), lines[0])
	}
	// The first bid printed matches the generator's first bid.
	var first bytes.Buffer
	pf, _ := Sink(map[string]string{"connector": "print"}, bid, Env{Stdout: &first})
	p1, _ := pf(connectors.Split{})
	p1.Write(ctx, batches[0])
	if want := strings.SplitN(first.String(), "\n", 2)[0]; lines[0] != want {
		t.Fatalf("through the log: %q, generated: %q", lines[0], want)
	}
}
