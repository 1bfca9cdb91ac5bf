package sql

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Error is the one error type of Sluice's SQL front end: a message about a
// position in the user's text. It prints like CEL's issues:
//
//	ERROR: line 3:17: unknown column "pricee" (did you mean "price"?)
//	 | SELECT auction, pricee FROM bids
//	 | ................^
type Error struct {
	// Offset is the byte offset of the error in the source.
	Offset int
	// Line and Column are 1-based; Column counts runes, not bytes.
	Line, Column int
	// Msg says what is wrong, in lowercase, without position.
	Msg string
	// Hint, when not empty, is printed in parentheses after Msg, for
	// example `did you mean "price"?`.
	Hint string
	// SourceLine is the line of the source that holds Offset, without its
	// line break.
	SourceLine string
}

// NewError returns an Error at byte offset offset of source. An offset past
// the end of source points just after its last character.
func NewError(source string, offset int, msg string) *Error {
	offset = max(0, min(offset, len(source)))
	lineStart := strings.LastIndexByte(source[:offset], '\n') + 1
	lineEnd := strings.IndexByte(source[offset:], '\n')
	if lineEnd < 0 {
		lineEnd = len(source)
	} else {
		lineEnd += offset
	}
	return &Error{
		Offset:     offset,
		Line:       strings.Count(source[:offset], "\n") + 1,
		Column:     utf8.RuneCountInString(source[lineStart:offset]) + 1,
		Msg:        msg,
		SourceLine: strings.TrimSuffix(source[lineStart:lineEnd], "\r"),
	}
}

// Errorf is NewError with a formatted message.
func Errorf(source string, offset int, format string, args ...any) *Error {
	return NewError(source, offset, fmt.Sprintf(format, args...))
}

// WithHint sets the hint and returns e.
func (e *Error) WithHint(hint string) *Error {
	e.Hint = hint
	return e
}

// Error returns the message with its position, the source line and a caret
// under the column. Tabs before the column are repeated in the caret line so
// the caret stays under its character.
func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "ERROR: line %d:%d: %s", e.Line, e.Column, e.Msg)
	if e.Hint != "" {
		fmt.Fprintf(&b, " (%s)", e.Hint)
	}
	b.WriteString("\n | ")
	b.WriteString(e.SourceLine)
	b.WriteString("\n | ")
	col := 1
	for _, r := range e.SourceLine {
		if col >= e.Column {
			break
		}
		if r == '\t' {
			b.WriteByte('\t')
		} else {
			b.WriteByte('.')
		}
		col++
	}
	for ; col < e.Column; col++ {
		b.WriteByte('.')
	}
	b.WriteByte('^')
	return b.String()
}
