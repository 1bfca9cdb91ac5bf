package sql

import (
	"strings"

	"github.com/pingcap/tidb/pkg/parser/ast"
)

// Dialect is the side table of one statement: what the dialect layer found
// in the user's text and replaced before handing the text to the TiDB
// parser. Every position is a byte offset into the whole input.
type Dialect struct {
	// Rewritten is the text given to the TiDB parser. It has exactly the
	// length of the statement's text.
	Rewritten string
	// Rewrites lists every replaced span in order of position.
	Rewrites []Rewrite
	// Options are the connector options of `WITH ('k' = 'v', ...)`, in the
	// order written.
	Options []Option
	// Watermark is the `WATERMARK FOR col AS expr` of a CREATE TABLE, or nil.
	Watermark *Watermark
	// Columns are the columns of a CREATE TABLE with their types as the user
	// declared them. The TiDB AST holds a stand-in for some (TEXT for
	// STRING, TINYINT(1) for BOOLEAN); a binder must use these.
	Columns []ColumnType
	// PrimaryKeyNotEnforced is set when `NOT ENFORCED` followed a primary
	// key.
	PrimaryKeyNotEnforced bool
	// Materialized is set for CREATE MATERIALIZED VIEW, which reaches the
	// TiDB parser as CREATE VIEW.
	Materialized bool
	// Casts are the CASTs and TRY_CASTs of the statement. Cast i reaches
	// the TiDB parser as the call `__cx(expr, i)`.
	Casts []Cast
	// TableFunctions are the window table functions in FROM. Table function
	// i reaches the TiDB parser as the table name `__tvf<i>`.
	TableFunctions []TableFunction
	// Filters are the `FILTER (WHERE cond)` clauses of aggregate calls.
	// Filter i reaches the TiDB parser as `^__f<i>(cond)`: `^` binds
	// tighter than every binary operator, so the parser hands the call
	// over as `agg ^ __f<i>(cond)`, or `(-agg) ^ __f<i>(cond)` under a
	// unary operator, and the condition is parsed where the user wrote it.
	Filters []FilterClause
	// Aggregates are the calls of FIRST_VALUE and LAST_VALUE without OVER,
	// which the TiDB parser takes only as window functions. Aggregate i
	// reaches it as the generic call `__ag<i>(...)`, i zero-padded so that
	// the name has the length of the user's.
	Aggregates []AggregateCall
}

// aggregatePrefix and filterPrefix start the names of the dialect's
// placeholder calls for Dialect.Aggregates and Dialect.Filters.
const (
	aggregatePrefix = "__ag"
	filterPrefix    = "__f"
)

// RewriteKind names what a Rewrite replaced.
type RewriteKind string

// The kinds of rewrite.
const (
	RewriteComment       RewriteKind = "comment"
	RewriteOptions       RewriteKind = "options"
	RewriteWatermark     RewriteKind = "watermark"
	RewriteNotEnforced   RewriteKind = "not-enforced"
	RewriteMaterialized  RewriteKind = "materialized"
	RewriteType          RewriteKind = "type"
	RewriteCast          RewriteKind = "cast"
	RewriteTableFunction RewriteKind = "table-function"
	RewriteFilter        RewriteKind = "filter"
	RewriteAggregate     RewriteKind = "aggregate"
)

// Rewrite is one span of the user's text that the TiDB parser saw replaced.
type Rewrite struct {
	Kind     RewriteKind
	Pos, End int
}

// Option is one `'key' = 'value'` of a WITH clause.
type Option struct {
	Key, Value       string
	KeyPos, ValuePos int
}

// Watermark is `WATERMARK FOR Column AS Expr`.
type Watermark struct {
	// Pos is where the WATERMARK keyword starts.
	Pos int
	// Column is the event-time column, ColumnPos where it is named.
	Column    string
	ColumnPos int
	// ExprText is the expression as written, starting at ExprPos.
	ExprText string
	ExprPos  int
	// Expr is the expression parsed by the TiDB parser (by Parse).
	Expr ast.ExprNode

	rewritten string // ExprText as the TiDB parser is to see it
}

// ColumnType is a column of CREATE TABLE and its type as declared.
type ColumnType struct {
	Name    string
	NamePos int
	// Type is the declared type in upper case without spaces, for example
	// "STRING", "VARCHAR", "DECIMAL(10,2)", "TIMESTAMP(3)".
	Type    string
	TypePos int
}

// Cast is `CAST(expr AS Type)` or `TRY_CAST(expr AS Type)`.
type Cast struct {
	// Try is set for TRY_CAST, which gives NULL for a value that does not
	// convert instead of failing.
	Try bool
	// Pos is where CAST starts; End is just past its closing parenthesis.
	Pos, End int
	// Type is the target type in upper case without spaces, as ColumnType.
	Type    string
	TypePos int
}

// TableFunction is a window table function in FROM, in the Flink form
// `TABLE(TUMBLE(TABLE t, DESCRIPTOR(ts), INTERVAL '1' MINUTE))` or the
// short form `TUMBLE(t, ts, INTERVAL '1' MINUTE)`.
type TableFunction struct {
	// Name is TUMBLE, HOP, CUMULATE or SESSION.
	Name string
	// Placeholder is the table name the TiDB parser sees instead.
	Placeholder string
	// Pos and End delimit the whole call in the user's text.
	Pos, End int
	// Table is the input table, possibly qualified (db.t); TablePos where
	// it is named.
	Table    string
	TablePos int
	// TimeColumn is the time attribute column; TimeColumnPos where it is
	// named.
	TimeColumn    string
	TimeColumnPos int
	// Intervals are the remaining arguments in order: TUMBLE (size
	// [, offset]), HOP (slide, size [, offset]), CUMULATE (step, size
	// [, offset]), SESSION (gap).
	Intervals []Interval
}

// FilterClause is `FILTER (WHERE cond)` after an aggregate call.
type FilterClause struct {
	// Pos is where FILTER starts; End is just past the closing
	// parenthesis.
	Pos, End int
	// CondPos is where the condition starts.
	CondPos int
}

// AggregateCall is a call of an aggregate function that the TiDB parser does
// not know as one.
type AggregateCall struct {
	// Fn is the function, upper case: FIRST_VALUE or LAST_VALUE.
	Fn string
	// Pos is where the function's name starts.
	Pos int
}

// Interval is an interval literal, `INTERVAL '10' SECOND` (Flink) or
// `INTERVAL 10 SECOND` (MySQL).
type Interval struct {
	// Value is the quantity as written, without quotes.
	Value string
	// Unit is the unit in upper case, for example SECOND.
	Unit string
	// Pos is where INTERVAL starts; End is just past the unit.
	Pos, End int
}

// typeText renders tokens of a type as Type fields hold them.
func typeText(toks []token) string {
	var b strings.Builder
	for _, t := range toks {
		b.WriteString(strings.ToUpper(t.text))
	}
	return b.String()
}
