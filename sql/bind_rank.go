package sql

import (
	"strings"

	"github.com/pingcap/tidb/pkg/parser/ast"

	"github.com/sluice-sql/sluice/sql/expr"
	"github.com/sluice-sql/sluice/sql/types"
)

// rankField finds the SELECT list's ROW_NUMBER() OVER (...), the one
// window function supported (for Top-N and deduplication), and returns
// its field's index, or -1.
func rankField(sel *ast.SelectStmt) int {
	for i, f := range sel.Fields.Fields {
		if w, ok := f.Expr.(*ast.WindowFuncExpr); ok && strings.EqualFold(w.Name, "row_number") {
			return i
		}
	}
	return -1
}

// rank binds the ROW_NUMBER() OVER (PARTITION BY cols ORDER BY cols) of
// field k over in, whose columns are in scope: PARTITION BY and ORDER BY
// take columns of the input.
func (b *binder) rank(sel *ast.SelectStmt, k int, in Rel) (*Rank, error) {
	f := sel.Fields.Fields[k]
	w := f.Expr.(*ast.WindowFuncExpr)
	b.loc.seek(b.stmt.Offset + f.Offset)
	pos := b.loc.name(w.Name)
	if len(w.Args) > 0 {
		return nil, b.errorf(pos, "ROW_NUMBER takes no arguments")
	}
	spec := w.Spec
	if spec.Name.O != "" || spec.Ref.O != "" || spec.Frame != nil {
		return nil, b.errorf(pos, "ROW_NUMBER() OVER takes PARTITION BY and ORDER BY only")
	}
	if spec.OrderBy == nil || len(spec.OrderBy.Items) == 0 {
		return nil, b.errorf(pos, "ROW_NUMBER() OVER needs ORDER BY")
	}
	r := &Rank{Input: in}
	col := func(n ast.ExprNode) (int, error) {
		start := b.loc.pos()
		e, err := b.expr(n)
		if err != nil {
			return 0, err
		}
		c, ok := e.(*expr.ColumnRef)
		if !ok {
			return 0, b.errorf(start, "PARTITION BY and ORDER BY of ROW_NUMBER take columns, not expressions: compute it in a subquery")
		}
		return c.Index, nil
	}
	if spec.PartitionBy != nil {
		b.loc.word("PARTITION")
		b.loc.skip("BY")
		for i, item := range spec.PartitionBy.Items {
			if i > 0 {
				b.loc.skip(",")
			}
			c, err := col(item.Expr)
			if err != nil {
				return nil, err
			}
			r.Partition = append(r.Partition, c)
		}
	}
	b.loc.word("ORDER")
	b.loc.skip("BY")
	for i, item := range spec.OrderBy.Items {
		if i > 0 {
			b.loc.skip(",")
		}
		c, err := col(item.Expr)
		if err != nil {
			return nil, err
		}
		if item.Desc {
			b.loc.skip("DESC")
		} else {
			b.loc.skip("ASC")
		}
		r.Order = append(r.Order, SortKey{Col: c, Desc: item.Desc})
	}
	r.Out = append(append(types.Schema(nil), in.Schema()...), types.Field{Name: "row_number", Type: types.BigInt().WithNotNull(true)})
	return r, nil
}
