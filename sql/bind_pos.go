package sql

import "strings"

// The TiDB AST keeps almost no positions (a select field's offset, little
// else), yet every binding error must point into the user's text. The
// binder therefore walks the statement's own tokens beside the AST: it
// visits the AST in source order and, at each node, finds the node's
// anchor token (a column name, an operator, a function name) at or after a
// cursor and moves the cursor past it. Since the dialect rewrites in place,
// the tokens of the user's text are where the parser saw them.
//
// The match is a search, not a parse: if the AST ever has a shape the
// binder did not foresee, an error points at the cursor (near the right
// place) rather than failing.

// locator is a cursor over the significant tokens of one statement.
type locator struct {
	toks []token
	i    int
	end  int // where the statement ends, for errors at its end
}

func newLocator(s Statement) locator {
	src := s.src()
	all, _ := tokenize(src, s.Offset, s.Offset+len(s.Text))
	return locator{toks: significant(all), end: s.Offset + len(s.Text)}
}

// pos is the position of the token at the cursor.
func (l *locator) pos() int {
	if l.i < len(l.toks) {
		return l.toks[l.i].pos
	}
	return l.end
}

// peek returns the token k places after the cursor.
func (l *locator) peek(k int) token {
	if l.i+k < len(l.toks) {
		return l.toks[l.i+k]
	}
	return token{kind: tokPunct, pos: l.end, end: l.end}
}

// seek moves the cursor to the first token at or after pos.
func (l *locator) seek(pos int) {
	l.i = 0
	for l.i < len(l.toks) && l.toks[l.i].pos < pos {
		l.i++
	}
}

// find moves the cursor past the first token at or after it for which ok
// holds and returns that token's position. When none does, the cursor
// stays and find returns its position.
func (l *locator) find(ok func(token) bool) int {
	for j := l.i; j < len(l.toks); j++ {
		if ok(l.toks[j]) {
			l.i = j + 1
			return l.toks[j].pos
		}
	}
	return l.pos()
}

// word finds any of the bare words or punctuation ws.
func (l *locator) word(ws ...string) int {
	split := false // matched a two-character operator spelt as two tokens
	pos := l.find(func(t token) bool {
		for _, w := range ws {
			if t.is(w) || t.isPunct(w) {
				return true
			}
			if t.kind == tokPunct && len(w) > 1 && t.text == w[:1] && l.follows(t, w[1:]) {
				split = true
				return true
			}
		}
		return false
	})
	if split {
		l.i++ // the operator's second character
	}
	return pos
}

// follows reports whether the tokens right after t spell rest (for
// two-character operators, which the tokenizer splits: <=, >=, <>, !=).
func (l *locator) follows(t token, rest string) bool {
	for j := range l.toks {
		if l.toks[j].pos == t.pos && j+1 < len(l.toks) {
			n := l.toks[j+1]
			return n.pos == t.end && n.text == rest
		}
	}
	return false
}

// skip consumes the token at the cursor if it is the punctuation or word w.
func (l *locator) skip(w string) {
	if t := l.peek(0); t.isPunct(w) || t.is(w) {
		l.i++
	}
}

// name finds an identifier token naming name.
func (l *locator) name(name string) int {
	return l.find(func(t token) bool {
		return (t.kind == tokIdent || t.kind == tokQuotedIdent) && strings.EqualFold(t.name(), name)
	})
}

// topLevel returns the position of the first bare word w at parenthesis
// depth 0 at or after from, or -1.
func (l *locator) topLevel(from int, w string) int {
	depth := 0
	for _, t := range l.toks {
		switch {
		case t.isPunct("("):
			depth++
		case t.isPunct(")"):
			depth--
		case depth == 0 && t.pos >= from && t.is(w):
			return t.pos
		}
	}
	return -1
}

// src is the whole input s was parsed from.
func (s Statement) src() string {
	if s.source != "" {
		return s.source
	}
	// A Statement built by hand: pad so offsets still hold (lines are
	// then counted from the statement).
	return strings.Repeat(" ", s.Offset) + s.Text
}

// errorf returns an *Error at pos, a byte offset into the input.
func (s Statement) errorf(pos int, format string, args ...any) *Error {
	return Errorf(s.src(), pos, format, args...)
}

// span is a stretch [lo, hi) of the user's text: one SELECT's.
type span struct{ lo, hi int }

// topLevelIn returns the position of the first bare word w in sp outside
// any parenthesis opened in sp, or -1.
func (l *locator) topLevelIn(sp span, w string) int {
	depth := 0
	for _, t := range l.toks {
		if t.pos < sp.lo {
			continue
		}
		if t.pos >= sp.hi {
			break
		}
		switch {
		case t.isPunct("("):
			depth++
		case t.isPunct(")"):
			depth--
		case depth == 0 && t.is(w):
			return t.pos
		}
	}
	return -1
}

// lastBefore returns the position of the last bare word among ws that
// starts before pos, or -1.
func (l *locator) lastBefore(pos int, ws ...string) int {
	found := -1
	for _, t := range l.toks {
		if t.pos >= pos {
			break
		}
		for _, w := range ws {
			if t.is(w) {
				found = t.pos
			}
		}
	}
	return found
}

// spanEnd returns where the query starting at lo ends: at the parenthesis
// that closes around it, at a set operator outside its parentheses, or at
// the end of the statement.
func (l *locator) spanEnd(lo int) int {
	depth := 0
	for _, t := range l.toks {
		if t.pos <= lo {
			continue
		}
		switch {
		case t.isPunct("("):
			depth++
		case t.isPunct(")"):
			if depth == 0 {
				return t.pos
			}
			depth--
		case depth == 0 && (t.is("UNION") || t.is("EXCEPT") || t.is("INTERSECT")):
			return t.pos
		}
	}
	return l.end
}

// prevEnd is where the token before the cursor ends: the end of what was
// just bound.
func (l *locator) prevEnd() int {
	if l.i == 0 || l.i > len(l.toks) {
		return l.pos()
	}
	return l.toks[l.i-1].end
}
