package broker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sluice-sql/sluice/broker/vfs"
)

// Clock tells the time. The broker uses it for segment age, retention and
// compaction, so tests can move time by hand.
type Clock interface {
	Now() time.Time
}

type systemClock struct{}

func (systemClock) Now() time.Time { return time.Now() }

// Options configure a Broker. The zero value, after EnsureDefaults, is the
// durable default.
type Options struct {
	// FS is the file system; default the operating system's.
	FS vfs.FS
	// Clock tells the time; default the system clock.
	Clock Clock
	// Logger receives warnings (a torn tail cut at recovery, a failed index
	// write); default discards them.
	Logger *slog.Logger
	// FsyncInterval chooses the durability policy. Zero (the default)
	// acknowledges an append only once it is on disk, sharing each fsync
	// among all appends written meanwhile (group commit). A positive
	// interval acknowledges an append once written to the operating
	// system and syncs every interval: a machine crash can lose up to that
	// much acknowledged data, a process crash loses nothing.
	FsyncInterval time.Duration
	// MaintenanceInterval is how often retention and compaction run in the
	// background; default 30s. Negative disables the background pass (the
	// EnforceRetention and Compact methods still work).
	MaintenanceInterval time.Duration
	// CleanerMaxKeys bounds the memory of one compaction pass: the number
	// of distinct keys it maps (about 40 bytes each). Default 1<<20. A
	// partition with more keys in its dirty part is cleaned in steps of
	// whole segments; a step always takes at least one segment, whatever
	// its key count.
	CleanerMaxKeys int
	// TransactionTimeout is how long a transaction may stay open before
	// the broker aborts it and fences its producer; default
	// DefaultTransactionTimeout. The check runs with the maintenance pass
	// (and AbortExpiredTransactions), so an abort may come up to one
	// MaintenanceInterval late. A transaction open when the broker starts
	// gets a whole timeout from the start.
	TransactionTimeout time.Duration
	// Owner describes this process in the data directory's lock file, for
	// the error another process gets; default "process <pid>".
	Owner string
}

// EnsureDefaults fills in unset options.
func (o *Options) EnsureDefaults() {
	if o.FS == nil {
		o.FS = vfs.Default()
	}
	if o.Clock == nil {
		o.Clock = systemClock{}
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.MaintenanceInterval == 0 {
		o.MaintenanceInterval = 30 * time.Second
	}
	if o.CleanerMaxKeys == 0 {
		o.CleanerMaxKeys = 1 << 20
	}
	if o.TransactionTimeout == 0 {
		o.TransactionTimeout = DefaultTransactionTimeout
	}
	if o.Owner == "" {
		o.Owner = fmt.Sprintf("process %d", os.Getpid())
	}
}

// Validate checks the options.
func (o *Options) Validate() error {
	if o.FsyncInterval < 0 {
		return fmt.Errorf("broker: fsync interval %v is negative", o.FsyncInterval)
	}
	if o.CleanerMaxKeys < 1 {
		return fmt.Errorf("broker: cleaner max keys %d is below 1", o.CleanerMaxKeys)
	}
	if o.TransactionTimeout < 0 {
		return fmt.Errorf("broker: transaction timeout %v is negative", o.TransactionTimeout)
	}
	return nil
}

// Sentinel errors of topic management.
var (
	// ErrTopicNotFound is returned (wrapped, with the name) for a topic
	// that does not exist.
	ErrTopicNotFound = errors.New("topic not found")
	// ErrTopicExists is returned (wrapped) when creating a topic that exists.
	ErrTopicExists = errors.New("topic already exists")
	// ErrInvalidTopic is returned (wrapped, saying why) for a bad topic
	// name or partition count.
	ErrInvalidTopic = errors.New("invalid topic")
	// ErrPartitionNotFound is returned (wrapped) for a partition number the
	// topic does not have.
	ErrPartitionNotFound = errors.New("partition not found")
	// ErrDataDirInUse is returned (wrapped, naming the holder) when another
	// process has the data directory open.
	ErrDataDirInUse = errors.New("data directory in use")
)

// MaxPartitions is the largest partition count a topic may have.
const MaxPartitions = 10000

// RecoveryEvent describes data cut off a partition's tail on open: a batch
// that was torn by a crash, or damaged, after the last completed sync.
type RecoveryEvent struct {
	Topic           string
	Partition       int32
	File            string
	Pos             int64    // byte offset in File where the cut was made
	Discarded       int64    // bytes removed, in File and later segments
	RemovedFiles    []string // later segments removed whole
	FirstLostOffset int64    // offset the first discarded record would have had
	Cause           error
}

func (e RecoveryEvent) String() string {
	return fmt.Sprintf("%s/%d: cut %d bytes from %s at byte %d (records from offset %d): %v",
		e.Topic, e.Partition, e.Discarded, e.File, e.Pos, e.FirstLostOffset, e.Cause)
}

// Broker is the built-in partitioned log: a set of topics in a data
// directory that one process owns at a time.
type Broker struct {
	dir  string
	opts Options
	lock io.Closer

	mu struct {
		sync.RWMutex
		topics map[string]*topic
		closed bool
	}
	adminMu sync.Mutex // serializes create and delete

	recMu    sync.Mutex
	recovery []RecoveryEvent

	groups groupOffsets
	txns   coordinator

	maintStop chan struct{}
	maintDone chan struct{}
}

type topic struct {
	name  string
	meta  topicMeta
	cfg   atomic.Pointer[TopicConfig]
	parts []*partition
}

// topicMeta is the topic's description file, topic.json.
type topicMeta struct {
	Name       string            `json:"name"`
	Partitions int               `json:"partitions"`
	Config     map[string]string `json:"config,omitempty"`
	Created    time.Time         `json:"created"`
}

const (
	topicsDir     = "topics"
	deletedDir    = "deleted"
	topicMetaFile = "topic.json"
	lockFile      = "LOCK"
	tmpPrefix     = ".tmp-"
)

// Open opens (creating if needed) the data directory dir and every topic
// in it. Partition tails are validated; what was cut is in Recovery.
func Open(dir string, opts Options) (*Broker, error) {
	opts.EnsureDefaults()
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	fsys := opts.FS
	if err := fsys.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("open data directory: %w", err)
	}
	lockName := filepath.Join(dir, lockFile)
	lk, err := fsys.Lock(lockName)
	if err != nil {
		if errors.Is(err, vfs.ErrLocked) {
			owner := "another process"
			if f, err := fsys.Open(lockName); err == nil {
				b := make([]byte, 512)
				n, _ := f.ReadAt(b, 0)
				f.Close()
				if s := strings.TrimSpace(string(b[:n])); s != "" {
					owner = s
				}
			}
			return nil, fmt.Errorf("%w: %s is in use by %s; stop it or use another --data directory", ErrDataDirInUse, dir, owner)
		}
		return nil, fmt.Errorf("lock data directory: %w", err)
	}
	b := &Broker{dir: dir, opts: opts, lock: lk}
	b.mu.topics = make(map[string]*topic)
	if err := b.open(); err != nil {
		b.closeTopics()
		lk.Close()
		return nil, err
	}
	if opts.MaintenanceInterval > 0 {
		b.maintStop = make(chan struct{})
		b.maintDone = make(chan struct{})
		go b.maintain()
	}
	return b, nil
}

func (b *Broker) open() error {
	fsys := b.opts.FS
	if err := writeFileSync(fsys, filepath.Join(b.dir, lockFile), []byte(b.opts.Owner+"\n")); err != nil {
		return fmt.Errorf("write lock file: %w", err)
	}
	// Finish deletions and drop half-made topics from a crash.
	if err := fsys.RemoveAll(filepath.Join(b.dir, deletedDir)); err != nil {
		return err
	}
	td := filepath.Join(b.dir, topicsDir)
	if err := fsys.MkdirAll(td, 0o755); err != nil {
		return err
	}
	// Make the directories themselves durable before anything in them.
	if err := fsys.SyncDir(filepath.Dir(filepath.Clean(b.dir))); err != nil {
		return err
	}
	if err := fsys.SyncDir(b.dir); err != nil {
		return err
	}
	names, err := fsys.ReadDir(td)
	if err != nil {
		return err
	}
	for _, n := range names {
		if strings.HasPrefix(n, tmpPrefix) {
			if err := fsys.RemoveAll(filepath.Join(td, n)); err != nil {
				return err
			}
			continue
		}
		t, err := b.openTopic(filepath.Join(td, n))
		if err != nil {
			return err
		}
		b.mu.topics[t.name] = t
	}
	if _, ok := b.mu.topics[OffsetsTopic]; !ok {
		if err := b.createTopic(OffsetsTopic, 1, map[string]string{"cleanup.policy": PolicyCompact}); err != nil {
			return err
		}
	}
	if err := b.groups.load(b); err != nil {
		return err
	}
	return b.txns.load(context.Background(), b)
}

// checkOpen returns ErrClosed once Close has begun.
func (b *Broker) checkOpen() error {
	b.mu.RLock()
	defer b.mu.RUnlock()
	if b.mu.closed {
		return ErrClosed
	}
	return nil
}

func (b *Broker) openTopic(dir string) (*topic, error) {
	raw, err := readFile(b.opts.FS, filepath.Join(dir, topicMetaFile))
	if err != nil {
		return nil, fmt.Errorf("open topic %s: %w", filepath.Base(dir), err)
	}
	var meta topicMeta
	if err := json.Unmarshal(raw, &meta); err != nil {
		return nil, fmt.Errorf("open topic %s: %s: %w", filepath.Base(dir), topicMetaFile, err)
	}
	cfg, err := ParseTopicConfig(meta.Config)
	if err != nil {
		return nil, fmt.Errorf("open topic %s: %w", meta.Name, err)
	}
	t := &topic{name: meta.Name, meta: meta}
	t.cfg.Store(&cfg)
	for i := 0; i < meta.Partitions; i++ {
		p, err := openPartition(b, meta.Name, int32(i), filepath.Join(dir, fmt.Sprint(i)), &t.cfg)
		if err != nil {
			for _, p := range t.parts {
				p.close()
			}
			return nil, err
		}
		t.parts = append(t.parts, p)
	}
	return t, nil
}

func readFile(fsys vfs.FS, name string) ([]byte, error) {
	f, err := fsys.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(f)
}

// Close syncs and closes every partition and releases the data directory.
func (b *Broker) Close() error {
	b.mu.Lock()
	if b.mu.closed {
		b.mu.Unlock()
		return nil
	}
	b.mu.closed = true
	b.mu.Unlock()
	if b.maintStop != nil {
		close(b.maintStop)
		<-b.maintDone
	}
	// Wait out a topic being created or deleted.
	b.adminMu.Lock()
	defer b.adminMu.Unlock()
	err := b.closeTopics()
	if lerr := b.lock.Close(); err == nil {
		err = lerr
	}
	return err
}

func (b *Broker) closeTopics() error {
	var errs []error
	for _, t := range b.mu.topics {
		for _, p := range t.parts {
			if err := p.close(); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

// Dir is the data directory.
func (b *Broker) Dir() string { return b.dir }

// Recovery lists what was cut from partition tails when the broker opened.
func (b *Broker) Recovery() []RecoveryEvent {
	b.recMu.Lock()
	defer b.recMu.Unlock()
	return append([]RecoveryEvent(nil), b.recovery...)
}

func (b *Broker) recovered(ev RecoveryEvent) {
	b.opts.Logger.Warn("cut damaged partition tail", "event", ev.String())
	b.recMu.Lock()
	b.recovery = append(b.recovery, ev)
	b.recMu.Unlock()
}

// ValidateTopicName checks a user's topic name: 1 to 249 characters of
// ASCII letters, digits, '.', '_' and '-', not "." or "..", and not
// starting with "__", which is reserved for internal topics.
func ValidateTopicName(name string) error {
	if err := validName(name); err != nil {
		return err
	}
	if strings.HasPrefix(name, "__") {
		return fmt.Errorf("%w: name %q: names starting with \"__\" are reserved for internal topics", ErrInvalidTopic, name)
	}
	return nil
}

func validName(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("%w: empty name", ErrInvalidTopic)
	case len(name) > 249:
		return fmt.Errorf("%w: name is %d characters, the limit is 249", ErrInvalidTopic, len(name))
	case name == "." || name == "..":
		return fmt.Errorf("%w: name %q", ErrInvalidTopic, name)
	}
	for i, c := range name {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return fmt.Errorf("%w: name %q has %q at position %d; use letters, digits, '.', '_' and '-'", ErrInvalidTopic, name, c, i+1)
		}
	}
	return nil
}

// IsInternal reports whether a topic name is one of the broker's own.
func IsInternal(name string) bool { return strings.HasPrefix(name, "__") }

// CreateTopic creates a topic with the given partitions and config
// overrides (Kafka's keys: see ConfigKeys).
func (b *Broker) CreateTopic(name string, partitions int, config map[string]string) error {
	if err := ValidateTopicName(name); err != nil {
		return err
	}
	return b.createTopic(name, partitions, config)
}

// CreateInternalTopic creates a topic whose name starts with "__", for the
// engine's own use (catalogs, job definitions). It is not an error if it
// exists.
func (b *Broker) CreateInternalTopic(name string, partitions int, config map[string]string) error {
	if !IsInternal(name) {
		return fmt.Errorf("%w: internal topic names start with \"__\", got %q", ErrInvalidTopic, name)
	}
	err := b.createTopic(name, partitions, config)
	if errors.Is(err, ErrTopicExists) {
		return nil
	}
	return err
}

func (b *Broker) createTopic(name string, partitions int, config map[string]string) error {
	if err := validName(name); err != nil {
		return err
	}
	if partitions < 1 || partitions > MaxPartitions {
		return fmt.Errorf("%w: %d partitions; a topic has 1 to %d", ErrInvalidTopic, partitions, MaxPartitions)
	}
	cfg, err := ParseTopicConfig(config)
	if err != nil {
		return err
	}
	b.adminMu.Lock()
	defer b.adminMu.Unlock()
	b.mu.RLock()
	_, exists := b.mu.topics[name]
	closed := b.mu.closed
	b.mu.RUnlock()
	if closed {
		return ErrClosed
	}
	if exists {
		return fmt.Errorf("%w: %s", ErrTopicExists, name)
	}
	fsys := b.opts.FS
	td := filepath.Join(b.dir, topicsDir)
	tmp := filepath.Join(td, tmpPrefix+name)
	if err := fsys.RemoveAll(tmp); err != nil {
		return err
	}
	overrides := make(map[string]string, len(config))
	for k, v := range cfg.Map() {
		if _, ok := config[k]; ok {
			overrides[k] = v
		}
	}
	meta := topicMeta{Name: name, Partitions: partitions, Config: overrides, Created: b.opts.Clock.Now().UTC()}
	raw, err := json.MarshalIndent(meta, "", "  ")
	if err != nil {
		return err
	}
	if err := fsys.MkdirAll(tmp, 0o755); err != nil {
		return err
	}
	if err := writeFileSync(fsys, filepath.Join(tmp, topicMetaFile), raw); err != nil {
		return err
	}
	for i := 0; i < partitions; i++ {
		if err := fsys.MkdirAll(filepath.Join(tmp, fmt.Sprint(i)), 0o755); err != nil {
			return err
		}
	}
	if err := fsys.SyncDir(tmp); err != nil {
		return err
	}
	final := filepath.Join(td, name)
	if err := fsys.Rename(tmp, final); err != nil {
		return err
	}
	if err := fsys.SyncDir(td); err != nil {
		return err
	}
	t, err := b.openTopic(final)
	if err != nil {
		return err
	}
	b.mu.Lock()
	b.mu.topics[name] = t
	b.mu.Unlock()
	return nil
}

// DeleteTopic deletes a topic and its data, and the group offsets kept
// for it.
func (b *Broker) DeleteTopic(name string) error {
	if IsInternal(name) {
		return fmt.Errorf("%w: %s is internal and cannot be deleted", ErrInvalidTopic, name)
	}
	b.adminMu.Lock()
	defer b.adminMu.Unlock()
	b.mu.Lock()
	if b.mu.closed {
		b.mu.Unlock()
		return ErrClosed
	}
	t, ok := b.mu.topics[name]
	if ok {
		delete(b.mu.topics, name)
	}
	b.mu.Unlock()
	if !ok {
		return fmt.Errorf("%w: %s", ErrTopicNotFound, name)
	}
	for _, p := range t.parts {
		p.close()
	}
	fsys := b.opts.FS
	dd := filepath.Join(b.dir, deletedDir)
	if err := fsys.MkdirAll(dd, 0o755); err != nil {
		return err
	}
	// The rename is the point of no return: a crash after it finishes the
	// removal on the next open.
	grave := filepath.Join(dd, fmt.Sprintf("%s.%d", name, b.opts.Clock.Now().UnixNano()))
	if err := fsys.Rename(filepath.Join(b.dir, topicsDir, name), grave); err != nil {
		return fmt.Errorf("delete topic %s: %w", name, err)
	}
	if err := fsys.SyncDir(filepath.Join(b.dir, topicsDir)); err != nil {
		return err
	}
	if err := fsys.RemoveAll(grave); err != nil {
		return fmt.Errorf("delete topic %s: %w", name, err)
	}
	return b.groups.forgetTopic(b, name)
}

// TopicInfo describes a topic.
type TopicInfo struct {
	Name       string
	Partitions []PartitionInfo
	Config     TopicConfig
	Overrides  map[string]string // config keys set at creation
	Internal   bool
}

// PartitionInfo describes one partition.
type PartitionInfo struct {
	Partition   int32
	StartOffset int64 // first offset held
	EndOffset   int64 // high watermark: the offset the next record gets once durable
	Segments    int
	Bytes       int64
}

// Topics lists the topics, sorted by name.
func (b *Broker) Topics() []TopicInfo {
	b.mu.RLock()
	ts := make([]*topic, 0, len(b.mu.topics))
	for _, t := range b.mu.topics {
		ts = append(ts, t)
	}
	b.mu.RUnlock()
	sort.Slice(ts, func(i, j int) bool { return ts[i].name < ts[j].name })
	out := make([]TopicInfo, len(ts))
	for i, t := range ts {
		out[i] = t.info()
	}
	return out
}

// DescribeTopic describes one topic.
func (b *Broker) DescribeTopic(name string) (TopicInfo, error) {
	t, err := b.topic(name)
	if err != nil {
		return TopicInfo{}, err
	}
	return t.info(), nil
}

func (t *topic) info() TopicInfo {
	ti := TopicInfo{Name: t.name, Config: *t.cfg.Load(), Overrides: maps.Clone(t.meta.Config), Internal: IsInternal(t.name)}
	for _, p := range t.parts {
		pi := PartitionInfo{Partition: p.id, StartOffset: p.logStart(), EndOffset: p.hw.Load()}
		for _, s := range *p.segs.Load() {
			pi.Segments++
			pi.Bytes += s.readable.Load()
		}
		ti.Partitions = append(ti.Partitions, pi)
	}
	return ti
}

func (b *Broker) topic(name string) (*topic, error) {
	b.mu.RLock()
	t, ok := b.mu.topics[name]
	closed := b.mu.closed
	b.mu.RUnlock()
	if closed {
		return nil, ErrClosed
	}
	if !ok {
		return nil, fmt.Errorf("%w: %s", ErrTopicNotFound, name)
	}
	return t, nil
}

func (b *Broker) partition(name string, id int32) (*partition, error) {
	t, err := b.topic(name)
	if err != nil {
		return nil, err
	}
	if id < 0 || int(id) >= len(t.parts) {
		return nil, fmt.Errorf("%w: %s has partitions 0 to %d, not %d", ErrPartitionNotFound, name, len(t.parts)-1, id)
	}
	return t.parts[id], nil
}

// Partitions returns the number of partitions of a topic.
func (b *Broker) Partitions(name string) (int, error) {
	t, err := b.topic(name)
	if err != nil {
		return 0, err
	}
	return len(t.parts), nil
}

// AppendAsync appends one record batch (as built by BatchBuilder, or
// received from a Kafka client) to a partition. The batch is written
// before AppendAsync returns, so the caller may reuse it at once; its
// first 8 bytes are overwritten with the assigned base offset. done is
// called exactly once: on failure at once, otherwise when the batch is
// durable (or, under an fsync interval, written). done may be called on
// the partition's sync goroutine and must not block.
//
// A transactional batch (see BatchBuilder.SetTransactional) is checked
// against its transactional id's epoch and adds the partition to the open
// transaction, starting one if none is; the first batch of a transaction
// in a partition therefore waits, inside AppendAsync, for that to be
// recorded durably.
func (b *Broker) AppendAsync(topic string, partition int32, batch []byte, done func(AppendResult)) {
	p, err := b.partition(topic, partition)
	if err != nil {
		done(AppendResult{Err: err})
		return
	}
	if h, err := ParseBatchHeader(batch); err == nil && h.IsTransactional() && !h.IsControl() && h.ProducerID >= 0 {
		unlock, err := b.txns.beginAppend(ProducerID(h.ProducerID), Epoch(h.ProducerEpoch), TopicPartition{topic, partition})
		if err != nil {
			done(AppendResult{Err: err})
			return
		}
		defer unlock()
	}
	p.append(batch, done)
}

// Append appends one record batch and waits until it is acknowledged. If
// ctx ends first, the batch may still become durable.
func (b *Broker) Append(ctx context.Context, topic string, partition int32, batch []byte) (AppendResult, error) {
	ch := make(chan AppendResult, 1)
	b.AppendAsync(topic, partition, batch, func(r AppendResult) { ch <- r })
	select {
	case r := <-ch:
		return r, r.Err
	case <-ctx.Done():
		return AppendResult{}, ctx.Err()
	}
}

// AppendRecords builds one batch of records and appends it.
func (b *Broker) AppendRecords(ctx context.Context, topic string, partition int32, recs ...Record) (AppendResult, error) {
	var bb BatchBuilder
	bb.Reset()
	for i := range recs {
		bb.Add(&recs[i])
	}
	if bb.Len() == 0 {
		return AppendResult{}, fmt.Errorf("%w: empty batch", ErrInvalidRecord)
	}
	return b.Append(ctx, topic, partition, bb.Build())
}

// Fetch reads whole record batches starting with the one that holds
// offset, up to maxBytes (or the first batch whole if it is larger), into
// buf if it is large enough. Every batch returned is checked and below the
// high watermark. At the high watermark it returns no batches; before the
// log start or past the high watermark it returns ErrOffsetOutOfRange.
//
// Fetch reads at ReadUncommitted: it returns every batch below the high
// watermark, including control batches and those of open and aborted
// transactions.
func (b *Broker) Fetch(topic string, partition int32, offset int64, maxBytes int, buf []byte) (FetchResult, error) {
	return b.FetchIsolated(topic, partition, offset, maxBytes, ReadUncommitted, buf)
}

// FetchIsolated is Fetch at an isolation level. At ReadCommitted no batch
// at or past the last stable offset is returned, and the result lists the
// aborted transactions whose batches it holds, so the caller can drop
// them (Reader does); like Kafka's fetch, it returns batches as they are
// on disk, control batches included.
func (b *Broker) FetchIsolated(topic string, partition int32, offset int64, maxBytes int, iso IsolationLevel, buf []byte) (FetchResult, error) {
	p, err := b.partition(topic, partition)
	if err != nil {
		return FetchResult{}, err
	}
	return p.fetch(offset, maxBytes, iso, buf)
}

// Wait blocks until the partition holds a record at or after offset (its
// high watermark is past offset), ctx ends, or the broker closes. It does
// not poll: appends wake it.
func (b *Broker) Wait(ctx context.Context, topic string, partition int32, offset int64) error {
	p, err := b.partition(topic, partition)
	if err != nil {
		return err
	}
	return p.waitFor(ctx, offset, ReadUncommitted)
}

// LastStableOffset returns a partition's last stable offset: the first
// offset of its earliest transaction without a durable commit or abort
// marker, or the high watermark if there is none. ReadCommitted reads stop
// there.
func (b *Broker) LastStableOffset(topic string, partition int32) (int64, error) {
	p, err := b.partition(topic, partition)
	if err != nil {
		return 0, err
	}
	return p.lso.Load(), nil
}

// Offsets returns the first offset a partition holds and its high watermark.
func (b *Broker) Offsets(topic string, partition int32) (start, end int64, err error) {
	p, err := b.partition(topic, partition)
	if err != nil {
		return 0, 0, err
	}
	return p.logStart(), p.hw.Load(), nil
}

// OffsetForTime returns the first offset whose record timestamp (ms since
// the epoch) is at or after ts, or the high watermark if none is.
func (b *Broker) OffsetForTime(topic string, partition int32, ts int64) (int64, error) {
	p, err := b.partition(topic, partition)
	if err != nil {
		return 0, err
	}
	return p.offsetForTime(ts)
}
