package cli

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// TestNexmarkCopies checks that the queries the binary embeds are the
// ones in testdata/nexmark, file for file.
func TestNexmarkCopies(t *testing.T) {
	originals, err := filepath.Glob("../testdata/nexmark/*.sql")
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, p := range originals {
		name := filepath.Base(p)
		want = append(want, name[:len(name)-len(".sql")])
		orig, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		embedded, err := nexmarkQueries.ReadFile("nexmark/" + name)
		if err != nil {
			t.Errorf("%s is not embedded: copy it to cli/nexmark/", p)
			continue
		}
		if string(orig) != string(embedded) {
			t.Errorf("cli/nexmark/%s differs from %s: copy it again", name, p)
		}
	}
	got := nexmarkQueryNames()
	slices.Sort(want)
	sorted := slices.Sorted(slices.Values(got))
	if !slices.Equal(sorted, want) || len(want) == 0 {
		t.Errorf("embedded queries %v, testdata/nexmark holds %v", got, want)
	}
}
