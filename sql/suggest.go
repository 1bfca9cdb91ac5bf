package sql

import (
	"fmt"
	"strings"
)

// Suggest returns the candidate closest to name by edit distance, compared
// case-insensitively, or "" when none is close enough to be a likely typo:
// the distance must be at most a third of the name's length (and at least
// one edit is always allowed). Ties go to the earlier candidate, so the
// result is deterministic.
func Suggest(name string, candidates []string) string {
	n := []rune(strings.ToLower(name))
	limit := max(1, len(n)/3)
	best, bestDist := "", limit+1
	for _, c := range candidates {
		if d := editDistance(n, []rune(strings.ToLower(c))); d < bestDist {
			best, bestDist = c, d
		}
	}
	return best
}

// DidYouMean returns the hint `did you mean "x"?` for Suggest's answer, or
// "" when there is none.
func DidYouMean(name string, candidates []string) string {
	if s := Suggest(name, candidates); s != "" {
		return fmt.Sprintf("did you mean %q?", s)
	}
	return ""
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b []rune) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
