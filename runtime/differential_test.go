package runtime

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/apd/v3"
	"github.com/sluice-sql/sluice/sql/types"
	_ "modernc.org/sqlite"
)

// Differential tests: the same random rows go to Sluice, through a JSON
// lines file read by the file connector, and to an in-memory SQLite
// database; every query template runs on both and the final results must
// be equal as multisets. SQLite is the independent batch evaluation: a
// failure here is a wrong answer from Sluice (or a template whose two
// texts do not mean the same thing), never something to fix by changing
// the expected side.
//
// The SQLite table holds the same rows in SQLite's own types: amt is the
// DECIMAL(10,2) in cents (INTEGER), so that sums stay exact; b is 0/1;
// ts is milliseconds since the epoch. Doubles are multiples of 1/8 below
// 2^14, so their sums and sums of squares are exact in float64 whatever
// the order of addition, and only divisions (AVG, variance) are compared
// within a tolerance.

// diffSeeds are the data sets every template runs against; a failure
// names its seed in the subtest's name.
var diffSeeds = []uint64{1, 20260418}

// diffParallelisms are the engine parallelisms every template runs at.
var diffParallelisms = []int{1, 3}

// diffRows is the size of each data set.
const diffRows = 3000

// diffBase is the first event time, 2024-01-01 00:00:00 UTC, in epoch
// milliseconds.
const diffBase = 1704067200000

// diffEpochShift moves the event times of table tn so that they start at
// 1969-12-31 23:55:00 and cross the epoch: window starts are then
// computed from negative timestamps.
const diffEpochShift = diffBase + 300000

// diffRow is one generated row; nil pointers are NULLs.
type diffRow struct {
	id   int64
	k    *string
	g    *int64
	x    *int64
	d    *float64
	amt  *int64   // cents
	big  *big.Int // DECIMAL(24,4) in units of 10^-4
	b    *bool
	s    *string
	tsMs int64
}

// genDiffRows makes n rows from seed: few distinct keys (so that groups
// repeat), about one value in ten NULL, negative numbers, empty and
// non-ASCII strings, and event times that rise 200 ms a row with up to
// 400 ms of disorder, less than the tables' 1 s watermark delay, so that
// no row is late.
func genDiffRows(seed uint64, n int) []diffRow {
	r := rand.New(rand.NewPCG(seed, seed^0x5eed))
	keys := []string{"a", "b", "c", "d", "", "ü", "A"}
	words := []string{"ab", "abc", "b", "xyz", "Ab", "é", "", "a b", "zz%"}
	null := func(pct int) bool { return r.IntN(100) < pct }
	rows := make([]diffRow, n)
	for i := range rows {
		row := diffRow{id: int64(i + 1), tsMs: diffBase + int64(i)*200 + r.Int64N(400)}
		if !null(10) {
			k := keys[r.IntN(len(keys))]
			row.k = &k
		}
		if !null(10) {
			g := r.Int64N(7) - 3
			row.g = &g
		}
		if !null(10) {
			x := r.Int64N(2001) - 1000
			if r.IntN(50) == 0 { // a few large values, within ±10^6
				x *= 997
			}
			row.x = &x
		}
		if !null(10) {
			d := float64(r.Int64N(160001)-80000) / 8
			if r.IntN(40) == 0 {
				d = math.Copysign(0, -1) // -0 equals 0: one group, one distinct value
			}
			row.d = &d
		}
		if !null(10) {
			c := r.Int64N(1000001) - 500000
			row.amt = &c
		}
		if !null(10) {
			// Up to 24 digits: beyond int64 and beyond an 18-digit
			// decimal, so that the wide decimal paths run.
			v := new(big.Int).Mul(big.NewInt(r.Int64N(2e11)-1e11), big.NewInt(1e12))
			v.Add(v, big.NewInt(r.Int64N(1e12)))
			if r.IntN(3) == 0 {
				v.Quo(v, big.NewInt(1e12)) // and some small ones
			}
			row.big = v
		}
		if !null(15) {
			b := r.IntN(2) == 0
			row.b = &b
		}
		if !null(10) {
			s := words[r.IntN(len(words))]
			if r.IntN(2) == 0 {
				s += words[r.IntN(len(words))]
			}
			row.s = &s
		}
		rows[i] = row
	}
	return rows
}

// centsText renders cents as a decimal with two places: -105 is -1.05.
func centsText(c int64) string {
	sign := ""
	if c < 0 {
		sign, c = "-", -c
	}
	return fmt.Sprintf("%s%d.%02d", sign, c/100, c%100)
}

// bigText renders a DECIMAL(24,4) held in units of 10^-4.
func bigText(v *big.Int) string {
	var d apd.Decimal
	d.Coeff.SetMathBigInt(new(big.Int).Abs(v))
	d.Negative = v.Sign() < 0
	d.Exponent = -4
	return d.Text('f')
}

// writeDiffJSON writes rows as JSON lines, amt and big as JSON numbers
// with all their places and ts, less shift, as epoch milliseconds.
func writeDiffJSON(path string, rows []diffRow, shift int64) error {
	var buf []byte
	for _, row := range rows {
		rec := map[string]any{"id": row.id, "ts": row.tsMs - shift,
			"k": nil, "g": nil, "x": nil, "d": nil, "amt": nil, "big": nil, "b": nil, "s": nil}
		if row.k != nil {
			rec["k"] = *row.k
		}
		if row.g != nil {
			rec["g"] = *row.g
		}
		if row.x != nil {
			rec["x"] = *row.x
		}
		if row.d != nil {
			rec["d"] = *row.d
		}
		if row.amt != nil {
			rec["amt"] = json.Number(centsText(*row.amt))
		}
		if row.b != nil {
			rec["b"] = *row.b
		}
		if row.big != nil {
			rec["big"] = json.Number(bigText(row.big))
		}
		if row.s != nil {
			rec["s"] = *row.s
		}
		line, err := json.Marshal(rec)
		if err != nil {
			return err
		}
		buf = append(append(buf, line...), '\n')
	}
	return os.WriteFile(path, buf, 0o644)
}

// loadDiffSQLite returns an in-memory SQLite database holding rows in
// table t, the view tn of them with event times moved before the epoch
// (by diffEpochShift), and nums(i) holding 0..16 for expanding rows into
// windows. big, a DECIMAL(24,4), is TEXT: SQLite has no exact number that
// wide, so the templates aggregate it in Go (see fixBig).
func loadDiffSQLite(rows []diffRow) (*sql.DB, error) {
	db, err := sql.Open("sqlite", ":memory:")
	if err != nil {
		return nil, err
	}
	// Every connection to ":memory:" is a database of its own.
	db.SetMaxOpenConns(1)
	fail := func(err error) (*sql.DB, error) {
		db.Close()
		return nil, err
	}
	if _, err := db.Exec(`CREATE TABLE t (id INTEGER, k TEXT, g INTEGER, x INTEGER, d REAL, amt INTEGER, big TEXT, b INTEGER, s TEXT, ts INTEGER);
CREATE VIEW tn AS SELECT id, k, g, x, d, amt, big, b, s, ts - ` + strconv.Itoa(diffEpochShift) + ` AS ts FROM t;
CREATE TABLE nums (i INTEGER)`); err != nil {
		return fail(err)
	}
	tx, err := db.Begin()
	if err != nil {
		return fail(err)
	}
	defer tx.Rollback()
	ins, err := tx.Prepare(`INSERT INTO t VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
	if err != nil {
		return fail(err)
	}
	for _, row := range rows {
		var b any
		if row.b != nil {
			b = 0
			if *row.b {
				b = 1
			}
		}
		var bg any
		if row.big != nil {
			bg = bigText(row.big)
		}
		if _, err := ins.Exec(row.id, ptrValue(row.k), ptrValue(row.g), ptrValue(row.x), ptrValue(row.d),
			ptrValue(row.amt), bg, b, ptrValue(row.s), row.tsMs); err != nil {
			return fail(err)
		}
	}
	for i := range 17 {
		if _, err := tx.Exec(`INSERT INTO nums VALUES (?)`, i); err != nil {
			return fail(err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fail(err)
	}
	return db, nil
}

func ptrValue[T any](p *T) any {
	if p == nil {
		return nil
	}
	return *p
}

// diffCase is one query template: the Sluice text and a SQLite text that
// means the same on the SQLite table's encoding. fix, when set, turns a
// SQLite row into the expected row (for what SQLite cannot compute
// exactly or at all: the DECIMAL average, variances).
//
// Expected values are read in the type of Sluice's column: for DECIMAL an
// int64 is in cents and a string is the exact value; for TIMESTAMP an
// int64 is epoch milliseconds; for BOOLEAN an int64 is 0 or 1.
type diffCase struct {
	name   string
	sluice string
	sqlite string
	fix    func(row []any) []any
}

// The reference window assignment in SQLite. ts is in epoch
// milliseconds and may be negative (table tn), and SQLite's % keeps the
// dividend's sign, so a window start is ts minus the floor modulo
// ((ts - offset) % size + size) % size.

// refTumble is table with ws and we, the TUMBLE window of every row.
func refTumble(table string, size, offset int64) string {
	return fmt.Sprintf(`(SELECT %[1]s.*, ts - ((ts - %[3]d) %% %[2]d + %[2]d) %% %[2]d AS ws,
  ts - ((ts - %[3]d) %% %[2]d + %[2]d) %% %[2]d + %[2]d AS we FROM %[1]s)`, table, size, offset)
}

// refHop is table with ws and we, one row for each of the size/slide HOP
// windows that hold a row: they start at the last multiple of slide at
// or before ts and at the ones before it.
func refHop(table string, slide, size int64) string {
	return fmt.Sprintf(`(SELECT %[1]s.*, ts - (ts %% %[2]d + %[2]d) %% %[2]d - nums.i * %[2]d AS ws,
  ts - (ts %% %[2]d + %[2]d) %% %[2]d - nums.i * %[2]d + %[3]d AS we FROM %[1]s, nums WHERE nums.i < %[3]d / %[2]d)`, table, slide, size)
}

// refCumulate is table with ws and we, one row for each CUMULATE window
// that holds a row: [start of its size window, start + j*step) for the
// j in 1..size/step whose end is after ts.
func refCumulate(table string, step, size int64) string {
	return fmt.Sprintf(`(SELECT %[1]s.*, ts - (ts %% %[3]d + %[3]d) %% %[3]d AS ws,
  ts - (ts %% %[3]d + %[3]d) %% %[3]d + nums.i * %[2]d AS we FROM %[1]s, nums
  WHERE nums.i BETWEEN 1 AND %[3]d / %[2]d AND ts - (ts %% %[3]d + %[3]d) %% %[3]d + nums.i * %[2]d > ts)`, table, step, size)
}

var diffCases = []diffCase{
	// Filters and three-valued logic: a NULL condition drops the row.
	{name: "filter_not_and",
		sluice: `SELECT id FROM t WHERE NOT (x > 0 AND b)`,
		sqlite: `SELECT id FROM t WHERE NOT (x > 0 AND b)`},
	{name: "filter_or_nulls",
		sluice: `SELECT id, x, g FROM t WHERE x > 500 OR g IS NULL OR (b AND d < 0)`,
		sqlite: `SELECT id, x, g FROM t WHERE x > 500 OR g IS NULL OR (b AND d < 0)`},
	{name: "filter_not_or",
		sluice: `SELECT id, k FROM t WHERE NOT (k = 'a' OR x < -100 OR b)`,
		sqlite: `SELECT id, k FROM t WHERE NOT (k = 'a' OR x < -100 OR b)`},
	{name: "filter_in_between",
		sluice: `SELECT id FROM t WHERE g IN (1, -2, NULL) OR x NOT BETWEEN -900 AND 900`,
		sqlite: `SELECT id FROM t WHERE g IN (1, -2, NULL) OR x NOT BETWEEN -900 AND 900`},
	{name: "filter_not_in_null",
		sluice: `SELECT id FROM t WHERE g NOT IN (1, NULL) OR NOT (g IN (2, 3))`,
		sqlite: `SELECT id FROM t WHERE g NOT IN (1, NULL) OR NOT (g IN (2, 3))`},
	{name: "filter_is_null",
		sluice: `SELECT id, d FROM t WHERE (x IS NULL) = (b IS NOT NULL) AND d IS NOT NULL`,
		sqlite: `SELECT id, d FROM t WHERE (x IS NULL) = (b IS NOT NULL) AND d IS NOT NULL`},
	{name: "filter_bool_compare",
		sluice: `SELECT id, b FROM t WHERE b = (x > g)`,
		sqlite: `SELECT id, b FROM t WHERE b = (x > g)`},
	{name: "filter_decimal",
		sluice: `SELECT id, amt FROM t WHERE amt >= -100.50 AND amt < 2500`,
		sqlite: `SELECT id, amt FROM t WHERE amt >= -10050 AND amt < 250000`},
	{name: "filter_double",
		sluice: `SELECT id, d FROM t WHERE d > 1000.125 OR d <= -9999.5`,
		sqlite: `SELECT id, d FROM t WHERE d > 1000.125 OR d <= -9999.5`},
	{name: "filter_strings",
		sluice: `SELECT id, s FROM t WHERE s LIKE 'ab%' OR k = '' OR s < 'b'`,
		sqlite: `SELECT id, s FROM t WHERE s GLOB 'ab*' OR k = '' OR s < 'b'`},

	// Projections: CASE, COALESCE, NULLIF, arithmetic.
	{name: "case_coalesce",
		sluice: `SELECT id, CASE WHEN x IS NULL THEN 'none' WHEN x < 0 THEN 'neg' WHEN x = 0 THEN 'zero' ELSE 'pos' END,
  COALESCE(g, x, -1), COALESCE(k, 'nil'), NULLIF(g, 0), CASE g WHEN 1 THEN d WHEN 2 THEN -d END FROM t`,
		sqlite: `SELECT id, CASE WHEN x IS NULL THEN 'none' WHEN x < 0 THEN 'neg' WHEN x = 0 THEN 'zero' ELSE 'pos' END,
  COALESCE(g, x, -1), COALESCE(k, 'nil'), NULLIF(g, 0), CASE g WHEN 1 THEN d WHEN 2 THEN -d END FROM t`},
	{name: "case_null_condition",
		sluice: `SELECT id, CASE WHEN b THEN 'yes' WHEN NOT b THEN 'no' ELSE 'unknown' END, CASE WHEN x > g THEN x ELSE g END FROM t`,
		sqlite: `SELECT id, CASE WHEN b THEN 'yes' WHEN NOT b THEN 'no' ELSE 'unknown' END, CASE WHEN x > g THEN x ELSE g END FROM t`},
	{name: "arithmetic",
		sluice: `SELECT id, x * 3 - g, d * 2 + x, ABS(x), -d, MOD(id, 7) FROM t`,
		sqlite: `SELECT id, x * 3 - g, d * 2 + x, ABS(x), -d, id % 7 FROM t`},
	{name: "decimal_arithmetic",
		sluice: `SELECT id, amt + 1.25, amt * 2, -amt, amt - x FROM t`,
		sqlite: `SELECT id, amt + 125, amt * 2, -amt, amt - x * 100 FROM t`},

	// Grouped aggregation (an updating result: the final table counts).
	{name: "group_key_ints",
		sluice: `SELECT k, COUNT(*), COUNT(x), SUM(x), MIN(x), MAX(x), AVG(x) FROM t GROUP BY k`,
		sqlite: `SELECT k, COUNT(*), COUNT(x), SUM(x), MIN(x), MAX(x), AVG(x) FROM t GROUP BY k`},
	{name: "group_key_doubles",
		sluice: `SELECT k, SUM(d), MIN(d), MAX(d), AVG(d), COUNT(d) FROM t GROUP BY k`,
		sqlite: `SELECT k, SUM(d), MIN(d), MAX(d), AVG(d), COUNT(d) FROM t GROUP BY k`},
	{name: "group_key_decimals",
		sluice: `SELECT g, SUM(amt), MIN(amt), MAX(amt), AVG(amt) FROM t GROUP BY g`,
		sqlite: `SELECT g, SUM(amt), MIN(amt), MAX(amt), SUM(amt), COUNT(amt) FROM t GROUP BY g`,
		fix:    fixDecimalAvg(4)},
	{name: "group_key_strings",
		sluice: `SELECT g, MIN(s), MAX(s), MIN(k), MAX(k), COUNT(s) FROM t GROUP BY g`,
		sqlite: `SELECT g, MIN(s), MAX(s), MIN(k), MAX(k), COUNT(s) FROM t GROUP BY g`},
	{name: "group_multi_keys",
		sluice: `SELECT k, g, b, COUNT(*), SUM(x), MAX(s), MIN(d) FROM t GROUP BY k, g, b`,
		sqlite: `SELECT k, g, b, COUNT(*), SUM(x), MAX(s), MIN(d) FROM t GROUP BY k, g, b`},
	{name: "group_by_expressions",
		sluice: `SELECT MOD(id, 7), CASE WHEN x < 0 THEN 'neg' ELSE 'nonneg' END, COUNT(*), SUM(d), AVG(g)
  FROM t GROUP BY MOD(id, 7), CASE WHEN x < 0 THEN 'neg' ELSE 'nonneg' END`,
		sqlite: `SELECT id % 7, CASE WHEN x < 0 THEN 'neg' ELSE 'nonneg' END, COUNT(*), SUM(d), AVG(g)
  FROM t GROUP BY id % 7, CASE WHEN x < 0 THEN 'neg' ELSE 'nonneg' END`},
	{name: "group_where",
		sluice: `SELECT g, COUNT(*), SUM(amt), MAX(x) FROM t WHERE k IS NOT NULL AND (b OR d > 0) GROUP BY g`,
		sqlite: `SELECT g, COUNT(*), SUM(amt), MAX(x) FROM t WHERE k IS NOT NULL AND (b OR d > 0) GROUP BY g`},
	{name: "global_aggregates",
		sluice: `SELECT COUNT(*), COUNT(x), COUNT(DISTINCT k), SUM(x), AVG(x), MIN(d), MAX(d), SUM(amt), MIN(s), MAX(s), MIN(amt) FROM t`,
		sqlite: `SELECT COUNT(*), COUNT(x), COUNT(DISTINCT k), SUM(x), AVG(x), MIN(d), MAX(d), SUM(amt), MIN(s), MAX(s), MIN(amt) FROM t`},
	{name: "global_filtered",
		sluice: `SELECT COUNT(*), SUM(x), AVG(d), MAX(amt) FROM t WHERE g = 2 AND b`,
		sqlite: `SELECT COUNT(*), SUM(x), AVG(d), MAX(amt) FROM t WHERE g = 2 AND b`},
	{name: "having",
		sluice: `SELECT g, COUNT(*), SUM(x) FROM t GROUP BY g HAVING COUNT(*) > 400 AND SUM(x) > 0 OR g IS NULL`,
		sqlite: `SELECT g, COUNT(*), SUM(x) FROM t GROUP BY g HAVING COUNT(*) > 400 AND SUM(x) > 0 OR g IS NULL`},
	{name: "having_unselected_aggregates",
		sluice: `SELECT k, g FROM t GROUP BY k, g HAVING MAX(d) > 9000 AND MIN(x) < -900`,
		sqlite: `SELECT k, g FROM t GROUP BY k, g HAVING MAX(d) > 9000 AND MIN(x) < -900`},
	{name: "count_distinct",
		sluice: `SELECT g, COUNT(DISTINCT k), COUNT(DISTINCT x), COUNT(DISTINCT b), COUNT(DISTINCT amt), COUNT(*) FROM t GROUP BY g`,
		sqlite: `SELECT g, COUNT(DISTINCT k), COUNT(DISTINCT x), COUNT(DISTINCT b), COUNT(DISTINCT amt), COUNT(*) FROM t GROUP BY g`},
	{name: "distinct_sum_avg",
		sluice: `SELECT k, SUM(DISTINCT x), AVG(DISTINCT g), SUM(DISTINCT d) FROM t GROUP BY k`,
		sqlite: `SELECT k, SUM(DISTINCT x), AVG(DISTINCT g), SUM(DISTINCT d) FROM t GROUP BY k`},
	{name: "variance",
		sluice: `SELECT k, STDDEV_POP(d), STDDEV_SAMP(d), VAR_POP(x), VAR_SAMP(x) FROM t GROUP BY k`,
		sqlite: `SELECT k, COUNT(d), SUM(d), SUM(d * d), COUNT(x), SUM(x), SUM(x * x) FROM t GROUP BY k`,
		fix:    fixVariance},
	{name: "aggregate_over_subquery",
		sluice: `SELECT cls, COUNT(*), SUM(v), MIN(v) FROM (SELECT CASE WHEN d > 0 THEN 'p' WHEN d < 0 THEN 'n' END AS cls, x + g AS v FROM t WHERE k IS NOT NULL) AS q GROUP BY cls`,
		sqlite: `SELECT cls, COUNT(*), SUM(v), MIN(v) FROM (SELECT CASE WHEN d > 0 THEN 'p' WHEN d < 0 THEN 'n' END AS cls, x + g AS v FROM t WHERE k IS NOT NULL) AS q GROUP BY cls`},
	{name: "aggregate_over_cte",
		sluice: `WITH big AS (SELECT k, x, amt FROM t WHERE x > 0) SELECT k, COUNT(*), MAX(x), SUM(amt) FROM big GROUP BY k`,
		sqlite: `WITH big AS (SELECT k, x, amt FROM t WHERE x > 0) SELECT k, COUNT(*), MAX(x), SUM(amt) FROM big GROUP BY k`},
	{name: "aggregate_over_aggregate",
		sluice: `SELECT g, COUNT(*), SUM(n), MAX(n), MIN(sx) FROM (SELECT k, g, COUNT(*) AS n, SUM(x) AS sx FROM t GROUP BY k, g) AS c GROUP BY g`,
		sqlite: `SELECT g, COUNT(*), SUM(n), MAX(n), MIN(sx) FROM (SELECT k, g, COUNT(*) AS n, SUM(x) AS sx FROM t GROUP BY k, g) AS c GROUP BY g`},
	{name: "filter_on_count",
		sluice: `SELECT k, g, n FROM (SELECT k, g, COUNT(*) AS n FROM t GROUP BY k, g) AS c WHERE n > 60`,
		sqlite: `SELECT k, g, n FROM (SELECT k, g, COUNT(*) AS n FROM t GROUP BY k, g) AS c WHERE n > 60`},
	{name: "union_all_then_group",
		sluice: `SELECT k, COUNT(*), SUM(v), MAX(v) FROM (
  SELECT k, x AS v FROM t WHERE g > 0
  UNION ALL SELECT k, g FROM t WHERE x < 0
  UNION ALL SELECT 'extra', id FROM t WHERE id <= 10) AS u GROUP BY k`,
		sqlite: `SELECT k, COUNT(*), SUM(v), MAX(v) FROM (
  SELECT k, x AS v FROM t WHERE g > 0
  UNION ALL SELECT k, g FROM t WHERE x < 0
  UNION ALL SELECT 'extra', id FROM t WHERE id <= 10) AS u GROUP BY k`},
	{name: "union_all_rows",
		sluice: `SELECT id, d FROM t WHERE d < -9000 UNION ALL SELECT id, d FROM t WHERE d < -9500 OR g = 3`,
		sqlite: `SELECT id, d FROM t WHERE d < -9000 UNION ALL SELECT id, d FROM t WHERE d < -9500 OR g = 3`},

	// Window aggregation over event time, on tw (t with a watermark).
	{name: "tumble",
		sluice: `SELECT window_start, window_end, COUNT(*), SUM(x), MAX(d), MIN(amt), SUM(amt)
  FROM TABLE(TUMBLE(TABLE tw, DESCRIPTOR(ts), INTERVAL '10' SECOND)) GROUP BY window_start, window_end`,
		sqlite: `SELECT ws, we, COUNT(*), SUM(x), MAX(d), MIN(amt), SUM(amt) FROM ` + refTumble("t", 10000, 0) + ` GROUP BY ws, we`},
	{name: "tumble_by_key",
		sluice: `SELECT window_start, window_end, k, COUNT(*), COUNT(DISTINCT g), AVG(x), MIN(s), COUNT(b)
  FROM TUMBLE(tw, ts, INTERVAL '10' SECOND) GROUP BY window_start, window_end, k`,
		sqlite: `SELECT ws, we, k, COUNT(*), COUNT(DISTINCT g), AVG(x), MIN(s), COUNT(b) FROM ` + refTumble("t", 10000, 0) + ` GROUP BY ws, we, k`},
	{name: "tumble_filtered_having",
		sluice: `SELECT window_start, window_end, g, COUNT(*), SUM(d) FROM TUMBLE(tw, ts, INTERVAL '10' SECOND)
  WHERE x > 0 OR b GROUP BY window_start, window_end, g HAVING COUNT(*) > 3`,
		sqlite: `SELECT ws, we, g, COUNT(*), SUM(d) FROM ` + refTumble("t", 10000, 0) + `
  WHERE x > 0 OR b GROUP BY ws, we, g HAVING COUNT(*) > 3`},
	{name: "tumble_decimal_avg",
		sluice: `SELECT window_start, window_end, AVG(amt) FROM TUMBLE(tw, ts, INTERVAL '10' SECOND) GROUP BY window_start, window_end`,
		sqlite: `SELECT ws, we, SUM(amt), COUNT(amt) FROM ` + refTumble("t", 10000, 0) + ` GROUP BY ws, we`,
		fix:    fixDecimalAvg(4)},
	{name: "tumble_variance",
		sluice: `SELECT window_start, window_end, b, STDDEV_POP(d), STDDEV_SAMP(d), VAR_POP(x), VAR_SAMP(x)
  FROM TUMBLE(tw, ts, INTERVAL '10' SECOND) GROUP BY window_start, window_end, b`,
		sqlite: `SELECT ws, we, b, COUNT(d), SUM(d), SUM(d * d), COUNT(x), SUM(x), SUM(x * x) FROM ` + refTumble("t", 10000, 0) + ` GROUP BY ws, we, b`,
		fix:    fixVariance},
	{name: "hop",
		sluice: `SELECT window_start, window_end, COUNT(*), SUM(x), MAX(x), MIN(d)
  FROM TABLE(HOP(TABLE tw, DESCRIPTOR(ts), INTERVAL '5' SECOND, INTERVAL '20' SECOND)) GROUP BY window_start, window_end`,
		sqlite: `SELECT ws, we, COUNT(*), SUM(x), MAX(x), MIN(d) FROM ` + refHop("t", 5000, 20000) + ` GROUP BY ws, we`},
	{name: "hop_by_key",
		sluice: `SELECT window_start, window_end, k, COUNT(*), SUM(amt), COUNT(DISTINCT s)
  FROM HOP(tw, ts, INTERVAL '5' SECOND, INTERVAL '20' SECOND) GROUP BY window_start, window_end, k`,
		sqlite: `SELECT ws, we, k, COUNT(*), SUM(amt), COUNT(DISTINCT s) FROM ` + refHop("t", 5000, 20000) + ` GROUP BY ws, we, k`},
	{name: "hop_multi_keys",
		sluice: `SELECT window_start, g, b, window_end, COUNT(*), AVG(d), MAX(s)
  FROM HOP(tw, ts, INTERVAL '20' SECOND, INTERVAL '60' SECOND) GROUP BY window_start, window_end, g, b`,
		sqlite: `SELECT ws, g, b, we, COUNT(*), AVG(d), MAX(s) FROM ` + refHop("t", 20000, 60000) + ` GROUP BY ws, we, g, b`},
	{name: "cumulate",
		sluice: `SELECT window_start, window_end, COUNT(*), SUM(d), MIN(x), MAX(amt)
  FROM TABLE(CUMULATE(TABLE tw, DESCRIPTOR(ts), INTERVAL '10' SECOND, INTERVAL '60' SECOND)) GROUP BY window_start, window_end`,
		sqlite: `SELECT ws, we, COUNT(*), SUM(d), MIN(x), MAX(amt) FROM ` + refCumulate("t", 10000, 60000) + ` GROUP BY ws, we`},
	{name: "cumulate_by_key",
		sluice: `SELECT window_start, window_end, g, COUNT(*), SUM(x), COUNT(DISTINCT k), MIN(s)
  FROM CUMULATE(tw, ts, INTERVAL '10' SECOND, INTERVAL '60' SECOND) WHERE d IS NOT NULL GROUP BY window_start, window_end, g`,
		sqlite: `SELECT ws, we, g, COUNT(*), SUM(x), COUNT(DISTINCT k), MIN(s) FROM ` + refCumulate("t", 10000, 60000) + ` WHERE d IS NOT NULL GROUP BY ws, we, g`},
	{name: "tumble_offset",
		sluice: `SELECT window_start, window_end, COUNT(*), SUM(x)
  FROM TABLE(TUMBLE(TABLE tw, DESCRIPTOR(ts), INTERVAL '10' SECOND, INTERVAL '3' SECOND)) GROUP BY window_start, window_end`,
		sqlite: `SELECT ws, we, COUNT(*), SUM(x) FROM ` + refTumble("t", 10000, 3000) + ` GROUP BY ws, we`},
	{name: "tumble_7s_key_expression",
		sluice: `SELECT window_start, window_end, MOD(id, 3), COUNT(*), MAX(amt)
  FROM TUMBLE(tw, ts, INTERVAL '7' SECOND) GROUP BY window_start, window_end, MOD(id, 3)`,
		sqlite: `SELECT ws, we, id % 3, COUNT(*), MAX(amt) FROM ` + refTumble("t", 7000, 0) + ` GROUP BY ws, we, id % 3`},
	{name: "aggregate_over_windows",
		sluice: `SELECT COUNT(*), SUM(c), MAX(c), MIN(m) FROM (
  SELECT window_start, k, COUNT(*) AS c, MAX(x) AS m FROM TUMBLE(tw, ts, INTERVAL '10' SECOND) GROUP BY window_start, window_end, k) AS w`,
		sqlite: `SELECT COUNT(*), SUM(c), MAX(c), MIN(m) FROM (
  SELECT ws, k, COUNT(*) AS c, MAX(x) AS m FROM ` + refTumble("t", 10000, 0) + ` GROUP BY ws, we, k) AS w`},
	{name: "group_over_windows",
		sluice: `SELECT k, COUNT(*), SUM(c), MAX(c) FROM (
  SELECT window_start, k, COUNT(*) AS c FROM HOP(tw, ts, INTERVAL '5' SECOND, INTERVAL '20' SECOND) GROUP BY window_start, window_end, k) AS w GROUP BY k`,
		sqlite: `SELECT k, COUNT(*), SUM(c), MAX(c) FROM (
  SELECT ws, k, COUNT(*) AS c FROM ` + refHop("t", 5000, 20000) + ` GROUP BY ws, we, k) AS w GROUP BY k`},

	// Event times before and across the epoch (tnw: tn with a watermark).
	{name: "tumble_before_epoch",
		sluice: `SELECT window_start, window_end, k, COUNT(*), SUM(x)
  FROM TUMBLE(tnw, ts, INTERVAL '7' SECOND) GROUP BY window_start, window_end, k`,
		sqlite: `SELECT ws, we, k, COUNT(*), SUM(x) FROM ` + refTumble("tn", 7000, 0) + ` GROUP BY ws, we, k`},
	{name: "tumble_offset_before_epoch",
		sluice: `SELECT window_start, window_end, COUNT(*), MIN(d)
  FROM TABLE(TUMBLE(TABLE tnw, DESCRIPTOR(ts), INTERVAL '10' SECOND, INTERVAL '3' SECOND)) GROUP BY window_start, window_end`,
		sqlite: `SELECT ws, we, COUNT(*), MIN(d) FROM ` + refTumble("tn", 10000, 3000) + ` GROUP BY ws, we`},
	{name: "hop_before_epoch",
		sluice: `SELECT window_start, window_end, g, COUNT(*), MAX(s)
  FROM HOP(tnw, ts, INTERVAL '5' SECOND, INTERVAL '15' SECOND) GROUP BY window_start, window_end, g`,
		sqlite: `SELECT ws, we, g, COUNT(*), MAX(s) FROM ` + refHop("tn", 5000, 15000) + ` GROUP BY ws, we, g`},
	{name: "cumulate_before_epoch",
		sluice: `SELECT window_start, window_end, COUNT(*), SUM(amt)
  FROM CUMULATE(tnw, ts, INTERVAL '15' SECOND, INTERVAL '45' SECOND) GROUP BY window_start, window_end`,
		sqlite: `SELECT ws, we, COUNT(*), SUM(amt) FROM ` + refCumulate("tn", 15000, 45000) + ` GROUP BY ws, we`},
	{name: "timestamps_before_epoch",
		sluice: `SELECT id, ts FROM tn WHERE ts < TIMESTAMP '1970-01-01 00:00:00.500' AND ts > TIMESTAMP '1969-12-31 23:59:58'`,
		sqlite: `SELECT id, ts FROM tn WHERE ts < 500 AND ts > -2000`},

	// More expressions: integer division and MOD (both truncate, in
	// Flink as in SQLite), casts, string functions, inexact doubles.
	{name: "integer_division_mod",
		sluice: `SELECT id, x / 7, MOD(x, 7), MOD(x, -7), x / -3, -x / 2 FROM t`,
		sqlite: `SELECT id, x / 7, x % 7, x % -7, x / -3, -x / 2 FROM t`},
	{name: "casts",
		sluice: `SELECT id, CAST(amt AS BIGINT), CAST(d AS BIGINT), CAST(x AS STRING), CAST(g AS DOUBLE) / 4 FROM t`,
		sqlite: `SELECT id, amt / 100, CAST(d AS INTEGER), CAST(x AS TEXT), CAST(g AS REAL) / 4 FROM t`},
	{name: "string_functions",
		sluice: `SELECT id, CHAR_LENGTH(s), SUBSTRING(s, 2, 2), CONCAT(k, '-', s), COALESCE(s, k, '?') FROM t`,
		sqlite: `SELECT id, length(s), substr(s, 2, 2), k || '-' || s, COALESCE(s, k, '?') FROM t`},
	{name: "inexact_doubles",
		sluice: `SELECT k, SUM(d * 0.1), AVG(d / 10), MIN(d / 3), MAX(d * 1.1) FROM t GROUP BY k`,
		sqlite: `SELECT k, SUM(d * 0.1), AVG(d / 10), MIN(d / 3), MAX(d * 1.1) FROM t GROUP BY k`},
	{name: "mixed_type_case_coalesce",
		sluice: `SELECT id, CASE WHEN b THEN amt ELSE x END, COALESCE(d, x, g), CASE WHEN g > 0 THEN g ELSE d END FROM t`,
		sqlite: `SELECT id, CASE WHEN b THEN amt ELSE x * 100 END, COALESCE(d, x, g), CASE WHEN g > 0 THEN g ELSE d END FROM t`},
	{name: "mixed_type_comparisons",
		sluice: `SELECT id FROM t WHERE amt > d OR amt = x OR d = g OR amt IN (1.5, -2)`,
		sqlite: `SELECT id FROM t WHERE amt > d * 100 OR amt = x * 100 OR d = g OR amt IN (150, -200)`},
	{name: "group_by_double_with_negative_zero",
		sluice: `SELECT d, COUNT(*), MIN(id) FROM t WHERE d BETWEEN -1 AND 1 GROUP BY d`,
		sqlite: `SELECT d, COUNT(*), MIN(id) FROM t WHERE d BETWEEN -1 AND 1 GROUP BY d`},
	{name: "count_distinct_double_decimal",
		sluice: `SELECT g, COUNT(DISTINCT d), COUNT(DISTINCT CAST(d AS BIGINT)), COUNT(DISTINCT big) FROM t GROUP BY g`,
		sqlite: `SELECT g, COUNT(DISTINCT d), COUNT(DISTINCT CAST(d AS INTEGER)), COUNT(DISTINCT big) FROM t GROUP BY g`},
	{name: "group_by_boolean_expression",
		sluice: `SELECT x > 0, b, COUNT(*), SUM(amt) FROM t GROUP BY x > 0, b`,
		sqlite: `SELECT x > 0, b, COUNT(*), SUM(amt) FROM t GROUP BY x > 0, b`},
	{name: "union_all_decimal_scales",
		sluice: `SELECT v, COUNT(*) FROM (SELECT amt AS v FROM t WHERE g = 0 UNION ALL SELECT CAST(amt AS DECIMAL(12,4)) FROM t WHERE g >= 0) AS u GROUP BY v`,
		sqlite: `SELECT v, COUNT(*) FROM (SELECT amt AS v FROM t WHERE g = 0 UNION ALL SELECT amt FROM t WHERE g >= 0) AS u GROUP BY v`},
	{name: "union_all_int_double",
		sluice: `SELECT k, SUM(v), MAX(v) FROM (SELECT k, x AS v FROM t UNION ALL SELECT k, d FROM t) AS u GROUP BY k`,
		sqlite: `SELECT k, SUM(v), MAX(v) FROM (SELECT k, x AS v FROM t UNION ALL SELECT k, d FROM t) AS u GROUP BY k`},
	{name: "window_filter_on_bounds",
		sluice: `SELECT window_start, window_end, COUNT(*) FROM TUMBLE(tw, ts, INTERVAL '10' SECOND)
  WHERE window_start >= TIMESTAMP '2024-01-01 00:02:00' AND ts < TIMESTAMP '2024-01-01 00:07:33' GROUP BY window_start, window_end`,
		sqlite: `SELECT ws, we, COUNT(*) FROM ` + refTumble("t", 10000, 0) + `
  WHERE ws >= 1704067320000 AND ts < 1704067653000 GROUP BY ws, we`},
	{name: "having_without_group_by",
		sluice: `SELECT COUNT(*), SUM(x) FROM t HAVING COUNT(*) > 10`,
		sqlite: `SELECT COUNT(*), SUM(x) FROM t HAVING COUNT(*) > 10`},

	// Wide decimals (precision > 18), aggregated in Go on the SQLite side.
	{name: "wide_decimal_rows",
		sluice: `SELECT id, big FROM t WHERE big > 0`,
		sqlite: `SELECT id, big FROM t WHERE CAST(big AS REAL) > 0`},
	{name: "wide_decimal_group",
		sluice: `SELECT k, COUNT(big), SUM(big), MIN(big), MAX(big), AVG(big) FROM t GROUP BY k`,
		sqlite: `SELECT k, COUNT(big), group_concat(big, ' ') FROM t GROUP BY k`,
		fix:    fixBig},
	{name: "wide_decimal_window",
		sluice: `SELECT window_start, window_end, COUNT(big), SUM(big), MIN(big), MAX(big), AVG(big)
  FROM HOP(tw, ts, INTERVAL '10' SECOND, INTERVAL '30' SECOND) GROUP BY window_start, window_end`,
		sqlite: `SELECT ws, we, COUNT(big), group_concat(big, ' ') FROM ` + refHop("t", 10000, 30000) + ` GROUP BY ws, we`,
		fix:    fixBig},

	// Over updating inputs: the outer aggregates take rows back.
	{name: "regroup_counts",
		sluice: `SELECT n, COUNT(*), MIN(k), MAX(k) FROM (SELECT k, COUNT(*) AS n FROM t WHERE g = 1 GROUP BY k) AS c GROUP BY n`,
		sqlite: `SELECT n, COUNT(*), MIN(k), MAX(k) FROM (SELECT k, COUNT(*) AS n FROM t WHERE g = 1 GROUP BY k) AS c GROUP BY n`},
	{name: "distinct_over_updating",
		sluice: `SELECT g, COUNT(DISTINCT n), SUM(DISTINCT n), AVG(sx), MIN(n), MAX(sx) FROM (SELECT k, g, COUNT(*) AS n, SUM(x) AS sx FROM t GROUP BY k, g) AS c GROUP BY g`,
		sqlite: `SELECT g, COUNT(DISTINCT n), SUM(DISTINCT n), AVG(sx), MIN(n), MAX(sx) FROM (SELECT k, g, COUNT(*) AS n, SUM(x) AS sx FROM t GROUP BY k, g) AS c GROUP BY g`},
	{name: "filtered_counts_then_global",
		sluice: `SELECT COUNT(*), SUM(n), MAX(n) FROM (SELECT k, g, COUNT(*) AS n FROM t GROUP BY k, g) AS c WHERE n BETWEEN 40 AND 60`,
		sqlite: `SELECT COUNT(*), SUM(n), MAX(n) FROM (SELECT k, g, COUNT(*) AS n FROM t GROUP BY k, g) AS c WHERE n BETWEEN 40 AND 60`},
	{name: "three_levels",
		sluice: `SELECT MAX(m), MIN(m), COUNT(*) FROM (SELECT g, MAX(n) AS m FROM (SELECT k, g, COUNT(*) AS n FROM t GROUP BY k, g) AS a GROUP BY g) AS b`,
		sqlite: `SELECT MAX(m), MIN(m), COUNT(*) FROM (SELECT g, MAX(n) AS m FROM (SELECT k, g, COUNT(*) AS n FROM t GROUP BY k, g) AS a GROUP BY g) AS b`},
}

// fixBig turns a SQLite row ending in COUNT(big) and the group's big
// values joined by spaces into one ending in COUNT, SUM, MIN, MAX and
// AVG of big: SUM exact at scale 4, AVG exact at scale 6 rounded half
// away from zero (DECIMAL(38,6)).
func fixBig(row []any) []any {
	n := len(row)
	out := slices.Clone(row[:n-1])
	list, _ := row[n-1].(string)
	if row[n-1] == nil || list == "" {
		return append(out, nil, nil, nil, nil)
	}
	sum := new(big.Int)
	var lo, hi *big.Int
	cnt := int64(0)
	for _, f := range strings.Fields(list) {
		v, ok := new(big.Int).SetString(strings.Replace(f, ".", "", 1), 10)
		if !ok || !strings.Contains(f, ".") || len(f)-strings.Index(f, ".") != 5 {
			panic(fmt.Sprintf("fixBig: %q is not a number with 4 places", f))
		}
		sum.Add(sum, v)
		if lo == nil || v.Cmp(lo) < 0 {
			lo = v
		}
		if hi == nil || v.Cmp(hi) > 0 {
			hi = v
		}
		cnt++
	}
	return append(out, bigText(sum), bigText(lo), bigText(hi), roundedMean(sum, cnt, 4, 2))
}

// roundedMean is sum/cnt, sum being in units of 10^-scale, as a decimal
// text with scale+up places, rounded half away from zero.
func roundedMean(sum *big.Int, cnt int64, scale, up int) string {
	num := new(big.Int).Mul(sum, new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(up)), nil))
	den := big.NewInt(cnt)
	q, r := new(big.Int).QuoRem(num, den, new(big.Int))
	// Half away from zero: |2r| >= den moves q one away from zero.
	if new(big.Int).Abs(new(big.Int).Lsh(r, 1)).Cmp(den) >= 0 {
		if num.Sign() < 0 {
			q.Sub(q, big.NewInt(1))
		} else {
			q.Add(q, big.NewInt(1))
		}
	}
	var d apd.Decimal
	d.Coeff.SetMathBigInt(new(big.Int).Abs(q))
	d.Negative = q.Sign() < 0
	d.Exponent = -int32(scale + up)
	return d.Text('f')
}

// fixDecimalAvg returns a fix for a template whose last two SQLite
// columns are SUM(amt) and COUNT(amt) in cents and whose last Sluice
// column is AVG(amt): DECIMAL(38,6), the exact mean rounded half away
// from zero. scaleUp is the power of ten from cents to the result's
// scale (4: from 2 places to 6).
func fixDecimalAvg(scaleUp int) func([]any) []any {
	return func(row []any) []any {
		n := len(row)
		sum, cnt := row[n-2], row[n-1]
		out := slices.Clone(row[:n-2])
		if sum == nil || cnt.(int64) == 0 {
			return append(out, nil)
		}
		return append(out, roundedMean(big.NewInt(sum.(int64)), cnt.(int64), 2, scaleUp))
	}
}

// fixVariance turns a SQLite row ending in COUNT(d), SUM(d), SUM(d*d),
// COUNT(x), SUM(x), SUM(x*x) into one ending in STDDEV_POP(d),
// STDDEV_SAMP(d), VAR_POP(x), VAR_SAMP(x). The sums are exact (see the
// file comment), so the moments are computed exactly in rationals.
func fixVariance(row []any) []any {
	n := len(row)
	out := slices.Clone(row[:n-6])
	dPop, dSamp := exactVariance(row[n-6], row[n-5], row[n-4])
	xPop, xSamp := exactVariance(row[n-3], row[n-2], row[n-1])
	return append(out, sqrtOrNil(dPop), sqrtOrNil(dSamp), xPop, xSamp)
}

// exactVariance returns the population and sample variance from a
// count, a sum and a sum of squares, nil where they are undefined.
func exactVariance(cnt, sum, sumSq any) (pop, samp any) {
	n := cnt.(int64)
	if n == 0 {
		return nil, nil
	}
	s, ss := ratOf(sum), ratOf(sumSq)
	// m2 = ss - s²/n, the sum of squared deviations.
	m2 := new(big.Rat).Sub(ss, new(big.Rat).Quo(new(big.Rat).Mul(s, s), new(big.Rat).SetInt64(n)))
	p, _ := new(big.Rat).Quo(m2, new(big.Rat).SetInt64(n)).Float64()
	pop = p
	if n > 1 {
		v, _ := new(big.Rat).Quo(m2, new(big.Rat).SetInt64(n-1)).Float64()
		samp = v
	}
	return pop, samp
}

func ratOf(v any) *big.Rat {
	switch x := v.(type) {
	case int64:
		return new(big.Rat).SetInt64(x)
	case float64:
		r, ok := new(big.Rat).SetString(strconv.FormatFloat(x, 'g', -1, 64))
		if !ok {
			panic(fmt.Sprintf("ratOf(%v)", x))
		}
		return r
	}
	panic(fmt.Sprintf("ratOf(%T)", v))
}

func sqrtOrNil(v any) any {
	if v == nil {
		return nil
	}
	return math.Sqrt(v.(float64))
}

// diffEnv is one data set loaded into SQLite and into a file Sluice
// tables read.
type diffEnv struct {
	seed uint64
	// path holds the rows; shiftedPath holds them with their event times
	// less diffEpochShift.
	path, shiftedPath string
	db                *sql.DB
}

func newDiffEnv(t *testing.T, seed uint64) *diffEnv {
	t.Helper()
	rows := genDiffRows(seed, diffRows)
	dir := t.TempDir()
	path, shiftedPath := filepath.Join(dir, "rows.jsonl"), filepath.Join(dir, "shifted.jsonl")
	if err := writeDiffJSON(path, rows, 0); err != nil {
		t.Fatal(err)
	}
	if err := writeDiffJSON(shiftedPath, rows, diffEpochShift); err != nil {
		t.Fatal(err)
	}
	db, err := loadDiffSQLite(rows)
	if err != nil {
		t.Fatalf("sqlite: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return &diffEnv{seed: seed, path: path, shiftedPath: shiftedPath, db: db}
}

// engine returns an engine of the given parallelism with t, and tw (the
// same rows with a watermark), and tn and tnw (with the event times
// before the epoch) declared over the data set's files.
func (env *diffEnv) engine(t *testing.T, parallelism int) *Engine {
	t.Helper()
	// State on Badger, with a cache small enough that groups spill and
	// come back: the answers must not depend on where state lives.
	e, err := NewEngine(EngineOptions{Parallelism: parallelism, StateDir: t.TempDir(), StateCacheBytes: 16 << 10})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	cols := `id BIGINT, k STRING, g INT, x BIGINT, d DOUBLE, amt DECIMAL(10,2), big DECIMAL(24,4), b BOOLEAN, s STRING, ts TIMESTAMP(3)`
	var ddl strings.Builder
	for _, f := range []struct{ name, path string }{{"t", env.path}, {"tn", env.shiftedPath}} {
		with := fmt.Sprintf(`WITH ('connector'='file', 'path'='%s', 'format'='json')`, f.path)
		fmt.Fprintf(&ddl, "CREATE TABLE %s (%s) %s;\n", f.name, cols, with)
		fmt.Fprintf(&ddl, "CREATE TABLE %sw (%s, WATERMARK FOR ts AS ts - INTERVAL '1' SECOND) %s;\n", f.name, cols, with)
	}
	if _, err := e.Exec(context.Background(), ddl.String()); err != nil {
		t.Fatal(err)
	}
	return e
}

// reference runs a SQLite query and applies fix to every row.
func (env *diffEnv) reference(q string, fix func([]any) []any) ([][]any, error) {
	rows, err := env.db.Query(q)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return nil, err
	}
	var out [][]any
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, err
		}
		for i, v := range vals {
			if b, ok := v.([]byte); ok {
				vals[i] = string(b)
			}
		}
		if fix != nil {
			vals = fix(vals)
		}
		out = append(out, vals)
	}
	return out, rows.Err()
}

// runSluice runs q and returns its result's columns and rows.
func runSluice(e *Engine, q string) (types.Schema, [][]any, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := e.Exec(ctx, q)
	if err != nil {
		return nil, nil, err
	}
	if len(res) == 0 || res[len(res)-1].Columns == nil {
		return nil, nil, fmt.Errorf("no result set")
	}
	r := res[len(res)-1]
	return r.Columns, r.Rows, nil
}

// diffCheck runs one template on Sluice and SQLite and reports every
// difference between the two results.
func diffCheck(t *testing.T, env *diffEnv, e *Engine, parallelism int, c diffCase) {
	t.Helper()
	cols, got, err := runSluice(e, c.sluice)
	if err != nil {
		t.Fatalf("seed %d, parallelism %d: sluice: %v\nquery: %s", env.seed, parallelism, err, c.sluice)
	}
	want, err := env.reference(c.sqlite, c.fix)
	if err != nil {
		t.Fatalf("sqlite: %v\nquery: %s", err, c.sqlite)
	}
	if len(want) == 0 {
		t.Fatalf("sqlite returns no rows: the template checks nothing\nquery: %s", c.sqlite)
	}
	if diffs := diffResults(cols, got, want); len(diffs) > 0 {
		if len(diffs) > 10 {
			diffs = append(diffs[:10], fmt.Sprintf("... and %d more", len(diffs)-10))
		}
		t.Errorf("seed %d, parallelism %d: sluice and sqlite differ\nsluice: %s\nsqlite: %s\n%s",
			env.seed, parallelism, c.sluice, c.sqlite, strings.Join(diffs, "\n"))
	}
}

// diffResults compares Sluice's rows with the expected rows as multisets
// and returns the differences, one line each.
func diffResults(cols types.Schema, got, want [][]any) []string {
	for _, row := range want {
		if len(row) != len(cols) {
			return []string{fmt.Sprintf("sluice has %d columns (%s), sqlite %d", len(cols), cols, len(row))}
		}
	}
	for _, row := range want {
		for i, f := range cols {
			row[i] = sluiceForm(row[i], f.Type)
		}
	}
	sortDiffRows(cols, got)
	sortDiffRows(cols, want)
	var diffs []string
	i, j := 0, 0
	for i < len(got) || j < len(want) {
		switch {
		case j == len(want):
			diffs = append(diffs, "only in sluice: "+renderDiffRow(cols, got[i]))
			i++
		case i == len(got):
			diffs = append(diffs, "only in sqlite: "+renderDiffRow(cols, want[j]))
			j++
		case diffRowsEqual(cols, got[i], want[j]):
			i++
			j++
		case diffRowKey(cols, got[i]) < diffRowKey(cols, want[j]):
			diffs = append(diffs, "only in sluice: "+renderDiffRow(cols, got[i]))
			i++
		case diffRowKey(cols, got[i]) > diffRowKey(cols, want[j]):
			diffs = append(diffs, "only in sqlite: "+renderDiffRow(cols, want[j]))
			j++
		default:
			diffs = append(diffs, fmt.Sprintf("differ: sluice %s, sqlite %s", renderDiffRow(cols, got[i]), renderDiffRow(cols, want[j])))
			i++
			j++
		}
	}
	return diffs
}

// sortDiffRows sorts rows by their exact columns, then by their floats.
func sortDiffRows(cols types.Schema, rows [][]any) {
	slices.SortStableFunc(rows, func(a, b []any) int {
		if c := strings.Compare(diffRowKey(cols, a), diffRowKey(cols, b)); c != 0 {
			return c
		}
		return strings.Compare(renderDiffRow(cols, a), renderDiffRow(cols, b))
	})
}

// diffRowKey is a row's exact columns, rendered canonically: the sort
// key that pairs rows whose floats may differ in their last bits.
func diffRowKey(cols types.Schema, row []any) string {
	var sb strings.Builder
	for i, f := range cols {
		if f.Type.Kind == types.KindFloat {
			continue
		}
		sb.WriteString(canonDiffValue(row[i], f.Type))
		sb.WriteByte('|')
	}
	return sb.String()
}

func renderDiffRow(cols types.Schema, row []any) string {
	vals := make([]string, len(row))
	for i, f := range cols {
		vals[i] = canonDiffValue(row[i], f.Type)
	}
	return "(" + strings.Join(vals, ", ") + ")"
}

// canonDiffValue renders a value in Sluice's Go form (types.Vector.Value)
// so that equal values render the same: decimals reduced, timestamps as
// text, strings quoted.
func canonDiffValue(v any, t types.Type) string {
	switch x := v.(type) {
	case nil:
		return "NULL"
	case apd.Decimal:
		var r apd.Decimal
		r.Reduce(&x)
		return r.Text('f')
	case int64:
		if t.Kind == types.KindTimestamp {
			return time.UnixMicro(x).UTC().Format("2006-01-02 15:04:05.000000")
		}
		return strconv.FormatInt(x, 10)
	case bool:
		return strconv.FormatBool(x)
	case float64:
		return strconv.FormatFloat(x, 'g', 8, 64)
	case string:
		return strconv.Quote(x)
	}
	return fmt.Sprintf("%v (%T)", v, v)
}

// sluiceForm converts an expected value, in an encoding diffCase
// describes, to Sluice's Go form for a column of type t. A value it does
// not know is kept, and then differs.
func sluiceForm(v any, t types.Type) any {
	switch t.Kind {
	case types.KindDecimal:
		if d, ok := diffDecimal(v); ok {
			return d
		}
	case types.KindTimestamp:
		if ms, ok := v.(int64); ok {
			return ms * 1000
		}
	case types.KindBoolean:
		if b, ok := v.(int64); ok {
			return b != 0
		}
	case types.KindFloat:
		if i, ok := v.(int64); ok {
			return float64(i)
		}
	}
	return v
}

func diffDecimal(v any) (apd.Decimal, bool) {
	switch x := v.(type) {
	case apd.Decimal:
		return x, true
	case int64:
		return *apd.New(x, -2), true
	case string:
		d, _, err := apd.NewFromString(x)
		if err != nil {
			return apd.Decimal{}, false
		}
		return *d, true
	}
	return apd.Decimal{}, false
}

// diffRowsEqual compares two rows column by column: floats within a
// relative tolerance of 1e-9, everything else exactly.
func diffRowsEqual(cols types.Schema, got, want []any) bool {
	for i, f := range cols {
		g, w := got[i], want[i]
		if (g == nil) != (w == nil) {
			return false
		}
		if g == nil {
			continue
		}
		a, ok1 := g.(float64)
		b, ok2 := w.(float64)
		if ok1 && ok2 {
			if math.Abs(a-b) > 1e-9*max(1, math.Abs(a), math.Abs(b)) {
				return false
			}
			continue
		}
		if canonDiffValue(g, f.Type) != canonDiffValue(w, f.Type) {
			return false
		}
	}
	return true
}

// TestDifferential runs every template against SQLite for every seed and
// parallelism.
func TestDifferential(t *testing.T) {
	for _, seed := range diffSeeds {
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			env := newDiffEnv(t, seed)
			for _, p := range diffParallelisms {
				t.Run(fmt.Sprintf("p=%d", p), func(t *testing.T) {
					e := env.engine(t, p)
					for _, c := range diffCases {
						t.Run(c.name, func(t *testing.T) { diffCheck(t, env, e, p, c) })
					}
				})
			}
		})
	}
}

// diffEmptyInput are templates over an input with no rows: a global
// aggregate (no GROUP BY) of a bounded input is then one row, as in SQL:
// COUNT is 0, the others NULL.
var diffEmptyInput = []diffCase{
	{name: "global_aggregate_of_no_rows",
		sluice: `SELECT COUNT(*), COUNT(x), SUM(x), MAX(d), AVG(amt) FROM t WHERE x > 100000000`,
		sqlite: `SELECT COUNT(*), COUNT(x), SUM(x), MAX(d), SUM(amt), COUNT(amt) FROM t WHERE x > 100000000`,
		fix:    fixDecimalAvg(4)},
}

func TestDifferentialEmptyInput(t *testing.T) {
	for _, seed := range diffSeeds[:1] {
		env := newDiffEnv(t, seed)
		for _, p := range diffParallelisms {
			t.Run(fmt.Sprintf("seed=%d/p=%d", seed, p), func(t *testing.T) {
				e := env.engine(t, p)
				for _, c := range diffEmptyInput {
					t.Run(c.name, func(t *testing.T) { diffCheck(t, env, e, p, c) })
				}
			})
		}
	}
}

// TestDifferentialHarness checks that the comparison finds what it must:
// a differing value, a missing or duplicated row, a float outside the
// tolerance; and that it accepts the encodings of the expected side.
func TestDifferentialHarness(t *testing.T) {
	cols := types.Schema{
		{Name: "k", Type: types.String()},
		{Name: "n", Type: types.BigInt()},
		{Name: "f", Type: types.Double()},
		{Name: "m", Type: types.Decimal(38, 2)},
		{Name: "ts", Type: types.Timestamp(3)},
		{Name: "b", Type: types.Boolean()},
	}
	sluiceRows := func() [][]any {
		return [][]any{
			{"a", int64(1), 0.1 + 0.2, *apd.New(150, -2), int64(1704067200000000), true},
			{nil, int64(-2), nil, *apd.New(-5, 0), int64(-1000), false},
			{nil, int64(-2), nil, *apd.New(-5, 0), int64(-1000), false},
		}
	}
	// The same rows as SQLite gives them: decimals in cents or as text,
	// timestamps in milliseconds, booleans as 0 and 1, another order.
	sqliteRows := func() [][]any {
		return [][]any{
			{nil, int64(-2), nil, "-5.0", int64(-1), int64(0)},
			{"a", int64(1), 0.3, int64(150), int64(1704067200000), int64(1)},
			{nil, int64(-2), nil, int64(-500), int64(-1), int64(0)},
		}
	}
	if d := diffResults(cols, sluiceRows(), sqliteRows()); len(d) > 0 {
		t.Fatalf("equal results differ:\n%s", strings.Join(d, "\n"))
	}
	for _, tc := range []struct {
		name   string
		change func(got [][]any) [][]any
	}{
		{"int", func(g [][]any) [][]any { g[0][1] = int64(2); return g }},
		{"float", func(g [][]any) [][]any { g[0][2] = 0.3000001; return g }},
		{"decimal", func(g [][]any) [][]any { g[0][3] = *apd.New(151, -2); return g }},
		{"timestamp", func(g [][]any) [][]any { g[0][4] = int64(1704067200001000); return g }},
		{"boolean", func(g [][]any) [][]any { g[0][5] = false; return g }},
		{"null", func(g [][]any) [][]any { g[0][0] = nil; return g }},
		{"empty string is not null", func(g [][]any) [][]any { g[1][0] = ""; return g }},
		{"missing row", func(g [][]any) [][]any { return g[:2] }},
		{"duplicate row", func(g [][]any) [][]any { return append(g, g[0]) }},
	} {
		if d := diffResults(cols, tc.change(sluiceRows()), sqliteRows()); len(d) == 0 {
			t.Errorf("%s: a changed result compares equal", tc.name)
		}
	}
}
