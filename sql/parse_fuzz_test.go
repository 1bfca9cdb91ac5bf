package sql

import (
	"errors"
	"testing"
)

// FuzzParse checks that Parse never panics, that every error it returns is
// an *Error inside the input, and that the dialect never changes a piece's
// length (the invariant every position depends on).
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"CREATE TABLE t (a STRING, WATERMARK FOR a AS a - INTERVAL '1' SECOND, PRIMARY KEY (a) NOT ENFORCED) WITH ('k' = 'v')",
		"SELECT CAST(CAST(x AS STRING) AS BIGINT) FROM TABLE(HOP(TABLE b, DESCRIPTOR(ts), INTERVAL '1' SECOND, INTERVAL '2' SECOND))",
		"SELECT * FROM TUMBLE(t, ts, INTERVAL 1 MINUTE); SHOW JOBS; STOP JOB 'x'; SET 'a' = 'b'",
		"CREATE MATERIALIZED VIEW v AS SELECT 'a''b', \"c\"\"d\", `e` /* x */ -- y\n FROM t",
		"SELECT 'é', 日本 FROM t WHERE",
		"SELECT -COUNT(*) FILTER (WHERE a > (1)) * 2, first_value(x) FILTER(WHERE y), LAST_VALUE(x) OVER w FROM t",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		_, err := Parse(in)
		var e *Error
		if err != nil && (!errors.As(err, &e) || e.Offset < 0 || e.Offset > len(in)) {
			t.Fatalf("bad error %v", err)
		}
		pieces, err := Split(in)
		if err != nil {
			return
		}
		for _, p := range pieces {
			if in[p.Offset:p.End()] != p.Text {
				t.Fatalf("piece %+v not at its offset", p)
			}
			d, err := rewrite(in, p)
			if err == nil && len(d.Rewritten) != len(p.Text) {
				t.Fatalf("rewritten %q has length %d, want %d", d.Rewritten, len(d.Rewritten), len(p.Text))
			}
		}
	})
}
