// Package suggest finds the likely intended name for a misspelt one, for
// "did you mean" hints in every error that names something unknown: SQL
// identifiers, topic config keys, connector and format options. It is a
// leaf package.
package suggest

import "strings"

// Closest returns the candidate closest to name by edit distance, compared
// case-insensitively, or "" when none is close enough to be a likely typo:
// the distance must be at most a third of the name's length (and at least
// one edit is always allowed). Ties go to the earlier candidate, so the
// result is deterministic.
func Closest(name string, candidates []string) string {
	n := []rune(strings.ToLower(name))
	limit := max(1, len(n)/3)
	best, bestDist := "", limit+1
	for _, c := range candidates {
		if d := Distance(n, []rune(strings.ToLower(c))); d < bestDist {
			best, bestDist = c, d
		}
	}
	return best
}

// Distance is the Levenshtein distance between a and b.
func Distance(a, b []rune) int {
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
