package sql

import "github.com/pingcap/tidb/pkg/parser/ast"

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
)

// StatementInfo is what an executor needs of one statement, read from the
// TiDB AST so that no other package has to.
type StatementInfo struct {
	Kind StatementKind
	// IfExists is IF EXISTS of DROP TABLE, or IF NOT EXISTS of CREATE
	// TABLE.
	IfExists bool
	// Names are the tables DROP TABLE drops, or the one an INSERT writes.
	Names []string
	// Query is the SELECT of an INSERT or the SELECT itself, ready for
	// Bind; Fields holds the offset (in the input) of each of its select
	// fields, for errors about one output column.
	Query  Statement
	Fields []int
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
		if n.IsView {
			return StatementInfo{Unsupported: "DROP VIEW"}
		}
		info := StatementInfo{Kind: KindDropTable, IfExists: n.IfExists}
		for _, t := range n.Tables {
			info.Names = append(info.Names, t.Name.O)
		}
		return info
	case *ast.ShowStmt:
		if n.Tp == ast.ShowTables && n.Pattern == nil && n.Where == nil {
			return StatementInfo{Kind: KindShowTables}
		}
		return StatementInfo{Unsupported: "this SHOW statement"}
	case *ast.SelectStmt:
		return StatementInfo{Kind: KindSelect, Query: st, Fields: fieldOffsets(st, n)}
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
			return StatementInfo{Kind: KindInsert, Names: []string{tn.Name.O}, Query: q}
		}
		q := st
		q.Node = sel
		return StatementInfo{Kind: KindInsert, Names: []string{tn.Name.O}, Query: q, Fields: fieldOffsets(st, sel)}
	}
	return StatementInfo{Unsupported: "this statement"}
}

func fieldOffsets(st Statement, sel *ast.SelectStmt) []int {
	if sel.Fields == nil {
		return nil
	}
	offs := make([]int, len(sel.Fields.Fields))
	for i, f := range sel.Fields.Fields {
		offs[i] = st.Offset + f.Offset
	}
	return offs
}
