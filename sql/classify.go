package sql

import (
	"strings"

	"github.com/pingcap/tidb/pkg/parser/ast"
)

// StatementKind is what a statement does.
type StatementKind int

// The statement kinds.
const (
	KindUnsupported StatementKind = iota
	KindCreateTable
	KindDropTable
	KindShowTables
	KindInsert
	KindSelect
	KindCommand
	// KindExplain is EXPLAIN of a SELECT or an INSERT: Explained says
	// which, and the other fields are those of the statement explained.
	KindExplain
	// KindDescribe is DESCRIBE (or DESC) of the table in Names.
	KindDescribe
	// KindShowCreateTable is SHOW CREATE TABLE (or VIEW) of the table in
	// Names.
	KindShowCreateTable
	// KindCreateView is CREATE [OR REPLACE] VIEW Names[0] [(Columns)] AS
	// Query.
	KindCreateView
	// KindDropView is DROP VIEW [IF EXISTS] of the views in Names.
	KindDropView
)

// StatementInfo is what an executor needs of one statement, read from the
// TiDB AST so that no other package has to.
type StatementInfo struct {
	Kind StatementKind
	// Explained is the kind of the statement an EXPLAIN explains
	// (KindSelect or KindInsert).
	Explained StatementKind
	// IfExists is IF EXISTS of DROP TABLE, or IF NOT EXISTS of CREATE
	// TABLE.
	IfExists bool
	// Names are the tables DROP TABLE drops, the one an INSERT writes, or
	// the one DESCRIBE or SHOW CREATE TABLE shows.
	Names []string
	// Query is the SELECT of an INSERT or the SELECT itself, ready for
	// Bind; Fields holds the offset (in the input) of each of its select
	// fields, for errors about one output column.
	Query  Statement
	Fields []int
	// Columns are the column names a CREATE VIEW gives, if any;
	// OrReplace is its OR REPLACE.
	Columns   []string
	OrReplace bool
	// Unsupported says what is not supported yet, for KindUnsupported.
	Unsupported string
}

// Classify describes a parsed statement for an executor.
func Classify(st Statement) StatementInfo {
	if st.Command != nil {
		return StatementInfo{Kind: KindCommand}
	}
	switch n := st.Node.(type) {
	case *ast.CreateTableStmt:
		return StatementInfo{Kind: KindCreateTable, IfExists: n.IfNotExists}
	case *ast.DropTableStmt:
		info := StatementInfo{Kind: KindDropTable, IfExists: n.IfExists}
		if n.IsView {
			info.Kind = KindDropView
		}
		for _, t := range n.Tables {
			info.Names = append(info.Names, t.Name.O)
		}
		return info
	case *ast.ShowStmt:
		switch {
		case n.Tp == ast.ShowTables && n.Pattern == nil && n.Where == nil:
			return StatementInfo{Kind: KindShowTables}
		case (n.Tp == ast.ShowCreateTable || n.Tp == ast.ShowCreateView) && n.Table != nil:
			return StatementInfo{Kind: KindShowCreateTable, Names: []string{n.Table.Name.O}}
		}
		return StatementInfo{Unsupported: "this SHOW statement"}
	case *ast.ExplainStmt:
		// TiDB parses DESCRIBE t as EXPLAIN of SHOW COLUMNS FROM t.
		if show, ok := n.Stmt.(*ast.ShowStmt); ok && show.Tp == ast.ShowColumns {
			if show.Table == nil || show.Column != nil || show.Pattern != nil || show.Where != nil {
				return StatementInfo{Unsupported: "this DESCRIBE statement"}
			}
			return StatementInfo{Kind: KindDescribe, Names: []string{show.Table.Name.O}}
		}
		switch {
		case n.Analyze:
			return StatementInfo{Unsupported: "EXPLAIN ANALYZE"}
		case n.Stmt == nil || n.Explore:
			return StatementInfo{Unsupported: "this EXPLAIN statement"}
		case n.Format != "" && !strings.EqualFold(n.Format, "row"):
			return StatementInfo{Unsupported: "EXPLAIN FORMAT"}
		}
		inner := st
		inner.Node = n.Stmt
		info := Classify(inner)
		if info.Kind != KindSelect && info.Kind != KindInsert {
			if info.Kind == KindUnsupported {
				return info
			}
			return StatementInfo{Unsupported: "EXPLAIN of this statement"}
		}
		info.Explained, info.Kind = info.Kind, KindExplain
		return info
	case *ast.SelectStmt:
		return StatementInfo{Kind: KindSelect, Query: st, Fields: fieldOffsets(st, n)}
	case *ast.CreateViewStmt:
		if n.ViewName == nil || n.Select == nil {
			return StatementInfo{Unsupported: "this CREATE VIEW"}
		}
		q := st
		q.Node = n.Select
		info := StatementInfo{Kind: KindCreateView, Names: []string{n.ViewName.Name.O}, Query: q,
			Fields: fieldOffsets(st, firstSelect(n.Select)), OrReplace: n.OrReplace}
		for _, c := range n.Cols {
			info.Columns = append(info.Columns, c.O)
		}
		return info
	case *ast.SetOprStmt:
		return StatementInfo{Kind: KindSelect, Query: st, Fields: fieldOffsets(st, firstSelect(n))}
	case *ast.InsertStmt:
		switch {
		case n.IsReplace:
			return StatementInfo{Unsupported: "REPLACE"}
		case len(n.Columns) > 0:
			return StatementInfo{Unsupported: "a column list in INSERT"}
		case n.Lists != nil || n.Setlist || n.Select == nil:
			return StatementInfo{Unsupported: "INSERT ... VALUES"}
		case n.OnDuplicate != nil:
			return StatementInfo{Unsupported: "ON DUPLICATE KEY UPDATE"}
		}
		ts, ok := n.Table.TableRefs.Left.(*ast.TableSource)
		if !ok {
			return StatementInfo{Unsupported: "this INSERT target"}
		}
		tn, ok := ts.Source.(*ast.TableName)
		if !ok {
			return StatementInfo{Unsupported: "this INSERT target"}
		}
		sel, ok := n.Select.(*ast.SelectStmt)
		if !ok {
			// UNION and the rest: Bind explains what is not supported.
			q := st
			if q.Node, ok = n.Select.(ast.StmtNode); !ok {
				return StatementInfo{Unsupported: "this INSERT query"}
			}
			var first *ast.SelectStmt
			if so, ok := n.Select.(*ast.SetOprStmt); ok {
				first = firstSelect(so)
			}
			return StatementInfo{Kind: KindInsert, Names: []string{tn.Name.O}, Query: q, Fields: fieldOffsets(st, first)}
		}
		q := st
		q.Node = sel
		return StatementInfo{Kind: KindInsert, Names: []string{tn.Name.O}, Query: q, Fields: fieldOffsets(st, sel)}
	}
	return StatementInfo{Unsupported: "this statement"}
}

func fieldOffsets(st Statement, sel *ast.SelectStmt) []int {
	if sel == nil || sel.Fields == nil {
		return nil
	}
	offs := make([]int, len(sel.Fields.Fields))
	for i, f := range sel.Fields.Fields {
		offs[i] = st.Offset + f.Offset
	}
	return offs
}

// firstSelect is the first SELECT of a set operation, whose columns name
// the result; nil if there is none.
func firstSelect(n ast.Node) *ast.SelectStmt {
	switch n := n.(type) {
	case *ast.SelectStmt:
		return n
	case *ast.SetOprStmt:
		if n.SelectList != nil {
			return firstSelect(n.SelectList)
		}
	case *ast.SetOprSelectList:
		if len(n.Selects) > 0 {
			return firstSelect(n.Selects[0])
		}
	}
	return nil
}
