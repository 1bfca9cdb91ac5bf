package planner

import (
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/cockroachdb/datadriven"

	"github.com/sluice-sql/sluice/sql"
)

// TestDataDriven runs the golden files in testdata/ (rewrite with
// -rewrite):
//
//	catalog  CREATE TABLE statements added to the file's catalog
//	explain  a SELECT or INSERT ... SELECT planned with parallelism 2: the
//	         plan as EXPLAIN prints it, with the rules that fired, or the
//	         error
func TestDataDriven(t *testing.T) {
	datadriven.Walk(t, "testdata", func(t *testing.T, path string) {
		cat := sql.NewMemCatalog()
		datadriven.RunTest(t, path, func(t *testing.T, d *datadriven.TestData) string {
			switch d.Cmd {
			case "catalog":
				return runCatalog(cat, d.Input)
			case "explain":
				return runExplain(cat, d.Input)
			}
			t.Fatalf("%s: unknown command %q", d.Pos, d.Cmd)
			return ""
		})
	})
}

func runCatalog(cat *sql.MemCatalog, in string) string {
	stmts, err := sql.Parse(in)
	if err != nil {
		return err.Error() + "\n"
	}
	var b strings.Builder
	for _, st := range stmts {
		t, err := sql.CreateTableFromAST(st)
		if err == nil {
			err = cat.Add(t)
		}
		if err != nil {
			return err.Error() + "\n"
		}
		fmt.Fprintf(&b, "%s %s\n", t.Name, t.Schema)
	}
	return b.String()
}

func runExplain(cat *sql.MemCatalog, in string) string {
	stmts, err := sql.Parse(in)
	if err != nil {
		return err.Error() + "\n"
	}
	if len(stmts) != 1 {
		return "want one statement\n"
	}
	info := sql.Classify(stmts[0])
	var sink *sql.Table
	switch info.Kind {
	case sql.KindSelect:
	case sql.KindInsert:
		var ok bool
		if sink, ok = cat.Lookup(info.Names[0]); !ok {
			return fmt.Sprintf("unknown table %q\n", info.Names[0])
		}
	default:
		return "want a SELECT or an INSERT\n"
	}
	q, err := sql.Bind(info.Query, cat)
	if err != nil {
		return err.Error() + "\n"
	}
	p, err := Plan(q, sink, Options{
		Parallelism: 2,
		// As the engine says of JSON log tables.
		Prunable: func(t *sql.Table) bool { return t.Options["connector"] == "log" },
		// A test-only option stands for the topic's partition count.
		SourceParallelism: func(t *sql.Table) int {
			n, _ := strconv.Atoi(t.Options["test.partitions"])
			return n
		},
	})
	if err != nil {
		return err.Error() + "\n"
	}
	return p.Explain()
}
