package state

import (
	"bytes"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
)

// A backup holds the last commit, not what was written after it nor what
// was spilled; restored, it opens at that commit.
func TestBackupRestore(t *testing.T) {
	dir := t.TempDir()
	// A small cache, so that the uncommitted epoch spills.
	db := openTest(t, filepath.Join(dir, "a"), Options{CacheBytes: 16 << 10})
	s := mustStore(t, db, 7, StoreOptions{})
	for i := range 1000 {
		put(t, s, fmt.Sprintf("k%04d", i), fmt.Sprintf("v%d", i))
	}
	if err := db.Commit(3, []byte("meta-3")); err != nil {
		t.Fatal(err)
	}
	del(t, s, "k0001")
	for i := range 2000 {
		put(t, s, fmt.Sprintf("k%04d", i), "later")
	}
	var buf bytes.Buffer
	epoch, meta, err := db.Backup(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if epoch != 3 || string(meta) != "meta-3" {
		t.Fatalf("backup of epoch %d meta %q, want 3 meta-3", epoch, meta)
	}
	// The database goes on after a backup.
	if err := db.Commit(4, []byte("meta-4")); err != nil {
		t.Fatal(err)
	}
	db.Close()

	to := filepath.Join(dir, "b")
	if err := Restore(to, bytes.NewReader(buf.Bytes()), Options{}); err != nil {
		t.Fatal(err)
	}
	r := openTest(t, to, Options{})
	defer r.Close()
	if e, m := r.LastCommit(); e != 3 || string(m) != "meta-3" {
		t.Fatalf("restored at epoch %d meta %q, want 3 meta-3", e, m)
	}
	rs := mustStore(t, r, 7, StoreOptions{})
	for i := range 2000 {
		k := fmt.Sprintf("k%04d", i)
		v, ok := get(t, rs, k)
		want, wantOK := fmt.Sprintf("v%d", i), i < 1000
		if ok != wantOK || (ok && v != want) {
			t.Fatalf("restored %s = %q, %v; want %q, %v", k, v, ok, want, wantOK)
		}
	}
	if err := Restore(to, bytes.NewReader(buf.Bytes()), Options{}); err == nil || !strings.Contains(err.Error(), "not empty") {
		t.Fatalf("restore into a database: %v", err)
	}
}
