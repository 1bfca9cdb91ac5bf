package datagen

import (
	"fmt"
	"math/rand/v2"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/cockroachdb/apd/v3"
	"github.com/sluice-sql/sluice/internal/suggest"
	"github.com/sluice-sql/sluice/sql/types"
)

// The table options, as Flink's datagen connector spells them (besides
// 'datagen.seed', which Flink lacks).
const (
	OptionRowsPerSecond = "rows-per-second"
	OptionNumberOfRows  = "number-of-rows"
	OptionSeed          = "datagen.seed"
	fieldPrefix         = "fields."
)

// DefaultRowsPerSecond paces an unbounded table when 'rows-per-second' is
// not given, as in Flink.
const DefaultRowsPerSecond = 10000

// fieldOptions are the per-column options, 'fields.<col>.<option>'.
var fieldOptions = []string{"kind", "start", "end", "step", "min", "max", "max-past", "length", "null-rate"}

// OptionKeys returns the keys the connector takes; the per-column ones
// are spelled 'fields.<col>.kind' and so on.
func OptionKeys() []string {
	keys := []string{OptionRowsPerSecond, OptionNumberOfRows, OptionSeed}
	for _, o := range fieldOptions {
		keys = append(keys, fieldPrefix+"<col>."+o)
	}
	return keys
}

// OptionError is an option ParseOptions cannot use. Its text names the
// option's key.
type OptionError struct {
	Key string
	Msg string
}

func (e *OptionError) Error() string { return e.Msg }

func badOption(key, format string, args ...any) error {
	return &OptionError{Key: key, Msg: fmt.Sprintf(format, args...)}
}

// ParseOptions builds the Config of a table with these WITH options; it
// ignores keys that are not datagen's ('connector'). The table is bounded
// by 'number-of-rows' (a positive count) and by any sequence column.
// 'rows-per-second' paces it; 0 means as fast as it is read, which is
// also the default for a bounded table (unlike Flink, which paces a
// bounded table at 10,000 rows a second too: a bounded table is a test
// or a backfill, whose answer does not depend on the pace). Without
// 'datagen.seed' the seed is drawn at random, so each table declared
// gets different rows, as in Flink; the Config's Clock is left nil.
func ParseOptions(opts map[string]string, schema types.Schema) (Config, error) {
	cfg := Config{Schema: schema, Fields: make([]Field, len(schema))}
	var err error
	if cfg.Rows, err = intOption(opts, OptionNumberOfRows, 0); err != nil {
		return cfg, err
	}
	if v, ok := opts[OptionNumberOfRows]; ok && cfg.Rows == 0 {
		return cfg, badOption(OptionNumberOfRows, "'%s' = '%s' is not a positive integer", OptionNumberOfRows, v)
	}
	if v, ok := opts[OptionSeed]; ok {
		if cfg.Seed, err = strconv.ParseInt(strings.TrimSpace(v), 10, 64); err != nil {
			return cfg, badOption(OptionSeed, "'%s' = '%s' is not an integer", OptionSeed, v)
		}
	} else {
		cfg.Seed = rand.Int64()
	}

	// Group the per-column options by column, in key order so that the
	// first error reported does not depend on map order.
	keys := make([]string, 0, len(opts))
	for k := range opts {
		if strings.HasPrefix(k, fieldPrefix) {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	byCol := make([]map[string]string, len(schema))
	for _, k := range keys {
		rest := k[len(fieldPrefix):]
		dot := strings.LastIndexByte(rest, '.')
		if dot <= 0 {
			return cfg, badOption(k, "'%s' is not of the form 'fields.<column>.<option>'", k)
		}
		name, opt := rest[:dot], rest[dot+1:]
		i := schema.Index(name)
		if i < 0 {
			msg := fmt.Sprintf("'%s' names %q, which is not a column", k, name)
			names := make([]string, len(schema))
			for j, f := range schema {
				names[j] = f.Name
			}
			if s := suggest.Closest(name, names); s != "" {
				msg += fmt.Sprintf(" (did you mean %q?)", s)
			}
			return cfg, badOption(k, "%s", msg)
		}
		if !contains(fieldOptions, opt) {
			msg := fmt.Sprintf("'%s': a column has no option %q", k, opt)
			if s := suggest.Closest(opt, fieldOptions); s != "" {
				msg += fmt.Sprintf(" (did you mean %q?)", fieldPrefix+name+"."+s)
			}
			return cfg, badOption(k, "%s", msg)
		}
		if byCol[i] == nil {
			byCol[i] = make(map[string]string)
		}
		byCol[i][opt] = opts[k]
	}
	bounded := cfg.Rows > 0
	for i, col := range schema {
		f, err := parseField(col, byCol[i])
		if err != nil {
			return cfg, err
		}
		bounded = bounded || f.Gen == Sequence
		cfg.Fields[i] = f
	}

	rate := int64(DefaultRowsPerSecond)
	if bounded {
		rate = 0
	}
	if cfg.Rate, err = intOption(opts, OptionRowsPerSecond, rate); err != nil {
		return cfg, err
	}
	probe := cfg
	probe.Fields = append([]Field(nil), cfg.Fields...)
	probe.EnsureDefaults()
	if err := probe.Validate(); err != nil {
		// Field-level problems ParseOptions did not catch by key.
		return cfg, badOption("", "%v", err)
	}
	return cfg, nil
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if x == y {
			return true
		}
	}
	return false
}

func intOption(opts map[string]string, key string, def int64) (int64, error) {
	v, ok := opts[key]
	if !ok {
		return def, nil
	}
	n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
	if err != nil || n < 0 {
		return 0, badOption(key, "'%s' = '%s' is not a non-negative integer", key, v)
	}
	return n, nil
}

// parseField reads the options of one column (by option name).
func parseField(col types.Field, o map[string]string) (Field, error) {
	var f Field
	key := func(opt string) string { return fieldPrefix + col.Name + "." + opt }
	t := col.Type
	switch v := o["kind"]; strings.ToLower(strings.TrimSpace(v)) {
	case "", "random":
	case "sequence":
		f.Gen = Sequence
		if !Sequenceable(t) {
			return f, badOption(key("kind"), "'%s' = 'sequence': a %s column cannot be a sequence (only numbers, strings, dates and timestamps)", key("kind"), t)
		}
	default:
		return f, badOption(key("kind"), "'%s' = '%s' (use sequence or random)", key("kind"), v)
	}
	// Options that belong to the other kind are refused, as Flink does,
	// rather than silently ignored.
	only := map[Generation][]string{Sequence: {"start", "end", "step"}, Random: {"min", "max", "max-past", "length"}}
	for _, opt := range only[1-f.Gen] {
		if _, ok := o[opt]; ok {
			return f, badOption(key(opt), "'%s' applies only to a %s column; %s is %s (set '%s')",
				key(opt), 1-f.Gen, col.Name, f.Gen, key("kind"))
		}
	}

	if v, ok := o["null-rate"]; ok {
		r, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil || !(r >= 0 && r <= 1) {
			return f, badOption(key("null-rate"), "'%s' = '%s' is not a number from 0 to 1", key("null-rate"), v)
		}
		if r > 0 && t.NotNull {
			return f, badOption(key("null-rate"), "'%s' = '%s': %s is NOT NULL", key("null-rate"), v, col.Name)
		}
		f.NullRate = r
	}

	if f.Gen == Sequence {
		for _, opt := range []string{"start", "end"} {
			if _, ok := o[opt]; !ok {
				return f, badOption(key(opt), "a sequence needs '%s' and '%s'", key("start"), key("end"))
			}
		}
		if t.Kind == types.KindFloat {
			var err error
			if f.FStart, err = parseFloat(key("start"), o["start"]); err != nil {
				return f, err
			}
			if f.FEnd, err = parseFloat(key("end"), o["end"]); err != nil {
				return f, err
			}
		} else {
			var err error
			if f.Start, err = parseValue(key("start"), o["start"], t); err != nil {
				return f, err
			}
			if f.End, err = parseValue(key("end"), o["end"], t); err != nil {
				return f, err
			}
		}
		if v, ok := o["step"]; ok {
			if t.Kind != types.KindTimestamp {
				return f, badOption(key("step"), "'%s' applies only to a TIMESTAMP sequence", key("step"))
			}
			d, err := parseDuration(key("step"), v)
			if err != nil {
				return f, err
			}
			if d < time.Microsecond {
				return f, badOption(key("step"), "'%s' = '%s' is not a positive duration", key("step"), v)
			}
			f.Step = d.Microseconds()
		} else if t.Kind == types.KindTimestamp {
			f.Step = int64(time.Second / time.Microsecond)
		} else if t.Kind == types.KindDate {
			f.Step = 1
		}
		if f.Start > f.End || f.FStart > f.FEnd {
			return f, badOption(key("start"), "'%s' = '%s' is after '%s' = '%s'", key("start"), o["start"], key("end"), o["end"])
		}
		return f, nil
	}

	_, hasMin := o["min"]
	_, hasMax := o["max"]
	if hasMin || hasMax {
		switch t.Kind {
		case types.KindBoolean, types.KindString, types.KindBytes:
			k := key("min")
			if !hasMin {
				k = key("max")
			}
			return f, badOption(k, "'%s' does not apply to a %s column", k, t)
		case types.KindTimestamp:
			if !hasMin || !hasMax {
				return f, badOption(key("min"), "a random TIMESTAMP column needs both '%s' and '%s', or neither", key("min"), key("max"))
			}
		}
		f.Bounded = true
		f.Min, f.Max, f.FMin, f.FMax = DefaultBounds(t)
		var err error
		if hasMin {
			if t.Kind == types.KindFloat {
				f.FMin, err = parseFloat(key("min"), o["min"])
			} else {
				f.Min, err = parseValue(key("min"), o["min"], t)
			}
			if err != nil {
				return f, err
			}
		}
		if hasMax {
			if t.Kind == types.KindFloat {
				f.FMax, err = parseFloat(key("max"), o["max"])
			} else {
				f.Max, err = parseValue(key("max"), o["max"], t)
			}
			if err != nil {
				return f, err
			}
		}
		if f.Min > f.Max || f.FMin > f.FMax {
			return f, badOption(key("min"), "'%s' is greater than '%s'", key("min"), key("max"))
		}
	}
	if v, ok := o["max-past"]; ok {
		if t.Kind != types.KindTimestamp {
			return f, badOption(key("max-past"), "'%s' applies only to a TIMESTAMP column", key("max-past"))
		}
		if f.Bounded {
			return f, badOption(key("max-past"), "'%s' and '%s' exclude each other", key("max-past"), key("min"))
		}
		d, err := parseDuration(key("max-past"), v)
		if err != nil {
			return f, err
		}
		f.MaxPast = d
	}
	if v, ok := o["length"]; ok {
		if t.Kind != types.KindString && t.Kind != types.KindBytes && t.Kind != types.KindJSON {
			return f, badOption(key("length"), "'%s' applies only to a STRING, BYTES or JSON column", key("length"))
		}
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil || n < 1 || n > 1<<20 {
			return f, badOption(key("length"), "'%s' = '%s' is not a length from 1 to %d", key("length"), v, 1<<20)
		}
		if t.Kind == types.KindString && t.Length > 0 && n > int(t.Length) {
			return f, badOption(key("length"), "'%s' = '%s' is longer than the column's %s", key("length"), v, t)
		}
		f.Length = n
	}
	return f, nil
}

func parseFloat(key, v string) (float64, error) {
	x, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
	if err != nil {
		return 0, badOption(key, "'%s' = '%s' is not a number", key, v)
	}
	return x, nil
}

// parseValue reads a bound or a sequence end of type t in t's storage
// unit.
func parseValue(key, v string, t types.Type) (int64, error) {
	s := strings.TrimSpace(v)
	switch t.Kind {
	case types.KindInt, types.KindString, types.KindJSON:
		x, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return 0, badOption(key, "'%s' = '%s' is not an integer", key, v)
		}
		lo, hi, _, _ := DefaultBounds(t)
		if t.Kind == types.KindInt && (x < lo || x > hi) {
			return 0, badOption(key, "'%s' = '%s' is out of the range of %s", key, v, t)
		}
		return x, nil
	case types.KindDecimal:
		d, _, err := apd.NewFromString(s)
		if err != nil || d.Form != apd.Finite {
			return 0, badOption(key, "'%s' = '%s' is not a number", key, v)
		}
		var r apd.Decimal
		ctx := apd.BaseContext.WithPrecision(types.MaxDecimalPrecision + 2)
		ctx.Rounding = apd.RoundHalfUp
		_, qerr := ctx.Quantize(&r, d, -int32(t.Scale))
		if qerr != nil || r.NumDigits() > int64(t.Precision) || !r.Coeff.IsInt64() {
			return 0, badOption(key, "'%s' = '%s' is out of the range of %s", key, v, t)
		}
		x := r.Coeff.Int64()
		if r.Negative {
			x = -x
		}
		return x, nil
	case types.KindDate:
		tm, err := time.Parse(time.DateOnly, s)
		if err != nil {
			return 0, badOption(key, "'%s' = '%s' is not a date (YYYY-MM-DD)", key, v)
		}
		return floorDiv(tm.Unix(), 86400), nil
	case types.KindTimestamp:
		for _, layout := range []string{"2006-01-02 15:04:05.999999", "2006-01-02T15:04:05.999999", time.DateOnly} {
			if tm, err := time.Parse(layout, s); err == nil {
				return tm.UnixMicro(), nil
			}
		}
		return 0, badOption(key, "'%s' = '%s' is not a timestamp (YYYY-MM-DD HH:MM:SS[.ffffff])", key, v)
	case types.KindInterval:
		d, err := parseDuration(key, v)
		if err != nil {
			return 0, err
		}
		return d.Microseconds(), nil
	}
	return 0, badOption(key, "'%s' does not apply to a %s column", key, t)
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

// durationUnits are the units Flink's durations take besides Go's.
var durationUnits = map[string]time.Duration{
	"ms": time.Millisecond, "millisecond": time.Millisecond, "milliseconds": time.Millisecond,
	"s": time.Second, "sec": time.Second, "second": time.Second, "seconds": time.Second,
	"min": time.Minute, "minute": time.Minute, "minutes": time.Minute,
	"h": time.Hour, "hour": time.Hour, "hours": time.Hour,
	"d": 24 * time.Hour, "day": 24 * time.Hour, "days": 24 * time.Hour,
}

// parseDuration reads a duration as Go spells it ("1h30m", "250ms") or
// as Flink does ("10 s", "5 min", "1 d"); a bare number is milliseconds,
// as in Flink.
func parseDuration(key, v string) (time.Duration, error) {
	s := strings.TrimSpace(v)
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	if i > 0 {
		n, err := strconv.ParseInt(s[:i], 10, 64)
		unit := strings.ToLower(strings.TrimSpace(s[i:]))
		if u, ok := durationUnits[unit]; err == nil && (ok || unit == "") {
			if unit == "" {
				u = time.Millisecond
			}
			if n <= int64(1<<62)/int64(u) {
				return time.Duration(n) * u, nil
			}
		}
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, badOption(key, "'%s' = '%s' is not a duration (like '10 s', '5 min' or '1h30m')", key, v)
	}
	return d, nil
}
