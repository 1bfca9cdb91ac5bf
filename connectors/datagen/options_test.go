package datagen

import (
	"errors"
	"strings"
	"testing"

	"github.com/sluice-sql/sluice/sql/types"
)

func TestBadOptions(t *testing.T) {
	schema := types.Schema{{Name: "id", Type: types.BigInt()}, {Name: "name", Type: types.Varchar(10)},
		{Name: "ok", Type: types.Boolean()}, {Name: "ts", Type: types.Timestamp(3)}, {Name: "nn", Type: types.Int().WithNotNull(true)}}
	for _, c := range []struct {
		opts map[string]string
		key  string // the key the error names
		want string
	}{
		{map[string]string{"number-of-rows": "0"}, "number-of-rows", "not a positive integer"},
		{map[string]string{"number-of-rows": "ten"}, "number-of-rows", "not a non-negative integer"},
		{map[string]string{"rows-per-second": "-1"}, "rows-per-second", "not a non-negative integer"},
		{map[string]string{"datagen.seed": "x"}, "datagen.seed", "not an integer"},
		{map[string]string{"fields.nme.kind": "random"}, "fields.nme.kind", `names "nme", which is not a column (did you mean "name"?)`},
		{map[string]string{"fields.id.knd": "random"}, "fields.id.knd", `(did you mean "fields.id.kind"?)`},
		{map[string]string{"fields.id": "random"}, "fields.id", "not of the form"},
		{map[string]string{"fields.id.kind": "serial"}, "fields.id.kind", "(use sequence or random)"},
		{map[string]string{"fields.ok.kind": "sequence"}, "fields.ok.kind", "a BOOLEAN column cannot be a sequence"},
		{map[string]string{"fields.id.kind": "sequence", "fields.id.start": "1"}, "fields.id.end", "a sequence needs"},
		{map[string]string{"fields.id.kind": "sequence", "fields.id.start": "9", "fields.id.end": "1"}, "fields.id.start", "is after"},
		{map[string]string{"fields.id.kind": "sequence", "fields.id.start": "1", "fields.id.end": "x"}, "fields.id.end", "not an integer"},
		{map[string]string{"fields.id.kind": "sequence", "fields.id.start": "1", "fields.id.end": "2", "fields.id.min": "0"}, "fields.id.min", "applies only to a random column"},
		{map[string]string{"fields.id.start": "1"}, "fields.id.start", "applies only to a sequence column; id is random"},
		{map[string]string{"fields.id.min": "5", "fields.id.max": "4"}, "fields.id.min", "greater than"},
		{map[string]string{"fields.nn.min": "1", "fields.nn.max": "99999999999"}, "fields.nn.max", "out of the range of INT NOT NULL"},
		{map[string]string{"fields.name.min": "a"}, "fields.name.min", "does not apply to a VARCHAR(10) column"},
		{map[string]string{"fields.name.length": "11"}, "fields.name.length", "longer than"},
		{map[string]string{"fields.id.length": "5"}, "fields.id.length", "applies only to a STRING"},
		{map[string]string{"fields.id.null-rate": "1.5"}, "fields.id.null-rate", "from 0 to 1"},
		{map[string]string{"fields.nn.null-rate": "0.5"}, "fields.nn.null-rate", "NOT NULL"},
		{map[string]string{"fields.ts.max-past": "soon"}, "fields.ts.max-past", "not a duration"},
		{map[string]string{"fields.ts.min": "2024-01-01"}, "fields.ts.min", "needs both"},
		{map[string]string{"fields.id.max-past": "1s"}, "fields.id.max-past", "only to a TIMESTAMP"},
		{map[string]string{"fields.ts.kind": "sequence", "fields.ts.start": "2024-13-01", "fields.ts.end": "2025-01-01"}, "fields.ts.start", "not a timestamp"},
		{map[string]string{"fields.id.kind": "sequence", "fields.id.start": "1", "fields.id.end": "2", "fields.id.step": "2"}, "fields.id.step", "only to a TIMESTAMP sequence"},
	} {
		_, err := ParseOptions(c.opts, schema)
		var oe *OptionError
		if !errors.As(err, &oe) || oe.Key != c.key || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "'"+c.key+"'") {
			t.Errorf("%v: %v, want an error on %s containing %q", c.opts, err, c.key, c.want)
		}
	}
}

func TestDurations(t *testing.T) {
	for in, want := range map[string]string{"10 s": "10s", "5min": "5m0s", "1 d": "24h0m0s", "1h30m": "1h30m0s", "250": "250ms", "2 hours": "2h0m0s"} {
		d, err := parseDuration("k", in)
		if err != nil || d.String() != want {
			t.Errorf("%q: %v, %v; want %s", in, d, err, want)
		}
	}
}
