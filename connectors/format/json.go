package format

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/cockroachdb/apd/v3"
	"github.com/sluice-sql/sluice/sql/types"
	"github.com/valyala/fastjson"
)

// jsonDecoder decodes one JSON object per record. Keys map to columns by
// exact (case-sensitive) name; unknown keys are ignored; a missing key or
// null is NULL; when a key repeats, the last one wins.
//
// Records take one of two paths. The scan path (json_scan.go) reads the
// flat objects sources write (no escapes, no nested values, no JSON
// columns) straight into the row, without building a parse tree; any
// record it does not take, or that fails to convert, goes through
// fastjson, which decides the outcome and the error. Both paths convert
// through convert, so a record the scan path accepts decodes as fastjson
// would decode it.
type jsonDecoder struct {
	row   stagedRow
	index map[string]int
	// keyEnds holds, for the scan path, each column's name and closing
	// quote: the bytes after the opening quote of the column's key. It is
	// nil for a name with a quote or backslash, which never matches
	// unescaped.
	keyEnds       [][]byte
	quoted        [][]byte // `"name"`, to locate a column's key for errors
	vals          []*fastjson.Value
	scanned       []jsonValue // the scan path's values, by column
	unescaped     [][]byte    // the scan path's unescaped strings, by column
	scratch       []byte      // the scan path's unescaped strings of other keys
	scannable     bool        // no JSON column: the scan path may be tried
	visit         func(key []byte, v *fastjson.Value)
	p             fastjson.Parser
	dc            apd.Context
	failOnMissing bool
	num           []byte // scratch for a number's text
}

// jsonValue is one column's JSON value as convert sees it.
type jsonValue struct {
	present bool          // the key was in the object
	t       fastjson.Type // meaningful when present
	// text is a string's unescaped bytes or a number's text; it aliases
	// the record, the parser or the decoder's scratch.
	text []byte
	// v is the parsed value on the fastjson path, for JSON columns.
	v *fastjson.Value
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
		keyEnds:       make([][]byte, len(schema)),
		quoted:        make([][]byte, len(schema)),
		vals:          make([]*fastjson.Value, len(schema)),
		scanned:       make([]jsonValue, len(schema)),
		unescaped:     make([][]byte, len(schema)),
		scannable:     true,
		dc:            decimalContext(),
		failOnMissing: fail,
	}
	for i, f := range schema {
		d.index[f.Name] = i
		if !strings.ContainsAny(f.Name, `"\\`) {
			d.keyEnds[i] = append([]byte(f.Name), '"')
		}
		d.quoted[i] = appendJSONString(nil, []byte(f.Name))
		if f.Type.Kind == types.KindJSON {
			// A JSON column holds fastjson's rendering of its value,
			// which the scan path does not build.
			d.scannable = false
		}
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
	if d.scannable && d.scan(data) {
		ok := true
		for i := range d.row.cols {
			if d.convert(i, &d.scanned[i]) != nil {
				ok = false // fastjson reports it, as it would have
				break
			}
		}
		if ok {
			d.row.commit(b)
			return nil
		}
	}
	return d.decodeParsed(data, b)
}

// decodeParsed decodes data through fastjson's parse tree.
func (d *jsonDecoder) decodeParsed(data []byte, b *types.Batch) error {
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
		jv := d.parsedValue(d.vals[i])
		if err := d.convert(i, &jv); err != nil {
			off := bytes.Index(data, d.quoted[i])
			return &DecodeError{Column: d.row.cols[i].name, Offset: off, Err: err}
		}
	}
	d.row.commit(b)
	return nil
}

// parsedValue returns v as convert takes it; a number's text goes to
// d.num, which is valid until the next call.
func (d *jsonDecoder) parsedValue(v *fastjson.Value) jsonValue {
	if v == nil {
		return jsonValue{}
	}
	jv := jsonValue{present: true, t: v.Type(), v: v}
	switch jv.t {
	case fastjson.TypeNumber:
		d.num = v.MarshalTo(d.num[:0])
		jv.text = d.num
	case fastjson.TypeString:
		jv.text, _ = v.StringBytes()
	}
	return jv
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

func (d *jsonDecoder) convert(i int, v *jsonValue) error {
	col, c := &d.row.cols[i], &d.row.cells[i]
	c.null = false
	if !v.present || v.t == fastjson.TypeNull {
		if col.typ.NotNull || (!v.present && d.failOnMissing) {
			what := "null"
			if !v.present {
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
		switch v.t {
		case fastjson.TypeTrue:
			c.b = true
		case fastjson.TypeFalse:
			c.b = false
		default:
			return wrongJSON(t, v.t)
		}
		return nil
	case types.KindInt:
		if v.t != fastjson.TypeNumber {
			return wrongJSON(t, v.t)
		}
		n, err := parseInt(v.text)
		if err != nil {
			return err
		}
		return col.setInt(c, n)
	case types.KindFloat:
		switch v.t {
		case fastjson.TypeNumber:
		case fastjson.TypeString: // NaN, Infinity, -Infinity
			if s := v.text; string(s) != "NaN" && string(s) != "Infinity" && string(s) != "-Infinity" {
				return wrongJSON(t, v.t)
			}
		default:
			return wrongJSON(t, v.t)
		}
		f, err := parseFloat(v.text)
		if err != nil {
			return err
		}
		return col.setFloat(c, f)
	case types.KindDecimal:
		if v.t == fastjson.TypeNumber || v.t == fastjson.TypeString {
			return col.setDecimal(c, v.text, &d.dc)
		}
		return wrongJSON(t, v.t)
	case types.KindTimestamp:
		if v.t == fastjson.TypeNumber { // epoch milliseconds
			ms, err := parseInt(v.text)
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
		if v.t != fastjson.TypeString {
			return wrongJSON(t, v.t)
		}
		return col.setText(c, v.text, &d.dc)
	case types.KindJSON:
		col.buf = v.v.MarshalTo(col.buf[:0])
		c.s = col.buf
		return nil
	}
	return wrongJSON(t, v.t)
}

func wrongJSON(t types.Type, got fastjson.Type) error {
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
	return fmt.Errorf("%w: %s expects %s, got %s", ErrWrongType, t.Nullable(), want, got)
}

// jsonEncoder writes one JSON object per row, fields in schema order.
type jsonEncoder struct {
	types    []types.Type
	prefixes [][]byte // `{"name":` for the first field, `,"name":` after
	dates    dateCache
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
			dst = appendTimestamp(dst, v.Ints[row], t.Precision, &e.dates)
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
