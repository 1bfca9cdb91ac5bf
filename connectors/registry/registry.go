// Package registry builds a table's sources and sinks from its WITH
// options: 'connector' chooses nexmark, datagen, log, file, print or
// blackhole (a sink that discards, for benchmarks), and the other
// keys configure it. Unknown connectors and unknown or bad options are
// refused with the key named and, for a misspelling, a suggestion.
//
// The log connector's options (Flink's Kafka connector's names):
//
//	'topic'                          the topic
//	'format'                         json (default), csv, or changelog
//	'scan.startup.mode'              earliest-offset (default), latest-offset,
//	                                 timestamp, specific-offsets, group-offsets
//	'scan.startup.timestamp-millis'  for timestamp
//	'scan.startup.specific-offsets'  for specific-offsets: 'partition:0,offset:42;...'
//	'properties.group.id'            for group-offsets
//	'properties.auto.offset.reset'   for group-offsets: earliest, latest or none
//	'properties.isolation.level'     read_committed (default): only committed
//	                                 records, up to the last stable offset;
//	                                 read_uncommitted: also those of open and
//	                                 aborted transactions
//	'scan.bounded'                   true: stop at the end seen at start (the
//	                                 last stable offset, or the high watermark
//	                                 for read_uncommitted)
//	'key.fields'                     the columns of the record key
//	'sink.partitions'                partitions of a topic the sink creates
//	'sink.delivery-guarantee'        exactly-once (the default in a job that
//	                                 takes checkpoints): one log transaction per
//	                                 checkpoint, visible to read_committed
//	                                 readers when the checkpoint completes;
//	                                 at-least-once (the default otherwise): rows
//	                                 are visible as written and flushed at each
//	                                 checkpoint, and a job that restarts writes
//	                                 those after its last checkpoint again;
//	                                 none: accepted as Flink's, here the same as
//	                                 at-least-once
package registry

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"maps"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sluice-sql/sluice/broker"
	"github.com/sluice-sql/sluice/connectors"
	"github.com/sluice-sql/sluice/connectors/datagen"
	"github.com/sluice-sql/sluice/connectors/file"
	logconn "github.com/sluice-sql/sluice/connectors/log"
	"github.com/sluice-sql/sluice/connectors/nexmark"
	"github.com/sluice-sql/sluice/internal/suggest"
	"github.com/sluice-sql/sluice/sql/types"
)

// Env is what connectors may use of the engine.
type Env struct {
	Broker *broker.Broker
	Stdout io.Writer
	// JobID names the job the connectors are built for, stable across
	// its restarts ("" for a SELECT's); Transactional says that the job
	// takes checkpoints, so a sink that can write exactly once
	// (connectors.TransactionalSink) should.
	JobID         string
	Transactional bool
	// SourceTable names the table a source is built for.
	SourceTable string
	// SinkTable names the table a sink is built for, which with JobID
	// makes an exactly-once log sink's transactional ids
	// (sluice/<JobID>/<SinkTable>/<split>/a and /b); when empty, the
	// sink's topic stands in.
	SinkTable string
}

// ErrInvalidOptions is returned (wrapped, saying which option and why)
// for a table whose connector options cannot be used.
var ErrInvalidOptions = errors.New("invalid connector options")

// SourceFactory builds the source instance of one split.
type SourceFactory func(connectors.Split) (connectors.Source, error)

// SinkFactory builds the sink instance of one split.
type SinkFactory func(connectors.Split) (connectors.Sink, error)

// The option keys each connector takes, besides 'connector' and the
// format's own ('json.*', 'csv.*'). A key with a "<col>" part takes any
// column name there ('fields.<col>.kind'); the connector checks the name
// against the table's columns.
var known = map[string][]string{
	"nexmark": {"nexmark.table", "nexmark.events", "nexmark.rate", "nexmark.seed"},
	"datagen": datagen.OptionKeys(),
	"log": {"topic", "format", "scan.startup.mode", "scan.startup.timestamp-millis", "scan.startup.specific-offsets",
		"properties.group.id", "properties.auto.offset.reset", "properties.isolation.level", "scan.bounded", "key.fields",
		"sink.partitions", "sink.delivery-guarantee"},
	"file":      {"path", "format"},
	"print":     {},
	"blackhole": {},
}

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalidOptions, fmt.Sprintf(format, args...))
}

// Check checks a table's options when it is declared: the connector
// exists and takes every key given. What needs the connector itself (a
// topic, a schema that matches) is checked when the table is used.
func Check(opts map[string]string) error {
	_, err := check(opts)
	return err
}

// check returns the connector named by opts after checking every key.
func check(opts map[string]string) (string, error) {
	name, ok := opts["connector"]
	if !ok {
		return "", invalid("missing 'connector' (one of %s)", strings.Join(connectorNames(), ", "))
	}
	keys, ok := known[name]
	if !ok {
		return "", invalid("unknown connector %q (one of %s)", name, strings.Join(connectorNames(), ", "))
	}
	format := opts["format"]
	if format == "" {
		format = "json"
	}
	for k := range opts {
		if k == "connector" || contains(keys, k) || matchesColumnKey(keys, k) || strings.HasPrefix(k, format+".") {
			continue
		}
		msg := fmt.Sprintf("connector %s has no option %q", name, k)
		if s := suggest.Closest(k, withColumn(keys, k)); s != "" {
			msg += fmt.Sprintf(" (did you mean %q?)", s)
		} else if len(keys) > 0 {
			msg += " (options: " + strings.Join(keys, ", ") + ")"
		}
		return "", invalid("%s", msg)
	}
	return name, nil
}

const colPart = "<col>"

// matchesColumnKey reports whether k is one of keys with a column name
// in place of "<col>".
func matchesColumnKey(keys []string, k string) bool {
	for _, p := range keys {
		pre, post, ok := strings.Cut(p, colPart)
		if ok && len(k) > len(pre)+len(post) && strings.HasPrefix(k, pre) && strings.HasSuffix(k, post) {
			return true
		}
	}
	return false
}

// withColumn returns keys with "<col>" replaced by the column k seems to
// name ('fields.id.knd' names id), so that a misspelt column option gets
// a suggestion spelt for the user's column.
func withColumn(keys []string, k string) []string {
	out := make([]string, len(keys))
	for i, p := range keys {
		out[i] = p
		pre, post, ok := strings.Cut(p, colPart)
		if !ok || !strings.HasPrefix(k, pre) {
			continue
		}
		rest := k[len(pre):]
		// The column is what precedes the last dot, as post starts with one.
		if dot := strings.LastIndexByte(rest, '.'); dot > 0 && strings.HasPrefix(post, ".") {
			out[i] = pre + rest[:dot] + post
		}
	}
	return out
}

func connectorNames() []string {
	names := make([]string, 0, len(known))
	for n := range known {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if x == y {
			return true
		}
	}
	return false
}

func formatOf(opts map[string]string) (string, map[string]string) {
	name := opts["format"]
	if name == "" {
		name = "json"
	}
	fo := make(map[string]string)
	for k, v := range opts {
		if strings.HasPrefix(k, name+".") {
			fo[k] = v
		}
	}
	return name, fo
}

func intOption(opts map[string]string, key string, def int64) (int64, error) {
	v, ok := opts[key]
	if !ok {
		return def, nil
	}
	n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
	if err != nil || n < 0 {
		return 0, invalid("'%s' = '%s' is not a non-negative integer", key, v)
	}
	return n, nil
}

// Source returns the factory of a table's source instances.
//
// A log table with a primary key reads as an upsert table: see
// logconn.SourceOptions.Upsert.
func Source(opts map[string]string, schema types.Schema, primaryKey []string, env Env) (SourceFactory, error) {
	name, err := check(opts)
	if err != nil {
		return nil, err
	}
	switch name {
	case "nexmark":
		return nexmarkSource(opts, schema)
	case "datagen":
		return datagenSource(opts, schema, env)
	case "log":
		return logSource(opts, schema, primaryKey, env)
	case "file":
		path := opts["path"]
		if path == "" {
			return nil, invalid("connector file needs 'path'")
		}
		f, fo := formatOf(opts)
		return func(s connectors.Split) (connectors.Source, error) {
			return file.NewSource(file.SourceOptions{Path: path, Schema: schema, Format: f, FormatOptions: fo, Split: s})
		}, nil
	}
	return nil, invalid("connector %s cannot be read from", name)
}

// Sink returns the factory of a table's sink instances.
//
// A table with a primary key takes an updating result where its connector
// can: a log table becomes an upsert topic keyed by the primary key.
func Sink(opts map[string]string, schema types.Schema, primaryKey []string, env Env) (SinkFactory, error) {
	name, err := check(opts)
	if err != nil {
		return nil, err
	}
	switch name {
	case "log":
		return logSink(opts, schema, primaryKey, env)
	case "file":
		path := opts["path"]
		if path == "" {
			return nil, invalid("connector file needs 'path'")
		}
		f, fo := formatOf(opts)
		var mu sync.Mutex
		return func(s connectors.Split) (connectors.Sink, error) {
			// One file: instances after the first append to it.
			mu.Lock()
			defer mu.Unlock()
			p := path
			if s.Index > 0 {
				p = fmt.Sprintf("%s.%d", path, s.Index)
			}
			return file.NewSink(file.SinkOptions{Path: p, Schema: schema, Format: f, FormatOptions: fo})
		}, nil
	case "blackhole":
		return func(connectors.Split) (connectors.Sink, error) { return blackhole{}, nil }, nil
	case "print":
		if env.Stdout == nil {
			return nil, invalid("connector print has no output")
		}
		out := &lockedWriter{w: env.Stdout}
		return func(connectors.Split) (connectors.Sink, error) {
			return &printSink{out: out, schema: schema}, nil
		}, nil
	}
	if name == "datagen" || name == "nexmark" {
		return nil, invalid("connector %s generates rows: it can be read from, not written to (use print or blackhole to discard rows)", name)
	}
	return nil, invalid("connector %s cannot be written to", name)
}

// Bounded reports whether a table with these connector options ends on
// its own: a file; a nexmark generator with 'nexmark.events' > 0; a log
// read with 'scan.bounded' = 'true'; a datagen generator with
// 'number-of-rows' or a sequence column. It does not validate the
// options: a table whose options are bad is refused when it is read.
func Bounded(opts map[string]string) bool {
	switch opts["connector"] {
	case "file":
		return true
	case "nexmark":
		n, err := strconv.ParseInt(strings.TrimSpace(opts["nexmark.events"]), 10, 64)
		return err == nil && n > 0
	case "log":
		return opts["scan.bounded"] == "true"
	case "datagen":
		if _, ok := opts[datagen.OptionNumberOfRows]; ok {
			return true
		}
		for k, v := range opts {
			if strings.HasPrefix(k, "fields.") && strings.HasSuffix(k, ".kind") && strings.EqualFold(strings.TrimSpace(v), "sequence") {
				return true
			}
		}
	}
	return false
}

// Checkpointed reports whether a table with these connector options is
// read by a source that can name its position and resume there
// (connectors.CheckpointedSource), which a job needs to checkpoint.
func Checkpointed(opts map[string]string) bool {
	switch opts["connector"] {
	case "datagen", "log", "nexmark":
		return true
	}
	return false
}

func datagenSource(opts map[string]string, schema types.Schema, env Env) (SourceFactory, error) {
	if _, ok := opts[datagen.OptionSeed]; !ok && env.JobID != "" {
		// A job's table without a seed gets one of its own, the same
		// each time the job restarts, so that the rows it replays from
		// a checkpoint are the rows it had read.
		h := fnv.New64a()
		fmt.Fprintf(h, "%s\x00%s", env.JobID, env.SourceTable)
		opts = maps.Clone(opts)
		opts[datagen.OptionSeed] = strconv.FormatInt(int64(h.Sum64()>>1), 10)
	}
	// Parsed once, so that every split shares the seed drawn when none
	// is given.
	cfg, err := datagen.ParseOptions(opts, schema)
	if err != nil {
		return nil, invalid("%v", err)
	}
	return func(s connectors.Split) (connectors.Source, error) {
		return datagen.NewSource(cfg, s)
	}, nil
}

func nexmarkSource(opts map[string]string, schema types.Schema) (SourceFactory, error) {
	table, err := nexmark.ParseTable(opts["nexmark.table"])
	if err != nil {
		return nil, invalid("'nexmark.table': %v", err)
	}
	want := table.Schema()
	if len(schema) != len(want) {
		return nil, invalid("a nexmark %s table has the columns %s", table, want)
	}
	for i, f := range schema {
		if !strings.EqualFold(f.Name, want[i].Name) || f.Type.Kind != want[i].Type.Kind {
			return nil, invalid("column %d is %s %s; a nexmark %s table has the columns %s", i+1, f.Name, f.Type, table, want)
		}
	}
	var cfg nexmark.Config
	if cfg.MaxEvents, err = intOption(opts, "nexmark.events", 0); err != nil {
		return nil, err
	}
	if cfg.Rate, err = intOption(opts, "nexmark.rate", 0); err != nil {
		return nil, err
	}
	if cfg.Seed, err = intOption(opts, "nexmark.seed", 0); err != nil {
		return nil, err
	}
	probe := cfg
	probe.EnsureDefaults()
	if err := probe.Validate(); err != nil {
		return nil, invalid("%v", err)
	}
	return func(s connectors.Split) (connectors.Source, error) {
		return nexmark.NewSource(cfg, table, s)
	}, nil
}

func logSource(opts map[string]string, schema types.Schema, primaryKey []string, env Env) (SourceFactory, error) {
	if env.Broker == nil {
		return nil, invalid("connector log needs the built-in log")
	}
	topic := opts["topic"]
	if topic == "" {
		return nil, invalid("connector log needs 'topic'")
	}
	var start logconn.Start
	switch mode := opts["scan.startup.mode"]; mode {
	case "", "earliest", "earliest-offset":
		start.Kind = logconn.Earliest
	case "latest", "latest-offset":
		start.Kind = logconn.Latest
	case "timestamp":
		ms, err := intOption(opts, "scan.startup.timestamp-millis", -1)
		if err != nil {
			return nil, err
		}
		if ms < 0 {
			return nil, invalid("'scan.startup.mode' = 'timestamp' needs 'scan.startup.timestamp-millis'")
		}
		start.Kind, start.Time = logconn.Timestamp, time.UnixMilli(ms)
	case "specific-offsets":
		spec, ok := opts["scan.startup.specific-offsets"]
		if !ok {
			return nil, invalid("'scan.startup.mode' = 'specific-offsets' needs 'scan.startup.specific-offsets' (like 'partition:0,offset:42;partition:1,offset:300')")
		}
		offsets, err := parseSpecificOffsets(spec)
		if err != nil {
			return nil, err
		}
		start.Kind, start.Offsets = logconn.Offsets, offsets
	case "group-offsets":
		start.Kind, start.Group = logconn.GroupOffsets, strings.TrimSpace(opts["properties.group.id"])
		if start.Group == "" {
			return nil, invalid("'scan.startup.mode' = 'group-offsets' needs 'properties.group.id'")
		}
		switch v := opts["properties.auto.offset.reset"]; strings.ToLower(strings.TrimSpace(v)) {
		case "", "none":
			start.Reset = logconn.NoReset
		case "earliest":
			start.Reset = logconn.ResetEarliest
		case "latest":
			start.Reset = logconn.ResetLatest
		default:
			return nil, invalid("'properties.auto.offset.reset' = '%s' (use earliest, latest or none)", v)
		}
	default:
		return nil, invalid("'scan.startup.mode' = '%s' (use earliest-offset, latest-offset, timestamp, specific-offsets or group-offsets)", mode)
	}
	// An option of another mode is a mistake the user should hear of.
	for key, mode := range map[string]string{"scan.startup.timestamp-millis": "timestamp",
		"scan.startup.specific-offsets": "specific-offsets", "properties.auto.offset.reset": "group-offsets"} {
		if _, ok := opts[key]; ok && opts["scan.startup.mode"] != mode {
			return nil, invalid("'%s' needs 'scan.startup.mode' = '%s'", key, mode)
		}
	}
	bounded := false
	switch v := opts["scan.bounded"]; v {
	case "", "false":
	case "true":
		bounded = true
	default:
		return nil, invalid("'scan.bounded' = '%s' (use true or false)", v)
	}
	uncommitted := false
	switch v := opts["properties.isolation.level"]; strings.ToLower(strings.TrimSpace(v)) {
	case "", "read_committed":
	case "read_uncommitted":
		uncommitted = true
	default:
		return nil, invalid("'properties.isolation.level' = '%s' (use read_committed or read_uncommitted)", v)
	}
	f, fo := formatOf(opts)
	changelog := f == "changelog"
	if changelog {
		f = "json" // the rows inside the changes
	}
	return func(s connectors.Split) (connectors.Source, error) {
		return logconn.NewSource(logconn.SourceOptions{Broker: env.Broker, Topic: topic, Schema: schema, Format: f, FormatOptions: fo,
			Split: s, Start: start, Bounded: bounded, ReadUncommitted: uncommitted, Upsert: len(primaryKey) > 0 && !changelog, Changelog: changelog})
	}, nil
}

// parseSpecificOffsets reads Flink's 'scan.startup.specific-offsets':
// 'partition:0,offset:42;partition:1,offset:300'.
func parseSpecificOffsets(spec string) (map[int32]int64, error) {
	const key = "scan.startup.specific-offsets"
	bad := func(part, why string) error {
		return invalid("'%s': %q %s (write 'partition:0,offset:42;partition:1,offset:300')", key, part, why)
	}
	offsets := make(map[int32]int64)
	for _, part := range strings.Split(spec, ";") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue // a trailing ';'
		}
		p, o, _ := strings.Cut(part, ",")
		pv, ok1 := specField(p, "partition")
		ov, ok2 := specField(o, "offset")
		if !ok1 || !ok2 {
			return nil, bad(part, "is not 'partition:<n>,offset:<n>'")
		}
		pn, err := strconv.ParseInt(strings.TrimSpace(pv), 10, 32)
		if err != nil || pn < 0 {
			return nil, bad(part, "has no valid partition number")
		}
		on, err := strconv.ParseInt(strings.TrimSpace(ov), 10, 64)
		if err != nil || on < 0 {
			return nil, bad(part, "has no valid offset")
		}
		if _, dup := offsets[int32(pn)]; dup {
			return nil, bad(part, fmt.Sprintf("gives partition %d a second time", pn))
		}
		offsets[int32(pn)] = on
	}
	if len(offsets) == 0 {
		return nil, invalid("'%s' is empty (write 'partition:0,offset:42;partition:1,offset:300')", key)
	}
	return offsets, nil
}

// specField returns the value of "name:value".
func specField(s, name string) (string, bool) {
	k, v, ok := strings.Cut(strings.TrimSpace(s), ":")
	return v, ok && strings.TrimSpace(k) == name
}

func logSink(opts map[string]string, schema types.Schema, primaryKey []string, env Env) (SinkFactory, error) {
	if env.Broker == nil {
		return nil, invalid("connector log needs the built-in log")
	}
	topic := opts["topic"]
	if topic == "" {
		return nil, invalid("connector log needs 'topic'")
	}
	var keys []string
	if v := strings.TrimSpace(opts["key.fields"]); v != "" {
		for _, k := range strings.Split(v, ",") {
			k = strings.TrimSpace(k)
			if schema.Index(k) < 0 {
				return nil, invalid("'key.fields' names %q, which is not a column", k)
			}
			keys = append(keys, k)
		}
	}
	fname, _ := formatOf(opts)
	changelog := fname == "changelog"
	upsert := len(primaryKey) > 0 && !changelog
	if upsert {
		if len(keys) > 0 && strings.Join(keys, ",") != strings.Join(primaryKey, ",") {
			return nil, invalid("'key.fields' (%s) must be the primary key (%s) of an upsert table", strings.Join(keys, ", "), strings.Join(primaryKey, ", "))
		}
		keys = primaryKey
	}
	parts, err := intOption(opts, "sink.partitions", 1)
	if err != nil {
		return nil, err
	}
	exactlyOnce, err := exactlyOnce(opts, env)
	if err != nil {
		return nil, err
	}
	// The sink's topic is made when the table is first written; an
	// upsert topic is compacted, so reading it whole gives the table.
	var config map[string]string
	if upsert {
		config = map[string]string{"cleanup.policy": broker.PolicyCompact}
	}
	if _, err := env.Broker.Partitions(topic); errors.Is(err, broker.ErrTopicNotFound) {
		if err := env.Broker.CreateTopic(topic, int(max(parts, 1)), config); err != nil && !errors.Is(err, broker.ErrTopicExists) {
			return nil, fmt.Errorf("create topic %s for the sink: %w", topic, err)
		}
	} else if err != nil {
		return nil, err
	}
	f, fo := formatOf(opts)
	if changelog {
		f = "json" // the rows inside the changes
	}
	so := logconn.SinkOptions{Broker: env.Broker, Topic: topic, Schema: schema, Format: f, FormatOptions: fo, KeyColumns: keys, Upsert: upsert, Changelog: changelog}
	if exactlyOnce {
		table := env.SinkTable
		if table == "" {
			table = topic
		}
		so.TransactionalIDPrefix = "sluice/" + env.JobID + "/" + table
		return func(sp connectors.Split) (connectors.Sink, error) {
			o := so
			o.Split = sp
			return logconn.NewTransactionalSink(o)
		}, nil
	}
	// Not a TransactionalSink: the runtime flushes it at checkpoints.
	return func(sp connectors.Split) (connectors.Sink, error) {
		o := so
		o.Split = sp
		return logconn.NewSink(o)
	}, nil
}

// exactlyOnce reads 'sink.delivery-guarantee': whether a log sink writes
// in transactions, which takes a job that checkpoints.
func exactlyOnce(opts map[string]string, env Env) (bool, error) {
	const key = "sink.delivery-guarantee"
	var once bool
	switch v := opts[key]; strings.ToLower(strings.TrimSpace(v)) {
	case "":
		once = env.Transactional
	case "exactly-once":
		if !env.Transactional {
			return false, invalid("'%s' = 'exactly-once' needs a job that takes checkpoints (SET 'checkpoint.interval'); use 'at-least-once' otherwise", key)
		}
		once = true
	case "at-least-once", "none":
	default:
		return false, invalid("'%s' = '%s' (use exactly-once, at-least-once or none)", key, v)
	}
	if once && env.JobID == "" {
		// The engine's doing, not the table's: transactional ids are
		// named after the job.
		return false, errors.New("an exactly-once log sink needs the job's id, and the engine gave none")
	}
	return once, nil
}

// lockedWriter serializes the print sinks of parallel instances.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// printSink writes rows as Flink's print connector does: "+I[a, b]".
type printSink struct {
	out    io.Writer
	schema types.Schema
	buf    []byte
}

func (p *printSink) Open(context.Context) error { return nil }

func (p *printSink) Write(_ context.Context, b *types.Batch) error {
	p.buf = p.buf[:0]
	b.ForEach(func(i int) {
		p.buf = append(p.buf, b.Kind(i).String()...)
		p.buf = append(p.buf, '[')
		for c, col := range b.Cols {
			if c > 0 {
				p.buf = append(p.buf, ", "...)
			}
			p.buf = append(p.buf, types.Text(col.Value(i), col.Type)...)
		}
		p.buf = append(p.buf, "]\n"...)
	})
	_, err := p.out.Write(p.buf)
	return err
}

func (p *printSink) Flush(context.Context) error { return nil }
func (p *printSink) Close() error                { return nil }

// blackhole discards every row, for benchmarks of everything before the
// sink.
type blackhole struct{}

func (blackhole) Open(context.Context) error                { return nil }
func (blackhole) Write(context.Context, *types.Batch) error { return nil }
func (blackhole) Flush(context.Context) error               { return nil }
func (blackhole) Close() error                              { return nil }

// Prunable reports whether a table's source can read some of its columns
// only, found by name: a log or file table in JSON, whose decoder then
// parses just those fields. (CSV is positional; the generators make their
// fixed rows.)
func Prunable(opts map[string]string) bool {
	switch opts["connector"] {
	case "log", "file":
		f, _ := formatOf(opts)
		return f == "json"
	}
	return false
}

// Splits is the most source instances a table keeps busy: a log topic's
// partition count, 1 for a file, 0 for no limit (the generators divide
// their rows among any number). A topic that does not exist yet is not a
// limit: reading it fails later, with its own error.
func Splits(opts map[string]string, env Env) int {
	switch opts["connector"] {
	case "file":
		return 1
	case "log":
		if env.Broker == nil {
			return 0
		}
		info, err := env.Broker.DescribeTopic(opts["topic"])
		if err != nil {
			return 0
		}
		return len(info.Partitions)
	}
	return 0
}

// TakesUpdates reports whether a table's sink can take an updating
// result (retractions as well as inserts): blackhole, which discards
// everything, and a log table with a primary key (an upsert topic).
func TakesUpdates(opts map[string]string, primaryKey []string) bool {
	switch opts["connector"] {
	case "blackhole":
		return true
	case "log":
		return len(primaryKey) > 0 || ChangelogTable(opts)
	}
	return false
}

// ChangelogTable reports whether a table's topic holds changes in the
// changelog format ('format' = 'changelog'): read, it is an updating
// input as it is.
func ChangelogTable(opts map[string]string) bool {
	f, _ := formatOf(opts)
	return opts["connector"] == "log" && f == "changelog"
}

// UpsertSource reports whether a table reads as an upsert table: a log
// table with a primary key, whose topic an upsert sink writes. Its rows
// need normalizing into a changelog (UpsertNormalize).
func UpsertSource(opts map[string]string, primaryKey []string) bool {
	return opts["connector"] == "log" && len(primaryKey) > 0 && !ChangelogTable(opts)
}
