package broker

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/sluice-sql/sluice/internal/suggest"
)

// ErrInvalidConfig is returned (wrapped, naming the key and the value) for
// an unknown topic config key or a value out of its range.
var ErrInvalidConfig = errors.New("invalid topic config")

// Cleanup policies.
const (
	PolicyDelete        = "delete"
	PolicyCompact       = "compact"
	PolicyCompactDelete = "compact,delete"
)

// TopicConfig is a topic's configuration, with Kafka's names and defaults.
// A negative retention means unlimited.
type TopicConfig struct {
	RetentionMs       int64  // retention.ms: delete segments whose newest record is older
	RetentionBytes    int64  // retention.bytes: per partition
	SegmentBytes      int64  // segment.bytes: roll the active segment past this size
	SegmentMs         int64  // segment.ms: roll the active segment after this age
	CleanupPolicy     string // cleanup.policy
	DeleteRetentionMs int64  // delete.retention.ms: how long compaction keeps tombstones
	MaxMessageBytes   int64  // max.message.bytes: largest record batch accepted
}

// DefaultTopicConfig returns Kafka's defaults.
func DefaultTopicConfig() TopicConfig {
	return TopicConfig{
		RetentionMs:       7 * 24 * 3600 * 1000,
		RetentionBytes:    -1,
		SegmentBytes:      1 << 30,
		SegmentMs:         7 * 24 * 3600 * 1000,
		CleanupPolicy:     PolicyDelete,
		DeleteRetentionMs: 24 * 3600 * 1000,
		MaxMessageBytes:   1048588,
	}
}

// configKey describes one key: how to parse it into a TopicConfig and how
// to print it back.
type configKey struct {
	doc string
	set func(c *TopicConfig, v string) error
	get func(c *TopicConfig) string
}

var configKeys = map[string]configKey{
	"retention.ms": {
		doc: "milliseconds to keep a segment after its newest record; -1 keeps forever",
		set: func(c *TopicConfig, v string) (err error) { c.RetentionMs, err = parseMs(v, -1); return },
		get: func(c *TopicConfig) string { return strconv.FormatInt(c.RetentionMs, 10) },
	},
	"retention.bytes": {
		doc: "bytes to keep per partition, in whole segments; -1 keeps all",
		set: func(c *TopicConfig, v string) (err error) {
			c.RetentionBytes, err = parseInt(v, -1, math.MaxInt64)
			return
		},
		get: func(c *TopicConfig) string { return strconv.FormatInt(c.RetentionBytes, 10) },
	},
	"segment.bytes": {
		doc: "size at which a partition starts a new segment file",
		set: func(c *TopicConfig, v string) (err error) {
			c.SegmentBytes, err = parseInt(v, 14, math.MaxInt32)
			return
		},
		get: func(c *TopicConfig) string { return strconv.FormatInt(c.SegmentBytes, 10) },
	},
	"segment.ms": {
		doc: "age at which a partition starts a new segment file",
		set: func(c *TopicConfig, v string) (err error) { c.SegmentMs, err = parseMs(v, 1); return },
		get: func(c *TopicConfig) string { return strconv.FormatInt(c.SegmentMs, 10) },
	},
	"cleanup.policy": {
		doc: "delete, compact, or compact,delete",
		set: func(c *TopicConfig, v string) error {
			p, err := parsePolicy(v)
			c.CleanupPolicy = p
			return err
		},
		get: func(c *TopicConfig) string { return c.CleanupPolicy },
	},
	"delete.retention.ms": {
		doc: "milliseconds compaction keeps a tombstone",
		set: func(c *TopicConfig, v string) (err error) { c.DeleteRetentionMs, err = parseMs(v, 0); return },
		get: func(c *TopicConfig) string { return strconv.FormatInt(c.DeleteRetentionMs, 10) },
	},
	"max.message.bytes": {
		doc: "largest record batch a partition accepts",
		set: func(c *TopicConfig, v string) (err error) {
			c.MaxMessageBytes, err = parseInt(v, batchHeaderSize, math.MaxInt32)
			return
		},
		get: func(c *TopicConfig) string { return strconv.FormatInt(c.MaxMessageBytes, 10) },
	},
}

// ConfigKeys lists the topic config keys, sorted.
func ConfigKeys() []string {
	keys := make([]string, 0, len(configKeys))
	for k := range configKeys {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// ParseTopicConfig applies overrides to the defaults and validates them.
func ParseTopicConfig(overrides map[string]string) (TopicConfig, error) {
	c := DefaultTopicConfig()
	return c, c.apply(overrides)
}

// apply sets each override, rejecting unknown keys with a suggestion.
func (c *TopicConfig) apply(overrides map[string]string) error {
	keys := make([]string, 0, len(overrides))
	for k := range overrides {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		ck, ok := configKeys[k]
		if !ok {
			if s := suggest.Closest(k, ConfigKeys()); s != "" {
				return fmt.Errorf("%w: unknown key %q (did you mean %q?)", ErrInvalidConfig, k, s)
			}
			return fmt.Errorf("%w: unknown key %q (known keys: %s)", ErrInvalidConfig, k, strings.Join(ConfigKeys(), ", "))
		}
		if err := ck.set(c, strings.TrimSpace(overrides[k])); err != nil {
			return fmt.Errorf("%w: %s=%q: %v", ErrInvalidConfig, k, overrides[k], err)
		}
	}
	return nil
}

// Map returns every key with its value as text.
func (c *TopicConfig) Map() map[string]string {
	m := make(map[string]string, len(configKeys))
	for k, ck := range configKeys {
		m[k] = ck.get(c)
	}
	return m
}

// Compact reports whether the cleanup policy includes compaction.
func (c *TopicConfig) Compact() bool { return strings.Contains(c.CleanupPolicy, PolicyCompact) }

// Delete reports whether the cleanup policy includes retention by time and size.
func (c *TopicConfig) Delete() bool { return strings.Contains(c.CleanupPolicy, PolicyDelete) }

func parseInt(v string, lo, hi int64) (int64, error) {
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("not an integer")
	}
	if n < lo || n > hi {
		return 0, fmt.Errorf("must be between %d and %d", lo, hi)
	}
	return n, nil
}

// parseMs takes milliseconds as an integer, or a duration with a unit
// ("500ms", "30s", "2h", "7d") for convenience.
func parseMs(v string, lo int64) (int64, error) {
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n < lo {
			return 0, fmt.Errorf("must be at least %d", lo)
		}
		return n, nil
	}
	if d, ok := strings.CutSuffix(v, "d"); ok {
		n, err := strconv.ParseInt(d, 10, 64)
		if err != nil || n < 0 || n >= math.MaxInt64/int64(24*time.Hour) {
			return 0, fmt.Errorf("not milliseconds or a duration such as 30s, 2h or 7d")
		}
		if ms := n * 24 * 3600 * 1000; ms < lo {
			return 0, fmt.Errorf("must be at least %dms", lo)
		} else {
			return ms, nil
		}
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		return 0, fmt.Errorf("not milliseconds or a duration such as 30s, 2h or 7d")
	}
	ms := int64(d / time.Millisecond)
	if ms < lo {
		return 0, fmt.Errorf("must be at least %dms", lo)
	}
	return ms, nil
}

func parsePolicy(v string) (string, error) {
	var del, comp bool
	for _, p := range strings.Split(v, ",") {
		switch strings.TrimSpace(strings.ToLower(p)) {
		case PolicyDelete:
			del = true
		case PolicyCompact:
			comp = true
		default:
			return "", fmt.Errorf("must be delete, compact, or compact,delete")
		}
	}
	switch {
	case del && comp:
		return PolicyCompactDelete, nil
	case comp:
		return PolicyCompact, nil
	default:
		return PolicyDelete, nil
	}
}
