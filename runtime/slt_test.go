package runtime

import (
	"context"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sluice-sql/sluice/broker"
	"github.com/sluice-sql/sluice/sql/types"
)

// sltDir holds the end-to-end SQL tests, at the repository's root.
const sltDir = "../testdata/slt"

// sltRewrite is the -rewrite flag: rewrite the expected rows of every
// query in place instead of comparing them. The flag is shared with
// cockroachdb/datadriven, which defines it too when it is linked in.
var sltRewrite = boolFlag("rewrite", "rewrite the expected output of testdata/slt/**/*.slt")

func boolFlag(name, usage string) func() bool {
	if f := flag.Lookup(name); f != nil {
		return func() bool { return f.Value.String() == "true" }
	}
	v := flag.Bool(name, false, usage)
	return func() bool { return *v }
}

// TestSLT runs every testdata/slt/**/*.slt file, each on a fresh engine
// over a fresh broker. The format is sqllogictest's:
//
//	# a comment
//	statement ok
//	CREATE TABLE ...
//
//	statement error unknown table "bidz"
//	DROP TABLE bidz
//
//	query IT rowsort
//	SELECT auction, channel FROM bids WHERE price > 100
//	----
//	1000 Google
//	1001 NULL
//
// Records are separated by blank lines. A statement record may hold
// several statements; a query's result is that of its last statement.
// "statement error" matches its regular expression against the whole
// error text, caret lines included. A query's types are one letter per
// column: I integer, R decimal or float, B boolean, T anything else.
// Values are space-separated, NULL is NULL, the empty string is (empty).
// rowsort sorts the rows before comparing; valuesort puts every value on
// a line of its own and sorts them. A query with no ---- expects no rows.
// An INSERT of a bounded job is waited for before the next record.
func TestSLT(t *testing.T) {
	var files []string
	err := filepath.WalkDir(sltDir, func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(path, ".slt") {
			files = append(files, path)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatalf("no .slt files under %s", sltDir)
	}
	for _, path := range files {
		name, _ := filepath.Rel(sltDir, path)
		t.Run(filepath.ToSlash(name), func(t *testing.T) {
			runSLTFile(t, path)
		})
	}
}

type sltRecord struct {
	line    int    // 1-based line of the header
	kind    string // "statement" or "query"
	errRE   string // statement error: the pattern; "" for ok
	types   string // query: one letter per column
	sort    string // query: "", "rowsort" or "valuesort"
	sql     string
	results []string
	// resFrom and resTo are the 0-based lines of the expected results,
	// [resFrom, resTo); resFrom < 0 when the query has no ---- line.
	resFrom, resTo int
}

func parseSLT(path string, lines []string) ([]sltRecord, error) {
	var recs []sltRecord
	for i := 0; i < len(lines); {
		l := strings.TrimSpace(lines[i])
		if l == "" || strings.HasPrefix(l, "#") {
			i++
			continue
		}
		r := sltRecord{line: i + 1, resFrom: -1}
		f := strings.Fields(l)
		switch {
		case f[0] == "statement" && len(f) == 2 && f[1] == "ok":
			r.kind = "statement"
		case f[0] == "statement" && len(f) >= 3 && f[1] == "error":
			r.kind = "statement"
			r.errRE = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(l[len("statement"):]), "error"))
			if _, err := regexp.Compile(r.errRE); err != nil {
				return nil, fmt.Errorf("%s:%d: %v", path, i+1, err)
			}
		case f[0] == "query" && (len(f) == 2 || len(f) == 3 && (f[2] == "rowsort" || f[2] == "valuesort")):
			r.kind = "query"
			r.types = f[1]
			if len(f) == 3 {
				r.sort = f[2]
			}
			if strings.Trim(r.types, "IRBT") != "" {
				return nil, fmt.Errorf("%s:%d: query types %q: want letters I, R, B and T", path, i+1, r.types)
			}
		default:
			return nil, fmt.Errorf("%s:%d: want statement ok, statement error <regex> or query <types> [rowsort|valuesort], got %q", path, i+1, l)
		}
		i++
		var sqlLines []string
		for ; i < len(lines) && strings.TrimSpace(lines[i]) != ""; i++ {
			if r.kind == "query" && strings.TrimSpace(lines[i]) == "----" {
				i++
				r.resFrom = i
				for ; i < len(lines) && strings.TrimSpace(lines[i]) != ""; i++ {
					r.results = append(r.results, strings.TrimSpace(lines[i]))
				}
				r.resTo = i
				break
			}
			sqlLines = append(sqlLines, lines[i])
		}
		if len(sqlLines) == 0 {
			return nil, fmt.Errorf("%s:%d: %s without SQL", path, r.line, r.kind)
		}
		r.sql = strings.Join(sqlLines, "\n")
		recs = append(recs, r)
	}
	return recs, nil
}

func runSLTFile(t *testing.T, path string) {
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	recs, err := parseSLT(path, lines)
	if err != nil {
		t.Fatal(err)
	}
	b, err := broker.Open(t.TempDir(), broker.Options{})
	if err != nil {
		t.Fatal(err)
	}
	e, err := NewEngine(EngineOptions{Broker: b, Parallelism: 2, StateDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		e.Close()
		b.Close()
	}()
	rewrite := sltRewrite()
	rewritten := make(map[int][]string) // record index -> new results
	for k, r := range recs {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		got, err := sltExec(ctx, e, r.sql)
		cancel()
		where := fmt.Sprintf("%s:%d", path, r.line)
		switch {
		case r.errRE != "":
			if err == nil {
				t.Errorf("%s: statement succeeded, want an error matching %q", where, r.errRE)
			} else if !regexp.MustCompile(r.errRE).MatchString(err.Error()) {
				t.Errorf("%s: error\n%s\ndoes not match %q", where, err, r.errRE)
			}
			continue
		case err != nil:
			t.Errorf("%s: %v", where, err)
			continue
		case r.kind == "statement":
			continue
		}
		if got == nil {
			t.Errorf("%s: the query returned no result set", where)
			continue
		}
		if err := sltCheckTypes(r.types, got.Columns); err != nil {
			t.Errorf("%s: %v", where, err)
		}
		rows := sltFormat(got, r.sort)
		if rewrite {
			rewritten[k] = rows
			continue
		}
		want := r.results
		if r.sort != "" {
			want = slices.Clone(want)
			slices.Sort(want)
		}
		if !slices.Equal(rows, want) {
			t.Errorf("%s: query\n%s\ngot\n%s\nwant\n%s", where, r.sql, strings.Join(rows, "\n"), strings.Join(r.results, "\n"))
		}
	}
	if rewrite && !t.Failed() {
		var out []string
		from := 0
		for k, r := range recs {
			rows, ok := rewritten[k]
			if !ok {
				continue
			}
			if r.resFrom < 0 {
				// Insert a ---- line after the SQL.
				end := r.line + strings.Count(r.sql, "\n") + 1
				out = append(out, lines[from:end]...)
				if len(rows) > 0 {
					out = append(out, "----")
					out = append(out, rows...)
				}
				from = end
				continue
			}
			out = append(out, lines[from:r.resFrom]...)
			out = append(out, rows...)
			from = r.resTo
		}
		out = append(out, lines[from:]...)
		if err := os.WriteFile(path, []byte(strings.Join(out, "\n")+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// sltExec runs text and returns the last result set it produced, waiting
// for the bounded jobs its INSERTs start.
func sltExec(ctx context.Context, e *Engine, text string) (*Result, error) {
	var last *Result
	err := e.Run(ctx, text, func(r Result) error {
		if r.JobID != "" && r.Bounded {
			if err := e.Wait(ctx, r.JobID); err != nil {
				return fmt.Errorf("job %s: %w", r.JobID, err)
			}
		}
		if r.Stream != nil {
			if !r.Bounded {
				return fmt.Errorf("SELECT over an unbounded source: it would never end")
			}
			rows, err := r.Stream.Collect(ctx)
			if err != nil {
				return err
			}
			r.Rows, r.Columns, r.Stream = rows, r.Stream.TableColumns, nil
		}
		if r.Columns != nil {
			last = &r
		}
		return nil
	})
	return last, err
}

func sltCheckTypes(want string, cols types.Schema) error {
	if len(want) != len(cols) {
		return fmt.Errorf("query types %q name %d columns, the result has %d: %s", want, len(want), len(cols), cols)
	}
	for i, f := range cols {
		letter := byte('T')
		switch {
		case f.Type.Kind == types.KindBoolean:
			letter = 'B'
		case f.Type.Kind == types.KindDecimal || f.Type.Kind == types.KindFloat:
			letter = 'R'
		case f.Type.IsNumeric():
			letter = 'I'
		}
		if want[i] != letter {
			return fmt.Errorf("column %d (%s %s) has type letter %c, the query says %c", i+1, f.Name, f.Type, letter, want[i])
		}
	}
	return nil
}

// sltFormat renders rows as sqllogictest lines, sorted as asked.
func sltFormat(r *Result, sort string) []string {
	var out []string
	for _, row := range r.Rows {
		vals := make([]string, len(row))
		for c, v := range row {
			vals[c] = sltValue(v, r.Columns[c].Type)
		}
		if sort == "valuesort" {
			out = append(out, vals...)
		} else {
			out = append(out, strings.Join(vals, " "))
		}
	}
	if sort != "" {
		slices.Sort(out)
	}
	return out
}

// sltValue is a value as the shell prints it (types.Text), with the empty
// string as (empty) so that it stays visible.
func sltValue(v any, t types.Type) string {
	if s, ok := v.(string); ok && s == "" {
		return "(empty)"
	}
	return types.Text(v, t)
}
