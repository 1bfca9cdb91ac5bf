package planner

import (
	"errors"
	"strings"
	"testing"

	"github.com/sluice-sql/sluice/sql"
	"github.com/sluice-sql/sluice/sql/types"
)

const tables = `
CREATE TABLE bids (auction BIGINT, bidder BIGINT, price BIGINT, channel STRING, url STRING,
  date_time TIMESTAMP(3), extra STRING) WITH ('connector'='nexmark', 'nexmark.table'='bid');
CREATE TABLE sink (auction BIGINT, price DECIMAL(23,3)) WITH ('connector'='log', 'topic'='out');
`

// bind parses tables and query (a SELECT) and binds the query.
func bind(t *testing.T, query string) (*sql.BoundQuery, *sql.MemCatalog) {
	t.Helper()
	stmts, err := sql.Parse(tables + query)
	if err != nil {
		t.Fatal(err)
	}
	cat := sql.NewMemCatalog()
	for _, st := range stmts[:2] {
		tb, err := sql.CreateTableFromAST(st)
		if err != nil {
			t.Fatal(err)
		}
		if err := cat.Add(tb); err != nil {
			t.Fatal(err)
		}
	}
	q, err := sql.Bind(stmts[2], cat)
	if err != nil {
		t.Fatal(err)
	}
	return q, cat
}

func TestPlanExplain(t *testing.T) {
	q, cat := bind(t, `SELECT auction, 0.908 * price FROM bids WHERE MOD(auction, 123) = 0`)
	sink, _ := cat.Lookup("sink")
	p, err := Plan(q, sink, Options{Parallelism: 4})
	if err != nil {
		t.Fatal(err)
	}
	want := `#1 Source bids (nexmark) (auction BIGINT, bidder BIGINT, price BIGINT, channel STRING, url STRING, date_time TIMESTAMP(3), extra STRING)  parallelism=4
#2 Filter (MOD(auction, 123) = 0)  parallelism=4  ← #1 forward append
#3 Project auction := auction, price := CAST((0.908 * CAST(price AS DECIMAL(19,0))) AS DECIMAL(23,3))  parallelism=4  ← #2 forward append
#4 Sink sink (log topic=out) (auction BIGINT, price DECIMAL(23,3))  parallelism=4  ← #3 forward append
rule MergeProjections: Project auction := auction, price := CAST(0.908 * price AS DECIMAL(23,3)) over Project auction := auction, 0.908 * price := (0.908 * CAST(price AS DECIMAL(19,0))) → Project auction := auction, price := CAST((0.908 * CAST(price AS DECIMAL(19,0))) AS DECIMAL(23,3))
`
	if got := p.Explain(); got != want {
		t.Fatalf("Explain:\n%s\nwant:\n%s", got, want)
	}
	if got := p.Schema[1].Type; !got.Equal(types.Decimal(23, 3)) {
		t.Fatalf("price is %s, want DECIMAL(23,3)", got)
	}
}

func TestPlanMismatch(t *testing.T) {
	for _, tc := range []struct {
		query string
		col   int
		msg   string
	}{
		{`SELECT auction FROM bids`, -1, "the query has 1 columns but table sink has 2"},
		{`SELECT auction, price, bidder FROM bids`, 2, "the query has 3 columns"},
		{`SELECT auction, url FROM bids`, 1, "column 2 is STRING"},
		{`SELECT auction, 0.5 * price FROM bids`, 1, ""}, // DECIMAL(20,1) fits
		{`SELECT auction, 0.0005 * price FROM bids`, 1, "column 2 is DECIMAL(23,4)"},
	} {
		q, cat := bind(t, tc.query)
		sink, _ := cat.Lookup("sink")
		_, err := Plan(q, sink, Options{Parallelism: 1})
		var me *MismatchError
		switch {
		case tc.msg == "" && err != nil:
			t.Errorf("%s: %v", tc.query, err)
		case tc.msg == "":
		case !errors.As(err, &me):
			t.Errorf("%s: error %v, want a *MismatchError", tc.query, err)
		case me.Column != tc.col || !strings.Contains(me.Msg, tc.msg):
			t.Errorf("%s: column %d %q, want column %d %q", tc.query, me.Column, me.Msg, tc.col, tc.msg)
		}
	}
}

func TestAssignable(t *testing.T) {
	for _, tc := range []struct {
		from, to types.Type
		ok       bool
	}{
		{types.Int(), types.BigInt(), true},
		{types.BigInt(), types.Int(), false},
		{types.BigInt(), types.Decimal(19, 0), true},
		{types.BigInt(), types.Decimal(20, 2), false},
		{types.Decimal(22, 3), types.Decimal(23, 3), true},
		{types.Decimal(22, 3), types.Decimal(22, 2), false},
		{types.Decimal(10, 2), types.Double(), true},
		{types.Double(), types.Decimal(38, 10), false},
		{types.String(), types.Varchar(10), true},
		{types.Timestamp(3), types.Timestamp(6), true},
		{types.NullType(), types.Date(), true},
		{types.Date(), types.Timestamp(3), false},
	} {
		if got := Assignable(tc.from, tc.to); got != tc.ok {
			t.Errorf("Assignable(%s, %s) = %v, want %v", tc.from, tc.to, got, tc.ok)
		}
	}
}
