package cli

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"
)

// TestMain lets the test binary run as the "sluice" command that the
// scripts exec, in a process of its own, so the scripts see real exit
// codes, signals and data-directory locks.
func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"sluice": func() { os.Exit(Main(os.Args)) },
	})
}

// TestScripts runs testdata/script/*.txtar. Besides testscript's own
// commands they may use:
//
//	waitmatch FILE REGEXP   wait (up to 10s) until FILE exists and matches
//	sortlines DST SRC...    write the lines of the SRC files, sorted, to DST
func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir:                 "testdata/script",
		RequireExplicitExec: true,
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"waitmatch": cmdWaitMatch,
			"sortlines": cmdSortLines,
		},
	})
}

func cmdWaitMatch(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: waitmatch FILE REGEXP")
	}
	re, err := regexp.Compile(args[1])
	ts.Check(err)
	name := ts.MkAbs(args[0])
	deadline := time.Now().Add(10 * time.Second)
	for {
		if b, err := os.ReadFile(name); err == nil && re.Match(b) {
			return
		}
		if time.Now().After(deadline) {
			b, _ := os.ReadFile(name)
			ts.Fatalf("%s still does not match %q after 10s; it holds %q", args[0], args[1], b)
		}
		time.Sleep(10 * time.Millisecond) // polling a file another process writes
	}
}

func cmdSortLines(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: sortlines DST SRC...")
	}
	var lines []string
	for _, src := range args[1:] {
		text := ts.ReadFile(src)
		if text == "" {
			continue
		}
		lines = append(lines, strings.Split(strings.TrimSuffix(text, "\n"), "\n")...)
	}
	slices.Sort(lines)
	out := strings.Join(lines, "\n")
	if len(lines) > 0 {
		out += "\n"
	}
	ts.Check(os.WriteFile(ts.MkAbs(args[0]), []byte(out), 0o666))
}
