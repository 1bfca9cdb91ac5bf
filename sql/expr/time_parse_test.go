package expr

import (
	"errors"
	"testing"

	"github.com/sluice-sql/sluice/sql/types"
)

func TestParseTimestamp(t *testing.T) {
	for _, c := range []struct {
		in   string
		want string // as tsMicros reads it; "" when in must not parse
		frac int
	}{
		{"2024-01-02 03:04:05", "2024-01-02 03:04:05", 0},
		{"2024-01-02T03:04:05", "2024-01-02 03:04:05", 0},
		{"2024-01-02 03:04:05.5", "2024-01-02 03:04:05.5", 1},
		{"2024-01-02 03:04:05.123456789", "2024-01-02 03:04:05.123456", 9},
		{"2024-1-2 3:04", "2024-01-02 03:04:00", 0},
		{"2024-02-29", "2024-02-29 00:00:00", 0},
		{"1969-12-31 23:59:59.999", "1969-12-31 23:59:59.999", 3},
		{"2023-02-29", "", 0},
		{"2024-13-01", "", 0},
		{"2024-01-02 24:00:00", "", 0},
		{"2024-01-02 03:60", "", 0},
		{"2024-01-02 03", "", 0},
		{"2024-01-02 03:04:05.", "", 0},
		{"2024-01-02 03:04:05.1234567890", "", 0},
		{"2024-01-02x", "", 0},
		{" 2024-01-02", "", 0},
		{"24-01-02", "", 0},
		{"", "", 0},
	} {
		us, frac, ok := ParseTimestamp([]byte(c.in))
		switch {
		case c.want == "" && ok:
			t.Errorf("%q parsed as %d", c.in, us)
		case c.want != "" && (!ok || us != tsMicros(t, c.want) || frac != c.frac):
			t.Errorf("%q = %d, %d digits, %v; want %s, %d digits", c.in, us, frac, ok, c.want, c.frac)
		}
	}
	if d, ok := ParseDate([]byte("1970-01-02")); !ok || d != 1 {
		t.Errorf("1970-01-02 = %d, %v", d, ok)
	}
	if d, ok := ParseDate([]byte("1969-12-31")); !ok || d != -1 {
		t.Errorf("1969-12-31 = %d, %v", d, ok)
	}
	for _, s := range []string{"2024-01-02 00:00:00", "2024-02-30", "2024/01/02"} {
		if _, ok := ParseDate([]byte(s)); ok {
			t.Errorf("DATE %q parsed", s)
		}
	}
}

func TestToTimestamp(t *testing.T) {
	s := types.String()
	strs := newBatch(t, []types.Type{s, s},
		[]any{"2024-01-02 03:04:05", "yyyy-MM-dd HH:mm:ss"},
		[]any{"02.01.2024 03:04:05.678", "dd.MM.yyyy HH:mm:ss.SSS"},
		[]any{"2024-1-2", "yyyy-MM-dd"},
		[]any{"2024-01-02T03:04:05.987654", "yyyy"},
		[]any{"junk", "yyyy"},
		[]any{nil, "yyyy"},
		[]any{"2024", nil},
	)
	pattern := func(p string) *Const { return lit(p, s) }
	runCases(t, []evalCase{
		{name: "default form", e: call(t, FnToTimestamp, col(0, s)), b: strs, want: []string{
			tsShow(t, "2024-01-02 03:04:05"), "NULL", tsShow(t, "2024-01-02 00:00:00"),
			tsShow(t, "2024-01-02 03:04:05.987"), "NULL", "NULL", "NULL"}},
		{name: "pattern per row", e: call(t, FnToTimestamp, col(0, s), col(1, s)), b: strs, want: []string{
			tsShow(t, "2024-01-02 03:04:05"), tsShow(t, "2024-01-02 03:04:05.678"), tsShow(t, "2024-01-02 00:00:00"),
			tsShow(t, "2024-01-02 03:04:05.987"), "NULL", "NULL", "NULL"}},
		{name: "constant pattern with defaults", e: call(t, FnToTimestamp, col(0, s), pattern("HH:mm")), b: newBatch(t, []types.Type{s},
			[]any{"13:45"}, []any{"13:4"}, []any{"25:00"}), want: []string{tsShow(t, "1970-01-01 13:45:00"), "NULL", "NULL"}},
		{name: "null pattern", e: call(t, FnToTimestamp, col(0, s), &Const{T: types.NullType()}), b: strs, want: rep(7, "NULL")},
		{name: "bad constant pattern", e: call(t, FnToTimestamp, col(0, s), pattern("yyyy-QQ")), b: strs, wantErr: ErrArgumentType},
	})
	rt, err := ResultType(FnToTimestamp, []types.Type{s.WithNotNull(true)})
	if err != nil || !rt.Equal(types.Timestamp(3)) {
		t.Fatalf("TO_TIMESTAMP type %s, %v: want nullable TIMESTAMP(3)", rt, err)
	}
	var ae *ArgError
	if err := CheckCall(call(t, FnToTimestamp, col(0, s), pattern("yyyy-QQ"))); !errors.As(err, &ae) || ae.Arg != 1 {
		t.Fatalf("CheckCall of a bad pattern: %v", err)
	}
}

// TO_TIMESTAMP with a constant pattern does not allocate per batch.
func TestToTimestampAllocs(t *testing.T) {
	s := types.String()
	b := newBatch(t, []types.Type{s}, []any{"2024-01-02 03:04:05"}, []any{"junk"}, []any{"2024-01-02 03:04"})
	ev, err := Compile(call(t, FnToTimestamp, col(0, s), lit("yyyy-MM-dd HH:mm:ss", s)))
	if err != nil {
		t.Fatal(err)
	}
	var out types.Vector
	if n := testing.AllocsPerRun(100, func() {
		if err := ev.Eval(b, &out); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Fatalf("%v allocations per batch", n)
	}
}
