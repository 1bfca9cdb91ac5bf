package cli

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/cockroachdb/apd/v3"

	"github.com/sluice-sql/sluice/runtime"
	"github.com/sluice-sql/sluice/sql/types"
)

// render prints a whole result set with r.
func render(r renderer, w io.Writer, res runtime.Result) error {
	rw := r.writer(w, res.Columns)
	if err := rw.rows(res.Rows); err != nil {
		return err
	}
	return rw.end("")
}

func newRenderer(format string) (renderer, error) {
	switch format {
	case "table":
		return tableRenderer{}, nil
	case "json":
		return jsonRenderer{}, nil
	case "csv":
		return csvRenderer{}, nil
	}
	return nil, usagef("--format %q: want table, json or csv", format)
}

func rightAligned(t types.Type) bool {
	return t.IsNumeric()
}

// tableRenderer prints an aligned table with a header, as psql does.
type tableRenderer struct{}

func (tableRenderer) table() bool { return true }

func (tableRenderer) writer(w io.Writer, cols types.Schema) rowWriter {
	return &tableWriter{w: w, cols: cols}
}

// tableWriter prints a table as its rows come: the columns take the
// widths of the header and the first rows, and later rows wider than that
// push their line out rather than wait for the end. Given every row at
// once it prints an aligned table.
type tableWriter struct {
	w       io.Writer
	cols    types.Schema
	width   []int
	started bool
	n       int
}

func (t *tableWriter) rows(rows [][]any) error {
	cells := make([][]string, len(rows))
	if !t.started {
		t.width = make([]int, len(t.cols))
		for c, f := range t.cols {
			t.width[c] = utf8.RuneCountInString(f.Name)
		}
	}
	for r, row := range rows {
		cells[r] = make([]string, len(row))
		for c, v := range row {
			cells[r][c] = types.Text(v, t.cols[c].Type)
			if !t.started {
				t.width[c] = max(t.width[c], utf8.RuneCountInString(cells[r][c]))
			}
		}
	}
	var b strings.Builder
	if !t.started {
		t.header(&b)
	}
	for _, row := range cells {
		t.line(&b, row, false)
	}
	t.n += len(rows)
	_, err := io.WriteString(t.w, b.String())
	return err
}

func (t *tableWriter) header(b *strings.Builder) {
	t.started = true
	names := make([]string, len(t.cols))
	for c, f := range t.cols {
		names[c] = f.Name
	}
	t.line(b, names, true)
	for c := range t.cols {
		if c > 0 {
			b.WriteString("-+-")
		}
		b.WriteString(strings.Repeat("-", t.width[c]))
	}
	b.WriteByte('\n')
}

func (t *tableWriter) line(b *strings.Builder, vals []string, header bool) {
	for c, s := range vals {
		if c > 0 {
			b.WriteString(" | ")
		}
		pad := strings.Repeat(" ", max(t.width[c]-utf8.RuneCountInString(s), 0))
		if !header && rightAligned(t.cols[c].Type) {
			b.WriteString(pad + s)
		} else if c == len(vals)-1 {
			b.WriteString(s)
		} else {
			b.WriteString(s + pad)
		}
	}
	b.WriteByte('\n')
}

// end prints the header if no row came, and the row count, with note
// (such as "interrupted") when there is one.
func (t *tableWriter) end(note string) error {
	var b strings.Builder
	if !t.started {
		if err := t.rows(nil); err != nil {
			return err
		}
	}
	if t.n == 1 {
		b.WriteString("(1 row")
	} else {
		fmt.Fprintf(&b, "(%d rows", t.n)
	}
	if note != "" {
		b.WriteString("; " + note)
	}
	b.WriteString(")\n")
	_, err := io.WriteString(t.w, b.String())
	return err
}

// jsonRenderer prints one JSON object per row, keys in column order:
// numbers as JSON numbers (DECIMAL exactly), times and bytes as strings.
type jsonRenderer struct{}

func (jsonRenderer) table() bool { return false }

func (jsonRenderer) writer(w io.Writer, cols types.Schema) rowWriter {
	return &jsonWriter{w: w, cols: cols}
}

// jsonWriter prints rows as JSON lines as they come.
type jsonWriter struct {
	w    io.Writer
	cols types.Schema
	b    []byte
}

func (j *jsonWriter) end(string) error { return nil }

func (j *jsonWriter) rows(rows [][]any) error {
	w, res, b := j.w, runtime.Result{Columns: j.cols}, j.b
	defer func() { j.b = b }()
	for _, row := range rows {
		b = append(b[:0], '{')
		for c, v := range row {
			if c > 0 {
				b = append(b, ',')
			}
			name, _ := json.Marshal(res.Columns[c].Name)
			b = append(b, name...)
			b = append(b, ':')
			switch x := v.(type) {
			case nil:
				b = append(b, "null"...)
			case bool:
				b = strconv.AppendBool(b, x)
			case float64, apd.Decimal:
				b = append(b, types.Text(v, res.Columns[c].Type)...)
			case int64:
				if k := res.Columns[c].Type.Kind; k == types.KindTimestamp || k == types.KindDate {
					s, _ := json.Marshal(types.Text(v, res.Columns[c].Type))
					b = append(b, s...)
				} else {
					b = strconv.AppendInt(b, x, 10)
				}
			default:
				s, _ := json.Marshal(types.Text(v, res.Columns[c].Type))
				b = append(b, s...)
			}
		}
		b = append(b, '}', '\n')
		if _, err := w.Write(b); err != nil {
			return err
		}
	}
	return nil
}

// csvRenderer prints a header line and one line per row; NULL is an empty
// field.
type csvRenderer struct{}

func (csvRenderer) table() bool { return false }

func (csvRenderer) writer(w io.Writer, cols types.Schema) rowWriter {
	return &csvWriter{cw: csv.NewWriter(w), cols: cols}
}

// csvWriter prints the header line, then rows as they come.
type csvWriter struct {
	cw      *csv.Writer
	cols    types.Schema
	started bool
}

func (c *csvWriter) end(string) error {
	if !c.started {
		return c.rows(nil)
	}
	return nil
}

func (w *csvWriter) rows(rows [][]any) error {
	cw, res := w.cw, runtime.Result{Columns: w.cols}
	rec := make([]string, len(res.Columns))
	if !w.started {
		w.started = true
		for c, f := range res.Columns {
			rec[c] = f.Name
		}
		if err := cw.Write(rec); err != nil {
			return err
		}
	}
	for _, row := range rows {
		for c, v := range row {
			rec[c] = ""
			if v != nil {
				rec[c] = types.Text(v, res.Columns[c].Type)
			}
		}
		if err := cw.Write(rec); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}
