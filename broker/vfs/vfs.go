package vfs

import (
	"errors"
	"io"
	"io/fs"
)

// ErrLocked is the error FS.Lock returns, wrapped in an *fs.PathError, when
// another holder has the lock. Test for it with errors.Is.
var ErrLocked = errors.New("file already locked")

// FS is the file system the broker writes through. Names are slash- or
// OS-separated paths as the os package takes them.
//
// Durability contract (what the in-memory implementation enforces on
// Crash): a file's contents are durable only up to its last File.Sync; the
// existence of a file or directory entry (create, rename, remove) is
// durable only after SyncDir on its parent directory.
type FS interface {
	// Create creates or truncates the named file for reading and writing.
	Create(name string) (File, error)
	// Open opens the named file read-only.
	Open(name string) (File, error)
	// OpenReadWrite opens an existing file for reading and writing; writes
	// through Write append at the end of the file.
	OpenReadWrite(name string) (File, error)
	// Remove removes a file or an empty directory.
	Remove(name string) error
	// RemoveAll removes a path and everything below it; a missing path is
	// not an error.
	RemoveAll(name string) error
	// Rename atomically replaces newname with oldname.
	Rename(oldname, newname string) error
	// MkdirAll creates a directory and its missing parents.
	MkdirAll(dir string, perm fs.FileMode) error
	// ReadDir lists the names in a directory, sorted.
	ReadDir(dir string) ([]string, error)
	// Stat describes the named file.
	Stat(name string) (fs.FileInfo, error)
	// SyncDir makes the entries of dir durable.
	SyncDir(dir string) error
	// Lock takes an exclusive advisory lock on the named file (created if
	// missing) without waiting. It returns ErrLocked (wrapped) if another
	// holder has it. Closing the returned Closer releases it.
	Lock(name string) (io.Closer, error)
}

// File is an open file.
type File interface {
	io.Reader
	io.ReaderAt
	io.Writer
	io.Closer
	// Sync makes the file's contents durable (fdatasync).
	Sync() error
	// Truncate changes the size of the file.
	Truncate(size int64) error
	// Size returns the current size of the file.
	Size() (int64, error)
	// Name returns the name the file was opened with.
	Name() string
}
