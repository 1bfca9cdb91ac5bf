package expr

import (
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/sluice-sql/sluice/sql/types"
)

// tsMicros parses "2006-01-02 15:04:05.999999" (UTC) as microseconds.
func tsMicros(t testing.TB, s string) int64 {
	t.Helper()
	x, err := time.Parse("2006-01-02 15:04:05.999999", s)
	if err != nil {
		t.Fatal(err)
	}
	return x.UnixMicro()
}

// tsShow is how show spells the timestamp s.
func tsShow(t testing.TB, s string) string { return strconv.FormatInt(tsMicros(t, s), 10) }

func TestTimeFunctions(t *testing.T) {
	ts, bi, s := types.Timestamp(6), types.BigInt(), types.String()
	x, y, n := col(0, ts), col(1, ts), col(2, bi)
	b := newBatch(t, []types.Type{ts, ts, bi},
		[]any{tsMicros(t, "2024-02-29 13:45:30.123456"), tsMicros(t, "2025-02-28 13:45:30"), 1},
		[]any{tsMicros(t, "1969-12-31 23:59:59.5"), tsMicros(t, "1970-01-01 00:00:00"), -1},
		[]any{nil, tsMicros(t, "2000-01-01 00:00:00"), nil},
	)
	unit := func(u string) *Const { return lit(u, s) }
	date := lit(int64(19782), types.Date()) // 2024-02-29
	runCases(t, []evalCase{
		{name: "extract year", e: call(t, FnExtract, unit("YEAR"), x), b: b, want: []string{"2024", "1969", "NULL"}},
		{name: "extract month", e: call(t, FnExtract, unit("month"), x), b: b, want: []string{"2", "12", "NULL"}},
		{name: "extract day", e: call(t, FnExtract, unit("DAY"), x), b: b, want: []string{"29", "31", "NULL"}},
		{name: "extract hour", e: call(t, FnExtract, unit("HOUR"), x), b: b, want: []string{"13", "23", "NULL"}},
		{name: "extract minute", e: call(t, FnExtract, unit("MINUTE"), x), b: b, want: []string{"45", "59", "NULL"}},
		{name: "extract second", e: call(t, FnExtract, unit("SECOND"), x), b: b, want: []string{"30", "59", "NULL"}},
		{name: "extract millisecond", e: call(t, FnExtract, unit("MILLISECOND"), x), b: b, want: []string{"30123", "59500", "NULL"}},
		{name: "extract quarter week", e: call(t, FnAdd, call(t, FnMul, call(t, FnExtract, unit("QUARTER"), x), lit(int64(100), bi)), call(t, FnExtract, unit("WEEK"), x)), b: b, want: []string{"109", "401", "NULL"}},
		{name: "extract from date", e: call(t, FnExtract, unit("DAY"), date), b: b, want: rep(3, "29")},
		{name: "extract null", e: call(t, FnExtract, unit("DAY"), &Const{T: types.NullType()}), b: b, want: rep(3, "NULL")},
		{name: "trunc hour", e: call(t, FnDateTrunc, unit("HOUR"), x), b: b, want: []string{tsShow(t, "2024-02-29 13:00:00"), tsShow(t, "1969-12-31 23:00:00"), "NULL"}},
		{name: "trunc second before epoch", e: call(t, FnDateTrunc, unit("SECOND"), x), b: b, want: []string{tsShow(t, "2024-02-29 13:45:30"), tsShow(t, "1969-12-31 23:59:59"), "NULL"}},
		{name: "trunc week", e: call(t, FnDateTrunc, unit("WEEK"), x), b: b, want: []string{tsShow(t, "2024-02-26 00:00:00"), tsShow(t, "1969-12-29 00:00:00"), "NULL"}},
		{name: "trunc quarter", e: call(t, FnDateTrunc, unit("QUARTER"), x), b: b, want: []string{tsShow(t, "2024-01-01 00:00:00"), tsShow(t, "1969-10-01 00:00:00"), "NULL"}},
		{name: "trunc year", e: call(t, FnDateTrunc, unit("YEAR"), x), b: b, want: []string{tsShow(t, "2024-01-01 00:00:00"), tsShow(t, "1969-01-01 00:00:00"), "NULL"}},
		{name: "diff second", e: call(t, FnTimestampDiff, unit("SECOND"), x, y), b: b, want: []string{"31535999", "0", "NULL"}},
		{name: "diff day negative", e: call(t, FnTimestampDiff, unit("DAY"), y, x), b: b, want: []string{"-364", "0", "NULL"}},
		{name: "diff month incomplete", e: call(t, FnTimestampDiff, unit("MONTH"), x, y), b: b, want: []string{"11", "0", "NULL"}},
		{name: "diff year", e: call(t, FnTimestampDiff, unit("YEAR"), x, y), b: b, want: []string{"0", "0", "NULL"}},
		{name: "diff month back", e: call(t, FnTimestampDiff, unit("MONTH"), y, x), b: b, want: []string{"-11", "0", "NULL"}},
		{name: "add hours", e: call(t, FnTimestampAdd, unit("HOUR"), n, x), b: b, want: []string{tsShow(t, "2024-02-29 14:45:30.123456"), tsShow(t, "1969-12-31 22:59:59.5"), "NULL"}},
		{name: "add month clamps", e: call(t, FnTimestampAdd, unit("MONTH"), lit(int64(12), bi), x), b: b, want: []string{tsShow(t, "2025-02-28 13:45:30.123456"), tsShow(t, "1970-12-31 23:59:59.5"), "NULL"}},
		{name: "add year to date", e: call(t, FnTimestampAdd, unit("YEAR"), n, date), b: b, want: []string{tsShow(t, "2025-02-28 00:00:00"), tsShow(t, "2023-02-28 00:00:00"), "NULL"}},
		{name: "add overflow", e: call(t, FnTimestampAdd, unit("YEAR"), lit(int64(1e6), bi), x), b: b, wantErr: ErrOverflow},
		{name: "bad unit", e: call(t, FnExtract, unit("FORTNIGHT"), x), b: b, wantErr: ErrArgumentType},
	})
	if _, err := ResultType(FnExtract, []types.Type{s, s}); !errors.Is(err, ErrArgumentType) {
		t.Fatalf("EXTRACT of a string: %v", err)
	}
}
