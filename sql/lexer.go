package sql

import (
	"strings"
	"unicode/utf8"
)

// tokenKind classifies a token of the dialect tokenizer.
type tokenKind uint8

const (
	tokIdent       tokenKind = iota // a bare word: identifier or keyword
	tokQuotedIdent                  // "..." or `...`
	tokString                       // '...'
	tokNumber                       // 12, 1.5, .5e3
	tokPunct                        // any other single byte (or rune)
	tokComment                      // -- ... or /* ... */
)

// token is one lexeme. pos and end are byte offsets into the whole input.
type token struct {
	kind     tokenKind
	pos, end int
	text     string // the raw text, quotes included
}

// is reports whether t is the bare word w, case-insensitively.
func (t token) is(w string) bool {
	return t.kind == tokIdent && strings.EqualFold(t.text, w)
}

// isPunct reports whether t is the punctuation p.
func (t token) isPunct(p string) bool {
	return t.kind == tokPunct && t.text == p
}

// name returns the identifier t names: a bare word as written, a quoted
// identifier without its quotes and with doubled quotes undone.
func (t token) name() string {
	if t.kind != tokQuotedIdent {
		return t.text
	}
	q := t.text[:1]
	return strings.ReplaceAll(t.text[1:len(t.text)-1], q+q, q)
}

// stringValue returns the value of a '...' literal.
func (t token) stringValue() string {
	return strings.ReplaceAll(t.text[1:len(t.text)-1], "''", "'")
}

// tokenize splits src[from:to] into tokens, comments included. src is the
// whole input so that an error can point into it. It fails only on an
// unterminated string, quoted identifier or block comment.
//
// The rules follow Flink SQL rather than MySQL: a backslash does not escape,
// "--" starts a comment with or without a following space, and '#' is not a
// comment.
func tokenize(src string, from, to int) ([]token, error) {
	var toks []token
	i := from
	for i < to {
		c := src[i]
		start := i
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v':
			i++
			continue
		case c == '-' && i+1 < to && src[i+1] == '-':
			for i < to && src[i] != '\n' {
				i++
			}
			toks = append(toks, token{tokComment, start, i, src[start:i]})
			continue
		case c == '/' && i+1 < to && src[i+1] == '*':
			j := strings.Index(src[i+2:to], "*/")
			if j < 0 {
				return nil, NewError(src, start, "unterminated comment")
			}
			i += 2 + j + 2
			toks = append(toks, token{tokComment, start, i, src[start:i]})
			continue
		case c == '\'' || c == '"' || c == '`':
			end, ok := scanQuoted(src, i, to)
			if !ok {
				msg := "unterminated string literal"
				if c != '\'' {
					msg = "unterminated quoted identifier"
				}
				return nil, NewError(src, start, msg)
			}
			kind := tokString
			if c != '\'' {
				kind = tokQuotedIdent
			}
			i = end
			toks = append(toks, token{kind, start, i, src[start:i]})
			continue
		case isDigit(c) || (c == '.' && i+1 < to && isDigit(src[i+1])):
			i = scanNumber(src, i, to)
			toks = append(toks, token{tokNumber, start, i, src[start:i]})
			continue
		case isIdentStart(c):
			for i < to && isIdentPart(src[i]) {
				i++
			}
			toks = append(toks, token{tokIdent, start, i, src[start:i]})
			continue
		}
		_, n := utf8.DecodeRuneInString(src[i:to])
		i += n
		toks = append(toks, token{tokPunct, start, i, src[start:i]})
	}
	return toks, nil
}

// scanQuoted returns the end of the quoted lexeme starting at src[i]; a
// doubled quote inside is an escaped quote.
func scanQuoted(src string, i, to int) (int, bool) {
	q := src[i]
	for j := i + 1; j < to; j++ {
		if src[j] != q {
			continue
		}
		if j+1 < to && src[j+1] == q {
			j++
			continue
		}
		return j + 1, true
	}
	return to, false
}

func scanNumber(src string, i, to int) int {
	for i < to && isDigit(src[i]) {
		i++
	}
	if i < to && src[i] == '.' {
		i++
		for i < to && isDigit(src[i]) {
			i++
		}
	}
	if i < to && (src[i] == 'e' || src[i] == 'E') {
		j := i + 1
		if j < to && (src[j] == '+' || src[j] == '-') {
			j++
		}
		if j < to && isDigit(src[j]) {
			i = j
			for i < to && isDigit(src[i]) {
				i++
			}
		}
	}
	return i
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// isIdentStart accepts any byte of a multi-byte rune so that identifiers in
// other scripts stay one token.
func isIdentStart(c byte) bool {
	return c == '_' || c == '$' || ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z') || c >= utf8.RuneSelf
}

func isIdentPart(c byte) bool { return isIdentStart(c) || isDigit(c) }

// significant returns toks without comments.
func significant(toks []token) []token {
	out := make([]token, 0, len(toks))
	for _, t := range toks {
		if t.kind != tokComment {
			out = append(out, t)
		}
	}
	return out
}
