package sql

import "testing"

func TestErrorFormat(t *testing.T) {
	src := "SELECT auction,\n  bidder,\n\tx, pricee FROM bids"
	e := NewError(src, len("SELECT auction,\n  bidder,\n\tx, "), `unknown column "pricee"`)
	e.WithHint(DidYouMean("pricee", []string{"auction", "bidder", "price"}))
	want := "ERROR: line 3:5: unknown column \"pricee\" (did you mean \"price\"?)\n" +
		" | \tx, pricee FROM bids\n" +
		" | \t...^"
	if got := e.Error(); got != want {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}
	if e.Offset != 30 || e.Line != 3 || e.Column != 5 {
		t.Fatalf("position %d %d:%d", e.Offset, e.Line, e.Column)
	}
}

func TestErrorColumnCountsRunes(t *testing.T) {
	src := "SELECT 'héllo→', 日本 FROM t"
	off := len("SELECT 'héllo→', ")
	e := NewError(src, off, "x")
	if e.Line != 1 || e.Column != 18 {
		t.Fatalf("got %d:%d, want 1:18", e.Line, e.Column)
	}
	want := "ERROR: line 1:18: x\n | " + src + "\n | .................^"
	if e.Error() != want {
		t.Fatalf("got\n%s\nwant\n%s", e.Error(), want)
	}
}

func TestErrorOffsetClamped(t *testing.T) {
	e := NewError("ab\ncd", 99, "x")
	if e.Offset != 5 || e.Line != 2 || e.Column != 3 || e.SourceLine != "cd" {
		t.Fatalf("got %+v", e)
	}
}

func TestSuggest(t *testing.T) {
	cands := []string{"price", "auction", "date_time", "Bidder"}
	for _, c := range []struct{ name, want string }{
		{"pricee", "price"},
		{"PRICE", "price"},
		{"bider", "Bidder"},
		{"datetime", "date_time"},
		{"auctoin", "auction"},
		{"zzz", ""},
		{"x", ""},
	} {
		if got := Suggest(c.name, cands); got != c.want {
			t.Errorf("Suggest(%q) = %q, want %q", c.name, got, c.want)
		}
	}
	if DidYouMean("zzz", cands) != "" {
		t.Error("DidYouMean without a close candidate must be empty")
	}
}

// TestTiDBErrorFormat pins the TiDB parser's syntax error message that
// tidbErrorOffset reads; if a parser upgrade changes it, this fails.
func TestTiDBErrorFormat(t *testing.T) {
	for _, c := range []struct {
		src  string
		want int
	}{
		{"SELEC 1", 0},
		{"SELECT 1 FROM t WHERE a = 'x\n' AND\nb = = 3", len("SELECT 1 FROM t WHERE a = 'x\n' AND\nb = ")},
		{"SELECT 1 FROM", len("SELECT 1 FROM")},
	} {
		_, err := Parse(c.src)
		e, ok := err.(*Error)
		if !ok {
			t.Fatalf("%q: got %v, want an *Error", c.src, err)
		}
		if e.Offset != c.want {
			t.Errorf("%q: offset %d, want %d\n%v", c.src, e.Offset, c.want, e)
		}
	}
}
