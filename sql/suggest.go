package sql

import (
	"fmt"

	"github.com/sluice-sql/sluice/internal/suggest"
)

// Suggest returns the candidate closest to name by edit distance, compared
// case-insensitively, or "" when none is close enough to be a likely typo
// (see suggest.Closest).
func Suggest(name string, candidates []string) string {
	return suggest.Closest(name, candidates)
}

// DidYouMean returns the hint `did you mean "x"?` for Suggest's answer, or
// "" when there is none.
func DidYouMean(name string, candidates []string) string {
	if s := Suggest(name, candidates); s != "" {
		return fmt.Sprintf("did you mean %q?", s)
	}
	return ""
}
