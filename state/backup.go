package state

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"

	"github.com/dgraph-io/badger/v4"
)

// Backup writes a copy of the database as of its last commit to w, in
// Badger's backup format (a stream of protocol buffers, portable between
// machines), and returns that commit's epoch and meta. Restore makes a
// database of it. Commits wait until it is done; the stores may be in use
// meanwhile, as what they spill is not copied.
func (db *DB) Backup(w io.Writer) (epoch uint64, meta []byte, err error) {
	db.commitMu.Lock()
	defer db.commitMu.Unlock()
	db.mu.Lock()
	last, failed, closed := db.mu.last, db.mu.failed, db.mu.closed
	db.mu.Unlock()
	switch {
	case closed:
		return 0, nil, ErrClosed
	case failed != nil:
		return 0, nil, failed
	}
	stream := db.bdb.NewStream()
	stream.LogPrefix = "state backup"
	stream.ChooseKey = func(item *badger.Item) bool {
		k := item.Key()
		return len(k) == 0 || k[0] != nsStaging
	}
	if _, err := stream.Backup(w, 0); err != nil {
		return 0, nil, fmt.Errorf("state: backup: %w", err)
	}
	return last.epoch, append([]byte(nil), last.meta...), nil
}

// Restore makes dir, which must not exist or be empty, a database holding
// what a Backup wrote to r; Open then finds its last commit.
func Restore(dir string, r io.Reader, opts Options) error {
	opts.EnsureDefaults()
	if err := opts.Validate(); err != nil {
		return fmt.Errorf("state: options: %w", err)
	}
	names, err := os.ReadDir(dir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("state: restore into %s: %w", dir, err)
	}
	if len(names) > 0 {
		return fmt.Errorf("state: restore into %s: the directory is not empty", dir)
	}
	bdb, err := badger.Open(opts.badgerOptions(dir))
	if err != nil {
		return fmt.Errorf("state: restore into %s: %w", dir, err)
	}
	if err := bdb.Load(r, 256); err != nil {
		bdb.Close()
		return fmt.Errorf("state: restore into %s: %w", dir, err)
	}
	if err := bdb.Sync(); err != nil {
		bdb.Close()
		return fmt.Errorf("state: restore into %s: %w", dir, err)
	}
	if err := bdb.Close(); err != nil {
		return fmt.Errorf("state: restore into %s: %w", dir, err)
	}
	return nil
}
