package types

import (
	"fmt"
	"strings"
)

// Kind is the family of a SQL type; it decides how values are stored.
type Kind uint8

// The kinds. Integer types of every width are KindInt (stored as int64);
// FLOAT and DOUBLE are KindFloat (float64).
const (
	KindInvalid Kind = iota
	KindNull         // the type of an untyped NULL literal, until binding gives it one
	KindBoolean
	KindInt
	KindFloat
	KindDecimal
	KindString
	KindBytes
	KindDate
	KindTimestamp
	KindInterval
	KindJSON
)

var kindNames = [...]string{
	KindInvalid:   "INVALID",
	KindNull:      "NULL",
	KindBoolean:   "BOOLEAN",
	KindInt:       "BIGINT",
	KindFloat:     "DOUBLE",
	KindDecimal:   "DECIMAL",
	KindString:    "STRING",
	KindBytes:     "BYTES",
	KindDate:      "DATE",
	KindTimestamp: "TIMESTAMP",
	KindInterval:  "INTERVAL",
	KindJSON:      "JSON",
}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("Kind(%d)", k)
}

// Limits of the parameterized types.
const (
	MaxDecimalPrecision = 38
	// MaxDecimal64Precision is the widest decimal stored as a scaled int64.
	MaxDecimal64Precision = 18
	MaxTimestampPrecision = 6
)

// Type is a SQL type: a kind with its parameters and nullability. The zero
// Type is invalid. Types are small values; compare them with ==.
type Type struct {
	Kind Kind
	// Width is the declared size in bytes of an integer (1 TINYINT, 2
	// SMALLINT, 4 INT, 8 BIGINT) or a float (4 FLOAT, 8 DOUBLE). Values
	// are stored wide either way; casts check the declared range.
	Width uint8
	// Precision is a DECIMAL's total digits or a TIMESTAMP's fractional
	// second digits.
	Precision uint8
	// Scale is a DECIMAL's digits after the point.
	Scale uint8
	// Length is a VARCHAR's maximum length in characters; 0 is unbounded
	// (STRING).
	Length int32
	// NotNull is set when the type excludes NULL.
	NotNull bool
}

// Boolean returns BOOLEAN.
func Boolean() Type { return Type{Kind: KindBoolean} }

// TinyInt returns TINYINT.
func TinyInt() Type { return Type{Kind: KindInt, Width: 1} }

// SmallInt returns SMALLINT.
func SmallInt() Type { return Type{Kind: KindInt, Width: 2} }

// Int returns INT.
func Int() Type { return Type{Kind: KindInt, Width: 4} }

// BigInt returns BIGINT.
func BigInt() Type { return Type{Kind: KindInt, Width: 8} }

// Float returns FLOAT (stored as float64, like DOUBLE).
func Float() Type { return Type{Kind: KindFloat, Width: 4} }

// Double returns DOUBLE.
func Double() Type { return Type{Kind: KindFloat, Width: 8} }

// String returns STRING, a VARCHAR without a length.
func String() Type { return Type{Kind: KindString} }

// Varchar returns VARCHAR(n).
func Varchar(n int32) Type { return Type{Kind: KindString, Length: n} }

// Bytes returns BYTES.
func Bytes() Type { return Type{Kind: KindBytes} }

// Date returns DATE.
func Date() Type { return Type{Kind: KindDate} }

// Interval returns INTERVAL.
func Interval() Type { return Type{Kind: KindInterval} }

// JSON returns JSON.
func JSON() Type { return Type{Kind: KindJSON} }

// NullType returns the type of an untyped NULL.
func NullType() Type { return Type{Kind: KindNull} }

// Decimal returns DECIMAL(p,s). It panics on parameters out of range: the
// binder validates user input before it builds types.
func Decimal(p, s int) Type {
	if p < 1 || p > MaxDecimalPrecision || s < 0 || s > p {
		panic(fmt.Sprintf("types: DECIMAL(%d,%d) out of range", p, s))
	}
	return Type{Kind: KindDecimal, Precision: uint8(p), Scale: uint8(s)}
}

// Timestamp returns TIMESTAMP(p), p fractional second digits (0 to 6).
func Timestamp(p int) Type {
	if p < 0 || p > MaxTimestampPrecision {
		panic(fmt.Sprintf("types: TIMESTAMP(%d) out of range", p))
	}
	return Type{Kind: KindTimestamp, Precision: uint8(p)}
}

// WithNotNull returns t excluding (or admitting) NULL.
func (t Type) WithNotNull(notNull bool) Type {
	t.NotNull = notNull
	return t
}

// Nullable returns t admitting NULL.
func (t Type) Nullable() Type { return t.WithNotNull(false) }

// IsNumeric reports whether t is an integer, float or decimal type.
func (t Type) IsNumeric() bool {
	return t.Kind == KindInt || t.Kind == KindFloat || t.Kind == KindDecimal
}

// Decimal64 reports whether a decimal is stored as a scaled int64.
func (t Type) Decimal64() bool {
	return t.Kind == KindDecimal && t.Precision <= MaxDecimal64Precision
}

// Equal reports whether two types are the same ignoring nullability.
func (t Type) Equal(u Type) bool { return t.Nullable() == u.Nullable() }

// String spells the type as SQL does: BIGINT, DECIMAL(10,2),
// TIMESTAMP(3), VARCHAR(20), STRING, and NOT NULL when set.
func (t Type) String() string {
	var b strings.Builder
	switch t.Kind {
	case KindInt:
		switch t.Width {
		case 1:
			b.WriteString("TINYINT")
		case 2:
			b.WriteString("SMALLINT")
		case 4:
			b.WriteString("INT")
		default:
			b.WriteString("BIGINT")
		}
	case KindFloat:
		if t.Width == 4 {
			b.WriteString("FLOAT")
		} else {
			b.WriteString("DOUBLE")
		}
	case KindDecimal:
		fmt.Fprintf(&b, "DECIMAL(%d,%d)", t.Precision, t.Scale)
	case KindTimestamp:
		fmt.Fprintf(&b, "TIMESTAMP(%d)", t.Precision)
	case KindString:
		if t.Length > 0 {
			fmt.Fprintf(&b, "VARCHAR(%d)", t.Length)
		} else {
			b.WriteString("STRING")
		}
	default:
		b.WriteString(t.Kind.String())
	}
	if t.NotNull {
		b.WriteString(" NOT NULL")
	}
	return b.String()
}

// Field is a named column of a schema.
type Field struct {
	Name string
	Type Type
}

// Schema is the ordered columns of a relation.
type Schema []Field

// Index returns the position of the column named name (case-insensitive,
// as SQL identifiers are), or -1.
func (s Schema) Index(name string) int {
	for i, f := range s {
		if strings.EqualFold(f.Name, name) {
			return i
		}
	}
	return -1
}

func (s Schema) String() string {
	parts := make([]string, len(s))
	for i, f := range s {
		parts[i] = f.Name + " " + f.Type.String()
	}
	return "(" + strings.Join(parts, ", ") + ")"
}
