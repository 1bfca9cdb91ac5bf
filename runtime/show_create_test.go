package runtime

import (
	"context"
	"reflect"
	"strings"
	"testing"
)

// TestShowCreateTableAfterRestart checks that a table replayed from the
// catalog topic, whose text the new Engine never saw, is shown as a
// statement that declares the same table.
func TestShowCreateTableAfterRestart(t *testing.T) {
	r := newRestartable(t)
	r.exec(catalogScript)
	if _, err := r.e.Exec(context.Background(), "SHOW CREATE TABLE gone"); err == nil || !strings.Contains(err.Error(), `unknown table "gone"`) {
		t.Fatalf("SHOW CREATE TABLE of a dropped table: %v", err)
	}
	before := map[string]string{}
	for _, name := range []string{"bids", "people"} {
		before[name] = r.exec("SHOW CREATE TABLE " + name)[0].Rows[0][0].(string)
	}
	if !strings.Contains(before["bids"], "INTERVAL '4' SECOND)\nWITH") {
		t.Fatalf("SHOW CREATE TABLE bids is not the text as written:\n%s", before["bids"])
	}
	r.restart()
	for name := range before {
		want := r.lookup(name)
		shown := r.exec("SHOW CREATE TABLE " + name)[0].Rows[0][0].(string)
		r.exec("DROP TABLE " + name)
		r.exec(shown)
		if got := r.lookup(name); !reflect.DeepEqual(got, want) {
			t.Errorf("SHOW CREATE TABLE %s after restart:\n%s\ndeclares %+v\nwant %+v", name, shown, got, want)
		}
	}
}
