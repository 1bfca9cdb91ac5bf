package vfs

import (
	"bytes"
	"io"
	"io/fs"
	"maps"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// MemFS is an in-memory FS for tests that also records what would survive
// a power loss, and can simulate one with Crash. It is safe for concurrent
// use.
//
// Names are resolved from a single root: "a/b", "/a/b" and "./a/b" are the
// same file, and "/" and "." are the root, which always exists and is
// always durable. There are no symbolic links and no permissions: the mode
// given to MkdirAll is only reported back by Stat. Stat reports the zero
// time as every ModTime; nothing in the broker may depend on it.
//
// MemFS keeps the FS durability contract strictly. Each file holds its
// current bytes and its durable bytes, copied at every File.Sync; each
// directory holds its current entries and its durable entries, copied at
// every SyncDir on it. That includes directories made by MkdirAll: such a
// directory survives a Crash only once its parent has been synced, exactly
// as on a real disk.
//
// Unlike the os package, Open of a directory fails with syscall.EISDIR:
// directories are read with ReadDir and synced with SyncDir.
type MemFS struct {
	// crashMu makes a Crash one instant: File.Sync holds it shared and
	// Crash exclusively, so no sync is half seen.
	//
	// Lock order: crashMu, then MemFS.mu, then memFile.mu, then memNode.mu.
	crashMu sync.RWMutex
	mu      struct {
		sync.Mutex
		// root is the root directory.
		root *memNode
		// locks holds the cleaned names that Lock has handed out and not
		// yet released.
		locks map[string]bool
	}
}

// memNode is a file or a directory of a MemFS. A node is shared by every
// directory entry naming it (a live one and durable ones) and every open
// File on it.
type memNode struct {
	// isDir and perm never change.
	isDir bool
	perm  fs.FileMode

	// children and durable are a directory's entries now and as of its
	// last SyncDir. They are guarded by the owning MemFS.mu, not by mu:
	// every change to a name takes the whole tree.
	children map[string]*memNode
	durable  map[string]*memNode

	// mu guards a file's contents, so that File methods on different
	// files never contend and ReadAt shares the lock with other readers.
	mu struct {
		sync.RWMutex
		// data is the file's contents now.
		data []byte
		// durable is data as of the last File.Sync; it never aliases data.
		durable []byte
	}
}

// NewMem returns an empty MemFS holding only its root directory.
func NewMem() *MemFS {
	m := &MemFS{}
	m.mu.root = newMemDir(0o755)
	m.mu.locks = make(map[string]bool)
	return m
}

func newMemDir(perm fs.FileMode) *memNode {
	return &memNode{
		isDir:    true,
		perm:     perm.Perm(),
		children: make(map[string]*memNode),
		durable:  make(map[string]*memNode),
	}
}

func newMemFile() *memNode {
	return &memNode{perm: 0o644}
}

// Crash returns a new MemFS holding only what m has made durable, as the
// disk would after a power loss at this instant: every file is reverted to
// its bytes at its last File.Sync and every directory to its entries at its
// last SyncDir. Files open on m and locks held on m are not carried over.
// The receiver is left untouched and usable; the two never share memory.
func (m *MemFS) Crash() *MemFS {
	m.crashMu.Lock()
	defer m.crashMu.Unlock()
	m.mu.Lock()
	defer m.mu.Unlock()
	c := &MemFS{}
	// copied keeps one copy per node even when several durable entries
	// name it, as after a rename across two directories that were synced
	// at different times.
	copied := make(map[*memNode]*memNode)
	c.mu.root = m.mu.root.durableCopy(copied)
	c.mu.locks = make(map[string]bool)
	return c
}

// durableCopy returns a deep copy of the durable state of n. The caller
// holds the owning MemFS.mu.
func (n *memNode) durableCopy(copied map[*memNode]*memNode) *memNode {
	if c, ok := copied[n]; ok {
		return c
	}
	c := &memNode{isDir: n.isDir, perm: n.perm}
	copied[n] = c
	if n.isDir {
		c.children = make(map[string]*memNode, len(n.durable))
		for name, child := range n.durable {
			c.children[name] = child.durableCopy(copied)
		}
		c.durable = maps.Clone(c.children)
		return c
	}
	n.mu.RLock()
	defer n.mu.RUnlock()
	c.mu.data = bytes.Clone(n.mu.durable)
	c.mu.durable = bytes.Clone(n.mu.durable)
	return c
}

// memClean returns name as an absolute, lexically cleaned slash path.
func memClean(name string) string {
	return path.Clean("/" + filepath.ToSlash(name))
}

// memPath returns the components of name below the root; the root itself
// has none.
func memPath(name string) []string {
	p := memClean(name)
	if p == "/" {
		return nil
	}
	return strings.Split(p[1:], "/")
}

// lookupParent returns the directory that holds name's last component, and
// that component; for the root it returns the root and "". Its errors are
// bare, for the caller to wrap with its operation. The caller holds m.mu.
func (m *MemFS) lookupParent(name string) (*memNode, string, error) {
	parts := memPath(name)
	if len(parts) == 0 {
		return m.mu.root, "", nil
	}
	dir := m.mu.root
	for _, part := range parts[:len(parts)-1] {
		next, ok := dir.children[part]
		if !ok {
			return nil, "", fs.ErrNotExist
		}
		if !next.isDir {
			return nil, "", syscall.ENOTDIR
		}
		dir = next
	}
	return dir, parts[len(parts)-1], nil
}

// lookup returns the node name refers to, with a bare error like
// lookupParent. The caller holds m.mu.
func (m *MemFS) lookup(name string) (*memNode, error) {
	dir, base, err := m.lookupParent(name)
	if err != nil {
		return nil, err
	}
	if base == "" {
		return dir, nil
	}
	n, ok := dir.children[base]
	if !ok {
		return nil, fs.ErrNotExist
	}
	return n, nil
}

// Create implements FS. Creating an existing file empties it; its durable
// bytes stay as they were until the next Sync.
func (m *MemFS) Create(name string) (File, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	dir, base, err := m.lookupParent(name)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: name, Err: err}
	}
	if base == "" {
		return nil, &fs.PathError{Op: "open", Path: name, Err: syscall.EISDIR}
	}
	n, ok := dir.children[base]
	switch {
	case !ok:
		n = newMemFile()
		dir.children[base] = n
	case n.isDir:
		return nil, &fs.PathError{Op: "open", Path: name, Err: syscall.EISDIR}
	default:
		n.mu.Lock()
		n.mu.data = n.mu.data[:0]
		n.mu.Unlock()
	}
	return &memFile{fs: m, name: name, node: n, writable: true}, nil
}

// Open implements FS.
func (m *MemFS) Open(name string) (File, error) {
	return m.open(name, false)
}

// OpenReadWrite implements FS.
func (m *MemFS) OpenReadWrite(name string) (File, error) {
	return m.open(name, true)
}

func (m *MemFS) open(name string, writable bool) (File, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	n, err := m.lookup(name)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: name, Err: err}
	}
	if n.isDir {
		return nil, &fs.PathError{Op: "open", Path: name, Err: syscall.EISDIR}
	}
	return &memFile{fs: m, name: name, node: n, writable: writable, append: writable}, nil
}

// Remove implements FS.
func (m *MemFS) Remove(name string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	dir, base, err := m.lookupParent(name)
	if err != nil {
		return &fs.PathError{Op: "remove", Path: name, Err: err}
	}
	if base == "" {
		return &fs.PathError{Op: "remove", Path: name, Err: syscall.EBUSY}
	}
	n, ok := dir.children[base]
	if !ok {
		return &fs.PathError{Op: "remove", Path: name, Err: fs.ErrNotExist}
	}
	if n.isDir && len(n.children) > 0 {
		return &fs.PathError{Op: "remove", Path: name, Err: syscall.ENOTEMPTY}
	}
	delete(dir.children, base)
	return nil
}

// RemoveAll implements FS. The removed nodes stay reachable from durable
// entries until their parent is synced, which is what a Crash restores.
func (m *MemFS) RemoveAll(name string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	dir, base, err := m.lookupParent(name)
	if err == fs.ErrNotExist {
		return nil
	}
	if err != nil {
		return &fs.PathError{Op: "removeall", Path: name, Err: err}
	}
	if base == "" {
		return &fs.PathError{Op: "removeall", Path: name, Err: syscall.EINVAL}
	}
	delete(dir.children, base)
	return nil
}

// Rename implements FS with the rules of rename(2): a file may replace a
// file, a directory may replace an empty directory, and a directory may
// not move below itself.
func (m *MemFS) Rename(oldname, newname string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	fail := func(err error) error {
		return &os.LinkError{Op: "rename", Old: oldname, New: newname, Err: err}
	}
	oldDir, oldBase, err := m.lookupParent(oldname)
	if err != nil {
		return fail(err)
	}
	newDir, newBase, err := m.lookupParent(newname)
	if err != nil {
		return fail(err)
	}
	if oldBase == "" || newBase == "" {
		return fail(syscall.EBUSY)
	}
	n, ok := oldDir.children[oldBase]
	if !ok {
		return fail(fs.ErrNotExist)
	}
	target, exists := newDir.children[newBase]
	if exists && target == n {
		return nil // same file under both names: rename(2) does nothing
	}
	if n.isDir && below(memPath(newname), memPath(oldname)) {
		return fail(syscall.EINVAL)
	}
	if exists {
		switch {
		case target.isDir && !n.isDir:
			return fail(syscall.EISDIR)
		case !target.isDir && n.isDir:
			return fail(syscall.ENOTDIR)
		case target.isDir && len(target.children) > 0:
			return fail(syscall.ENOTEMPTY)
		}
	}
	delete(oldDir.children, oldBase)
	newDir.children[newBase] = n
	return nil
}

// below reports whether path p lies strictly below path dir.
func below(p, dir []string) bool {
	return len(p) > len(dir) && slices.Equal(p[:len(dir)], dir)
}

// MkdirAll implements FS. The directories it creates are durable only once
// their parents are synced.
func (m *MemFS) MkdirAll(dir string, perm fs.FileMode) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := m.mu.root
	for _, part := range memPath(dir) {
		next, ok := n.children[part]
		if !ok {
			next = newMemDir(perm)
			n.children[part] = next
		} else if !next.isDir {
			return &fs.PathError{Op: "mkdir", Path: dir, Err: syscall.ENOTDIR}
		}
		n = next
	}
	return nil
}

// ReadDir implements FS.
func (m *MemFS) ReadDir(dir string) ([]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	n, err := m.lookup(dir)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: dir, Err: err}
	}
	if !n.isDir {
		return nil, &fs.PathError{Op: "readdirent", Path: dir, Err: syscall.ENOTDIR}
	}
	return slices.Sorted(maps.Keys(n.children)), nil
}

// Stat implements FS.
func (m *MemFS) Stat(name string) (fs.FileInfo, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	n, err := m.lookup(name)
	if err != nil {
		return nil, &fs.PathError{Op: "stat", Path: name, Err: err}
	}
	return n.stat(path.Base(memClean(name))), nil
}

// SyncDir implements FS: the entries of dir as they are now become the
// ones a Crash restores.
func (m *MemFS) SyncDir(dir string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	n, err := m.lookup(dir)
	if err != nil {
		return &fs.PathError{Op: "open", Path: dir, Err: err}
	}
	if !n.isDir {
		return &fs.PathError{Op: "sync", Path: dir, Err: syscall.ENOTDIR}
	}
	n.durable = maps.Clone(n.children)
	return nil
}

// Lock implements FS. The lock belongs to the name (after cleaning) within
// this MemFS: a second Lock of the name fails with ErrLocked until the
// first is closed. Like the os implementation, it creates the file if
// missing.
func (m *MemFS) Lock(name string) (io.Closer, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	dir, base, err := m.lookupParent(name)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: name, Err: err}
	}
	n, ok := dir.children[base]
	if base == "" || (ok && n.isDir) {
		return nil, &fs.PathError{Op: "open", Path: name, Err: syscall.EISDIR}
	}
	key := strings.Join(memPath(name), "/")
	if m.mu.locks[key] {
		return nil, &fs.PathError{Op: "lock", Path: name, Err: ErrLocked}
	}
	if !ok {
		dir.children[base] = newMemFile()
	}
	m.mu.locks[key] = true
	return &memLock{fs: m, name: name, key: key}, nil
}

// memLock is a lock taken by MemFS.Lock.
type memLock struct {
	fs   *MemFS
	name string
	key  string
	// released is guarded by fs.mu.
	released bool
}

// Close releases the lock.
func (l *memLock) Close() error {
	l.fs.mu.Lock()
	defer l.fs.mu.Unlock()
	if l.released {
		return &fs.PathError{Op: "unlock", Path: l.name, Err: fs.ErrClosed}
	}
	l.released = true
	delete(l.fs.mu.locks, l.key)
	return nil
}

// memFile is an open File of a MemFS. It keeps its node when the name is
// removed or renamed, like an open file on a real disk.
type memFile struct {
	fs       *MemFS
	name     string
	node     *memNode
	writable bool
	// append makes every Write go to the end of the file.
	append bool
	closed atomic.Bool

	mu struct {
		sync.Mutex
		// off is where the next Read or Write starts.
		off int64
	}
}

func (f *memFile) err(op string, err error) error {
	return &fs.PathError{Op: op, Path: f.name, Err: err}
}

// Read implements File.
func (f *memFile) Read(p []byte) (int, error) {
	if f.closed.Load() {
		return 0, f.err("read", fs.ErrClosed)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	n := f.node
	n.mu.RLock()
	defer n.mu.RUnlock()
	if len(p) == 0 {
		return 0, nil
	}
	if f.mu.off >= int64(len(n.mu.data)) {
		return 0, io.EOF
	}
	k := copy(p, n.mu.data[f.mu.off:])
	f.mu.off += int64(k)
	return k, nil
}

// ReadAt implements File.
func (f *memFile) ReadAt(p []byte, off int64) (int, error) {
	if f.closed.Load() {
		return 0, f.err("read", fs.ErrClosed)
	}
	if off < 0 {
		return 0, f.err("readat", syscall.EINVAL)
	}
	n := f.node
	n.mu.RLock()
	defer n.mu.RUnlock()
	if off >= int64(len(n.mu.data)) {
		if len(p) == 0 {
			return 0, nil
		}
		return 0, io.EOF
	}
	k := copy(p, n.mu.data[off:])
	if k < len(p) {
		return k, io.EOF
	}
	return k, nil
}

// Write implements File. Writing past the end fills the gap with zeros.
func (f *memFile) Write(p []byte) (int, error) {
	if f.closed.Load() {
		return 0, f.err("write", fs.ErrClosed)
	}
	if !f.writable {
		return 0, f.err("write", syscall.EBADF)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	n := f.node
	n.mu.Lock()
	defer n.mu.Unlock()
	off := f.mu.off
	if f.append {
		off = int64(len(n.mu.data))
	}
	end := off + int64(len(p))
	n.mu.data = resize(n.mu.data, end)
	copy(n.mu.data[off:], p)
	f.mu.off = end
	return len(p), nil
}

// resize returns data with at least size bytes, zero-filling any growth.
// It never shrinks data.
func resize(data []byte, size int64) []byte {
	if grow := size - int64(len(data)); grow > 0 {
		// The compiler turns this into an in-place extension that clears
		// the new bytes, which matters because a truncated slice keeps
		// stale bytes in its capacity.
		data = append(data, make([]byte, grow)...)
	}
	return data
}

// Sync implements File: the current bytes become the ones a Crash
// restores.
func (f *memFile) Sync() error {
	if f.closed.Load() {
		return f.err("sync", fs.ErrClosed)
	}
	f.fs.crashMu.RLock()
	defer f.fs.crashMu.RUnlock()
	n := f.node
	n.mu.Lock()
	defer n.mu.Unlock()
	n.mu.durable = append(n.mu.durable[:0], n.mu.data...)
	return nil
}

// Truncate implements File. It leaves the offset of Read and Write where
// it was, as ftruncate(2) does.
func (f *memFile) Truncate(size int64) error {
	if f.closed.Load() {
		return f.err("truncate", fs.ErrClosed)
	}
	if !f.writable {
		return f.err("truncate", syscall.EINVAL)
	}
	if size < 0 {
		return f.err("truncate", syscall.EINVAL)
	}
	n := f.node
	n.mu.Lock()
	defer n.mu.Unlock()
	if size <= int64(len(n.mu.data)) {
		n.mu.data = n.mu.data[:size]
	} else {
		n.mu.data = resize(n.mu.data, size)
	}
	return nil
}

// Size implements File.
func (f *memFile) Size() (int64, error) {
	if f.closed.Load() {
		return 0, f.err("stat", fs.ErrClosed)
	}
	n := f.node
	n.mu.RLock()
	defer n.mu.RUnlock()
	return int64(len(n.mu.data)), nil
}

// Name implements File.
func (f *memFile) Name() string {
	return f.name
}

// Close implements File.
func (f *memFile) Close() error {
	if f.closed.Swap(true) {
		return f.err("close", fs.ErrClosed)
	}
	return nil
}

// stat describes n under the given name.
func (n *memNode) stat(name string) fs.FileInfo {
	if n.isDir {
		return memFileInfo{name: name, mode: fs.ModeDir | n.perm}
	}
	n.mu.RLock()
	defer n.mu.RUnlock()
	return memFileInfo{name: name, size: int64(len(n.mu.data)), mode: n.perm}
}

// memFileInfo is the fs.FileInfo of a MemFS node.
type memFileInfo struct {
	name string
	size int64
	mode fs.FileMode
}

func (fi memFileInfo) Name() string       { return fi.name }
func (fi memFileInfo) Size() int64        { return fi.size }
func (fi memFileInfo) Mode() fs.FileMode  { return fi.mode }
func (fi memFileInfo) ModTime() time.Time { return time.Time{} }
func (fi memFileInfo) IsDir() bool        { return fi.mode.IsDir() }
func (fi memFileInfo) Sys() any           { return nil }
