package cli

import (
	"bytes"
	"context"
	"io"
	"path/filepath"
	"strings"
	"testing"
)

// runCLI runs a command line in this process with stdin as input and
// returns its exit code and outputs.
func runCLI(t *testing.T, stdin io.Reader, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	if stdin == nil {
		stdin = strings.NewReader("")
	}
	var out, errOut bytes.Buffer
	code = Run(context.Background(), append([]string{"sluice"}, args...), Env{
		Stdin:  stdin,
		Stdout: &out,
		Stderr: &errOut,
		Getenv: func(string) string { return "" },
		Pid:    4242,
	})
	return code, out.String(), errOut.String()
}

func TestExitCodes(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	if code, _, stderr := runCLI(t, nil, "--data", data, "topic", "create", "t"); code != exitOK {
		t.Fatalf("create: exit %d: %s", code, stderr)
	}
	for _, c := range []struct {
		args []string
		code int
	}{
		{[]string{"version"}, exitOK},
		{[]string{}, exitOK},
		{[]string{"--help"}, exitOK},
		{[]string{"--data", data, "topic", "list"}, exitOK},
		// The command ran and failed.
		{[]string{"--data", data, "topic", "describe", "nope"}, exitError},
		{[]string{"--data", data, "topic", "create", "t"}, exitError},
		{[]string{"--data", data, "topic", "create", "u", "--partitions", "0"}, exitError},
		{[]string{"--data", data, "topic", "create", "u", "--config", "nope=1"}, exitError},
		{[]string{"--data", data, "topic", "consume", "t", "--partition", "3"}, exitError},
		{[]string{"--data", filepath.Join(data, "missing"), "topic", "describe", "x"}, exitError},
		// The command line is wrong.
		{[]string{"frobnicate"}, exitUsage},
		{[]string{"topic", "craete"}, exitUsage},
		{[]string{"topic", "list", "--bogus"}, exitUsage},
		{[]string{"topic", "create"}, exitUsage},
		{[]string{"topic", "create", "a", "b"}, exitUsage},
		{[]string{"topic", "create", "a", "--partitions", "x"}, exitUsage},
		{[]string{"topic", "create", "a", "--config", "novalue"}, exitUsage},
		{[]string{"--data", data, "topic", "consume", "t", "--max", "-1"}, exitUsage},
		{[]string{"--data", data, "topic", "consume", "t", "--offset", "1"}, exitUsage},
		{[]string{"--data", data, "topic", "produce", "t", "--partition", "-1"}, exitUsage},
	} {
		code, _, stderr := runCLI(t, nil, c.args...)
		if code != c.code {
			t.Errorf("sluice %s: exit %d, want %d; stderr:\n%s", strings.Join(c.args, " "), code, c.code, stderr)
		}
		if code != exitOK && !strings.HasPrefix(stderr, "sluice: ") {
			t.Errorf("sluice %s: stderr %q does not start with \"sluice: \"", strings.Join(c.args, " "), stderr)
		}
		if hint := strings.Contains(stderr, "--help' for usage."); hint != (code == exitUsage) {
			t.Errorf("sluice %s: exit %d with usage hint %v; stderr:\n%s", strings.Join(c.args, " "), code, hint, stderr)
		}
	}
}

func TestCommandLine(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{nil, "sluice"},
		{[]string{"/usr/local/bin/sluice", "topic", "consume", "t"}, "sluice topic consume t"},
		{[]string{"sluice", "--data", "my dir", "topic", "list", ""}, `sluice --data "my dir" topic list ""`},
	} {
		if got := commandLine(c.args); got != c.want {
			t.Errorf("commandLine(%q) = %q, want %q", c.args, got, c.want)
		}
	}
}
