package chaos_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
)

// diffRecords compares a topic's records, as read, with the failure-free
// run's, and returns "" when they are equal, record for record and in
// order; otherwise it says how they differ: the first differing record,
// and the records in excess (duplicates) and missing (loss), counted as
// multisets, each with the first few in the order they come.
func diffRecords(got, want []string) string {
	first := -1
	for i := range max(len(got), len(want)) {
		if i >= len(got) || i >= len(want) || got[i] != want[i] {
			first = i
			break
		}
	}
	if first < 0 {
		return ""
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%d records, the failure-free run has %d\n", len(got), len(want))
	fmt.Fprintf(&b, "first difference at record %d:\n", first)
	fmt.Fprintf(&b, "  got:  %s\n", recordAt(got, first))
	fmt.Fprintf(&b, "  want: %s\n", recordAt(want, first))
	if first > 0 {
		fmt.Fprintf(&b, "  (record %d, the last equal: %s)\n", first-1, got[first-1])
	}
	extra, missing := multisetDiff(got, want)
	fmt.Fprintf(&b, "records in excess (duplicated or wrong): %d", total(extra))
	writeExamples(&b, got, extra)
	fmt.Fprintf(&b, "records missing (lost or wrong): %d", total(missing))
	writeExamples(&b, want, missing)
	if total(extra) == 0 && total(missing) == 0 {
		b.WriteString("the same records, in another order\n")
	}
	return b.String()
}

func recordAt(recs []string, i int) string {
	if i >= len(recs) {
		return "(none: the topic ends here)"
	}
	return recs[i]
}

// multisetDiff returns how many more times each record occurs in got
// than in want (extra), and fewer (missing).
func multisetDiff(got, want []string) (extra, missing map[string]int) {
	n := map[string]int{}
	for _, r := range got {
		n[r]++
	}
	for _, r := range want {
		n[r]--
	}
	extra, missing = map[string]int{}, map[string]int{}
	for r, c := range n {
		switch {
		case c > 0:
			extra[r] = c
		case c < 0:
			missing[r] = -c
		}
	}
	return extra, missing
}

func total(m map[string]int) int {
	n := 0
	for _, c := range m {
		n += c
	}
	return n
}

// writeExamples writes the first five records of recs that are in m,
// in the order of recs, with their counts in m.
func writeExamples(b *strings.Builder, recs []string, m map[string]int) {
	b.WriteString("\n")
	seen := map[string]bool{}
	for _, r := range recs {
		if m[r] == 0 || seen[r] {
			continue
		}
		if len(seen) == 5 {
			fmt.Fprintf(b, "  ... and %d more\n", len(m)-5)
			break
		}
		seen[r] = true
		fmt.Fprintf(b, "  %s ×%d\n", r, m[r])
	}
}

// change is one record of a topic in the changelog format.
type change struct {
	Op     string          `json:"op"`
	Before json.RawMessage `json:"before"`
	After  json.RawMessage `json:"after"`
}

// checkChangelog replays a changelog topic's records, whose rows are
// keyed by the column key, and returns the first change that does not
// follow from the ones before it (an insert of a key that has a row, an
// update or delete whose before-image is not the key's row: a change
// applied twice, or one lost, shows as one), or "" when every change
// does; and the table the changes leave, each key's row by key.
func checkChangelog(recs []string, key string) (string, map[string]string) {
	table := map[string]string{}
	var problem string
	for i, rec := range recs {
		var c change
		if err := json.Unmarshal([]byte(rec), &c); err != nil {
			return fmt.Sprintf("record %d is not a change: %v: %s", i, err, rec), table
		}
		row := c.After
		if c.Op == "d" {
			row = c.Before
		}
		k, err := rowKey(row, key)
		if err != nil {
			return fmt.Sprintf("record %d: %v: %s", i, err, rec), table
		}
		cur, has := table[k]
		bad := ""
		switch c.Op {
		case "c":
			if has {
				bad = "inserts key " + k + ", which has the row " + cur
			}
		case "u", "d":
			switch before := canonical(c.Before); {
			case !has:
				bad = "changes key " + k + ", which has no row"
			case before != cur:
				bad = "has the before-image " + before + ", but key " + k + " has the row " + cur
			}
		default:
			bad = fmt.Sprintf("has the op %q", c.Op)
		}
		if bad != "" && problem == "" {
			problem = fmt.Sprintf("record %d %s: %s", i, bad, rec)
		}
		if c.Op == "d" {
			delete(table, k)
		} else {
			table[k] = canonical(c.After)
		}
	}
	return problem, table
}

// rowKey returns the value of column key in a JSON row.
func rowKey(row json.RawMessage, key string) (string, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(row, &m); err != nil || m == nil {
		return "", fmt.Errorf("the row %s is not an object", row)
	}
	v, ok := m[key]
	if !ok {
		return "", fmt.Errorf("the row %s has no column %s", row, key)
	}
	return string(v), nil
}

// canonical returns a JSON value with its object keys sorted and no
// spaces, so that equal rows compare equal as text.
func canonical(v json.RawMessage) string {
	d := json.NewDecoder(bytes.NewReader(v))
	d.UseNumber()
	var x any
	if err := d.Decode(&x); err != nil {
		return string(v)
	}
	out, err := json.Marshal(x)
	if err != nil {
		return string(v)
	}
	return string(out)
}

// diffTables says which keys two tables disagree on, "" if none.
func diffTables(got, want map[string]string) string {
	keys := map[string]bool{}
	for k := range got {
		keys[k] = true
	}
	for k := range want {
		keys[k] = true
	}
	var diffs []string
	for k := range keys {
		g, gok := got[k]
		w, wok := want[k]
		switch {
		case gok && wok && g == w:
			continue
		case !gok:
			g = "(no row)"
		case !wok:
			w = "(no row)"
		}
		diffs = append(diffs, fmt.Sprintf("  key %s: got %s, want %s", k, g, w))
	}
	if len(diffs) == 0 {
		return ""
	}
	sort.Strings(diffs)
	n := len(diffs)
	if n > 5 {
		diffs = append(diffs[:5], fmt.Sprintf("  ... and %d more", n-5))
	}
	return fmt.Sprintf("%d keys differ:\n%s\n", n, strings.Join(diffs, "\n"))
}
