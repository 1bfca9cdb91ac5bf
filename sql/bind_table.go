package sql

import (
	"strconv"
	"strings"

	"github.com/pingcap/tidb/pkg/parser/ast"

	"github.com/sluice-sql/sluice/sql/types"
)

// CreateTableFromAST turns a parsed CREATE TABLE into a Table: columns
// typed from the types the user declared (the dialect's record, since the
// TiDB AST holds stand-ins such as TINYINT(1) for BOOLEAN), the WITH
// options, the watermark and the primary key. Errors are *Error in the
// user's text.
func CreateTableFromAST(stmt Statement) (*Table, error) {
	ct, ok := stmt.Node.(*ast.CreateTableStmt)
	if !ok || stmt.Dialect == nil {
		return nil, stmt.errorf(stmt.Offset, "expected CREATE TABLE")
	}
	d := stmt.Dialect
	loc := newLocator(stmt)
	switch {
	case ct.Select != nil:
		return nil, stmt.errorf(loc.topLevel(stmt.Offset, "AS"), "CREATE TABLE ... AS SELECT is not supported yet")
	case ct.ReferTable != nil:
		return nil, stmt.errorf(loc.topLevel(stmt.Offset, "LIKE"), "CREATE TABLE ... LIKE is not supported yet")
	case len(ct.Cols) != len(d.Columns):
		return nil, stmt.errorf(stmt.Offset, "cannot match the columns of CREATE TABLE with their declared types")
	}
	t := &Table{Name: ct.Table.Name.O, Options: make(map[string]string, len(d.Options))}
	var pk []string
	for i, col := range ct.Cols {
		dc := d.Columns[i]
		if !strings.EqualFold(dc.Name, col.Name.Name.O) {
			return nil, stmt.errorf(dc.NamePos, "cannot match column %q with its declared type", col.Name.Name.O)
		}
		if t.Schema.Index(dc.Name) >= 0 {
			return nil, stmt.errorf(dc.NamePos, "duplicate column %q", dc.Name)
		}
		typ, ok := declaredType(dc.Type)
		if !ok {
			return nil, stmt.errorf(dc.TypePos, "unsupported type %s", dc.Type)
		}
		for _, o := range col.Options {
			switch o.Tp {
			case ast.ColumnOptionNotNull:
				typ = typ.WithNotNull(true)
			case ast.ColumnOptionPrimaryKey:
				pk = append(pk, dc.Name)
			}
		}
		t.Schema = append(t.Schema, types.Field{Name: dc.Name, Type: typ})
	}
	for _, c := range ct.Constraints {
		if c.Tp != ast.ConstraintPrimaryKey {
			continue
		}
		for _, k := range c.Keys {
			if k.Column == nil {
				continue
			}
			n := k.Column.Name.O
			pos := loc.topLevel(stmt.Offset, "PRIMARY")
			loc.seek(pos)
			pos = loc.name(n)
			i := t.Schema.Index(n)
			if i < 0 {
				return nil, stmt.errorf(pos, "unknown primary key column %q", n).WithHint(DidYouMean(n, columnNames(t.Schema)))
			}
			pk = append(pk, t.Schema[i].Name)
		}
	}
	if len(pk) > 0 && !d.PrimaryKeyNotEnforced {
		loc.seek(stmt.Offset)
		return nil, stmt.errorf(loc.word("PRIMARY"), "a primary key must be declared NOT ENFORCED: Sluice does not check it")
	}
	t.PrimaryKey = pk
	for _, o := range d.Options {
		if _, dup := t.Options[o.Key]; dup {
			return nil, stmt.errorf(o.KeyPos, "duplicate option %q", o.Key)
		}
		t.Options[o.Key] = o.Value
	}
	if w := d.Watermark; w != nil {
		i := t.Schema.Index(w.Column)
		if i < 0 {
			return nil, stmt.errorf(w.ColumnPos, "unknown watermark column %q", w.Column).WithHint(DidYouMean(w.Column, columnNames(t.Schema)))
		}
		if k := t.Schema[i].Type.Kind; k != types.KindTimestamp {
			return nil, stmt.errorf(w.ColumnPos, "watermark column %q is %s, not TIMESTAMP", t.Schema[i].Name, t.Schema[i].Type.Nullable())
		}
		t.Watermark = &TableWatermark{Column: t.Schema[i].Name, ColumnIndex: i, Expr: w.ExprText}
	}
	return t, nil
}

func columnNames(s types.Schema) []string {
	names := make([]string, len(s))
	for i, f := range s {
		names[i] = f.Name
	}
	return names
}

// declaredType maps a type as the dialect records it (upper case, no
// spaces: "DECIMAL(10,2)") to a types.Type. Defaults follow Flink:
// DECIMAL is DECIMAL(10,0), TIMESTAMP is TIMESTAMP(6), VARCHAR is STRING.
func declaredType(s string) (types.Type, bool) {
	name, params, ok := splitTypeParams(s)
	if !ok {
		return types.Type{}, false
	}
	noParams := len(params) == 0
	switch name {
	case "BIGINT":
		return types.BigInt(), noParams
	case "INT", "INTEGER":
		return types.Int(), noParams
	case "SMALLINT":
		return types.SmallInt(), noParams
	case "TINYINT":
		return types.TinyInt(), noParams
	case "BOOLEAN", "BOOL":
		return types.Boolean(), noParams
	case "DOUBLE":
		return types.Double(), noParams
	case "FLOAT":
		return types.Float(), noParams
	case "DATE":
		return types.Date(), noParams
	case "STRING":
		return types.String(), noParams
	case "BYTES":
		return types.Bytes(), noParams
	case "JSON":
		return types.JSON(), noParams
	case "VARCHAR", "CHAR":
		switch {
		case noParams && name == "VARCHAR":
			return types.String(), true
		case len(params) == 1 && params[0] > 0 && params[0] <= 1<<31-1:
			return types.Varchar(int32(params[0])), true
		}
	case "VARBINARY", "BINARY":
		if len(params) <= 1 {
			return types.Bytes(), true
		}
	case "DECIMAL", "NUMERIC", "DEC":
		p, sc := 10, 0
		if len(params) > 0 {
			p = params[0]
		}
		if len(params) > 1 {
			sc = params[1]
		}
		if len(params) > 2 || p < 1 || p > types.MaxDecimalPrecision || sc > p {
			return types.Type{}, false
		}
		return types.Decimal(p, sc), true
	case "TIMESTAMP":
		p := 6
		if len(params) == 1 {
			p = params[0]
		}
		if len(params) > 1 || p > types.MaxTimestampPrecision {
			return types.Type{}, false
		}
		return types.Timestamp(p), true
	}
	return types.Type{}, false
}

// splitTypeParams splits "NAME(1,2)" into NAME and [1 2].
func splitTypeParams(s string) (string, []int, bool) {
	open := strings.IndexByte(s, '(')
	if open < 0 {
		return s, nil, true
	}
	if !strings.HasSuffix(s, ")") {
		return "", nil, false
	}
	var params []int
	for _, p := range strings.Split(s[open+1:len(s)-1], ",") {
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 {
			return "", nil, false
		}
		params = append(params, n)
	}
	return s[:open], params, true
}
