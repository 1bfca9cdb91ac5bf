package format

import (
	"fmt"
	"unicode/utf8"

	"github.com/cockroachdb/apd/v3"
	"github.com/sluice-sql/sluice/sql/types"
)

// column is a schema column as a codec sees it, with its scratch space.
type column struct {
	name string
	typ  types.Type
	// buf holds a converted value that cannot alias the record or the
	// parser (base64-decoded bytes, JSON text); reused across records.
	buf []byte
}

// cell is one column's converted value, staged until the whole row has
// converted. Only the field matching the column's kind is meaningful.
type cell struct {
	null bool
	b    bool
	i    int64 // integers, DATE, TIMESTAMP, DECIMAL(p<=18) scaled
	f    float64
	d    apd.Decimal // DECIMAL(p>18), already quantized
	s    []byte      // STRING, BYTES, JSON; aliases the record, parser or column.buf
}

// stagedRow is the row a decoder builds before it touches the batch.
type stagedRow struct {
	cols  []column
	cells []cell
}

func newStagedRow(schema types.Schema) stagedRow {
	r := stagedRow{cols: make([]column, len(schema)), cells: make([]cell, len(schema))}
	for i, f := range schema {
		r.cols[i] = column{name: f.Name, typ: f.Type}
	}
	return r
}

// commit appends the staged row to b. It cannot fail: every value was
// checked against its type while staging.
func (r *stagedRow) commit(b *types.Batch) {
	if len(b.Cols) != len(r.cols) {
		panic(fmt.Sprintf("format: batch has %d columns, schema has %d", len(b.Cols), len(r.cols)))
	}
	for i := range r.cells {
		c, v := &r.cells[i], b.Cols[i]
		if c.null {
			v.AppendNull()
			continue
		}
		switch t := r.cols[i].typ; t.Kind {
		case types.KindBoolean:
			v.AppendBool(c.b)
		case types.KindInt, types.KindDate, types.KindTimestamp:
			v.AppendInt(c.i)
		case types.KindDecimal:
			if t.Decimal64() {
				v.AppendInt(c.i)
			} else {
				v.AppendDecimal(&c.d)
			}
		case types.KindFloat:
			v.AppendFloat(c.f)
		default:
			v.AppendBytes(c.s)
		}
	}
	b.SetLen(b.Len() + 1)
}

// setText converts a textual value (a CSV field, or a JSON string for a
// column whose JSON form is a string) into c. offset locates text in
// the record for errors.
func (col *column) setText(c *cell, text []byte, dc *apd.Context) error {
	t := col.typ
	switch t.Kind {
	case types.KindBoolean:
		b, ok := parseBool(text)
		if !ok {
			return wrongText(t, text)
		}
		c.b = b
	case types.KindInt:
		n, err := parseInt(text)
		if err != nil {
			return err
		}
		return col.setInt(c, n)
	case types.KindFloat:
		f, err := parseFloat(text)
		if err != nil {
			return err
		}
		return col.setFloat(c, f)
	case types.KindDecimal:
		return col.setDecimal(c, text, dc)
	case types.KindString:
		return col.setString(c, text)
	case types.KindBytes:
		b, err := decodeBase64(col.buf[:0], text)
		if err != nil {
			return err
		}
		col.buf = b
		c.s = b
	case types.KindDate:
		d, ok := parseDate(text)
		if !ok {
			return wrongText(t, text)
		}
		c.i = d
	case types.KindTimestamp:
		ts, ok := parseTimestamp(text)
		if !ok {
			return wrongText(t, text)
		}
		c.i = truncateMicros(ts, t.Precision)
	case types.KindJSON:
		if err := validateJSON(text); err != nil {
			return err
		}
		c.s = text
	}
	return nil
}

func (col *column) setInt(c *cell, n int64) error {
	var lo, hi int64
	switch col.typ.Width {
	case 1:
		lo, hi = -1<<7, 1<<7-1
	case 2:
		lo, hi = -1<<15, 1<<15-1
	case 4:
		lo, hi = -1<<31, 1<<31-1
	default:
		c.i = n
		return nil
	}
	if n < lo || n > hi {
		return fmt.Errorf("%w: %d does not fit %s", ErrOutOfRange, n, col.typ.Nullable())
	}
	c.i = n
	return nil
}

func (col *column) setFloat(c *cell, f float64) error {
	if col.typ.Width == 4 {
		f32 := float32(f)
		if isInf32(f32) && !isInf64(f) {
			return fmt.Errorf("%w: %g does not fit FLOAT", ErrOutOfRange, f)
		}
		f = float64(f32)
	}
	c.f = f
	return nil
}

func (col *column) setString(c *cell, s []byte) error {
	if n := int(col.typ.Length); n > 0 && len(s) > n && utf8.RuneCount(s) > n {
		return fmt.Errorf("%w: %d characters do not fit %s", ErrOutOfRange, utf8.RuneCount(s), col.typ.Nullable())
	}
	c.s = s
	return nil
}

// setDecimal parses exact decimal text and fits it to the column's
// DECIMAL(p,s), rounding half away from zero beyond the scale.
func (col *column) setDecimal(c *cell, text []byte, dc *apd.Context) error {
	t := col.typ
	d := &c.d
	if err := parseDecimal(d, text); err != nil {
		return err
	}
	// Reject values whose integer part is too wide before quantizing:
	// quantizing 1e999999 would first build a million digits.
	if !d.IsZero() && d.NumDigits()+int64(d.Exponent) > int64(t.Precision-t.Scale) {
		return fmt.Errorf("%w: %s does not fit %s", ErrOutOfRange, text, t.Nullable())
	}
	if d.NumDigits()+int64(d.Exponent) < -int64(t.Scale)-1 {
		d.SetFinite(0, -int32(t.Scale)) // rounds to zero at this scale
	} else if _, err := dc.Quantize(d, d, -int32(t.Scale)); err != nil || d.NumDigits() > int64(t.Precision) {
		return fmt.Errorf("%w: %s does not fit %s", ErrOutOfRange, text, t.Nullable())
	}
	if t.Decimal64() {
		n := d.Coeff.Int64()
		if d.Negative {
			n = -n
		}
		c.i = n
	}
	return nil
}

func wrongText(t types.Type, text []byte) error {
	return fmt.Errorf("%w: %s expects %s, got %q", ErrWrongType, t.Nullable(), textForm(t), clip(text))
}

// textForm describes the text a type accepts, for error messages.
func textForm(t types.Type) string {
	switch t.Kind {
	case types.KindBoolean:
		return "true or false"
	case types.KindDate:
		return "a date 'YYYY-MM-DD'"
	case types.KindTimestamp:
		return "a timestamp 'YYYY-MM-DD HH:MM:SS[.fff]' or RFC 3339"
	case types.KindInt:
		return "an integer"
	}
	return "a number"
}

// clip shortens text quoted in error messages.
func clip(b []byte) string {
	const max = 40
	if len(b) > max {
		return string(b[:max]) + "..."
	}
	return string(b)
}
