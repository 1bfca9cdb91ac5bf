package registry

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
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
		_, err := Source(c.opts, bid, nil, Env{Broker: &broker.Broker{}})
		if !errors.Is(err, ErrInvalidOptions) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: %v, want %q", c.opts, err, c.want)
		}
	}
	wrong := types.Schema{{Name: "auction", Type: types.BigInt()}}
	if _, err := Source(map[string]string{"connector": "nexmark", "nexmark.table": "bid"}, wrong, nil, Env{}); !errors.Is(err, ErrInvalidOptions) {
		t.Errorf("wrong nexmark columns: %v", err)
	}
	if _, err := Sink(map[string]string{"connector": "nexmark", "nexmark.table": "bid"}, bid, nil, Env{}); !errors.Is(err, ErrInvalidOptions) {
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
	srcF, err := Source(map[string]string{"connector": "nexmark", "nexmark.table": "bid", "nexmark.events": "500"}, bid, nil, env)
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

	sinkF, err := Sink(map[string]string{"connector": "log", "topic": "bids", "format": "json"}, bid, nil, env)
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

	back, err := Source(map[string]string{"connector": "log", "topic": "bids", "scan.bounded": "true"}, bid, nil, env)
	if err != nil {
		t.Fatal(err)
	}
	src2, _ := back(connectors.Split{})
	got := drain(t, src2, bid)
	var out bytes.Buffer
	printF, err := Sink(map[string]string{"connector": "print"}, bid, nil, Env{Stdout: &out})
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
	pf, _ := Sink(map[string]string{"connector": "print"}, bid, nil, Env{Stdout: &first})
	p1, _ := pf(connectors.Split{})
	p1.Write(ctx, batches[0])
	if want := strings.SplitN(first.String(), "\n", 2)[0]; lines[0] != want {
		t.Fatalf("through the log: %q, generated: %q", lines[0], want)
	}
}

func TestDatagenOptions(t *testing.T) {
	schema := types.Schema{{Name: "id", Type: types.BigInt()}, {Name: "name", Type: types.String()}}
	cases := []struct {
		opts map[string]string
		want string
	}{
		{map[string]string{"connector": "datagen", "rows-per-secnd": "5"}, `(did you mean "rows-per-second"?)`},
		{map[string]string{"connector": "datagen", "fields.id.knd": "sequence"}, `(did you mean "fields.id.kind"?)`},
		{map[string]string{"connector": "datagen", "fields.nme.kind": "random"}, `'fields.nme.kind' names "nme", which is not a column (did you mean "name"?)`},
		{map[string]string{"connector": "datagen", "fields.id.kind": "sequence", "fields.id.start": "1"}, "a sequence needs 'fields.id.start' and 'fields.id.end'"},
		{map[string]string{"connector": "datagen", "number-of-rows": "-3"}, "'number-of-rows' = '-3'"},
	}
	for _, c := range cases {
		if _, err := Source(c.opts, schema, nil, Env{}); !errors.Is(err, ErrInvalidOptions) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: %v, want %q", c.opts, err, c.want)
		}
	}
	// Check, at CREATE TABLE, knows the per-column keys without the schema.
	if err := Check(map[string]string{"connector": "datagen", "fields.any.kind": "sequence", "fields.any.null-rate": "0"}); err != nil {
		t.Errorf("Check of column options: %v", err)
	}
	if err := Check(map[string]string{"connector": "datagen", "fields.id.lenght": "5"}); err == nil || !strings.Contains(err.Error(), `did you mean "fields.id.length"?`) {
		t.Errorf("Check of a misspelt column option: %v", err)
	}
	_, err := Sink(map[string]string{"connector": "datagen"}, schema, nil, Env{})
	if !errors.Is(err, ErrInvalidOptions) || !strings.Contains(err.Error(), "datagen generates rows: it can be read from, not written to") {
		t.Errorf("datagen as a sink: %v", err)
	}
}

func TestDatagenSplitsShareTheSeed(t *testing.T) {
	// Without 'datagen.seed' the seed is random, but drawn once per
	// table: the splits together still make each row once.
	schema := types.Schema{{Name: "id", Type: types.BigInt()}, {Name: "r", Type: types.BigInt()}}
	f, err := Source(map[string]string{"connector": "datagen", "number-of-rows": "100"}, schema, nil, Env{})
	if err != nil {
		t.Fatal(err)
	}
	one, _ := f(connectors.Split{})
	var all []int64
	for _, bt := range drain(t, one, schema) {
		all = append(all, bt.Cols[1].Ints...)
	}
	var split []int64
	for i := range 3 {
		s, _ := f(connectors.Split{Index: i, Count: 3})
		for _, bt := range drain(t, s, schema) {
			split = append(split, bt.Cols[1].Ints...)
		}
	}
	slices.Sort(all)
	slices.Sort(split)
	if len(all) != 100 || !slices.Equal(all, split) {
		t.Errorf("one split made %d rows, three splits other rows", len(all))
	}
}

func TestBounded(t *testing.T) {
	for _, c := range []struct {
		opts map[string]string
		want bool
	}{
		{map[string]string{"connector": "file", "path": "x"}, true},
		{map[string]string{"connector": "nexmark", "nexmark.events": "10"}, true},
		{map[string]string{"connector": "nexmark", "nexmark.events": "0"}, false},
		{map[string]string{"connector": "nexmark"}, false},
		{map[string]string{"connector": "log", "scan.bounded": "true"}, true},
		{map[string]string{"connector": "log"}, false},
		{map[string]string{"connector": "datagen"}, false},
		{map[string]string{"connector": "datagen", "number-of-rows": "5"}, true},
		{map[string]string{"connector": "datagen", "fields.id.kind": "sequence"}, true},
		{map[string]string{"connector": "datagen", "fields.id.kind": "random"}, false},
		{map[string]string{"connector": "print"}, false},
	} {
		if got := Bounded(c.opts); got != c.want {
			t.Errorf("Bounded(%v) = %v, want %v", c.opts, got, c.want)
		}
	}
}

func TestLogStartupOptions(t *testing.T) {
	b, err := broker.Open(t.TempDir(), broker.Options{MaintenanceInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	env := Env{Broker: b}
	schema := types.Schema{{Name: "id", Type: types.BigInt()}}
	for _, c := range []struct {
		opts map[string]string
		want string // "" for no error
	}{
		{map[string]string{"scan.startup.mode": "specific-offsets", "scan.startup.specific-offsets": "partition:0,offset:42;partition:1,offset:300"}, ""},
		{map[string]string{"scan.startup.mode": "specific-offsets", "scan.startup.specific-offsets": "partition: 0, offset: 42;"}, ""},
		{map[string]string{"scan.startup.mode": "specific-offsets"}, "needs 'scan.startup.specific-offsets'"},
		{map[string]string{"scan.startup.mode": "specific-offsets", "scan.startup.specific-offsets": "0:42"}, `"0:42" is not 'partition:<n>,offset:<n>'`},
		{map[string]string{"scan.startup.mode": "specific-offsets", "scan.startup.specific-offsets": "partition:x,offset:1"}, "no valid partition number"},
		{map[string]string{"scan.startup.mode": "specific-offsets", "scan.startup.specific-offsets": "partition:0,offset:-1"}, "no valid offset"},
		{map[string]string{"scan.startup.mode": "specific-offsets", "scan.startup.specific-offsets": "partition:0,offset:1;partition:0,offset:2"}, "a second time"},
		{map[string]string{"scan.startup.specific-offsets": "partition:0,offset:1"}, "needs 'scan.startup.mode' = 'specific-offsets'"},
		{map[string]string{"scan.startup.mode": "group-offsets", "properties.group.id": "g"}, ""},
		{map[string]string{"scan.startup.mode": "group-offsets", "properties.group.id": "g", "properties.auto.offset.reset": "earliest"}, ""},
		{map[string]string{"scan.startup.mode": "group-offsets"}, "needs 'properties.group.id'"},
		{map[string]string{"scan.startup.mode": "group-offsets", "properties.group.id": "g", "properties.auto.offset.reset": "middle"}, "'properties.auto.offset.reset' = 'middle'"},
		{map[string]string{"scan.startup.mode": "group-offset"}, "specific-offsets or group-offsets"},
	} {
		c.opts["connector"], c.opts["topic"] = "log", "t"
		_, err := Source(c.opts, schema, nil, env)
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%v: %v", c.opts, err)
		case c.want != "" && (!errors.Is(err, ErrInvalidOptions) || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%v: %v, want %q", c.opts, err, c.want)
		}
	}
}

func TestLogSpecificOffsetsRead(t *testing.T) {
	b, err := broker.Open(t.TempDir(), broker.Options{MaintenanceInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if err := b.CreateTopic("t", 2, nil); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for i := range 6 {
		if _, err := b.AppendRecords(ctx, "t", int32(i%2), broker.Record{Value: []byte(fmt.Sprintf(`{"id":%d}`, i))}); err != nil {
			t.Fatal(err)
		}
	}
	schema := types.Schema{{Name: "id", Type: types.BigInt()}}
	opts := map[string]string{"connector": "log", "topic": "t", "scan.bounded": "true",
		"scan.startup.mode": "specific-offsets", "scan.startup.specific-offsets": "partition:1,offset:2"}
	f, err := Source(opts, schema, nil, Env{Broker: b})
	if err != nil {
		t.Fatal(err)
	}
	src, _ := f(connectors.Split{})
	var ids []int64
	for _, bt := range drain(t, src, schema) {
		ids = append(ids, bt.Cols[0].Ints...)
	}
	slices.Sort(ids)
	// Partition 0 (ids 0, 2, 4) from its start, partition 1 from offset 2.
	if fmt.Sprint(ids) != "[0 2 4 5]" {
		t.Errorf("ids %v, want [0 2 4 5]", ids)
	}
	opts["scan.startup.specific-offsets"] = "partition:7,offset:0"
	f, err = Source(opts, schema, nil, Env{Broker: b})
	if err != nil {
		t.Fatal(err)
	}
	src, _ = f(connectors.Split{})
	if err := src.Open(ctx); !errors.Is(err, broker.ErrPartitionNotFound) {
		t.Errorf("a partition the topic lacks: %v", err)
	}
}

// 'sink.delivery-guarantee' makes a log sink transactional in a job that
// checkpoints, by default, and only then.
func TestLogDeliveryGuarantee(t *testing.T) {
	b, err := broker.Open(t.TempDir(), broker.Options{MaintenanceInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	schema := types.Schema{{Name: "id", Type: types.BigInt()}}
	job := Env{Broker: b, JobID: "j-7", Transactional: true, SinkTable: "out"}
	noCheckpoints := Env{Broker: b, JobID: "j-8"}
	for _, c := range []struct {
		guarantee string
		env       Env
		want      string // the ids of split 1 of 2, "plain", or an error
	}{
		{"", job, "sluice/j-7/out/1/a sluice/j-7/out/1/b"},
		{"exactly-once", job, "sluice/j-7/out/1/a sluice/j-7/out/1/b"},
		{"at-least-once", job, "plain"},
		{"none", job, "plain"},
		{"", noCheckpoints, "plain"},
		{"at-least-once", noCheckpoints, "plain"},
		{"", Env{Broker: b, JobID: "j-9", Transactional: true}, "sluice/j-9/o/1/a sluice/j-9/o/1/b"}, // the topic stands in for the table
		{"exactly-once", noCheckpoints, "'sink.delivery-guarantee' = 'exactly-once' needs a job that takes checkpoints"},
		{"twice", job, "'sink.delivery-guarantee' = 'twice' (use exactly-once, at-least-once or none)"},
		{"", Env{Broker: b, Transactional: true}, "needs the job's id"},
	} {
		opts := map[string]string{"connector": "log", "topic": "o"}
		if c.guarantee != "" {
			opts["sink.delivery-guarantee"] = c.guarantee
		}
		f, err := Sink(opts, schema, nil, c.env)
		var got string
		if err == nil {
			var s connectors.Sink
			if s, err = f(connectors.Split{Index: 1, Count: 2}); err != nil {
				t.Fatal(err)
			}
			got = "plain"
			if ts, ok := s.(connectors.TransactionalSink); ok {
				ids := ts.(interface{ TransactionalIDs() [2]string }).TransactionalIDs()
				got = ids[0] + " " + ids[1]
			}
		} else {
			got = err.Error()
			if !errors.Is(err, ErrInvalidOptions) && !strings.Contains(c.want, "job's id") {
				t.Errorf("%q in %+v: %v is not ErrInvalidOptions", c.guarantee, c.env, err)
			}
		}
		if !strings.Contains(got, c.want) {
			t.Errorf("%q with job %q, checkpoints %v: %s, want %s", c.guarantee, c.env.JobID, c.env.Transactional, got, c.want)
		}
	}
}

// A log table reads committed records unless 'properties.isolation.level'
// says read_uncommitted; an exactly-once sink's rows show once committed.
func TestLogIsolationLevel(t *testing.T) {
	b, err := broker.Open(t.TempDir(), broker.Options{MaintenanceInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	schema := types.Schema{{Name: "id", Type: types.BigInt()}}
	ctx := context.Background()
	sinkF, err := Sink(map[string]string{"connector": "log", "topic": "t"}, schema, nil, Env{Broker: b, JobID: "j", Transactional: true})
	if err != nil {
		t.Fatal(err)
	}
	s, _ := sinkF(connectors.Split{})
	ts := s.(connectors.TransactionalSink)
	if err := ts.Open(ctx); err != nil {
		t.Fatal(err)
	}
	defer ts.Close()
	if err := ts.Recover(ctx, nil); err != nil {
		t.Fatal(err)
	}
	in := types.NewBatch(schema, 3)
	for i := range 3 {
		in.Cols[0].AppendInt(int64(i))
	}
	in.SetLen(3)
	if err := ts.Write(ctx, in); err != nil {
		t.Fatal(err)
	}
	if _, err := ts.PreCommit(ctx); err != nil {
		t.Fatal(err)
	}
	count := func(level string) int {
		t.Helper()
		opts := map[string]string{"connector": "log", "topic": "t", "scan.bounded": "true"}
		if level != "" {
			opts["properties.isolation.level"] = level
		}
		f, err := Source(opts, schema, nil, Env{Broker: b})
		if err != nil {
			t.Fatal(err)
		}
		src, _ := f(connectors.Split{})
		n := 0
		for _, bt := range drain(t, src, schema) {
			n += bt.Len()
		}
		return n
	}
	for level, want := range map[string]int{"": 0, "read_committed": 0, "READ_COMMITTED": 0, "read_uncommitted": 3} {
		if n := count(level); n != want {
			t.Errorf("pre-committed, isolation %q: %d rows, want %d", level, n, want)
		}
	}
	if err := ts.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if n := count(""); n != 3 {
		t.Errorf("committed: %d rows, want 3", n)
	}
	_, err = Source(map[string]string{"connector": "log", "topic": "t", "properties.isolation.level": "dirty"}, schema, nil, Env{Broker: b})
	if !errors.Is(err, ErrInvalidOptions) || !strings.Contains(err.Error(), "'properties.isolation.level' = 'dirty' (use read_committed or read_uncommitted)") {
		t.Errorf("bad isolation level: %v", err)
	}
	if err := Check(map[string]string{"connector": "log", "properties.isolation.levl": "x"}); err == nil || !strings.Contains(err.Error(), `did you mean "properties.isolation.level"?`) {
		t.Errorf("misspelt isolation option: %v", err)
	}
}

// Checkpointed says of each source connector what its sources are.
func TestCheckpointed(t *testing.T) {
	b, err := broker.Open(t.TempDir(), broker.Options{MaintenanceInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	schema := types.Schema{{Name: "id", Type: types.BigInt()}}
	for _, opts := range []map[string]string{
		{"connector": "datagen"},
		{"connector": "log", "topic": "t"},
		{"connector": "nexmark", "nexmark.table": "bid"},
		{"connector": "file", "path": "x.json", "format": "json"},
	} {
		sc := schema
		if opts["connector"] == "nexmark" {
			sc = nexmark.TableBid.Schema()
		}
		f, err := Source(opts, sc, nil, Env{Broker: b})
		if err != nil {
			t.Fatalf("%v: %v", opts, err)
		}
		src, err := f(connectors.Split{Count: 1})
		if err != nil {
			t.Fatalf("%v: %v", opts, err)
		}
		_, resumable := src.(connectors.CheckpointedSource)
		if got := Checkpointed(opts); got != resumable {
			t.Errorf("%s: Checkpointed %v, but its source resumes: %v", opts["connector"], got, resumable)
		}
	}
}

// A job's datagen table without a seed gets the same one at each of the
// job's restarts, and another in another job.
func TestDatagenSeedOfAJob(t *testing.T) {
	schema := types.Schema{{Name: "v", Type: types.BigInt()}}
	opts := map[string]string{"connector": "datagen", "number-of-rows": "50"}
	rows := func(env Env) string {
		f, err := Source(opts, schema, nil, env)
		if err != nil {
			t.Fatal(err)
		}
		src, err := f(connectors.Split{Count: 1})
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, b := range drain(t, src, schema) {
			for i := range b.Len() {
				out = append(out, fmt.Sprint(b.Cols[0].Ints[i]))
			}
		}
		return strings.Join(out, " ")
	}
	a := rows(Env{JobID: "j-1", SourceTable: "t"})
	if again := rows(Env{JobID: "j-1", SourceTable: "t"}); again != a {
		t.Errorf("the same job's table restarted gave other rows")
	}
	if other := rows(Env{JobID: "j-2", SourceTable: "t"}); other == a {
		t.Errorf("another job's table gave the same rows")
	}
	if _, ok := opts["datagen.seed"]; ok {
		t.Errorf("the table's options were changed")
	}
}
