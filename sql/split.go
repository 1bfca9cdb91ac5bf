package sql

import "strings"

// Piece is one statement of a script as the user wrote it, without its
// terminating semicolon and without surrounding whitespace.
type Piece struct {
	// Text is the statement's text, a substring of the input.
	Text string
	// Offset is the byte offset of Text in the input.
	Offset int
}

// End returns the byte offset just past the piece in the input.
func (p Piece) End() int { return p.Offset + len(p.Text) }

// Split splits text into statements at each semicolon that is outside a
// string literal, a quoted identifier and a comment. A piece holding only
// whitespace and comments is dropped. An unterminated string, quoted
// identifier or block comment is an *Error pointing at where it starts.
func Split(text string) ([]Piece, error) {
	toks, err := tokenize(text, 0, len(text))
	if err != nil {
		return nil, err
	}
	var pieces []Piece
	start, content := 0, false
	flush := func(end int) {
		if content {
			pieces = append(pieces, trimPiece(text, start, end))
		}
	}
	for _, t := range toks {
		switch {
		case t.isPunct(";"):
			flush(t.pos)
			start, content = t.end, false
		case t.kind != tokComment:
			content = true
		}
	}
	flush(len(text))
	return pieces, nil
}

func trimPiece(text string, start, end int) Piece {
	s := text[start:end]
	trimmed := strings.TrimLeft(s, " \t\r\n\f\v")
	start += len(s) - len(trimmed)
	return Piece{Text: strings.TrimRight(trimmed, " \t\r\n\f\v"), Offset: start}
}
