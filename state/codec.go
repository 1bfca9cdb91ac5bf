package state

import (
	"encoding/binary"
	"math"
)

// Typed encodings for keys and values. Both are order-preserving (bytes
// compare as the numbers do), so they can lead a key whose prefix scans
// must come out in numeric order, such as a window's start time.

// AppendInt64 appends the 8-byte order-preserving encoding of v.
func AppendInt64(dst []byte, v int64) []byte {
	return binary.BigEndian.AppendUint64(dst, uint64(v)^(1<<63))
}

// Int64 decodes the first 8 bytes of b written by AppendInt64.
func Int64(b []byte) int64 {
	return int64(binary.BigEndian.Uint64(b) ^ (1 << 63))
}

// AppendFloat64 appends the 8-byte order-preserving encoding of v:
// -Inf < negative < -0 < +0 < positive < +Inf < NaN.
func AppendFloat64(dst []byte, v float64) []byte {
	u := math.Float64bits(v)
	if u&(1<<63) != 0 {
		u = ^u
	} else {
		u |= 1 << 63
	}
	return binary.BigEndian.AppendUint64(dst, u)
}

// Float64 decodes the first 8 bytes of b written by AppendFloat64.
func Float64(b []byte) float64 {
	u := binary.BigEndian.Uint64(b)
	if u&(1<<63) != 0 {
		u &^= 1 << 63
	} else {
		u = ^u
	}
	return math.Float64frombits(u)
}
