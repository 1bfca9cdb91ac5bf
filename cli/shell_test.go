package cli

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestShellStdin feeds the shell a session on standard input: statements
// spread over lines and sharing lines, an error it must survive, and a
// last statement without its semicolon, ended by the end of the input.
func TestShellStdin(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	session := `CREATE TABLE b (auction BIGINT, bidder BIGINT, price BIGINT,
  channel STRING, url STRING, date_time TIMESTAMP(3), extra STRING)
WITH ('connector'='nexmark', 'nexmark.table'='bid',
      'nexmark.events'='7');

-- a comment alone, then a statement whose string holds a semicolon
SELECT auction, price FROM b WHERE channel <> ';'
;
SELECT auction, pricee
  FROM b;
SELECT auction FROM b; SELECT price
FROM b`
	code, stdout, stderr := runCLI(t, strings.NewReader(session), "--data", data, "shell", "--parallelism", "1")
	if code != exitError {
		t.Errorf("exit %d, want %d (a statement failed)", code, exitError)
	}
	wantOut := `created table b
auction | price
--------+---------
   1000 | 32530001
   1000 |   468715
   1000 |   300435
(3 rows)
auction
-------
   1000
   1000
   1000
(3 rows)
price
--------
32530001
  468715
  300435
(3 rows)
`
	if stdout != wantOut {
		t.Errorf("stdout:\n%s\nwant:\n%s", stdout, wantOut)
	}
	wantErr := `ERROR: line 1:17: unknown column "pricee" (did you mean "price"?)
 | SELECT auction, pricee
 | ................^
sluice: 1 statement failed
`
	if stderr != wantErr {
		t.Errorf("stderr:\n%s\nwant:\n%s", stderr, wantErr)
	}

	// The catalog outlives the shell: a second session sees the table.
	code, stdout, stderr = runCLI(t, strings.NewReader("SHOW TABLES;\n"), "--data", data, "shell")
	if code != exitOK || !strings.Contains(stdout, "b\n") {
		t.Errorf("second session: exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
}

func TestCompleteStatements(t *testing.T) {
	for _, c := range []struct{ in, done, rest string }{
		{"SELECT 1;\n", "SELECT 1;\n", ""},
		{"SELECT 1\n", "", "SELECT 1\n"},
		{"SELECT 1; SELECT\n", "SELECT 1; ", "SELECT\n"},
		{"SELECT ';\n", "", "SELECT ';\n"},
		{"SELECT 1 /* ; \n", "", "SELECT 1 /* ; \n"},
		{"SELECT 1 -- ;\n", "", "SELECT 1 -- ;\n"},
		{"SELECT 1; -- done\n", "SELECT 1; -- done\n", ""},
		{"\n", "", ""},
		{"-- only a comment\n", "", ""},
		{";\n", "", ""},
	} {
		done, rest := completeStatements(c.in)
		if done != c.done || rest != c.rest {
			t.Errorf("completeStatements(%q) = %q, %q; want %q, %q", c.in, done, rest, c.done, c.rest)
		}
	}
}
