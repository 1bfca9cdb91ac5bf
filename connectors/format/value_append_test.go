package format

import (
	"strings"
	"testing"
)

// TestAppendJSONStringEveryPosition puts each byte that needs care at
// every position of strings long enough to be scanned eight bytes at a
// time, so a special byte in any lane of a word is seen.
func TestAppendJSONStringEveryPosition(t *testing.T) {
	for _, tc := range []struct{ in, out string }{
		{`"`, `\"`}, {`\`, `\\`}, {"\n", `\n`}, {"\t", `\t`}, {"\x00", `\u0000`}, {"\x1f", `\u001f`},
		{"\x7f", "\x7f"}, {" ", " "}, {"~", "~"}, {"é", "é"}, {"\xff", `\ufffd`}, {"\xe6\x97", `\ufffd\ufffd`},
	} {
		for n := 1; n <= 24; n++ {
			for at := 0; at < n; at++ {
				in := strings.Repeat("a", at) + tc.in + strings.Repeat("b", n-at-1)
				want := `"` + strings.Repeat("a", at) + tc.out + strings.Repeat("b", n-at-1) + `"`
				if got := string(appendJSONString(nil, []byte(in))); got != want {
					t.Errorf("appendJSONString(%q) = %s, want %s", in, got, want)
				}
			}
		}
	}
}

func TestDateCache(t *testing.T) {
	var c dateCache
	for _, days := range []int64{0, 0, 20454, 20454, -1, 0, -719529, 2932897, 2932896} {
		if got, want := string(c.appendDate([]byte("x"), days)), "x"+string(appendDate(nil, days)); got != want {
			t.Errorf("day %d: got %s, want %s", days, got, want)
		}
	}
}
