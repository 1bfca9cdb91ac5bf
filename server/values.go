package server

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"

	"github.com/cockroachdb/apd/v3"

	"github.com/sluice-sql/sluice/sql/types"
)

// AppendValue appends the JSON form of v, a value of type t in the Go
// form of types.Vector.Value, to b. NULL is null, BOOLEAN true or false,
// integers and DOUBLEs JSON numbers (a DOUBLE that is not finite is the
// string "NaN", "+Inf" or "-Inf"), DECIMALs JSON numbers written exactly
// with their scale; everything else (strings, JSON, dates, timestamps,
// bytes in hex, intervals) is a JSON string holding types.Text's
// spelling, the one the shell prints.
func AppendValue(b []byte, v any, t types.Type) []byte {
	switch x := v.(type) {
	case nil:
		return append(b, "null"...)
	case bool:
		return strconv.AppendBool(b, x)
	case int64:
		if t.Kind == types.KindInt {
			return strconv.AppendInt(b, x, 10)
		}
	case float64:
		if !math.IsNaN(x) && !math.IsInf(x, 0) {
			return strconv.AppendFloat(b, x, 'g', -1, 64)
		}
	case apd.Decimal:
		if x.Form == apd.Finite {
			return append(b, x.Text('f')...)
		}
	}
	s, _ := json.Marshal(types.Text(v, t))
	return append(b, s...)
}

// DecodeValue reads a value that AppendValue wrote for a column of type
// t, back into the form types.Text and the shell's renderers take: int64
// for integers, float64 for DOUBLEs, apd.Decimal for DECIMALs, bool, nil
// for NULL, and for every other type the string that types.Text spelled
// (so types.Text gives it back unchanged).
func DecodeValue(raw json.RawMessage, t types.Type) (any, error) {
	raw = bytes.TrimSpace(raw)
	if string(raw) == "null" {
		return nil, nil
	}
	if len(raw) > 0 && raw[0] == '"' {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, err
		}
		if t.Kind == types.KindFloat {
			if f, err := strconv.ParseFloat(s, 64); err == nil {
				return f, nil
			}
		}
		return s, nil
	}
	switch t.Kind {
	case types.KindBoolean:
		var x bool
		err := json.Unmarshal(raw, &x)
		return x, err
	case types.KindInt:
		return strconv.ParseInt(string(raw), 10, 64)
	case types.KindFloat:
		return strconv.ParseFloat(string(raw), 64)
	case types.KindDecimal:
		d, _, err := apd.NewFromString(string(raw))
		if err != nil {
			return nil, err
		}
		return *d, nil
	}
	return nil, fmt.Errorf("a %s value cannot be %s", t, raw)
}
