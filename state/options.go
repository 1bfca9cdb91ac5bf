package state

import (
	"errors"
	"fmt"
	"log"
	"os"
	"time"

	"github.com/dgraph-io/badger/v4"
	"github.com/dgraph-io/badger/v4/options"

	"github.com/sluice-sql/sluice/sql/types"
)

// Clock tells the time. State TTL reads it; tests inject a fake one.
type Clock interface {
	Now() time.Time
}

// SystemClock is the Clock of the machine.
type SystemClock struct{}

// Now returns time.Now().
func (SystemClock) Now() time.Time { return time.Now() }

// Logger receives Badger's warnings and errors. Badger's informational
// messages are dropped.
type Logger interface {
	Errorf(format string, args ...any)
	Warningf(format string, args ...any)
}

// Options configures a DB. The zero value, after EnsureDefaults, is what
// an embedded engine should use; the Badger settings are explained in the
// package documentation (doc.go, "Badger settings").
type Options struct {
	// KeyGroups is the job's number of key groups (types.DefaultKeyGroups
	// when zero). It is recorded in the database at its creation and may
	// not change afterwards: the key group of every key would change.
	KeyGroups int

	// CacheBytes is the default memory bound of a Store's write-back cache
	// (StoreOptions.CacheBytes overrides it per store). Default 32 MiB.
	CacheBytes int64

	// Clock is read for state TTL. Default SystemClock.
	Clock Clock

	// ExpiryInterval is how often a background goroutine removes expired
	// entries of stores with a TTL from Badger (CompactExpired) and runs
	// Badger's value log GC. Default one minute; negative: never (call
	// CompactExpired yourself).
	ExpiryInterval time.Duration

	// Logger receives Badger's warnings and errors. Default: standard
	// error, prefixed "state: badger: ".
	Logger Logger

	// The Badger settings below; each defaults as documented in doc.go.

	// MemTableBytes is the size of one Badger memtable (default 16 MiB).
	// It also bounds one Badger transaction to 15% of it, which decides
	// when Commit takes the staged path.
	MemTableBytes int64
	// NumMemtables is how many memtables may exist at once, the active
	// one included (default 2).
	NumMemtables int
	// BlockCacheBytes is the size of Badger's cache of decompressed SST
	// blocks (default 8 MiB).
	BlockCacheBytes int64
	// IndexCacheBytes is the size of Badger's cache of SST indexes and
	// bloom filters (default 4 MiB).
	IndexCacheBytes int64
	// ValueLogFileBytes is the size of one value log file (default
	// 32 MiB). Only values over ValueThreshold reach the value log.
	ValueLogFileBytes int64
	// ValueThreshold is the size above which a value is kept in the value
	// log instead of the LSM tree (default 64 KiB).
	ValueThreshold int64
	// NumLevelZeroTables is the number of level-0 tables that starts a
	// compaction (default 2); NumLevelZeroTablesStall the number that
	// stalls writes (default 8).
	NumLevelZeroTables      int
	NumLevelZeroTablesStall int
}

// Default values of Options.
const (
	DefaultCacheBytes        = 32 << 20
	DefaultExpiryInterval    = time.Minute
	defaultMemTableBytes     = 16 << 20
	defaultNumMemtables      = 2
	defaultBlockCacheBytes   = 8 << 20
	defaultIndexCacheBytes   = 4 << 20
	defaultValueLogFileBytes = 32 << 20
	defaultValueThreshold    = 64 << 10
	defaultL0Tables          = 2
	defaultL0TablesStall     = 8
)

// EnsureDefaults fills the zero fields of o with their defaults.
func (o *Options) EnsureDefaults() {
	if o.KeyGroups == 0 {
		o.KeyGroups = types.DefaultKeyGroups
	}
	if o.CacheBytes == 0 {
		o.CacheBytes = DefaultCacheBytes
	}
	if o.Clock == nil {
		o.Clock = SystemClock{}
	}
	if o.ExpiryInterval == 0 {
		o.ExpiryInterval = DefaultExpiryInterval
	}
	if o.Logger == nil {
		o.Logger = stdLogger{log.New(os.Stderr, "state: badger: ", log.LstdFlags)}
	}
	if o.MemTableBytes == 0 {
		o.MemTableBytes = defaultMemTableBytes
	}
	if o.NumMemtables == 0 {
		o.NumMemtables = defaultNumMemtables
	}
	if o.BlockCacheBytes == 0 {
		o.BlockCacheBytes = defaultBlockCacheBytes
	}
	if o.IndexCacheBytes == 0 {
		o.IndexCacheBytes = defaultIndexCacheBytes
	}
	if o.ValueLogFileBytes == 0 {
		o.ValueLogFileBytes = defaultValueLogFileBytes
	}
	if o.ValueThreshold == 0 {
		o.ValueThreshold = min(defaultValueThreshold, o.maxTxnBytes()/4)
	}
	if o.NumLevelZeroTables == 0 {
		o.NumLevelZeroTables = defaultL0Tables
	}
	if o.NumLevelZeroTablesStall == 0 {
		o.NumLevelZeroTablesStall = max(defaultL0TablesStall, o.NumLevelZeroTables+1)
	}
}

// maxTxnBytes is Badger's limit on the size of one transaction.
func (o *Options) maxTxnBytes() int64 { return o.MemTableBytes * 15 / 100 }

// Validate reports options that cannot work.
func (o *Options) Validate() error {
	var errs []error
	if o.KeyGroups < 1 || o.KeyGroups > types.MaxKeyGroups {
		errs = append(errs, fmt.Errorf("key groups %d not in [1, %d]", o.KeyGroups, types.MaxKeyGroups))
	}
	if o.CacheBytes < 0 {
		errs = append(errs, fmt.Errorf("negative cache bound %d", o.CacheBytes))
	}
	if o.MemTableBytes < 1<<20 {
		errs = append(errs, fmt.Errorf("memtable of %d bytes: at least 1 MiB", o.MemTableBytes))
	}
	if o.NumMemtables < 1 {
		errs = append(errs, fmt.Errorf("%d memtables: at least 1", o.NumMemtables))
	}
	if o.BlockCacheBytes < 1 {
		// Badger needs a block cache when blocks are compressed.
		errs = append(errs, errors.New("block cache must not be empty"))
	}
	if o.ValueLogFileBytes < 1<<20 || o.ValueLogFileBytes >= 1<<30 {
		errs = append(errs, fmt.Errorf("value log file of %d bytes not in [1 MiB, 1 GiB)", o.ValueLogFileBytes))
	}
	if o.ValueThreshold < 1 || o.ValueThreshold > o.maxTxnBytes() {
		errs = append(errs, fmt.Errorf("value threshold %d not in [1, %d]", o.ValueThreshold, o.maxTxnBytes()))
	}
	if o.NumLevelZeroTables < 1 || o.NumLevelZeroTablesStall <= o.NumLevelZeroTables {
		errs = append(errs, fmt.Errorf("level-0 tables %d, stall at %d: need 1 <= tables < stall",
			o.NumLevelZeroTables, o.NumLevelZeroTablesStall))
	}
	return errors.Join(errs...)
}

// badgerOptions translates o into Badger's options for the database in dir.
func (o *Options) badgerOptions(dir string) badger.Options {
	return badger.DefaultOptions(dir).
		WithLogger(badgerLogger{o.Logger}).
		WithMetricsEnabled(false).
		WithDetectConflicts(false). // Stores own disjoint keys; Commit is serialized.
		WithSyncWrites(false).      // Commit syncs where ordering needs it.
		WithNumVersionsToKeep(1).
		WithMemTableSize(o.MemTableBytes).
		WithNumMemtables(o.NumMemtables).
		WithBlockCacheSize(o.BlockCacheBytes).
		WithIndexCacheSize(o.IndexCacheBytes).
		WithValueLogFileSize(o.ValueLogFileBytes).
		WithValueThreshold(o.ValueThreshold).
		WithNumLevelZeroTables(o.NumLevelZeroTables).
		WithNumLevelZeroTablesStall(o.NumLevelZeroTablesStall).
		WithNumCompactors(2).
		WithBaseTableSize(512 << 10).
		WithBlockSize(4 << 10).
		WithNumGoroutines(2).
		WithCompression(options.Snappy).
		WithCompactL0OnClose(true)
}

type stdLogger struct{ l *log.Logger }

func (s stdLogger) Errorf(f string, a ...any)   { s.l.Printf("ERROR: "+f, a...) }
func (s stdLogger) Warningf(f string, a ...any) { s.l.Printf("WARNING: "+f, a...) }

// badgerLogger adapts a Logger to Badger's, dropping its chatter.
type badgerLogger struct{ l Logger }

func (b badgerLogger) Errorf(f string, a ...any)   { b.l.Errorf(f, a...) }
func (b badgerLogger) Warningf(f string, a ...any) { b.l.Warningf(f, a...) }
func (badgerLogger) Infof(string, ...any)          {}
func (badgerLogger) Debugf(string, ...any)         {}

// StoreOptions configures one Store (DB.Store).
type StoreOptions struct {
	// FirstKeyGroup and EndKeyGroup are the key groups [first, end) the
	// store's operator instance owns (types.KeyGroupRange). Both zero:
	// all key groups.
	FirstKeyGroup, EndKeyGroup int
	// CacheBytes bounds the store's write-back cache (Options.CacheBytes
	// when zero).
	CacheBytes int64
	// TTL, when positive, makes entries not written for TTL absent
	// (the operator's 'state.ttl'). Every store of one operator must use
	// the same TTL.
	TTL time.Duration
}
