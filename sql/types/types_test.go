package types

import (
	"testing"

	"github.com/cockroachdb/apd/v3"
)

func TestTypeString(t *testing.T) {
	cases := map[string]Type{
		"BOOLEAN":                 Boolean(),
		"TINYINT":                 TinyInt(),
		"SMALLINT":                SmallInt(),
		"INT":                     Int(),
		"BIGINT NOT NULL":         BigInt().WithNotNull(true),
		"FLOAT":                   Float(),
		"DOUBLE":                  Double(),
		"DECIMAL(10,2)":           Decimal(10, 2),
		"DECIMAL(38,0)":           Decimal(38, 0),
		"STRING":                  String(),
		"VARCHAR(20)":             Varchar(20),
		"BYTES":                   Bytes(),
		"DATE":                    Date(),
		"TIMESTAMP(3)":            Timestamp(3),
		"INTERVAL":                Interval(),
		"JSON":                    JSON(),
		"NULL":                    NullType(),
		"TIMESTAMP(6) NOT NULL":   Timestamp(6).WithNotNull(true),
		"DECIMAL(18,18) NOT NULL": Decimal(18, 18).WithNotNull(true),
	}
	for want, typ := range cases {
		if got := typ.String(); got != want {
			t.Errorf("%#v prints %q, want %q", typ, got, want)
		}
	}
	if !BigInt().Equal(BigInt().WithNotNull(true)) || BigInt().Equal(Int()) {
		t.Error("Equal must ignore nullability only")
	}
	if !Decimal(18, 2).Decimal64() || Decimal(19, 2).Decimal64() {
		t.Error("decimal storage threshold")
	}
	for _, bad := range []func(){func() { Decimal(0, 0) }, func() { Decimal(39, 0) }, func() { Decimal(5, 6) }, func() { Timestamp(7) }} {
		func() {
			defer func() {
				if recover() == nil {
					t.Error("out-of-range type parameters must panic")
				}
			}()
			bad()
		}()
	}
}

func TestSchemaIndex(t *testing.T) {
	s := Schema{{"auction", BigInt()}, {"Price", BigInt()}}
	if s.Index("price") != 1 || s.Index("AUCTION") != 0 || s.Index("bidder") != -1 {
		t.Fatal("case-insensitive lookup")
	}
	if got := s.String(); got != "(auction BIGINT, Price BIGINT)" {
		t.Fatalf("schema prints %q", got)
	}
}

func dec(t *testing.T, s string) *apd.Decimal {
	t.Helper()
	d, _, err := apd.NewFromString(s)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestVectorRoundTrip(t *testing.T) {
	schema := Schema{
		{"b", Boolean()}, {"i", BigInt()}, {"f", Double()}, {"d", Decimal(10, 2)}, {"w", Decimal(30, 4)},
		{"s", String()}, {"y", Bytes()}, {"dt", Date()}, {"ts", Timestamp(3)}, {"iv", Interval()}, {"j", JSON()},
	}
	b := NewBatch(schema, 4)
	for row := 0; row < 3; row++ {
		if row == 1 {
			for _, c := range b.Cols {
				c.AppendNull()
			}
			continue
		}
		c := b.Cols
		c[0].AppendBool(row == 2)
		c[1].AppendInt(int64(-row * 7))
		c[2].AppendFloat(1.5 * float64(row))
		if !c[3].AppendDecimal(dec(t, "12.345")) { // rounds half up to 12.35
			t.Fatal("DECIMAL(10,2) refused 12.345")
		}
		if !c[4].AppendDecimal(dec(t, "-12345678901234567890.12345")) {
			t.Fatal("DECIMAL(30,4) refused a wide value")
		}
		c[5].AppendString("héllo")
		c[6].AppendBytes([]byte{0, 1, 2})
		c[7].AppendInt(19000)
		c[8].AppendInt(1_700_000_000_123_000)
		c[9].AppendInterval(IntervalValue{Months: 1, Micros: 10_000_000})
		c[10].AppendString(`{"a":1}`)
	}
	b.SetLen(3)
	if b.Len() != 3 || b.Live() != 3 {
		t.Fatalf("len %d live %d", b.Len(), b.Live())
	}
	for _, c := range b.Cols {
		if !c.IsNull(1) || c.IsNull(0) || c.IsNull(2) || !c.HasNulls() {
			t.Fatalf("%s: nulls %v", c.Type, c.Nulls)
		}
	}
	d := b.Cols[3].Value(2).(apd.Decimal)
	w := b.Cols[4].Value(0).(apd.Decimal)
	if d.String() != "12.35" || w.String() != "-12345678901234567890.1235" {
		t.Fatalf("decimals %s %s", d.String(), w.String())
	}
	if b.Cols[3].Ints[2] != 1235 {
		t.Fatalf("DECIMAL(10,2) stored as %d, want the scaled 1235", b.Cols[3].Ints[2])
	}
	want := []any{true, int64(-14), 3.0, nil, nil, "héllo", []byte{0, 1, 2}, int64(19000), int64(1_700_000_000_123_000), IntervalValue{1, 10_000_000}, `{"a":1}`}
	for i, c := range b.Cols {
		got := c.Value(2)
		if i == 3 || i == 4 {
			continue
		}
		if g, ok := got.([]byte); ok {
			if string(g) != string(want[i].([]byte)) {
				t.Errorf("column %d: %v", i, got)
			}
			continue
		}
		if got != want[i] {
			t.Errorf("column %d (%s): %v, want %v", i, c.Type, got, want[i])
		}
	}
	// The null row holds zero values in storage.
	if b.Cols[1].Ints[1] != 0 || string(b.Cols[5].Bytes(1)) != "" {
		t.Fatal("null slot not zero")
	}
}

func TestDecimalOverflowIsReported(t *testing.T) {
	v := NewVector(Decimal(4, 2), 2)
	if v.AppendDecimal(dec(t, "123.45")) {
		t.Fatal("123.45 does not fit DECIMAL(4,2)")
	}
	if !v.IsNull(0) || v.Len() != 1 {
		t.Fatal("an overflow appends a null row")
	}
	if !v.AppendDecimal(dec(t, "-99.994")) || v.Ints[1] != -9999 {
		t.Fatalf("-99.994 as DECIMAL(4,2): %v", v.Ints)
	}
}

func TestBatchKindsAndSelection(t *testing.T) {
	b := NewBatch(Schema{{"x", BigInt()}}, 8)
	for i := 0; i < 5; i++ {
		b.Cols[0].AppendInt(int64(i))
	}
	b.SetKind(3, Delete)
	b.SetLen(5)
	if b.Kind(0) != Insert || b.Kind(3) != Delete || b.Kind(4) != Insert || len(b.Kinds) != 5 {
		t.Fatalf("kinds %v", b.Kinds)
	}
	if !Delete.IsRetraction() || !UpdateBefore.IsRetraction() || UpdateAfter.IsRetraction() {
		t.Fatal("retractions")
	}
	if s := UpdateBefore.String() + UpdateAfter.String() + Insert.String() + Delete.String(); s != "-U+U+I-D" {
		t.Fatalf("kinds print %q", s)
	}
	b.Sel = []int32{1, 3}
	var seen []int64
	b.ForEach(func(i int) { seen = append(seen, b.Cols[0].Ints[i]) })
	if b.Live() != 2 || len(seen) != 2 || seen[0] != 1 || seen[1] != 3 {
		t.Fatalf("live %d, rows %v", b.Live(), seen)
	}
	b.Reset(Schema{{"s", String()}}, 2)
	if b.Len() != 0 || b.Kinds != nil || b.Sel != nil || b.Cols[0].Type != String() {
		t.Fatal("reset")
	}
	func() {
		defer func() {
			if recover() == nil {
				t.Error("SetLen with a short column must panic")
			}
		}()
		b.SetLen(1)
	}()
}

func TestBitmap(t *testing.T) {
	var bm Bitmap
	for _, i := range []int{0, 63, 64, 200} {
		bm.Set(i)
	}
	if !bm.Get(63) || !bm.Get(64) || bm.Get(65) || bm.Get(10_000) || bm.Count() != 4 {
		t.Fatalf("bitmap %v", bm)
	}
	bm.Clear(64)
	bm.Clear(10_000)
	if bm.Get(64) || bm.Count() != 3 || !bm.Any() {
		t.Fatal("clear")
	}
}

func TestAppendWrongTypePanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("appending a string to a BIGINT vector must panic")
		}
	}()
	NewVector(BigInt(), 1).AppendString("x")
}

func TestVectorSetLen(t *testing.T) {
	v := NewVector(BigInt(), 0)
	v.AppendNull()
	v.SetLen(1000)
	if v.Len() != 1000 || len(v.Ints) != 1000 || v.HasNulls() {
		t.Fatalf("len %d, %d ints, nulls %v", v.Len(), len(v.Ints), v.Nulls)
	}
	v.Ints[999] = 7
	v.SetLen(3)
	if v.Len() != 3 || len(v.Ints) != 3 {
		t.Fatal("shrink")
	}
	d := NewVector(Decimal(30, 2), 0)
	d.SetLen(2)
	if len(d.Decs) != 2 {
		t.Fatal("wide decimals")
	}
	defer func() {
		if recover() == nil {
			t.Fatal("SetLen on a STRING vector must panic")
		}
	}()
	NewVector(String(), 0).SetLen(1)
}

func TestText(t *testing.T) {
	d, _, _ := apd.NewFromString("-12.30")
	cases := []struct {
		v    any
		t    Type
		want string
	}{
		{nil, BigInt(), "NULL"},
		{true, Boolean(), "TRUE"},
		{int64(-7), BigInt(), "-7"},
		{int64(1_700_000_000_123_456), Timestamp(3), "2023-11-14 22:13:20.123"},
		{int64(0), Timestamp(0), "1970-01-01 00:00:00"},
		{int64(19000), Date(), "2022-01-08"},
		{1.5, Double(), "1.5"},
		{*d, Decimal(10, 2), "-12.30"},
		{"héllo", String(), "héllo"},
		{[]byte{0xab, 1}, Bytes(), "ab01"},
	}
	for _, c := range cases {
		if got := Text(c.v, c.t); got != c.want {
			t.Errorf("Text(%v, %s) = %q, want %q", c.v, c.t, got, c.want)
		}
	}
}
