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

func (tableRenderer) render(w io.Writer, res runtime.Result) error {
	cells := make([][]string, len(res.Rows))
	width := make([]int, len(res.Columns))
	for c, f := range res.Columns {
		width[c] = utf8.RuneCountInString(f.Name)
	}
	for r, row := range res.Rows {
		cells[r] = make([]string, len(row))
		for c, v := range row {
			s := types.Text(v, res.Columns[c].Type)
			cells[r][c] = s
			width[c] = max(width[c], utf8.RuneCountInString(s))
		}
	}
	var b strings.Builder
	line := func(vals []string, header bool) {
		for c, s := range vals {
			if c > 0 {
				b.WriteString(" | ")
			}
			pad := strings.Repeat(" ", width[c]-utf8.RuneCountInString(s))
			if !header && rightAligned(res.Columns[c].Type) {
				b.WriteString(pad + s)
			} else if c == len(vals)-1 {
				b.WriteString(s)
			} else {
				b.WriteString(s + pad)
			}
		}
		b.WriteByte('\n')
	}
	names := make([]string, len(res.Columns))
	for c, f := range res.Columns {
		names[c] = f.Name
	}
	line(names, true)
	for c := range res.Columns {
		if c > 0 {
			b.WriteString("-+-")
		}
		b.WriteString(strings.Repeat("-", width[c]))
	}
	b.WriteByte('\n')
	for _, row := range cells {
		line(row, false)
	}
	if n := len(res.Rows); n == 1 {
		b.WriteString("(1 row)\n")
	} else {
		fmt.Fprintf(&b, "(%d rows)\n", n)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// jsonRenderer prints one JSON object per row, keys in column order:
// numbers as JSON numbers (DECIMAL exactly), times and bytes as strings.
type jsonRenderer struct{}

func (jsonRenderer) table() bool { return false }

func (jsonRenderer) render(w io.Writer, res runtime.Result) error {
	var b []byte
	for _, row := range res.Rows {
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

func (csvRenderer) render(w io.Writer, res runtime.Result) error {
	cw := csv.NewWriter(w)
	rec := make([]string, len(res.Columns))
	for c, f := range res.Columns {
		rec[c] = f.Name
	}
	if err := cw.Write(rec); err != nil {
		return err
	}
	for _, row := range res.Rows {
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
