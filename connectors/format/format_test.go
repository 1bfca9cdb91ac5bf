package format

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/cockroachdb/apd/v3"
	"github.com/sluice-sql/sluice/sql/types"
)

// allTypes is a schema with a column of every type the formats carry.
var allTypes = types.Schema{
	{Name: "b", Type: types.Boolean()},
	{Name: "ti", Type: types.TinyInt()},
	{Name: "si", Type: types.SmallInt()},
	{Name: "i", Type: types.Int()},
	{Name: "bi", Type: types.BigInt()},
	{Name: "f", Type: types.Float()},
	{Name: "d", Type: types.Double()},
	{Name: "dec", Type: types.Decimal(10, 2)},
	{Name: "wide", Type: types.Decimal(38, 4)},
	{Name: "s", Type: types.String()},
	{Name: "vc", Type: types.Varchar(5)},
	{Name: "by", Type: types.Bytes()},
	{Name: "dt", Type: types.Date()},
	{Name: "ts", Type: types.Timestamp(3)},
	{Name: "ts6", Type: types.Timestamp(6)},
	{Name: "ts0", Type: types.Timestamp(0)},
	{Name: "j", Type: types.JSON()},
}

func dec(s string) *apd.Decimal {
	d, _, err := apd.NewFromString(s)
	if err != nil {
		panic(err)
	}
	return d
}

// appendRow appends one row of Go values (nil for NULL) to b.
func appendRow(t *testing.T, b *types.Batch, vals ...any) {
	t.Helper()
	for i, x := range vals {
		v := b.Cols[i]
		switch x := x.(type) {
		case nil:
			v.AppendNull()
		case bool:
			v.AppendBool(x)
		case int:
			v.AppendInt(int64(x))
		case int64:
			v.AppendInt(x)
		case float64:
			v.AppendFloat(x)
		case *apd.Decimal:
			if !v.AppendDecimal(x) {
				t.Fatalf("decimal %s does not fit %s", x, v.Type)
			}
		case string:
			v.AppendString(x)
		case []byte:
			v.AppendBytes(x)
		default:
			t.Fatalf("unexpected %T", x)
		}
	}
	b.SetLen(b.Len() + 1)
}

// rowText renders row i for comparison.
func rowText(b *types.Batch, i int) string {
	var parts []string
	for _, v := range b.Cols {
		x := v.Value(i)
		if d, ok := x.(apd.Decimal); ok {
			x = d.Text('f')
		}
		if f, ok := x.(float64); ok && math.IsNaN(f) {
			x = "NaN"
		}
		parts = append(parts, fmt.Sprintf("%v", x))
	}
	return strings.Join(parts, " | ")
}

const (
	day  = int64(86400)
	usec = int64(1_000_000)
)

func allTypesBatch(t *testing.T) *types.Batch {
	b := types.NewBatch(allTypes, 8)
	appendRow(t, b, true, 127, 32767, math.MaxInt32, int64(math.MaxInt64), 1.5, 0.1,
		dec("12345678.99"), dec("-1234567890123456789012345678901234.5678"),
		"plain", "héllo", []byte{0, 1, 2, 255}, 0, 1767225600123000, 1767225600123456, 0, `{"a":[1,2,{"b":null}]}`)
	appendRow(t, b, false, -128, -32768, math.MinInt32, int64(math.MinInt64), -3.25, -1e300,
		dec("-0.05"), dec("0"),
		"quote \" backslash \\ newline \n tab \t ctl \x01 comma , 日本語 🚀", "", []byte{}, -719162, -1000, -usec*day*365*50, -usec, `"str"`)
	appendRow(t, b, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil)
	appendRow(t, b, true, 0, 0, 0, 0, float64(float32(3.4e38)), math.Inf(-1),
		dec("-99999999.99"), dec("99999999999999999999999999999999.9999"),
		"a,b\r\n\"c\"", "12345", []byte("hello world"), 2932896, 253402300799999000, 5, 1700000000*usec, `[]`)
	appendRow(t, b, false, 1, 2, 3, 4, float64(float32(1e-7)), math.NaN(), dec("0.01"), dec("-0.0001"),
		"NULL", "\\N", []byte("x"), 19000, 0, 0, 0, `true`)
	return b
}

func TestRoundTrip(t *testing.T) {
	src := allTypesBatch(t)
	for _, tc := range []struct {
		format string
		opts   map[string]string
	}{
		{"json", nil},
		{"csv", nil},
		{"csv", map[string]string{"csv.field-delimiter": ";", "csv.null-literal": `\N`}},
		{"csv", map[string]string{"csv.field-delimiter": `\t`, "csv.null-literal": "NULL"}},
	} {
		t.Run(fmt.Sprint(tc.format, tc.opts), func(t *testing.T) {
			enc, err := NewEncoder(tc.format, allTypes, tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			d, err := NewDecoder(tc.format, allTypes, tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			dst := types.NewBatch(allTypes, 8)
			for i := range src.Len() {
				rec, err := enc.Encode(nil, src, i)
				if err != nil {
					t.Fatal(err)
				}
				if err := d.Decode(rec, dst); err != nil {
					t.Fatalf("row %d: %s: %v", i, rec, err)
				}
				if got, want := rowText(dst, i), rowText(src, i); got != want {
					t.Errorf("row %d via %s\n got %s\nwant %s", i, rec, got, want)
				}
			}
		})
	}
}

func TestEncodeJSON(t *testing.T) {
	src := allTypesBatch(t)
	enc, err := NewEncoder("json", allTypes, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []string{
		`{"b":true,"ti":127,"si":32767,"i":2147483647,"bi":9223372036854775807,"f":1.5,"d":0.1,"dec":12345678.99,"wide":-1234567890123456789012345678901234.5678,"s":"plain","vc":"héllo","by":"AAEC/w==","dt":"1970-01-01","ts":"2026-01-01 00:00:00.123","ts6":"2026-01-01 00:00:00.123456","ts0":"1970-01-01 00:00:00","j":{"a":[1,2,{"b":null}]}}`,
		`{"b":false,"ti":-128,"si":-32768,"i":-2147483648,"bi":-9223372036854775808,"f":-3.25,"d":-1e+300,"dec":-0.05,"wide":0.0000,"s":"quote \" backslash \\ newline \n tab \t ctl \u0001 comma , 日本語 🚀","vc":"","by":"","dt":"0001-01-01","ts":"1969-12-31 23:59:59.999","ts6":"1920-01-14 00:00:00.000000","ts0":"1969-12-31 23:59:59","j":"str"}`,
		`{"b":null,"ti":null,"si":null,"i":null,"bi":null,"f":null,"d":null,"dec":null,"wide":null,"s":null,"vc":null,"by":null,"dt":null,"ts":null,"ts6":null,"ts0":null,"j":null}`,
	} {
		got, err := enc.Encode(nil, src, i)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != want {
			t.Errorf("row %d\n got %s\nwant %s", i, got, want)
		}
	}
}

func TestEncodeCSVQuotesOnlyWhenNeeded(t *testing.T) {
	schema := types.Schema{{Name: "a", Type: types.String()}, {Name: "b", Type: types.BigInt()}, {Name: "c", Type: types.String()}}
	b := types.NewBatch(schema, 4)
	appendRow(t, b, "plain", 1, "has,comma")
	appendRow(t, b, `say "hi"`, nil, "")
	appendRow(t, b, "line\nbreak", -7, nil)
	enc, err := NewEncoder("csv", schema, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []string{`plain,1,"has,comma"`, `"say ""hi""",,""`, "\"line\nbreak\",-7,"} {
		got, _ := enc.Encode(nil, b, i)
		if string(got) != want {
			t.Errorf("row %d: got %q, want %q", i, got, want)
		}
	}
}

func TestDecodeJSONForms(t *testing.T) {
	schema := types.Schema{
		{Name: "ts", Type: types.Timestamp(3)},
		{Name: "dec", Type: types.Decimal(20, 3)},
		{Name: "Name", Type: types.String()},
	}
	d, err := NewDecoder("json", schema, nil)
	if err != nil {
		t.Fatal(err)
	}
	b := types.NewBatch(schema, 8)
	for _, tc := range []struct{ rec, want string }{
		{`{"ts":"2026-01-01T00:00:00Z","dec":1.0005,"Name":"x"}`, "1767225600000000 | 1.001 | x"},
		{`{"ts":"2026-01-01T02:00:00.1239+02:00","dec":"-0.0005","name":"ignored"}`, "1767225600123000 | -0.001 | <nil>"},
		{`{"ts":1767225600123,"dec":12345678901234567.125,"extra":{"x":[1]}}`, "1767225600123000 | 12345678901234567.125 | <nil>"},
		{`{"ts":null,"dec":1e2,"Name":"a","Name":"last"}`, "<nil> | 100.000 | last"},
		{` {} `, "<nil> | <nil> | <nil>"},
	} {
		if err := d.Decode([]byte(tc.rec), b); err != nil {
			t.Fatalf("%s: %v", tc.rec, err)
		}
		if got := rowText(b, b.Len()-1); got != tc.want {
			t.Errorf("%s: got %s, want %s", tc.rec, got, tc.want)
		}
	}
}

func TestDecodeErrors(t *testing.T) {
	schema := types.Schema{
		{Name: "id", Type: types.BigInt()},
		{Name: "n", Type: types.Int()},
		{Name: "name", Type: types.Varchar(3)},
		{Name: "ts", Type: types.Timestamp(3)},
		{Name: "must", Type: types.Boolean().WithNotNull(true)},
	}
	for _, tc := range []struct {
		format, rec string
		column      string
		offset      int
		cause       error
	}{
		{"json", `{"id":"abc","must":true}`, "id", 1, ErrWrongType},
		{"json", `{"id":1.5,"must":true}`, "id", 1, ErrWrongType},
		{"json", `{"id":99999999999999999999,"must":true}`, "id", 1, ErrOutOfRange},
		{"json", `{"n":2147483648,"must":true}`, "n", 1, ErrOutOfRange},
		{"json", `{"name":"abcd","must":true}`, "name", 1, ErrOutOfRange},
		{"json", `{"ts":"yesterday","must":true}`, "ts", 1, ErrWrongType},
		{"json", `{"ts":true,"must":true}`, "ts", 1, ErrWrongType},
		{"json", `{"id":1}`, "must", -1, ErrNotNull},
		{"json", `{"id":1,"must":null}`, "must", 8, ErrNotNull},
		{"json", `{"id":1,`, "", 8, ErrMalformed},
		{"json", `{"id":1}x`, "", 9, ErrMalformed},
		{"json", `[1,2]`, "", 0, ErrMalformed},
		{"csv", `abc,1,x,,true`, "id", 0, ErrWrongType},
		{"csv", `1,-2147483649,x,,true`, "n", 2, ErrOutOfRange},
		{"csv", `1,2,x,2026-13-01 00:00:00,true`, "ts", 6, ErrWrongType},
		{"csv", `1,2,x,,`, "must", 7, ErrNotNull},
		{"csv", `1,2,x`, "ts", 5, ErrMalformed},
		{"csv", `1,2,x,,true,extra`, "", 12, ErrMalformed},
		{"csv", `1,2,"x,,true`, "", 4, ErrMalformed},
		{"csv", `1,2,"x"y,,true`, "", 7, ErrMalformed},
		{"csv", `1,2,x"y,,true`, "", 5, ErrMalformed},
	} {
		d, err := NewDecoder(tc.format, schema, nil)
		if err != nil {
			t.Fatal(err)
		}
		b := types.NewBatch(schema, 4)
		err = d.Decode([]byte(tc.rec), b)
		var de *DecodeError
		if !errors.As(err, &de) {
			t.Errorf("%s %s: got %v, want a *DecodeError", tc.format, tc.rec, err)
			continue
		}
		if de.Column != tc.column || de.Offset != tc.offset || !errors.Is(err, tc.cause) {
			t.Errorf("%s %s: got column %q offset %d (%v), want column %q offset %d cause %v",
				tc.format, tc.rec, de.Column, de.Offset, err, tc.column, tc.offset, tc.cause)
		}
		if tc.column != "" && !strings.Contains(err.Error(), `column "`+tc.column+`"`) {
			t.Errorf("%s %s: message %q does not name the column", tc.format, tc.rec, err)
		}
		// A failed Decode leaves the batch as it was.
		for i, c := range b.Cols {
			if b.Len() != 0 || c.Len() != 0 {
				t.Errorf("%s %s: column %d has %d rows after a failed decode", tc.format, tc.rec, i, c.Len())
			}
		}
	}
}

func TestOptions(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts map[string]string
		err  error
		msg  string
	}{
		{"jsn", nil, ErrUnknownFormat, `unknown format "jsn" (did you mean "json"?)`},
		{"csv", map[string]string{"csv.field-delimter": ";"}, ErrUnknownOption, `(did you mean "csv.field-delimiter"?)`},
		{"csv", map[string]string{"csv.null-literal": "x", "csv.nul-literal": ""}, ErrUnknownOption, `did you mean "csv.null-literal"?`},
		{"json", map[string]string{"csv.field-delimiter": ";"}, ErrUnknownOption, `known options: json.fail-on-missing-field`},
		{"csv", map[string]string{"csv.field-delimiter": ";;"}, ErrInvalidOption, `csv.field-delimiter`},
		{"json", map[string]string{"json.fail-on-missing-field": "yes"}, ErrInvalidOption, `want true or false`},
	} {
		_, err := NewDecoder(tc.name, allTypes, tc.opts)
		if !errors.Is(err, tc.err) || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("%s %v: got %v, want %v containing %q", tc.name, tc.opts, err, tc.err, tc.msg)
		}
		_, err = NewEncoder(tc.name, allTypes, tc.opts)
		if !errors.Is(err, tc.err) {
			t.Errorf("encoder %s %v: got %v, want %v", tc.name, tc.opts, err, tc.err)
		}
	}
	_, err := NewDecoder("json", types.Schema{{Name: "iv", Type: types.Interval()}}, nil)
	if !errors.Is(err, ErrUnsupportedType) {
		t.Errorf("INTERVAL column: got %v", err)
	}
	if got := FormatOptions("csv", map[string]string{"connector": "file", "csv.null-literal": "x"}); len(got) != 1 || got["csv.null-literal"] != "x" {
		t.Errorf("FormatOptions: got %v", got)
	}
}

func TestTimestampRange(t *testing.T) {
	if got := daysFromCivil(0, 1, 1); got*86400*1_000_000 != minTimestampMicros {
		t.Errorf("year 0 starts at day %d", got)
	}
	if got := daysFromCivil(10000, 1, 1); got*86400*1_000_000-1 != maxTimestampMicros {
		t.Errorf("year 10000 starts at day %d", got)
	}
	for _, s := range []string{"0000-01-01 00:00:00", "9999-12-31 23:59:59.999999", "2024-02-29T12:00:00Z"} {
		if _, ok := parseTimestamp([]byte(s)); !ok {
			t.Errorf("%s: rejected", s)
		}
	}
	for _, s := range []string{"0000-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00", "2023-02-29 00:00:00", "2024-01-01 24:00:00", "2024-01-01 00:00:00.", "2024-01-01 00:00"} {
		if _, ok := parseTimestamp([]byte(s)); ok {
			t.Errorf("%s: accepted", s)
		}
	}
}
