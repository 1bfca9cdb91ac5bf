package vfs

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"slices"

	"golang.org/x/sys/unix"
)

// Default returns the FS of the operating system. Its errors are the os
// package's own: they already name the operation and the path, so they are
// returned unchanged rather than wrapped a second time.
func Default() FS {
	return osFS{}
}

// osFS is the FS of the operating system. It has no state: every call goes
// straight to the os package.
type osFS struct{}

// Create implements FS.
func (osFS) Create(name string) (File, error) {
	f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o666)
	if err != nil {
		return nil, err
	}
	return osFile{f}, nil
}

// Open implements FS.
func (osFS) Open(name string) (File, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	return osFile{f}, nil
}

// OpenReadWrite implements FS.
func (osFS) OpenReadWrite(name string) (File, error) {
	f, err := os.OpenFile(name, os.O_RDWR|os.O_APPEND, 0)
	if err != nil {
		return nil, err
	}
	return osFile{f}, nil
}

// Remove implements FS.
func (osFS) Remove(name string) error {
	return os.Remove(name)
}

// RemoveAll implements FS.
func (osFS) RemoveAll(name string) error {
	return os.RemoveAll(name)
}

// Rename implements FS.
func (osFS) Rename(oldname, newname string) error {
	return os.Rename(oldname, newname)
}

// MkdirAll implements FS.
func (osFS) MkdirAll(dir string, perm fs.FileMode) error {
	return os.MkdirAll(dir, perm)
}

// ReadDir implements FS. It reads names only: unlike os.ReadDir it never
// needs to stat an entry.
func (osFS) ReadDir(dir string) ([]string, error) {
	f, err := os.Open(dir)
	if err != nil {
		return nil, err
	}
	names, err := f.Readdirnames(-1)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, err
	}
	slices.Sort(names)
	return names, nil
}

// Stat implements FS.
func (osFS) Stat(name string) (fs.FileInfo, error) {
	return os.Stat(name)
}

// SyncDir implements FS.
func (osFS) SyncDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	// A directory needs a full fsync: its entries are what is being made
	// durable, and fdatasync is allowed to skip metadata.
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// Lock implements FS with flock(2). A flock belongs to the open file
// description, so two Locks of one name conflict even within one process.
func (osFS) Lock(name string) (io.Closer, error) {
	f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE, 0o666)
	if err != nil {
		return nil, err
	}
	if err := flock(f, unix.LOCK_EX|unix.LOCK_NB); err != nil {
		_ = f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			err = ErrLocked
		}
		return nil, &fs.PathError{Op: "lock", Path: name, Err: err}
	}
	return osLock{f}, nil
}

// osLock is a lock taken by osFS.Lock.
type osLock struct {
	f *os.File
}

// Close releases the lock and closes its file. Closing releases the lock
// by itself; unlocking first says so explicitly and reports a failure.
func (l osLock) Close() error {
	if err := flock(l.f, unix.LOCK_UN); err != nil {
		_ = l.f.Close()
		return &fs.PathError{Op: "unlock", Path: l.f.Name(), Err: err}
	}
	return l.f.Close()
}

// flock calls flock(2) on f's descriptor, holding a reference to the
// descriptor so that a concurrent Close cannot hand its number to another
// file in between.
func flock(f *os.File, how int) error {
	return control(f, func(fd int) error {
		return unix.Flock(fd, how)
	})
}

// control runs call on f's descriptor, retrying it while it is interrupted
// by a signal.
func control(f *os.File, call func(fd int) error) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var callErr error
	err = rc.Control(func(fd uintptr) {
		for {
			callErr = call(int(fd))
			if callErr != unix.EINTR {
				return
			}
		}
	})
	if err != nil {
		// Control only fails on a closed file, and says so with an
		// unexported error; report the classifiable one os.File uses.
		return fs.ErrClosed
	}
	return callErr
}

// osFile is a File of the operating system. It embeds *os.File so that
// Read, ReadAt, Write, Close, Truncate and Name are the os methods
// themselves, and, being one pointer wide, converts to File without
// allocating.
type osFile struct {
	*os.File
}

// Sync implements File with fdatasync(2) where the platform has it.
func (f osFile) Sync() error {
	return fdatasync(f.File)
}

// Size implements File.
func (f osFile) Size() (int64, error) {
	fi, err := f.Stat()
	if err != nil {
		return 0, err
	}
	return fi.Size(), nil
}
