package broker

import (
	"errors"
	"strings"
	"testing"
)

func TestParseTopicConfig(t *testing.T) {
	c, err := ParseTopicConfig(map[string]string{
		"retention.ms":        "3600000",
		"retention.bytes":     "1048576",
		"segment.bytes":       "65536",
		"segment.ms":          "2h",
		"cleanup.policy":      "delete,compact",
		"delete.retention.ms": "7d",
		"max.message.bytes":   "2000000",
	})
	if err != nil {
		t.Fatal(err)
	}
	want := TopicConfig{RetentionMs: 3600000, RetentionBytes: 1 << 20, SegmentBytes: 65536, SegmentMs: 7200000,
		CleanupPolicy: PolicyCompactDelete, DeleteRetentionMs: 7 * 86400000, MaxMessageBytes: 2000000}
	if c != want {
		t.Fatalf("got %+v\nwant %+v", c, want)
	}
	if !c.Compact() || !c.Delete() {
		t.Fatal("policy flags")
	}
	if d := DefaultTopicConfig(); d.Compact() || !d.Delete() || d.RetentionMs != 604800000 || d.SegmentBytes != 1<<30 {
		t.Fatalf("defaults %+v", d)
	}
	m := c.Map()
	if m["cleanup.policy"] != "compact,delete" || m["segment.ms"] != "7200000" || len(m) != len(ConfigKeys()) {
		t.Fatalf("map %v", m)
	}
}

func TestParseTopicConfigErrors(t *testing.T) {
	cases := []struct {
		key, value, want string
	}{
		{"retention.msx", "1", `unknown key "retention.msx" (did you mean "retention.ms"?)`},
		{"compression.type", "lz4", `unknown key "compression.type" (known keys: cleanup.policy,`},
		{"retention.ms", "soon", `retention.ms="soon": not milliseconds or a duration`},
		{"retention.ms", "-2", "must be at least -1"},
		{"retention.bytes", "1.5", "not an integer"},
		{"segment.bytes", "10", "must be between 14 and 2147483647"},
		{"segment.bytes", "4294967296", "must be between"},
		{"segment.ms", "0", "must be at least 1"},
		{"cleanup.policy", "archive", "must be delete, compact, or compact,delete"},
		{"delete.retention.ms", "-1", "must be at least 0"},
		{"max.message.bytes", "0", "must be between 61 and"},
	}
	for _, c := range cases {
		_, err := ParseTopicConfig(map[string]string{c.key: c.value})
		if !errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s=%s: got %v, want error containing %q", c.key, c.value, err, c.want)
		}
	}
}
