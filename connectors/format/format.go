package format

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/sluice-sql/sluice/internal/suggest"
	"github.com/sluice-sql/sluice/sql/types"
)

// Decoder turns records into rows.
type Decoder interface {
	// Decode appends the row held by data (one record) to every column of
	// b and grows b's Len by one. On error it appends nothing and returns
	// a *DecodeError. data is not retained.
	Decode(data []byte, b *types.Batch) error
}

// Encoder turns rows into records.
type Encoder interface {
	// Encode appends the record of b's row to dst, without a terminator,
	// and returns the extended slice.
	Encode(dst []byte, b *types.Batch, row int) ([]byte, error)
}

// Sentinel errors, matched with errors.Is.
var (
	// ErrUnknownFormat is returned by the constructors for a name that
	// is not a format.
	ErrUnknownFormat = errors.New("unknown format")
	// ErrUnknownOption is returned by the constructors for an option the
	// format does not have.
	ErrUnknownOption = errors.New("unknown option")
	// ErrInvalidOption is returned for an option with a bad value.
	ErrInvalidOption = errors.New("invalid option")
	// ErrUnsupportedType is returned for a schema column whose type the
	// format cannot carry.
	ErrUnsupportedType = errors.New("unsupported type")
	// ErrMalformed is the cause of a DecodeError for a record that is
	// not well-formed (bad JSON, an unterminated CSV quote, a wrong
	// number of CSV fields).
	ErrMalformed = errors.New("malformed record")
	// ErrWrongType is the cause of a DecodeError for a value of the
	// wrong kind or text for its column.
	ErrWrongType = errors.New("wrong type")
	// ErrOutOfRange is the cause of a DecodeError for a value that does
	// not fit its column's type.
	ErrOutOfRange = errors.New("out of range")
	// ErrNotNull is the cause of a DecodeError for a NULL or missing
	// value in a NOT NULL column, or a missing field when
	// 'json.fail-on-missing-field' is set.
	ErrNotNull = errors.New("missing value")
)

// DecodeError is a record that could not be decoded. Column is the
// schema column to blame, or empty when the record as a whole is at
// fault; Offset is the byte offset within the record where the problem
// was found, or -1 when it is not known.
type DecodeError struct {
	Column string
	Offset int
	Err    error
}

func (e *DecodeError) Error() string {
	var b strings.Builder
	if e.Column != "" {
		fmt.Fprintf(&b, "column %q: ", e.Column)
	}
	if e.Offset >= 0 {
		fmt.Fprintf(&b, "at offset %d: ", e.Offset)
	}
	b.WriteString(e.Err.Error())
	return b.String()
}

func (e *DecodeError) Unwrap() error { return e.Err }

// Names lists the formats, sorted.
func Names() []string { return []string{"csv", "json"} }

// optionSpec is the options a format accepts, with their defaults.
var optionSpecs = map[string]map[string]string{
	"json": {"json.fail-on-missing-field": "false"},
	"csv":  {"csv.field-delimiter": ",", "csv.null-literal": ""},
}

// NewDecoder returns a decoder of format name ("json" or "csv") for rows
// of schema. opts holds the table options meant for the format, each key
// prefixed with the format's name ('csv.field-delimiter'); every key must
// be one the format knows (see FormatOptions).
func NewDecoder(name string, schema types.Schema, opts map[string]string) (Decoder, error) {
	o, err := checkOptions(name, opts)
	if err != nil {
		return nil, err
	}
	switch name {
	case "json":
		return newJSONDecoder(schema, o)
	default:
		return newCSVDecoder(schema, o)
	}
}

// NewEncoder returns an encoder of format name for rows of schema; opts
// is as for NewDecoder.
func NewEncoder(name string, schema types.Schema, opts map[string]string) (Encoder, error) {
	o, err := checkOptions(name, opts)
	if err != nil {
		return nil, err
	}
	switch name {
	case "json":
		return newJSONEncoder(schema, o)
	default:
		return newCSVEncoder(schema, o)
	}
}

// FormatOptions returns the options of tableOpts that belong to format
// name: those whose key starts with the name and a dot.
func FormatOptions(name string, tableOpts map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range tableOpts {
		if strings.HasPrefix(k, name+".") {
			out[k] = v
		}
	}
	return out
}

// checkOptions validates opts against the format's spec and returns the
// full option set with defaults filled in.
func checkOptions(name string, opts map[string]string) (map[string]string, error) {
	spec, ok := optionSpecs[name]
	if !ok {
		return nil, fmt.Errorf("%w %q%s (known formats: %s)", ErrUnknownFormat, name,
			didYouMean(name, Names()), strings.Join(Names(), ", "))
	}
	known := make([]string, 0, len(spec))
	for k := range spec {
		known = append(known, k)
	}
	slices.Sort(known)
	out := make(map[string]string, len(spec))
	for k, v := range spec {
		out[k] = v
	}
	keys := make([]string, 0, len(opts))
	for k := range opts {
		keys = append(keys, k)
	}
	slices.Sort(keys) // report the same option first on every run
	for _, k := range keys {
		if _, ok := spec[k]; !ok {
			return nil, fmt.Errorf("%w %q for format %s%s (known options: %s)", ErrUnknownOption, k, name,
				didYouMean(k, known), strings.Join(known, ", "))
		}
		out[k] = opts[k]
	}
	return out, nil
}

// didYouMean returns ` (did you mean "x"?)` for the closest candidate, or
// "".
func didYouMean(s string, candidates []string) string {
	if best := suggest.Closest(s, candidates); best != "" {
		return fmt.Sprintf(" (did you mean %q?)", best)
	}
	return ""
}

// checkSchema rejects column types the formats cannot carry.
func checkSchema(format string, schema types.Schema) error {
	for _, f := range schema {
		switch f.Type.Kind {
		case types.KindBoolean, types.KindInt, types.KindFloat, types.KindDecimal, types.KindString,
			types.KindBytes, types.KindDate, types.KindTimestamp, types.KindJSON:
		default:
			return fmt.Errorf("%w: format %s cannot carry column %q of type %s", ErrUnsupportedType, format, f.Name, f.Type)
		}
	}
	return nil
}

func parseBoolOption(opts map[string]string, key string) (bool, error) {
	switch strings.ToLower(opts[key]) {
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	return false, fmt.Errorf("%w: %s = %q, want true or false", ErrInvalidOption, key, opts[key])
}
