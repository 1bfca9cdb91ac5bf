package sql

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/sluice-sql/sluice/sql/types"
)

// ErrTableExists is returned by MemCatalog.Add for a name already taken
// (compared case-insensitively).
var ErrTableExists = errors.New("table already exists")

// ErrTableNotFound is returned by MemCatalog.Drop for a name it does not
// hold.
var ErrTableNotFound = errors.New("table not found")

// Table is what the catalog knows of a table or view: what CREATE TABLE
// declared, already checked and typed.
type Table struct {
	// Name is the name as declared; lookups ignore case.
	Name   string
	Schema types.Schema
	// Options are the connector options of WITH (...).
	Options map[string]string
	// Watermark is the event-time declaration, nil when there is none.
	Watermark *TableWatermark
	// PrimaryKey names the primary key columns in key order (NOT
	// ENFORCED: Sluice never checks it, it tells sinks how to upsert).
	PrimaryKey []string
	// ViewQuery is the defining SELECT of a view; empty for a table.
	ViewQuery string
	// MaterializedQuery is the defining SELECT of a materialized view: a
	// table (its topic, written by the view's job) that a query reads
	// like any other.
	MaterializedQuery string
}

// TableWatermark is `WATERMARK FOR Column AS Expr` of a table.
type TableWatermark struct {
	// Column is the event-time column, a TIMESTAMP; ColumnIndex is its
	// position in the table's schema.
	Column      string
	ColumnIndex int
	// Expr is the watermark expression as the user wrote it. It is bound
	// (with INTERVAL arithmetic) when a source is planned.
	Expr string
}

// Catalog resolves table and view names. Names compare case-insensitively,
// as SQL identifiers do.
type Catalog interface {
	// Lookup returns the table or view named name, or false.
	Lookup(name string) (*Table, bool)
	// Names lists every table and view, for suggestions on a typo.
	Names() []string
}

// MemCatalog is a Catalog held in memory. It is not safe for concurrent
// use.
type MemCatalog struct {
	tables map[string]*Table // by lower-case name
}

// NewMemCatalog returns an empty MemCatalog.
func NewMemCatalog() *MemCatalog {
	return &MemCatalog{tables: make(map[string]*Table)}
}

// Add stores t, or returns an error wrapping ErrTableExists.
func (c *MemCatalog) Add(t *Table) error {
	k := strings.ToLower(t.Name)
	if _, ok := c.tables[k]; ok {
		return fmt.Errorf("%w: %s", ErrTableExists, t.Name)
	}
	c.tables[k] = t
	return nil
}

// Drop removes the table named name, or returns an error wrapping
// ErrTableNotFound.
func (c *MemCatalog) Drop(name string) error {
	k := strings.ToLower(name)
	if _, ok := c.tables[k]; !ok {
		return fmt.Errorf("%w: %s", ErrTableNotFound, name)
	}
	delete(c.tables, k)
	return nil
}

// Lookup implements Catalog.
func (c *MemCatalog) Lookup(name string) (*Table, bool) {
	t, ok := c.tables[strings.ToLower(name)]
	return t, ok
}

// Names implements Catalog; the names are sorted.
func (c *MemCatalog) Names() []string {
	names := make([]string, 0, len(c.tables))
	for _, t := range c.tables {
		names = append(names, t.Name)
	}
	sort.Strings(names)
	return names
}
