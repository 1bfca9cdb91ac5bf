package suggest

import "testing"

func TestClosest(t *testing.T) {
	cases := []struct {
		name  string
		cands []string
		want  string
	}{
		{"pricee", []string{"auction", "price"}, "price"},
		{"PRICE", []string{"price"}, "price"},
		{"retention.msx", []string{"retention.bytes", "retention.ms"}, "retention.ms"},
		{"x", []string{"auction"}, ""},
		{"nexmark.event", []string{"nexmark.table", "nexmark.events"}, "nexmark.events"},
		{"abc", []string{"abd", "abe"}, "abd"}, // ties: the first
	}
	for _, c := range cases {
		if got := Closest(c.name, c.cands); got != c.want {
			t.Errorf("Closest(%q) = %q, want %q", c.name, got, c.want)
		}
	}
	if d := Distance([]rune("kitten"), []rune("sitting")); d != 3 {
		t.Errorf("distance %d", d)
	}
}
