package sql

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/sluice-sql/sluice/sql/expr"
	"github.com/sluice-sql/sluice/sql/types"
)

// runCatalog adds each CREATE TABLE of in to cat and describes the table,
// or prints the error as a user sees it.
func runCatalog(cat *MemCatalog, in string) string {
	stmts, err := Parse(in)
	if err != nil {
		return errorText(err)
	}
	var b strings.Builder
	for _, s := range stmts {
		t, err := CreateTableFromAST(s)
		if err != nil {
			b.WriteString(errorText(err))
			continue
		}
		if err := cat.Add(t); err != nil {
			b.WriteString(err.Error() + "\n")
			continue
		}
		fmt.Fprintf(&b, "table %s %s\n", t.Name, t.Schema)
		for _, k := range slices.Sorted(maps.Keys(t.Options)) {
			fmt.Fprintf(&b, "  option %s = %s\n", k, t.Options[k])
		}
		if w := t.Watermark; w != nil {
			fmt.Fprintf(&b, "  watermark for %s (column %d) as %s\n", w.Column, w.ColumnIndex, w.Expr)
		}
		if len(t.PrimaryKey) > 0 {
			fmt.Fprintf(&b, "  primary key (%s)\n", strings.Join(t.PrimaryKey, ", "))
		}
	}
	return b.String()
}

// runBind binds the one SELECT of in and prints the output schema, the
// projections and the filter, or the error as a user sees it.
func runBind(cat Catalog, in string) string {
	stmts, err := Parse(in)
	if err != nil {
		return errorText(err)
	}
	var b strings.Builder
	for _, s := range stmts {
		q, err := Bind(s, cat)
		if err != nil {
			b.WriteString(errorText(err))
			continue
		}
		fmt.Fprintf(&b, "%s\n", q.Schema)
		b.WriteString(FormatRel(q.Root))
		// Everything the binder produces must compile.
		var walk func(r Rel)
		walk = func(r Rel) {
			var es []expr.Expr
			switch n := r.(type) {
			case *Filter:
				es = []expr.Expr{n.Cond}
			case *Project:
				es = n.Exprs
			}
			for _, e := range es {
				if _, err := expr.Compile(e); err != nil {
					fmt.Fprintf(&b, "does not compile: %s: %v\n", e, err)
				}
			}
			for _, in := range r.Inputs() {
				walk(in)
			}
		}
		walk(q.Root)
	}
	return b.String()
}

func errorText(err error) string {
	var e *Error
	if !errors.As(err, &e) {
		return fmt.Sprintf("not an *Error: %v\n", err)
	}
	return err.Error() + "\n"
}

// A table reaching the catalog some other way may hold names that differ
// only in case; a reference to one is ambiguous, never a silent pick.
func TestBindAmbiguousColumn(t *testing.T) {
	cat := NewMemCatalog()
	if err := cat.Add(&Table{Name: "t", Schema: types.Schema{{Name: "a", Type: types.BigInt()}, {Name: "A", Type: types.Int()}}}); err != nil {
		t.Fatal(err)
	}
	stmts, err := Parse("SELECT a FROM t")
	if err != nil {
		t.Fatal(err)
	}
	_, err = Bind(stmts[0], cat)
	var e *Error
	if !errors.As(err, &e) || e.Msg != `column "a" is ambiguous` || e.Column != 8 {
		t.Fatalf("got %v, want ambiguous column at 1:8", err)
	}
}

func TestMemCatalog(t *testing.T) {
	cat := NewMemCatalog()
	if err := cat.Add(&Table{Name: "Bids"}); err != nil {
		t.Fatal(err)
	}
	if err := cat.Add(&Table{Name: "bids"}); !errors.Is(err, ErrTableExists) {
		t.Fatalf("second add: %v, want ErrTableExists", err)
	}
	if tb, ok := cat.Lookup("BIDS"); !ok || tb.Name != "Bids" {
		t.Fatalf("lookup BIDS: %v %v", tb, ok)
	}
	if err := cat.Drop("bids"); err != nil {
		t.Fatal(err)
	}
	if err := cat.Drop("bids"); !errors.Is(err, ErrTableNotFound) {
		t.Fatalf("second drop: %v, want ErrTableNotFound", err)
	}
}

// Every type a column can have survives ParseType(t.String()).
func TestParseTypeRoundTrip(t *testing.T) {
	for _, ty := range []types.Type{
		types.Boolean(), types.TinyInt(), types.SmallInt(), types.Int(), types.BigInt(),
		types.Float(), types.Double(), types.Decimal(10, 2), types.Decimal(38, 0),
		types.String(), types.Varchar(7), types.Bytes(), types.Date(), types.Timestamp(3),
		types.Timestamp(0), types.Interval(), types.JSON(), types.BigInt().WithNotNull(true),
	} {
		got, err := ParseType(ty.String())
		if err != nil || got != ty {
			t.Errorf("ParseType(%q) = %v, %v; want %v", ty.String(), got, err, ty)
		}
	}
	if _, err := ParseType("BIGGERINT"); err == nil {
		t.Error("ParseType(BIGGERINT) did not fail")
	}
}
