package runtime

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/sluice-sql/sluice/broker"
	"github.com/sluice-sql/sluice/sql"
	"github.com/sluice-sql/sluice/sql/types"
)

// CatalogTopic is the internal compacted topic that holds the catalog: one
// record per table, keyed by its lower-case name, whose value is a
// catalogRecord; dropping a table writes a tombstone (a nil value).
// Compaction keeps the latest record of each name, so replaying the topic
// from its start rebuilds the catalog.
const CatalogTopic = "__catalog"

// catalogTopicConfig makes CatalogTopic compacted, with segments small
// enough that compaction (which cleans sealed segments only) ever runs.
var catalogTopicConfig = map[string]string{
	"cleanup.policy": broker.PolicyCompact,
	"segment.bytes":  "1048576",
}

// catalogRecordVersion is the version of catalogRecord this code writes
// and the only one it reads.
const catalogRecordVersion = 1

// catalogRecord is the value of a table's record in CatalogTopic. It holds
// the CREATE TABLE statement as the user wrote it, not the Table built from
// it: loading re-parses and re-builds it, so the stored form can never
// drift from what the binder understands.
//
// A view's record also holds its columns, as the view's query typed them
// when it was created: a view is loaded without binding its query, which
// may read tables loaded after it.
//
// A materialized view's record also holds its primary key and the
// options of its table.
type catalogRecord struct {
	Version    int               `json:"version"`
	Create     string            `json:"create"`
	Columns    []catalogColumn   `json:"columns,omitempty"`
	PrimaryKey []string          `json:"primary_key,omitempty"`
	Options    map[string]string `json:"options,omitempty"`
}

type catalogColumn struct {
	Name string `json:"name"`
	Type string `json:"type"`
}

// ErrBadCatalogRecord is returned (wrapped, with the table and offset) when
// a record of CatalogTopic cannot be loaded. The engine refuses to start
// rather than run with part of its catalog missing.
var ErrBadCatalogRecord = errors.New("bad catalog record")

// Catalog is the engine's catalog: an in-memory view, which the binder
// reads, of a log that is the source of truth. Every change is appended to
// CatalogTopic and acknowledged durably before it reaches the view, so the
// view never shows what a restart would forget. A Catalog without a broker
// is held in memory only. A Catalog is not safe for concurrent use: the
// Engine guards it with its lock, which also orders writes to the log with
// changes of the view.
type Catalog struct {
	b    *broker.Broker // nil: memory only
	view *sql.MemCatalog
	// now stamps records: compaction keeps a tombstone for the topic's
	// delete.retention.ms after its timestamp.
	now func() time.Time
}

// NewMemCatalog returns an empty Catalog held in memory only, which a
// restart forgets.
func NewMemCatalog() *Catalog {
	return &Catalog{view: sql.NewMemCatalog()}
}

// OpenCatalog returns the Catalog kept in b's CatalogTopic, creating the
// topic if needed and replaying it from its start. A record that cannot be
// loaded is an error wrapping ErrBadCatalogRecord that names the table and
// the offset.
func OpenCatalog(ctx context.Context, b *broker.Broker) (*Catalog, error) {
	if err := b.CreateInternalTopic(CatalogTopic, 1, catalogTopicConfig); err != nil {
		return nil, fmt.Errorf("catalog: %w", err)
	}
	c := &Catalog{b: b, view: sql.NewMemCatalog(), now: time.Now}
	_, end, err := b.Offsets(CatalogTopic, 0)
	if err != nil {
		return nil, fmt.Errorf("catalog: %w", err)
	}
	r := b.NewReader(CatalogTopic, 0, 0)
	for r.Offset() < end {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		rec, ok, err := r.TryNext()
		if err != nil {
			return nil, fmt.Errorf("catalog: read %s: %w", CatalogTopic, err)
		}
		if !ok {
			break
		}
		if err := c.apply(rec); err != nil {
			return nil, fmt.Errorf("catalog: table %q at %s offset %d: %w", rec.Key, CatalogTopic, rec.Offset, err)
		}
	}
	return c, nil
}

// apply folds one record of CatalogTopic into the view. Later records of a
// name replace earlier ones, as compaction would.
func (c *Catalog) apply(rec *broker.Record) error {
	if len(rec.Key) == 0 {
		return fmt.Errorf("%w: no key", ErrBadCatalogRecord)
	}
	key := string(rec.Key)
	if rec.Value == nil {
		_ = c.view.Drop(key) // a tombstone for a name never loaded is harmless
		return nil
	}
	t, err := decodeCatalogRecord(rec.Value)
	if err != nil {
		return err
	}
	if strings.ToLower(t.Name) != key {
		return fmt.Errorf("%w: the statement creates table %q", ErrBadCatalogRecord, t.Name)
	}
	_ = c.view.Drop(key)
	return c.view.Add(t)
}

func decodeCatalogRecord(value []byte) (*sql.Table, error) {
	var v catalogRecord
	if err := json.Unmarshal(value, &v); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadCatalogRecord, err)
	}
	if v.Version != catalogRecordVersion {
		return nil, fmt.Errorf("%w: version %d, this build reads version %d", ErrBadCatalogRecord, v.Version, catalogRecordVersion)
	}
	stmts, err := sql.Parse(v.Create)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadCatalogRecord, err)
	}
	if len(stmts) != 1 {
		return nil, fmt.Errorf("%w: not one statement: %q", ErrBadCatalogRecord, v.Create)
	}
	info := sql.Classify(stmts[0])
	switch info.Kind {
	case sql.KindCreateTable:
		t, err := sql.CreateTableFromAST(stmts[0])
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrBadCatalogRecord, err)
		}
		return t, nil
	case sql.KindCreateView:
		q, err := sql.ViewQueryText(stmts[0])
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrBadCatalogRecord, err)
		}
		t := &sql.Table{Name: info.Names[0], ViewQuery: q}
		if stmts[0].Dialect != nil && stmts[0].Dialect.Materialized {
			t.ViewQuery, t.MaterializedQuery = "", q
			t.PrimaryKey, t.Options = v.PrimaryKey, v.Options
		}
		for _, c := range v.Columns {
			ty, err := sql.ParseType(c.Type)
			if err != nil {
				return nil, fmt.Errorf("%w: view %s column %s: %v", ErrBadCatalogRecord, t.Name, c.Name, err)
			}
			t.Schema = append(t.Schema, types.Field{Name: c.Name, Type: ty})
		}
		if len(t.Schema) == 0 {
			return nil, fmt.Errorf("%w: view %s has no columns", ErrBadCatalogRecord, t.Name)
		}
		return t, nil
	}
	return nil, fmt.Errorf("%w: not a CREATE TABLE or CREATE VIEW statement: %q", ErrBadCatalogRecord, v.Create)
}

// Lookup implements sql.Catalog.
func (c *Catalog) Lookup(name string) (*sql.Table, bool) { return c.view.Lookup(name) }

// Names implements sql.Catalog; the names are sorted.
func (c *Catalog) Names() []string { return c.view.Names() }

// Create adds t, which st (a CREATE TABLE or CREATE VIEW) declares, or
// returns an error wrapping sql.ErrTableExists; with replace set, t
// replaces a view of its name. The record is durable before t is visible.
func (c *Catalog) Create(ctx context.Context, st sql.Statement, t *sql.Table, replace bool) error {
	if old, ok := c.view.Lookup(t.Name); ok && !(replace && old.ViewQuery != "") {
		return fmt.Errorf("%w: %s", sql.ErrTableExists, t.Name)
	}
	if c.b != nil {
		rec := catalogRecord{Version: catalogRecordVersion, Create: st.Text}
		if t.ViewQuery != "" || t.MaterializedQuery != "" {
			for _, f := range t.Schema {
				rec.Columns = append(rec.Columns, catalogColumn{Name: f.Name, Type: f.Type.String()})
			}
		}
		if t.MaterializedQuery != "" {
			rec.PrimaryKey, rec.Options = t.PrimaryKey, t.Options
		}
		value, err := json.Marshal(rec)
		if err != nil {
			return err
		}
		if err := c.write(ctx, broker.Record{Key: []byte(strings.ToLower(t.Name)), Value: value}); err != nil {
			return err
		}
	}
	_ = c.view.Drop(t.Name) // the view replaced, if any
	return c.view.Add(t)
}

// Drop removes the tables named names, all or none: their tombstones go to
// the log in one batch. A name it does not hold is an error wrapping
// sql.ErrTableNotFound, and nothing is dropped.
func (c *Catalog) Drop(ctx context.Context, names ...string) error {
	seen := make(map[string]bool, len(names))
	keys := names[:0:0]
	for _, n := range names {
		if _, ok := c.view.Lookup(n); !ok {
			return fmt.Errorf("%w: %s", sql.ErrTableNotFound, n)
		}
		if k := strings.ToLower(n); !seen[k] {
			seen[k] = true
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 {
		return nil
	}
	if c.b != nil {
		recs := make([]broker.Record, len(keys))
		for i, k := range keys {
			recs[i] = broker.Record{Key: []byte(k)}
		}
		if err := c.write(ctx, recs...); err != nil {
			return err
		}
	}
	for _, k := range keys {
		if err := c.view.Drop(k); err != nil {
			return err
		}
	}
	return nil
}

// write appends recs to CatalogTopic and waits for the acknowledgement.
// It waits even if ctx ends: once appended the records may become durable,
// and the view must not fall behind the log.
func (c *Catalog) write(ctx context.Context, recs ...broker.Record) error {
	now := c.now().UnixMilli()
	for i := range recs {
		recs[i].Timestamp = now
	}
	if _, err := c.b.AppendRecords(context.WithoutCancel(ctx), CatalogTopic, 0, recs...); err != nil {
		return fmt.Errorf("catalog: write %s: %w", CatalogTopic, err)
	}
	return nil
}
