package vfs

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path/filepath"
	"slices"
	"sync"
	"testing"
)

// forEachFS runs test against every implementation, each time with a new
// FS and a fresh, empty directory in it to work under.
func forEachFS(t *testing.T, test func(t *testing.T, fsys FS, dir string)) {
	t.Run("os", func(t *testing.T) {
		test(t, Default(), t.TempDir())
	})
	t.Run("mem", func(t *testing.T) {
		m := NewMem()
		mustMkdirAll(t, m, "/data")
		test(t, m, "/data")
	})
}

func TestFS(t *testing.T) {
	tests := []struct {
		name string
		run  func(t *testing.T, fsys FS, dir string)
	}{
		{"create write read", func(t *testing.T, fsys FS, dir string) {
			name := filepath.Join(dir, "f")
			f := mustCreate(t, fsys, name)
			mustWrite(t, f, "hello")
			mustWrite(t, f, ", world")
			if got := f.Name(); got != name {
				t.Errorf("Name() = %q, want %q", got, name)
			}
			mustClose(t, f)
			if got := readFile(t, fsys, name); got != "hello, world" {
				t.Errorf("contents = %q, want %q", got, "hello, world")
			}
		}},
		{"read in pieces ends with EOF", func(t *testing.T, fsys FS, dir string) {
			name := filepath.Join(dir, "f")
			writeFile(t, fsys, name, "abcdefg")
			f := mustOpen(t, fsys, name)
			defer mustClose(t, f)
			buf := make([]byte, 3)
			var got []string
			for {
				n, err := f.Read(buf)
				if n > 0 {
					got = append(got, string(buf[:n]))
				}
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatalf("Read: %v", err)
				}
			}
			if want := []string{"abc", "def", "g"}; !slices.Equal(got, want) {
				t.Errorf("reads = %q, want %q", got, want)
			}
		}},
		{"read at", func(t *testing.T, fsys FS, dir string) {
			name := filepath.Join(dir, "f")
			writeFile(t, fsys, name, "0123456789")
			f := mustOpen(t, fsys, name)
			defer mustClose(t, f)
			for _, tc := range []struct {
				off     int64
				size    int
				want    string
				wantEOF bool
			}{
				{off: 0, size: 4, want: "0123"},
				{off: 6, size: 4, want: "6789"},
				{off: 8, size: 4, want: "89", wantEOF: true},
				{off: 10, size: 4, want: "", wantEOF: true},
				{off: 20, size: 1, want: "", wantEOF: true},
			} {
				buf := make([]byte, tc.size)
				n, err := f.ReadAt(buf, tc.off)
				if got := string(buf[:n]); got != tc.want {
					t.Errorf("ReadAt(%d bytes, %d) = %q, want %q", tc.size, tc.off, got, tc.want)
				}
				if (err == io.EOF) != tc.wantEOF || (err != nil && err != io.EOF) {
					t.Errorf("ReadAt(%d bytes, %d) error = %v, want EOF %t", tc.size, tc.off, err, tc.wantEOF)
				}
			}
			if _, err := f.ReadAt(make([]byte, 1), -1); err == nil {
				t.Error("ReadAt at a negative offset succeeded")
			}
		}},
		{"create truncates an existing file", func(t *testing.T, fsys FS, dir string) {
			name := filepath.Join(dir, "f")
			writeFile(t, fsys, name, "old contents")
			f := mustCreate(t, fsys, name)
			mustWrite(t, f, "new")
			mustClose(t, f)
			if got := readFile(t, fsys, name); got != "new" {
				t.Errorf("contents = %q, want %q", got, "new")
			}
		}},
		{"open read write appends", func(t *testing.T, fsys FS, dir string) {
			name := filepath.Join(dir, "f")
			writeFile(t, fsys, name, "abc")
			f, err := fsys.OpenReadWrite(name)
			if err != nil {
				t.Fatalf("OpenReadWrite: %v", err)
			}
			mustWrite(t, f, "de")
			mustWrite(t, f, "f")
			buf := make([]byte, 6)
			if n, err := f.ReadAt(buf, 0); err != nil || string(buf[:n]) != "abcdef" {
				t.Errorf("ReadAt = %q, %v; want %q", buf[:n], err, "abcdef")
			}
			mustClose(t, f)
			if got := readFile(t, fsys, name); got != "abcdef" {
				t.Errorf("contents = %q, want %q", got, "abcdef")
			}
		}},
		{"truncate and size", func(t *testing.T, fsys FS, dir string) {
			name := filepath.Join(dir, "f")
			f := mustCreate(t, fsys, name)
			defer mustClose(t, f)
			mustWrite(t, f, "0123456789")
			assertSize(t, f, 10)
			if err := f.Truncate(4); err != nil {
				t.Fatalf("Truncate(4): %v", err)
			}
			assertSize(t, f, 4)
			if err := f.Truncate(6); err != nil {
				t.Fatalf("Truncate(6): %v", err)
			}
			assertSize(t, f, 6)
			// Truncate leaves the write offset at 10: the next write
			// leaves a zero-filled hole, and growing over the old bytes
			// must not bring them back.
			mustWrite(t, f, "x")
			assertSize(t, f, 11)
			buf := make([]byte, 11)
			if _, err := f.ReadAt(buf, 0); err != nil {
				t.Fatalf("ReadAt: %v", err)
			}
			if want := "0123\x00\x00\x00\x00\x00\x00x"; string(buf) != want {
				t.Errorf("contents = %q, want %q", buf, want)
			}
			if info, err := fsys.Stat(name); err != nil || info.Size() != 11 {
				t.Errorf("Stat = %v, %v; want size 11", info, err)
			}
		}},
		{"read-only file refuses writes", func(t *testing.T, fsys FS, dir string) {
			name := filepath.Join(dir, "f")
			writeFile(t, fsys, name, "abc")
			f := mustOpen(t, fsys, name)
			defer mustClose(t, f)
			if _, err := f.Write([]byte("x")); err == nil {
				t.Error("Write on a read-only file succeeded")
			}
			if err := f.Truncate(0); err == nil {
				t.Error("Truncate on a read-only file succeeded")
			}
			if got := readFile(t, fsys, name); got != "abc" {
				t.Errorf("contents = %q, want %q", got, "abc")
			}
		}},
		{"closed file", func(t *testing.T, fsys FS, dir string) {
			f := mustCreate(t, fsys, filepath.Join(dir, "f"))
			mustClose(t, f)
			if _, err := f.Write([]byte("x")); !errors.Is(err, fs.ErrClosed) {
				t.Errorf("Write after Close = %v, want fs.ErrClosed", err)
			}
			if _, err := f.ReadAt(make([]byte, 1), 0); !errors.Is(err, fs.ErrClosed) {
				t.Errorf("ReadAt after Close = %v, want fs.ErrClosed", err)
			}
			if err := f.Sync(); !errors.Is(err, fs.ErrClosed) {
				t.Errorf("Sync after Close = %v, want fs.ErrClosed", err)
			}
			if err := f.Close(); !errors.Is(err, fs.ErrClosed) {
				t.Errorf("second Close = %v, want fs.ErrClosed", err)
			}
		}},
		{"missing names", func(t *testing.T, fsys FS, dir string) {
			missing := filepath.Join(dir, "missing")
			checks := map[string]error{}
			_, checks["Open"] = fsys.Open(missing)
			_, checks["OpenReadWrite"] = fsys.OpenReadWrite(missing)
			_, checks["Stat"] = fsys.Stat(missing)
			_, checks["ReadDir"] = fsys.ReadDir(missing)
			_, checks["Create in missing dir"] = fsys.Create(filepath.Join(missing, "f"))
			_, checks["Lock in missing dir"] = fsys.Lock(filepath.Join(missing, "LOCK"))
			checks["Remove"] = fsys.Remove(missing)
			checks["Rename"] = fsys.Rename(missing, filepath.Join(dir, "other"))
			checks["SyncDir"] = fsys.SyncDir(missing)
			for op, err := range checks {
				if !errors.Is(err, fs.ErrNotExist) {
					t.Errorf("%s = %v, want fs.ErrNotExist", op, err)
				}
				var pathErr *fs.PathError
				if err != nil && op != "Rename" && !errors.As(err, &pathErr) {
					t.Errorf("%s = %T, want *fs.PathError", op, err)
				}
			}
		}},
		{"rename replaces", func(t *testing.T, fsys FS, dir string) {
			a, b := filepath.Join(dir, "a"), filepath.Join(dir, "b")
			writeFile(t, fsys, a, "new")
			writeFile(t, fsys, b, "old")
			if err := fsys.Rename(a, b); err != nil {
				t.Fatalf("Rename: %v", err)
			}
			if got := readFile(t, fsys, b); got != "new" {
				t.Errorf("contents of b = %q, want %q", got, "new")
			}
			if _, err := fsys.Stat(a); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("Stat(a) = %v, want fs.ErrNotExist", err)
			}
			assertNames(t, fsys, dir, "b")
		}},
		{"rename keeps open file", func(t *testing.T, fsys FS, dir string) {
			a, b := filepath.Join(dir, "a"), filepath.Join(dir, "b")
			f := mustCreate(t, fsys, a)
			mustWrite(t, f, "one")
			if err := fsys.Rename(a, b); err != nil {
				t.Fatalf("Rename: %v", err)
			}
			mustWrite(t, f, "two")
			mustClose(t, f)
			if got := readFile(t, fsys, b); got != "onetwo" {
				t.Errorf("contents = %q, want %q", got, "onetwo")
			}
		}},
		{"rename directory", func(t *testing.T, fsys FS, dir string) {
			from, to := filepath.Join(dir, "from"), filepath.Join(dir, "to")
			mustMkdirAll(t, fsys, from)
			writeFile(t, fsys, filepath.Join(from, "f"), "x")
			if err := fsys.Rename(from, to); err != nil {
				t.Fatalf("Rename: %v", err)
			}
			if got := readFile(t, fsys, filepath.Join(to, "f")); got != "x" {
				t.Errorf("contents = %q, want %q", got, "x")
			}
			if err := fsys.Rename(to, filepath.Join(to, "below")); err == nil {
				t.Error("Rename of a directory below itself succeeded")
			}
		}},
		{"remove", func(t *testing.T, fsys FS, dir string) {
			name := filepath.Join(dir, "f")
			writeFile(t, fsys, name, "x")
			if err := fsys.Remove(name); err != nil {
				t.Fatalf("Remove(file): %v", err)
			}
			if _, err := fsys.Stat(name); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("Stat after Remove = %v, want fs.ErrNotExist", err)
			}
			sub := filepath.Join(dir, "sub")
			mustMkdirAll(t, fsys, sub)
			writeFile(t, fsys, filepath.Join(sub, "f"), "x")
			// ENOTEMPTY classifies as fs.ErrExist, for os as for mem.
			if err := fsys.Remove(sub); !errors.Is(err, fs.ErrExist) {
				t.Errorf("Remove(non-empty dir) = %v, want fs.ErrExist", err)
			}
			if err := fsys.Remove(filepath.Join(sub, "f")); err != nil {
				t.Fatalf("Remove(file in sub): %v", err)
			}
			if err := fsys.Remove(sub); err != nil {
				t.Errorf("Remove(empty dir): %v", err)
			}
			assertNames(t, fsys, dir)
		}},
		{"remove all", func(t *testing.T, fsys FS, dir string) {
			top := filepath.Join(dir, "top")
			mustMkdirAll(t, fsys, filepath.Join(top, "a", "b"))
			writeFile(t, fsys, filepath.Join(top, "a", "b", "f"), "x")
			writeFile(t, fsys, filepath.Join(top, "g"), "y")
			writeFile(t, fsys, filepath.Join(dir, "keep"), "z")
			if err := fsys.RemoveAll(top); err != nil {
				t.Fatalf("RemoveAll: %v", err)
			}
			if _, err := fsys.Stat(top); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("Stat after RemoveAll = %v, want fs.ErrNotExist", err)
			}
			assertNames(t, fsys, dir, "keep")
			if err := fsys.RemoveAll(top); err != nil {
				t.Errorf("RemoveAll of a missing path = %v, want nil", err)
			}
			if err := fsys.RemoveAll(filepath.Join(top, "x", "y")); err != nil {
				t.Errorf("RemoveAll below a missing path = %v, want nil", err)
			}
		}},
		{"mkdir all", func(t *testing.T, fsys FS, dir string) {
			deep := filepath.Join(dir, "a", "b", "c")
			mustMkdirAll(t, fsys, deep)
			mustMkdirAll(t, fsys, deep) // existing directories are fine
			info, err := fsys.Stat(deep)
			if err != nil || !info.IsDir() {
				t.Fatalf("Stat = %v, %v; want a directory", info, err)
			}
			file := filepath.Join(dir, "file")
			writeFile(t, fsys, file, "x")
			if err := fsys.MkdirAll(filepath.Join(file, "sub"), 0o755); err == nil {
				t.Error("MkdirAll below a file succeeded")
			}
			if err := fsys.MkdirAll(file, 0o755); err == nil {
				t.Error("MkdirAll over a file succeeded")
			}
		}},
		{"read dir is sorted", func(t *testing.T, fsys FS, dir string) {
			for _, name := range []string{"c", "a", "B", "b10", "b2"} {
				writeFile(t, fsys, filepath.Join(dir, name), "")
			}
			mustMkdirAll(t, fsys, filepath.Join(dir, "d"))
			assertNames(t, fsys, dir, "B", "a", "b10", "b2", "c", "d")
			if _, err := fsys.ReadDir(filepath.Join(dir, "a")); err == nil {
				t.Error("ReadDir of a file succeeded")
			}
		}},
		{"stat", func(t *testing.T, fsys FS, dir string) {
			name := filepath.Join(dir, "f")
			writeFile(t, fsys, name, "12345")
			info, err := fsys.Stat(name)
			if err != nil {
				t.Fatalf("Stat(file): %v", err)
			}
			if info.Name() != "f" || info.Size() != 5 || info.IsDir() || !info.Mode().IsRegular() {
				t.Errorf("Stat(file) = name %q size %d dir %t mode %v; want f, 5, false, regular",
					info.Name(), info.Size(), info.IsDir(), info.Mode())
			}
			sub := filepath.Join(dir, "sub")
			mustMkdirAll(t, fsys, sub)
			info, err = fsys.Stat(sub)
			if err != nil {
				t.Fatalf("Stat(dir): %v", err)
			}
			if info.Name() != "sub" || !info.IsDir() || !info.Mode().IsDir() {
				t.Errorf("Stat(dir) = name %q dir %t mode %v; want sub, true, dir",
					info.Name(), info.IsDir(), info.Mode())
			}
		}},
		{"sync", func(t *testing.T, fsys FS, dir string) {
			name := filepath.Join(dir, "f")
			f := mustCreate(t, fsys, name)
			mustWrite(t, f, "x")
			if err := f.Sync(); err != nil {
				t.Errorf("Sync: %v", err)
			}
			mustClose(t, f)
			if err := fsys.SyncDir(dir); err != nil {
				t.Errorf("SyncDir: %v", err)
			}
		}},
		{"lock excludes until closed", func(t *testing.T, fsys FS, dir string) {
			name := filepath.Join(dir, "LOCK")
			first, err := fsys.Lock(name)
			if err != nil {
				t.Fatalf("first Lock: %v", err)
			}
			if info, err := fsys.Stat(name); err != nil || info.IsDir() {
				t.Errorf("Stat of lock file = %v, %v; want a file", info, err)
			}
			if c, err := fsys.Lock(name); !errors.Is(err, ErrLocked) {
				t.Errorf("second Lock = %v, want ErrLocked", err)
				if c != nil {
					_ = c.Close()
				}
			}
			other, err := fsys.Lock(filepath.Join(dir, "OTHER"))
			if err != nil {
				t.Errorf("Lock of another name: %v", err)
			} else if err := other.Close(); err != nil {
				t.Errorf("Close of other lock: %v", err)
			}
			if err := first.Close(); err != nil {
				t.Fatalf("Close: %v", err)
			}
			if err := first.Close(); !errors.Is(err, fs.ErrClosed) {
				t.Errorf("second Close = %v, want fs.ErrClosed", err)
			}
			again, err := fsys.Lock(name)
			if err != nil {
				t.Fatalf("Lock after release: %v", err)
			}
			if err := again.Close(); err != nil {
				t.Errorf("Close: %v", err)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			forEachFS(t, tc.run)
		})
	}
}

// TestConcurrentReadAtWrite runs readers against a file that a writer is
// appending to; under -race it checks that the two never race, and it
// checks that every byte a reader sees is the byte written there.
func TestConcurrentReadAtWrite(t *testing.T) {
	const (
		chunk   = 512
		chunks  = 200
		readers = 4
	)
	pattern := func(off int64) byte { return byte(off % 251) }
	forEachFS(t, func(t *testing.T, fsys FS, dir string) {
		name := filepath.Join(dir, "f")
		w := mustCreate(t, fsys, name)
		defer mustClose(t, w)
		r := mustOpen(t, fsys, name)
		defer mustClose(t, r)

		done := make(chan struct{})
		errs := make(chan error, readers+1)
		var wg sync.WaitGroup
		wg.Go(func() {
			defer close(done)
			buf := make([]byte, chunk)
			for i := range chunks {
				for j := range buf {
					buf[j] = pattern(int64(i*chunk + j))
				}
				if _, err := w.Write(buf); err != nil {
					errs <- fmt.Errorf("Write: %w", err)
					return
				}
			}
		})
		for range readers {
			wg.Go(func() {
				buf := make([]byte, chunk)
				var off int64
				for {
					select {
					case <-done:
						return
					default:
					}
					n, err := r.ReadAt(buf, off)
					if err != nil && err != io.EOF {
						errs <- fmt.Errorf("ReadAt: %w", err)
						return
					}
					for j := range n {
						if got, want := buf[j], pattern(off+int64(j)); got != want {
							errs <- fmt.Errorf("byte %d = %d, want %d", off+int64(j), got, want)
							return
						}
					}
					// Scan forward, wrapping to the start at the end so
					// that reads keep overlapping the writes.
					if off += int64(n); n == 0 {
						off = 0
					}
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
		assertSize(t, r, chunk*chunks)
	})
}

// TestOSFileHotPathAllocs checks that the File wrapper over the OS adds no
// allocations to Write and ReadAt.
func TestOSFileHotPathAllocs(t *testing.T) {
	f := mustCreate(t, Default(), filepath.Join(t.TempDir(), "f"))
	defer mustClose(t, f)
	buf := make([]byte, 64)
	if allocs := testing.AllocsPerRun(100, func() {
		if _, err := f.Write(buf); err != nil {
			t.Fatal(err)
		}
	}); allocs != 0 {
		t.Errorf("Write allocates %v times per call, want 0", allocs)
	}
	if allocs := testing.AllocsPerRun(100, func() {
		if _, err := f.ReadAt(buf, 0); err != nil {
			t.Fatal(err)
		}
	}); allocs != 0 {
		t.Errorf("ReadAt allocates %v times per call, want 0", allocs)
	}
}

func TestCrash(t *testing.T) {
	// durableFile returns a MemFS holding /dir/f with contents, made fully
	// durable: the data synced and every directory on the way synced.
	durableFile := func(t *testing.T, contents string) *MemFS {
		t.Helper()
		m := NewMem()
		mustMkdirAll(t, m, "/dir")
		f := mustCreate(t, m, "/dir/f")
		mustWrite(t, f, contents)
		mustSync(t, f)
		mustClose(t, f)
		mustSyncDir(t, m, "/")
		mustSyncDir(t, m, "/dir")
		return m
	}

	t.Run("synced contents survive", func(t *testing.T) {
		m := durableFile(t, "durable")
		if got := readFile(t, m.Crash(), "/dir/f"); got != "durable" {
			t.Errorf("after crash = %q, want %q", got, "durable")
		}
	})

	t.Run("unsynced writes are lost", func(t *testing.T) {
		m := durableFile(t, "synced")
		f, err := m.OpenReadWrite("/dir/f")
		if err != nil {
			t.Fatal(err)
		}
		mustWrite(t, f, "+lost")
		c := m.Crash()
		if got := readFile(t, c, "/dir/f"); got != "synced" {
			t.Errorf("after crash = %q, want %q", got, "synced")
		}
		// The receiver is untouched and still usable.
		if got := readFile(t, m, "/dir/f"); got != "synced+lost" {
			t.Errorf("receiver = %q, want %q", got, "synced+lost")
		}
		mustWrite(t, f, "+more")
		mustSync(t, f)
		mustClose(t, f)
		if got := readFile(t, m.Crash(), "/dir/f"); got != "synced+lost+more" {
			t.Errorf("after sync and crash = %q, want %q", got, "synced+lost+more")
		}
		// And the first crash shares nothing with it.
		if got := readFile(t, c, "/dir/f"); got != "synced" {
			t.Errorf("first crash after later writes = %q, want %q", got, "synced")
		}
	})

	t.Run("never synced file is empty", func(t *testing.T) {
		m := NewMem()
		f := mustCreate(t, m, "/f")
		mustWrite(t, f, "lost")
		mustClose(t, f)
		mustSyncDir(t, m, "/")
		if got := readFile(t, m.Crash(), "/f"); got != "" {
			t.Errorf("after crash = %q, want empty", got)
		}
	})

	t.Run("unsynced truncate reverts", func(t *testing.T) {
		m := durableFile(t, "0123456789")
		f, err := m.OpenReadWrite("/dir/f")
		if err != nil {
			t.Fatal(err)
		}
		if err := f.Truncate(3); err != nil {
			t.Fatal(err)
		}
		if got := readFile(t, m.Crash(), "/dir/f"); got != "0123456789" {
			t.Errorf("after crash = %q, want %q", got, "0123456789")
		}
		mustSync(t, f)
		if got := readFile(t, m.Crash(), "/dir/f"); got != "012" {
			t.Errorf("after sync and crash = %q, want %q", got, "012")
		}
	})

	t.Run("created file needs dir sync", func(t *testing.T) {
		m := durableFile(t, "x")
		f := mustCreate(t, m, "/dir/new")
		mustWrite(t, f, "data")
		mustSync(t, f) // the data, but not the name
		mustClose(t, f)
		c := m.Crash()
		if _, err := c.Stat("/dir/new"); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("Stat after crash = %v, want fs.ErrNotExist", err)
		}
		assertNames(t, c, "/dir", "f")
		mustSyncDir(t, m, "/dir")
		if got := readFile(t, m.Crash(), "/dir/new"); got != "data" {
			t.Errorf("after dir sync and crash = %q, want %q", got, "data")
		}
	})

	t.Run("rename needs dir sync", func(t *testing.T) {
		m := durableFile(t, "x")
		if err := m.Rename("/dir/f", "/dir/g"); err != nil {
			t.Fatal(err)
		}
		c := m.Crash()
		assertNames(t, c, "/dir", "f")
		if got := readFile(t, c, "/dir/f"); got != "x" {
			t.Errorf("after crash = %q, want %q", got, "x")
		}
		mustSyncDir(t, m, "/dir")
		assertNames(t, m.Crash(), "/dir", "g")
	})

	t.Run("rename replace needs dir sync", func(t *testing.T) {
		m := durableFile(t, "old")
		f := mustCreate(t, m, "/dir/tmp")
		mustWrite(t, f, "new")
		mustSync(t, f)
		mustClose(t, f)
		if err := m.Rename("/dir/tmp", "/dir/f"); err != nil {
			t.Fatal(err)
		}
		if got := readFile(t, m.Crash(), "/dir/f"); got != "old" {
			t.Errorf("after crash = %q, want %q", got, "old")
		}
		mustSyncDir(t, m, "/dir")
		c := m.Crash()
		if got := readFile(t, c, "/dir/f"); got != "new" {
			t.Errorf("after dir sync and crash = %q, want %q", got, "new")
		}
		assertNames(t, c, "/dir", "f")
	})

	t.Run("rename across directories needs both synced", func(t *testing.T) {
		m := durableFile(t, "x")
		mustMkdirAll(t, m, "/other")
		mustSyncDir(t, m, "/")
		if err := m.Rename("/dir/f", "/other/f"); err != nil {
			t.Fatal(err)
		}
		mustSyncDir(t, m, "/other")
		c := m.Crash()
		// Only the destination was synced: the file is under both names.
		assertNames(t, c, "/dir", "f")
		assertNames(t, c, "/other", "f")
		mustSyncDir(t, m, "/dir")
		c = m.Crash()
		assertNames(t, c, "/dir")
		assertNames(t, c, "/other", "f")
	})

	t.Run("remove needs dir sync", func(t *testing.T) {
		m := durableFile(t, "x")
		if err := m.Remove("/dir/f"); err != nil {
			t.Fatal(err)
		}
		if got := readFile(t, m.Crash(), "/dir/f"); got != "x" {
			t.Errorf("after crash = %q, want %q", got, "x")
		}
		mustSyncDir(t, m, "/dir")
		if _, err := m.Crash().Stat("/dir/f"); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("Stat after dir sync and crash = %v, want fs.ErrNotExist", err)
		}
	})

	t.Run("remove all needs dir sync", func(t *testing.T) {
		m := durableFile(t, "x")
		if err := m.RemoveAll("/dir"); err != nil {
			t.Fatal(err)
		}
		if got := readFile(t, m.Crash(), "/dir/f"); got != "x" {
			t.Errorf("after crash = %q, want %q", got, "x")
		}
		mustSyncDir(t, m, "/")
		assertNames(t, m.Crash(), "/")
	})

	t.Run("mkdir all needs parent sync", func(t *testing.T) {
		m := NewMem()
		mustMkdirAll(t, m, "/a/b")
		f := mustCreate(t, m, "/a/b/f")
		mustWrite(t, f, "x")
		mustSync(t, f)
		mustClose(t, f)
		mustSyncDir(t, m, "/a/b")
		if _, err := m.Crash().Stat("/a"); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("Stat(/a) after crash = %v, want fs.ErrNotExist", err)
		}
		mustSyncDir(t, m, "/")
		c := m.Crash()
		assertNames(t, c, "/a") // a is durable, but its entry b is not
		mustSyncDir(t, m, "/a")
		if got := readFile(t, m.Crash(), "/a/b/f"); got != "x" {
			t.Errorf("after syncing every parent and crash = %q, want %q", got, "x")
		}
	})

	t.Run("locks and open files are not carried over", func(t *testing.T) {
		m := durableFile(t, "x")
		l, err := m.Lock("/dir/LOCK")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		c := m.Crash()
		cl, err := c.Lock("/dir/LOCK")
		if err != nil {
			t.Fatalf("Lock after crash: %v", err)
		}
		defer cl.Close()
		if _, err := m.Lock("/dir/LOCK"); !errors.Is(err, ErrLocked) {
			t.Errorf("Lock on receiver after crash = %v, want ErrLocked", err)
		}
		// The crashed FS is fully usable.
		f := mustCreate(t, c, "/dir/g")
		mustWrite(t, f, "y")
		mustClose(t, f)
		assertNames(t, c, "/dir", "LOCK", "f", "g")
		if _, err := m.Stat("/dir/g"); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("file created after crash appears in receiver: %v", err)
		}
	})
}

func mustCreate(t *testing.T, fsys FS, name string) File {
	t.Helper()
	f, err := fsys.Create(name)
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	return f
}

func mustOpen(t *testing.T, fsys FS, name string) File {
	t.Helper()
	f, err := fsys.Open(name)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return f
}

func mustWrite(t *testing.T, f File, s string) {
	t.Helper()
	if n, err := f.Write([]byte(s)); err != nil || n != len(s) {
		t.Fatalf("Write(%q) = %d, %v", s, n, err)
	}
}

func mustSync(t *testing.T, f File) {
	t.Helper()
	if err := f.Sync(); err != nil {
		t.Fatalf("Sync: %v", err)
	}
}

func mustClose(t *testing.T, f File) {
	t.Helper()
	if err := f.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
}

func mustMkdirAll(t *testing.T, fsys FS, dir string) {
	t.Helper()
	if err := fsys.MkdirAll(dir, 0o755); err != nil {
		t.Fatalf("MkdirAll: %v", err)
	}
}

func mustSyncDir(t *testing.T, fsys FS, dir string) {
	t.Helper()
	if err := fsys.SyncDir(dir); err != nil {
		t.Fatalf("SyncDir: %v", err)
	}
}

func writeFile(t *testing.T, fsys FS, name, contents string) {
	t.Helper()
	f := mustCreate(t, fsys, name)
	mustWrite(t, f, contents)
	mustClose(t, f)
}

func readFile(t *testing.T, fsys FS, name string) string {
	t.Helper()
	f := mustOpen(t, fsys, name)
	defer mustClose(t, f)
	var buf bytes.Buffer
	if _, err := io.Copy(&buf, f); err != nil {
		t.Fatalf("reading %s: %v", name, err)
	}
	return buf.String()
}

func assertSize(t *testing.T, f File, want int64) {
	t.Helper()
	if got, err := f.Size(); err != nil || got != want {
		t.Errorf("Size() = %d, %v; want %d", got, err, want)
	}
}

func assertNames(t *testing.T, fsys FS, dir string, want ...string) {
	t.Helper()
	got, err := fsys.ReadDir(dir)
	if err != nil {
		t.Fatalf("ReadDir(%s): %v", dir, err)
	}
	if !slices.Equal(got, want) {
		t.Errorf("ReadDir(%s) = %q, want %q", dir, got, want)
	}
}
