package sql

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/cockroachdb/datadriven"
	"github.com/pingcap/tidb/pkg/parser/format"
)

// TestDataDriven runs the golden files in testdata/ (rewrite with -rewrite):
//
//	split    the pieces of the input with their offsets
//	rewrite  the input and the text the TiDB parser gets, line under line
//	         (· marks a byte the dialect blanked), then the side table
//	parse    each statement restored by TiDB, or the error as a user sees it
//	catalog  CREATE TABLE statements added to the file's catalog, described
//	bind     a SELECT bound against that catalog, or the error
func TestDataDriven(t *testing.T) {
	datadriven.Walk(t, "testdata", func(t *testing.T, path string) {
		cat := NewMemCatalog() // for catalog and bind, see bind_test.go
		datadriven.RunTest(t, path, func(t *testing.T, d *datadriven.TestData) string {
			switch d.Cmd {
			case "split":
				return runSplit(d.Input)
			case "rewrite":
				return runRewrite(t, d.Input)
			case "parse":
				return runParse(d.Input)
			case "catalog":
				return runCatalog(cat, d.Input)
			case "bind":
				return runBind(cat, d.Input)
			}
			t.Fatalf("%s: unknown command %q", d.Pos, d.Cmd)
			return ""
		})
	})
}

func runSplit(in string) string {
	pieces, err := Split(in)
	if err != nil {
		return err.Error() + "\n"
	}
	var b strings.Builder
	for _, p := range pieces {
		if in[p.Offset:p.End()] != p.Text {
			panic("piece text is not at its offset")
		}
		fmt.Fprintf(&b, "%d: %q\n", p.Offset, p.Text)
	}
	return b.String()
}

func runRewrite(t *testing.T, in string) string {
	pieces, err := Split(in)
	if err != nil {
		return err.Error() + "\n"
	}
	var b strings.Builder
	for _, p := range pieces {
		d, err := rewrite(in, p)
		if err != nil {
			b.WriteString(err.Error() + "\n")
			continue
		}
		if len(d.Rewritten) != len(p.Text) {
			t.Fatalf("rewritten length %d, want %d", len(d.Rewritten), len(p.Text))
		}
		inLines, outLines := strings.Split(p.Text, "\n"), strings.Split(d.Rewritten, "\n")
		for i := range inLines {
			b.WriteString("in:  " + inLines[i] + "\n")
			if outLines[i] != inLines[i] {
				b.WriteString("out: " + visibleBlanks(inLines[i], outLines[i]) + "\n")
			}
		}
		writeSideTable(&b, in, d)
	}
	return b.String()
}

// visibleBlanks marks with · each byte of out that the rewrite blanked, and
// drops the trailing blanks, so golden files hold no trailing spaces.
func visibleBlanks(in, out string) string {
	var b strings.Builder
	for i := 0; i < len(out); i++ {
		if out[i] == ' ' && in[i] != ' ' {
			b.WriteString("·")
		} else {
			b.WriteByte(out[i])
		}
	}
	return strings.TrimRight(b.String(), " ")
}

func writeSideTable(b *strings.Builder, src string, d *Dialect) {
	at := func(pos int) string {
		e := NewError(src, pos, "")
		return fmt.Sprintf("%d:%d", e.Line, e.Column)
	}
	for _, r := range d.Rewrites {
		fmt.Fprintf(b, "rewrite %s at %s: %q\n", r.Kind, at(r.Pos), src[r.Pos:r.End])
	}
	for _, o := range d.Options {
		fmt.Fprintf(b, "option %q = %q (key at %s, value at %s)\n", o.Key, o.Value, at(o.KeyPos), at(o.ValuePos))
	}
	if w := d.Watermark; w != nil {
		fmt.Fprintf(b, "watermark for %s (at %s) as %q (at %s)\n", w.Column, at(w.ColumnPos), w.ExprText, at(w.ExprPos))
	}
	for _, c := range d.Columns {
		fmt.Fprintf(b, "column %s %s (type at %s)\n", c.Name, c.Type, at(c.TypePos))
	}
	if d.PrimaryKeyNotEnforced {
		b.WriteString("primary key not enforced\n")
	}
	if d.Materialized {
		b.WriteString("materialized\n")
	}
	for i, c := range d.Casts {
		kind := "cast"
		if c.Try {
			kind = "try cast"
		}
		fmt.Fprintf(b, "%s %d: %q as %s\n", kind, i, src[c.Pos:c.End], c.Type)
	}
	for _, f := range d.TableFunctions {
		fmt.Fprintf(b, "table function %s %s: table %s (at %s), time column %s (at %s)", f.Placeholder, f.Name, f.Table, at(f.TablePos), f.TimeColumn, at(f.TimeColumnPos))
		for _, iv := range f.Intervals {
			fmt.Fprintf(b, ", interval %s %s (at %s)", iv.Value, iv.Unit, at(iv.Pos))
		}
		b.WriteString("\n")
	}
	for i, f := range d.Filters {
		fmt.Fprintf(b, "filter %d: %q, condition %q (at %s)\n", i, src[f.Pos:f.End], src[f.CondPos:f.End-1], at(f.CondPos))
	}
	for i, a := range d.Aggregates {
		fmt.Fprintf(b, "aggregate %d: %s (at %s)\n", i, a.Fn, at(a.Pos))
	}
}

func runParse(in string) string {
	stmts, err := Parse(in)
	if err != nil {
		var e *Error
		if !errors.As(err, &e) {
			return fmt.Sprintf("not an *Error: %v\n", err)
		}
		return err.Error() + "\n"
	}
	var b strings.Builder
	for _, s := range stmts {
		if s.Command != nil {
			fmt.Fprintf(&b, "%T %+v\n", s.Command, s.Command)
			continue
		}
		var sb strings.Builder
		if err := s.Node.Restore(format.NewRestoreCtx(format.DefaultRestoreFlags, &sb)); err != nil {
			return "restore: " + err.Error() + "\n"
		}
		fmt.Fprintf(&b, "%T %s\n", s.Node, sb.String())
		if w := s.Dialect.Watermark; w != nil {
			sb.Reset()
			if err := w.Expr.Restore(format.NewRestoreCtx(format.DefaultRestoreFlags, &sb)); err != nil {
				return "restore: " + err.Error() + "\n"
			}
			fmt.Fprintf(&b, "watermark %s\n", sb.String())
		}
	}
	return b.String()
}
