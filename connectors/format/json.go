package format

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"

	"github.com/cockroachdb/apd/v3"
	"github.com/sluice-sql/sluice/sql/types"
	"github.com/valyala/fastjson"
)

// jsonDecoder decodes one JSON object per record. Keys map to columns by
// exact (case-sensitive) name; unknown keys are ignored; a missing key or
// null is NULL; when a key repeats, the last one wins.
type jsonDecoder struct {
	row           stagedRow
	index         map[string]int
	quoted        [][]byte // `"name"`, to locate a column's key for errors
	vals          []*fastjson.Value
	visit         func(key []byte, v *fastjson.Value)
	p             fastjson.Parser
	dc            apd.Context
	failOnMissing bool
	num           []byte // scratch for a number's text
}

func newJSONDecoder(schema types.Schema, opts map[string]string) (*jsonDecoder, error) {
	if err := checkSchema("json", schema); err != nil {
		return nil, err
	}
	fail, err := parseBoolOption(opts, "json.fail-on-missing-field")
	if err != nil {
		return nil, err
	}
	d := &jsonDecoder{
		row:           newStagedRow(schema),
		index:         make(map[string]int, len(schema)),
		quoted:        make([][]byte, len(schema)),
		vals:          make([]*fastjson.Value, len(schema)),
		dc:            decimalContext(),
		failOnMissing: fail,
	}
	for i, f := range schema {
		d.index[f.Name] = i
		d.quoted[i] = appendJSONString(nil, []byte(f.Name))
	}
	d.visit = d.visitField
	return d, nil
}

func decimalContext() apd.Context {
	c := apd.BaseContext.WithPrecision(types.MaxDecimalPrecision + 2)
	c.Rounding = apd.RoundHalfUp
	return *c
}

func (d *jsonDecoder) visitField(key []byte, v *fastjson.Value) {
	if i, ok := d.index[string(key)]; ok {
		d.vals[i] = v
	}
}

// Decode implements Decoder.
func (d *jsonDecoder) Decode(data []byte, b *types.Batch) error {
	v, err := d.p.ParseBytes(data)
	if err != nil {
		return jsonSyntaxError(data, err)
	}
	o, err := v.Object()
	if err != nil {
		return &DecodeError{Offset: 0, Err: fmt.Errorf("%w: expected a JSON object, got %s", ErrMalformed, v.Type())}
	}
	clear(d.vals)
	o.Visit(d.visit)
	for i := range d.row.cols {
		if err := d.convert(i, d.vals[i]); err != nil {
			off := bytes.Index(data, d.quoted[i])
			return &DecodeError{Column: d.row.cols[i].name, Offset: off, Err: err}
		}
	}
	d.row.commit(b)
	return nil
}

// jsonSyntaxError locates a syntax error. fastjson reports no offset, so
// the slow path asks encoding/json, which does.
func jsonSyntaxError(data []byte, err error) error {
	var raw json.RawMessage
	var se *json.SyntaxError
	if jerr := json.Unmarshal(data, &raw); errors.As(jerr, &se) {
		return &DecodeError{Offset: int(se.Offset), Err: fmt.Errorf("%w: %v", ErrMalformed, se)}
	}
	return &DecodeError{Offset: -1, Err: fmt.Errorf("%w: %v", ErrMalformed, err)}
}

func (d *jsonDecoder) convert(i int, v *fastjson.Value) error {
	col, c := &d.row.cols[i], &d.row.cells[i]
	c.null = false
	if v == nil || v.Type() == fastjson.TypeNull {
		if col.typ.NotNull || (v == nil && d.failOnMissing) {
			what := "null"
			if v == nil {
				what = "missing"
			}
			return fmt.Errorf("%w: %s value for %s", ErrNotNull, what, col.typ)
		}
		c.null = true
		return nil
	}
	t := col.typ
	switch t.Kind {
	case types.KindBoolean:
		switch v.Type() {
		case fastjson.TypeTrue:
			c.b = true
		case fastjson.TypeFalse:
			c.b = false
		default:
			return wrongJSON(t, v)
		}
		return nil
	case types.KindInt:
		if v.Type() != fastjson.TypeNumber {
			return wrongJSON(t, v)
		}
		d.num = v.MarshalTo(d.num[:0])
		n, err := parseInt(d.num)
		if err != nil {
			return err
		}
		return col.setInt(c, n)
	case types.KindFloat:
		switch v.Type() {
		case fastjson.TypeNumber:
			d.num = v.MarshalTo(d.num[:0])
		case fastjson.TypeString: // NaN, Infinity, -Infinity
			s, _ := v.StringBytes()
			if string(s) != "NaN" && string(s) != "Infinity" && string(s) != "-Infinity" {
				return wrongJSON(t, v)
			}
			d.num = append(d.num[:0], s...)
		default:
			return wrongJSON(t, v)
		}
		f, err := parseFloat(d.num)
		if err != nil {
			return err
		}
		return col.setFloat(c, f)
	case types.KindDecimal:
		switch v.Type() {
		case fastjson.TypeNumber:
			d.num = v.MarshalTo(d.num[:0])
			return col.setDecimal(c, d.num, &d.dc)
		case fastjson.TypeString:
			s, _ := v.StringBytes()
			return col.setDecimal(c, s, &d.dc)
		}
		return wrongJSON(t, v)
	case types.KindTimestamp:
		if v.Type() == fastjson.TypeNumber { // epoch milliseconds
			d.num = v.MarshalTo(d.num[:0])
			ms, err := parseInt(d.num)
			if err != nil {
				return err
			}
			us, ok := epochMillisToMicros(ms)
			if !ok {
				return fmt.Errorf("%w: %d epoch milliseconds does not fit TIMESTAMP", ErrOutOfRange, ms)
			}
			c.i = truncateMicros(us, t.Precision)
			return nil
		}
		fallthrough
	case types.KindString, types.KindBytes, types.KindDate:
		s, err := v.StringBytes()
		if err != nil {
			return wrongJSON(t, v)
		}
		return col.setText(c, s, &d.dc)
	case types.KindJSON:
		col.buf = v.MarshalTo(col.buf[:0])
		c.s = col.buf
		return nil
	}
	return wrongJSON(t, v)
}

func wrongJSON(t types.Type, v *fastjson.Value) error {
	want := "a JSON string"
	switch t.Kind {
	case types.KindBoolean:
		want = "true or false"
	case types.KindInt:
		want = "a JSON integer"
	case types.KindFloat:
		want = "a JSON number"
	case types.KindDecimal:
		want = "a JSON number or numeric string"
	case types.KindTimestamp:
		want = "a timestamp string or epoch milliseconds"
	}
	return fmt.Errorf("%w: %s expects %s, got %s", ErrWrongType, t.Nullable(), want, v.Type())
}

// jsonEncoder writes one JSON object per row, fields in schema order.
type jsonEncoder struct {
	types    []types.Type
	prefixes [][]byte // `{"name":` for the first field, `,"name":` after
}

func newJSONEncoder(schema types.Schema, opts map[string]string) (*jsonEncoder, error) {
	if err := checkSchema("json", schema); err != nil {
		return nil, err
	}
	if _, err := parseBoolOption(opts, "json.fail-on-missing-field"); err != nil {
		return nil, err
	}
	e := &jsonEncoder{types: make([]types.Type, len(schema)), prefixes: make([][]byte, len(schema))}
	for i, f := range schema {
		e.types[i] = f.Type
		sep := byte(',')
		if i == 0 {
			sep = '{'
		}
		e.prefixes[i] = append(appendJSONString([]byte{sep}, []byte(f.Name)), ':')
	}
	return e, nil
}

// Encode implements Encoder.
func (e *jsonEncoder) Encode(dst []byte, b *types.Batch, row int) ([]byte, error) {
	if len(e.types) == 0 {
		return append(dst, '{', '}'), nil
	}
	for i, t := range e.types {
		dst = append(dst, e.prefixes[i]...)
		v := b.Cols[i]
		if v.IsNull(row) {
			dst = append(dst, "null"...)
			continue
		}
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
			f := v.Floats[row]
			if math.IsNaN(f) || math.IsInf(f, 0) { // not JSON numbers: quoted, as Jackson does
				dst = append(dst, '"')
				dst = appendFloat(dst, f, t.Width)
				dst = append(dst, '"')
			} else {
				dst = appendFloat(dst, f, t.Width)
			}
		case types.KindDecimal:
			dst = appendDecimal(dst, v, row)
		case types.KindString:
			dst = appendJSONString(dst, v.Bytes(row))
		case types.KindBytes:
			dst = append(dst, '"')
			dst = base64.StdEncoding.AppendEncode(dst, v.Bytes(row))
			dst = append(dst, '"')
		case types.KindDate:
			dst = append(dst, '"')
			dst = appendDate(dst, v.Ints[row])
			dst = append(dst, '"')
		case types.KindTimestamp:
			dst = append(dst, '"')
			dst = appendTimestamp(dst, v.Ints[row], t.Precision)
			dst = append(dst, '"')
		case types.KindJSON:
			if raw := v.Bytes(row); len(raw) > 0 {
				dst = append(dst, raw...)
			} else {
				dst = append(dst, "null"...)
			}
		}
	}
	return append(dst, '}'), nil
}
