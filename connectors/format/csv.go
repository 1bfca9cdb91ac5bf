package format

import (
	"encoding/base64"
	"fmt"
	"slices"

	"github.com/cockroachdb/apd/v3"
	"github.com/sluice-sql/sluice/sql/types"
)

// csvOptions are the options shared by the CSV decoder and encoder.
type csvOptions struct {
	delim byte
	null  []byte
}

func parseCSVOptions(schema types.Schema, opts map[string]string) (csvOptions, error) {
	if err := checkSchema("csv", schema); err != nil {
		return csvOptions{}, err
	}
	d := opts["csv.field-delimiter"]
	if d == `\t` {
		d = "\t"
	}
	if len(d) != 1 || d[0] == '"' || d[0] == '\r' || d[0] == '\n' || d[0] >= 0x80 {
		return csvOptions{}, fmt.Errorf("%w: csv.field-delimiter = %q, want one ASCII character other than a quote or line break",
			ErrInvalidOption, opts["csv.field-delimiter"])
	}
	return csvOptions{delim: d[0], null: []byte(opts["csv.null-literal"])}, nil
}

// csvDecoder decodes one RFC 4180 record (a line, whose quoted fields may
// hold line breaks) per Decode. Fields map to columns by position. An
// unquoted field equal to the null literal is NULL; a quoted one never
// is, so "" is an empty string when the null literal is empty.
type csvDecoder struct {
	opts   csvOptions
	row    stagedRow
	dc     apd.Context
	fields []csvField
	unq    []byte // unescaped quoted fields; never grown while fields alias it
}

type csvField struct {
	text   []byte
	start  int // offset of the field in the record
	quoted bool
}

func newCSVDecoder(schema types.Schema, opts map[string]string) (*csvDecoder, error) {
	o, err := parseCSVOptions(schema, opts)
	if err != nil {
		return nil, err
	}
	return &csvDecoder{opts: o, row: newStagedRow(schema), dc: decimalContext()}, nil
}

// Decode implements Decoder.
func (d *csvDecoder) Decode(data []byte, b *types.Batch) error {
	if err := d.split(data); err != nil {
		return err
	}
	cols := d.row.cols
	if len(d.fields) != len(cols) {
		e := &DecodeError{Offset: len(data), Err: fmt.Errorf("%w: expected %d fields, got %d", ErrMalformed, len(cols), len(d.fields))}
		if len(d.fields) > len(cols) {
			e.Offset = d.fields[len(cols)].start
		} else {
			e.Column = cols[len(d.fields)].name
		}
		return e
	}
	for i := range cols {
		col, c, f := &cols[i], &d.row.cells[i], &d.fields[i]
		c.null = !f.quoted && string(f.text) == string(d.opts.null)
		var err error
		if c.null {
			if col.typ.NotNull {
				err = fmt.Errorf("%w: null value for %s", ErrNotNull, col.typ)
			}
		} else {
			err = col.setText(c, f.text, &d.dc)
		}
		if err != nil {
			return &DecodeError{Column: col.name, Offset: f.start, Err: err}
		}
	}
	d.row.commit(b)
	return nil
}

// split cuts data into fields, dropping one trailing line break.
func (d *csvDecoder) split(data []byte) error {
	if n := len(data); n > 0 && data[n-1] == '\n' {
		data = data[:n-1]
		if n > 1 && data[n-2] == '\r' {
			data = data[:n-2]
		}
	}
	d.fields = d.fields[:0]
	if cap(d.unq) < len(data) {
		d.unq = make([]byte, 0, len(data))
	}
	d.unq = d.unq[:0]
	delim := d.opts.delim
	i := 0
	for {
		start := i
		if i < len(data) && data[i] == '"' {
			i++
			from := len(d.unq)
			for {
				if i >= len(data) {
					return &DecodeError{Offset: start, Err: fmt.Errorf("%w: unterminated quoted field", ErrMalformed)}
				}
				if data[i] == '"' {
					if i+1 < len(data) && data[i+1] == '"' {
						d.unq = append(d.unq, '"')
						i += 2
						continue
					}
					i++
					break
				}
				d.unq = append(d.unq, data[i])
				i++
			}
			d.fields = append(d.fields, csvField{text: d.unq[from:len(d.unq):len(d.unq)], start: start, quoted: true})
			if i < len(data) && data[i] != delim {
				return &DecodeError{Offset: i, Err: fmt.Errorf("%w: unexpected %q after a quoted field", ErrMalformed, data[i])}
			}
		} else {
			for i < len(data) && data[i] != delim {
				switch data[i] {
				case '"':
					return &DecodeError{Offset: i, Err: fmt.Errorf("%w: quote in an unquoted field", ErrMalformed)}
				case '\r', '\n':
					return &DecodeError{Offset: i, Err: fmt.Errorf("%w: line break in an unquoted field", ErrMalformed)}
				}
				i++
			}
			d.fields = append(d.fields, csvField{text: data[start:i:i], start: start})
		}
		if i >= len(data) {
			return nil
		}
		i++ // the delimiter
	}
}

// csvEncoder writes one RFC 4180 record per row, quoting a field only
// when it holds the delimiter, a quote or a line break, or would read
// back as NULL.
type csvEncoder struct {
	opts    csvOptions
	types   []types.Type
	scratch []byte
	dates   dateCache
}

func newCSVEncoder(schema types.Schema, opts map[string]string) (*csvEncoder, error) {
	o, err := parseCSVOptions(schema, opts)
	if err != nil {
		return nil, err
	}
	e := &csvEncoder{opts: o, types: make([]types.Type, len(schema))}
	for i, f := range schema {
		e.types[i] = f.Type
	}
	return e, nil
}

// Encode implements Encoder.
func (e *csvEncoder) Encode(dst []byte, b *types.Batch, row int) ([]byte, error) {
	for i, t := range e.types {
		if i > 0 {
			dst = append(dst, e.opts.delim)
		}
		v := b.Cols[i]
		if v.IsNull(row) {
			dst = append(dst, e.opts.null...)
			continue
		}
		start := len(dst)
		switch t.Kind {
		case types.KindBoolean:
			if v.Bools[row] {
				dst = append(dst, "true"...)
			} else {
				dst = append(dst, "false"...)
			}
		case types.KindInt:
			dst = appendInt(dst, v.Ints[row])
		case types.KindFloat:
			dst = appendFloat(dst, v.Floats[row], t.Width)
		case types.KindDecimal:
			dst = appendDecimal(dst, v, row)
		case types.KindString, types.KindJSON:
			dst = append(dst, v.Bytes(row)...)
		case types.KindBytes:
			dst = base64.StdEncoding.AppendEncode(dst, v.Bytes(row))
		case types.KindDate:
			dst = appendDate(dst, v.Ints[row])
		case types.KindTimestamp:
			dst = appendTimestamp(dst, v.Ints[row], t.Precision, &e.dates)
		}
		if e.needsQuotes(dst[start:]) {
			e.scratch = append(e.scratch[:0], dst[start:]...)
			dst = append(dst[:start], '"')
			for _, c := range e.scratch {
				if c == '"' {
					dst = append(dst, '"')
				}
				dst = append(dst, c)
			}
			dst = append(dst, '"')
		}
	}
	return dst, nil
}

func (e *csvEncoder) needsQuotes(field []byte) bool {
	if string(field) == string(e.opts.null) {
		return true
	}
	return slices.ContainsFunc(field, func(c byte) bool {
		return c == e.opts.delim || c == '"' || c == '\r' || c == '\n'
	})
}
