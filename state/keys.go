package state

import (
	"encoding/binary"
	"fmt"
)

// The key layout in Badger (see doc.go, "On disk"). Every key starts with
// a namespace byte:
//
//	0x01 name                          metadata (checkpoint record, format)
//	0x02 op:u32 kg:u16 key             committed state
//	0x03 op:u32 kg:u16 key             staging: the uncommitted epoch
//
// Integers are big-endian, so Badger's byte order sorts state by
// operator, then key group, then key: an operator's state, a key group's
// state and a key prefix within a key group are each one contiguous range.
const (
	nsMeta      byte = 0x01
	nsCommitted byte = 0x02
	nsStaging   byte = 0x03

	// stateHeader is the length of the namespace, operator and key group.
	stateHeader = 1 + 4 + 2

	checkpointKey = "\x01checkpoint"
	formatKey     = "\x01format"
)

// appendStateKey appends the Badger key of (op, kg, key) in namespace ns.
func appendStateKey(dst []byte, ns byte, op uint32, kg int, key []byte) []byte {
	dst = append(dst, ns)
	dst = binary.BigEndian.AppendUint32(dst, op)
	dst = binary.BigEndian.AppendUint16(dst, uint16(kg))
	return append(dst, key...)
}

// Values in the committed and staging namespaces carry a header:
//
//	kind:u8 written:i64 value
//
// kind is kindPut, or kindDelete for a delete (staging only: a committed
// delete removes the Badger key). written is when the value was written,
// in Unix nanoseconds, which state TTL reads.
const (
	kindPut     byte = 1
	kindDelete  byte = 2
	valueHeader      = 1 + 8
)

func appendValue(dst []byte, kind byte, written int64, v []byte) []byte {
	dst = append(dst, kind)
	dst = binary.BigEndian.AppendUint64(dst, uint64(written))
	return append(dst, v...)
}

// decodeValue splits a stored value into its header and the caller's bytes.
func decodeValue(b []byte) (kind byte, written int64, v []byte, err error) {
	if len(b) < valueHeader || (b[0] != kindPut && b[0] != kindDelete) {
		return 0, 0, nil, fmt.Errorf("%w: value header %x", ErrCorrupt, b[:min(len(b), valueHeader)])
	}
	return b[0], int64(binary.BigEndian.Uint64(b[1:9])), b[valueHeader:], nil
}

// The checkpoint record, at checkpointKey:
//
//	version:u8(1) flags:u8 epoch:u64 meta
//
// flagPending says that the epoch's writes are complete in the staging
// namespace but not yet all moved to the committed one: Open finishes the
// move before anything reads state.
const (
	checkpointVersion byte = 1
	flagPending       byte = 1
)

type checkpoint struct {
	epoch   uint64
	pending bool
	meta    []byte
}

func (c checkpoint) encode() []byte {
	b := make([]byte, 0, 10+len(c.meta))
	var flags byte
	if c.pending {
		flags |= flagPending
	}
	b = append(b, checkpointVersion, flags)
	b = binary.BigEndian.AppendUint64(b, c.epoch)
	return append(b, c.meta...)
}

func decodeCheckpoint(b []byte) (checkpoint, error) {
	if len(b) < 10 || b[0] != checkpointVersion || b[1]&^flagPending != 0 {
		return checkpoint{}, fmt.Errorf("%w: checkpoint record %x", ErrCorrupt, b[:min(len(b), 10)])
	}
	return checkpoint{
		epoch:   binary.BigEndian.Uint64(b[2:10]),
		pending: b[1]&flagPending != 0,
		meta:    append([]byte(nil), b[10:]...),
	}, nil
}

// The format record, at formatKey: version:u8(1) keyGroups:u16.
const formatVersion byte = 1

func encodeFormat(keyGroups int) []byte {
	return binary.BigEndian.AppendUint16([]byte{formatVersion}, uint16(keyGroups))
}

func decodeFormat(b []byte) (keyGroups int, err error) {
	if len(b) != 3 || b[0] != formatVersion {
		return 0, fmt.Errorf("%w: format record %x", ErrCorrupt, b)
	}
	return int(binary.BigEndian.Uint16(b[1:])), nil
}
