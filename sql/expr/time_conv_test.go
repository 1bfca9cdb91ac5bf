package expr

import (
	"errors"
	"testing"

	"github.com/sluice-sql/sluice/sql/types"
)

func TestTimeConversions(t *testing.T) {
	ts, bi, s := types.Timestamp(6), types.BigInt(), types.String()
	x, n := col(0, ts), col(1, bi)
	b := newBatch(t, []types.Type{ts, bi},
		[]any{tsMicros(t, "2024-02-29 13:45:30.123456"), 1709214330},
		[]any{tsMicros(t, "1969-12-31 23:59:59.5"), -1},
		[]any{nil, nil},
	)
	runCases(t, []evalCase{
		{name: "unix_timestamp", e: call(t, FnUnixTimestamp, x), b: b, want: []string{"1709214330", "-1", "NULL"}},
		{name: "unix_timestamp date", e: call(t, FnUnixTimestamp, lit(int64(1), types.Date())), b: b, want: rep(3, "86400")},
		{name: "unix_timestamp null", e: call(t, FnUnixTimestamp, &Const{T: types.NullType()}), b: b, want: rep(3, "NULL")},
		{name: "from_unixtime", e: call(t, FnFromUnixtime, n), b: b, want: []string{tsShow(t, "2024-02-29 13:45:30"), tsShow(t, "1969-12-31 23:59:59"), "NULL"}},
		{name: "date_format", e: call(t, FnDateFormat, x, lit("yyyy-MM-dd HH:mm:ss.SSS", s)), b: b, want: []string{"'2024-02-29 13:45:30.123'", "'1969-12-31 23:59:59.500'", "NULL"}},
		{name: "date_format quoted", e: call(t, FnDateFormat, x, lit("'day' dd 'o''clock' HH''mm", s)), b: b, want: []string{"'day 29 o''clock 13''45'", "'day 31 o''clock 23''59'", "NULL"}},
		{name: "date_format null pattern", e: call(t, FnDateFormat, x, &Const{T: types.NullType()}), b: b, want: rep(3, "NULL")},
		{name: "date_format bad pattern", e: call(t, FnDateFormat, x, lit("yyyy-QQ", s)), b: b, wantErr: ErrArgumentType},
		{name: "from_unixtime overflow", e: call(t, FnFromUnixtime, lit(int64(1e15), bi)), b: b, wantErr: ErrOverflow},
	})
	if rt, err := ResultType(FnFromUnixtime, []types.Type{bi}); err != nil || rt.Kind != types.KindTimestamp || rt.Precision != 0 {
		t.Fatalf("FROM_UNIXTIME type %v, %v", rt, err)
	}
	if _, err := ResultType(FnUnixTimestamp, []types.Type{s}); !errors.Is(err, ErrArgumentType) {
		t.Fatalf("UNIX_TIMESTAMP of a string: %v", err)
	}
}

func TestCompileTimePattern(t *testing.T) {
	for _, p := range []string{"yyyy-MM-dd'", "yy", "yyyyy", "EEE"} {
		if _, err := compileTimePattern(p); !errors.Is(err, ErrArgumentType) {
			t.Errorf("%q: %v", p, err)
		}
	}
	ops, err := compileTimePattern("yyyy/MM'T'")
	if err != nil || len(ops) != 4 || ops[3].lit != "T" || ops[1].lit != "/" {
		t.Fatalf("ops %+v, %v", ops, err)
	}
	if got := string(appendTime(nil, ops, tsMicros(t, "0042-03-04 00:00:00"))); got != "0042/03T" {
		t.Fatalf("got %q", got)
	}
}
