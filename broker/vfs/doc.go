// Package vfs is the broker's injectable file system. The broker never
// calls the os package directly: it writes segments, indexes and
// checkpoints through an FS, so that production runs on the real disk
// (Default) and tests run the same code against an in-memory file system
// (NewMem) that can simulate a power loss (MemFS.Crash).
//
// # Durability contract
//
// A write is not durable because it returned. Code that must survive a
// crash has to follow two rules, and MemFS.Crash enforces both:
//
//   - A file's contents are durable only up to its last File.Sync. Bytes
//     written or truncated after it are lost on a crash; the file reverts
//     to exactly what it held at that Sync (or to empty if it was never
//     synced).
//   - A directory entry is durable only after SyncDir on its parent. This
//     covers every change to a name: Create of a new file, Rename (both the
//     removal of the old name and the appearance of the new one; a rename
//     across directories needs SyncDir on both), Remove, RemoveAll and the
//     directories MkdirAll creates. Until then, a crash brings back the
//     listing of the last SyncDir.
//
// So the safe way to publish a new file is: write it under a temporary
// name, Sync it, Rename it into place, then SyncDir the directory. Syncing
// a file does not make its name durable, and syncing its directory does
// not make its contents durable.
//
// On Linux, Default's File.Sync is fdatasync(2): it flushes the data and
// the metadata needed to read it back (the size) but not, for instance,
// the modification time, which the broker never relies on.
//
// # Errors
//
// Both implementations report failures the way the os package does: an
// *fs.PathError (an *os.LinkError for Rename) carrying the operation and
// the name, wrapping an error to classify with errors.Is: fs.ErrNotExist,
// fs.ErrExist, fs.ErrClosed, ErrLocked, or a syscall.Errno.
package vfs
