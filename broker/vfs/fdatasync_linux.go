//go:build linux

package vfs

import (
	"io/fs"
	"os"

	"golang.org/x/sys/unix"
)

// fdatasync flushes f's data, and the metadata needed to read it back, to
// stable storage.
func fdatasync(f *os.File) error {
	if err := control(f, unix.Fdatasync); err != nil {
		return &fs.PathError{Op: "fdatasync", Path: f.Name(), Err: err}
	}
	return nil
}
