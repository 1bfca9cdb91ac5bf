package server

import (
	"math"
	"testing"

	"github.com/cockroachdb/apd/v3"

	"github.com/sluice-sql/sluice/sql/types"
)

// Every value reads back as what the shell prints for it, and the JSON
// of each is what a client in another language would want.
func TestValueRoundTrip(t *testing.T) {
	dec, _, _ := apd.NewFromString("-12.340")
	for _, c := range []struct {
		v    any
		t    types.Type
		json string
	}{
		{nil, types.BigInt(), `null`},
		{true, types.Boolean(), `true`},
		{int64(-42), types.Int(), `-42`},
		{1.5, types.Double(), `1.5`},
		{1e300, types.Double(), `1e+300`},
		{math.NaN(), types.Double(), `"NaN"`},
		{math.Inf(-1), types.Double(), `"-Inf"`},
		{*dec, types.Decimal(10, 3), `-12.340`},
		{"say \"hi\"\n", types.String(), `"say \"hi\"\n"`},
		{`{"a": 1}`, types.JSON(), `"{\"a\": 1}"`},
		{int64(1_700_000_000_123_000), types.Timestamp(3), `"2023-11-14 22:13:20.123"`},
		{int64(19_000), types.Date(), `"2022-01-08"`},
		{[]byte{0xca, 0xfe}, types.Bytes(), `"cafe"`},
	} {
		got := string(AppendValue(nil, c.v, c.t))
		if got != c.json {
			t.Errorf("%v %s: %s, want %s", c.v, c.t, got, c.json)
		}
		back, err := DecodeValue([]byte(got), c.t)
		if err != nil {
			t.Errorf("%s %s: %v", got, c.t, err)
			continue
		}
		if types.Text(back, c.t) != types.Text(c.v, c.t) {
			t.Errorf("%s %s reads back as %q, want %q", got, c.t, types.Text(back, c.t), types.Text(c.v, c.t))
		}
	}
	if _, err := DecodeValue([]byte(`[1]`), types.BigInt()); err == nil {
		t.Error("an array read as a BIGINT")
	}
}
