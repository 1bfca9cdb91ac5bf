package agg

import (
	"encoding/binary"
	"fmt"
	"math"
)

// stateVersion is the first byte of every encoded slot state.
const stateVersion = 1

// Tags name the accumulator that wrote a state, its second byte.
const (
	tagCountStar byte = iota + 1
	tagCount
	tagSumInt
	tagAvgInt
	tagSumDec
	tagSumFloat
	tagExtremeInt
	tagExtreme
	tagExtremeRetract
	tagFirstLast
	tagFirstLastRetract
	tagVariance
	tagDistinct
)

func appendHeader(dst []byte, tag byte) []byte { return append(dst, stateVersion, tag) }

func appendVarint(dst []byte, x int64) []byte   { return binary.AppendVarint(dst, x) }
func appendUvarint(dst []byte, x uint64) []byte { return binary.AppendUvarint(dst, x) }

func appendFloat(dst []byte, f float64) []byte {
	return binary.LittleEndian.AppendUint64(dst, math.Float64bits(f))
}

func appendI128(dst []byte, x i128) []byte {
	dst = binary.LittleEndian.AppendUint64(dst, x.lo)
	return binary.LittleEndian.AppendUint64(dst, uint64(x.hi))
}

func appendBytes(dst []byte, b string) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(b)))
	return append(dst, b...)
}

// reader decodes a state; the first error sticks and later reads return
// zero values, so a decoder checks err once at the end.
type reader struct {
	b   []byte
	err error
}

func newReader(src []byte, tag byte) *reader {
	r := &reader{b: src}
	if len(src) < 2 || src[0] != stateVersion || src[1] != tag {
		r.fail()
		return r
	}
	r.b = src[2:]
	return r
}

func (r *reader) fail() {
	if r.err == nil {
		r.err = ErrBadState
	}
	r.b = nil
}

func (r *reader) varint() int64 {
	x, n := binary.Varint(r.b)
	if n <= 0 {
		r.fail()
		return 0
	}
	r.b = r.b[n:]
	return x
}

func (r *reader) uvarint() uint64 {
	x, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.fail()
		return 0
	}
	r.b = r.b[n:]
	return x
}

func (r *reader) u64() uint64 {
	if len(r.b) < 8 {
		r.fail()
		return 0
	}
	x := binary.LittleEndian.Uint64(r.b)
	r.b = r.b[8:]
	return x
}

func (r *reader) float() float64 { return math.Float64frombits(r.u64()) }

func (r *reader) i128() i128 {
	lo := r.u64()
	return i128{hi: int64(r.u64()), lo: lo}
}

func (r *reader) bool() bool { return r.uvarint() != 0 }

func (r *reader) bytes() string {
	n := r.uvarint()
	if n > uint64(len(r.b)) {
		r.fail()
		return ""
	}
	s := string(r.b[:n])
	r.b = r.b[n:]
	return s
}

// rest returns the undecoded bytes (a nested state).
func (r *reader) rest() []byte {
	b := r.b
	r.b = nil
	return b
}

// done reports the first error, or one for trailing bytes.
func (r *reader) done() error {
	if r.err == nil && len(r.b) != 0 {
		r.err = fmt.Errorf("%w: %d trailing bytes", ErrBadState, len(r.b))
	}
	return r.err
}

func appendBool(dst []byte, b bool) []byte {
	if b {
		return append(dst, 1)
	}
	return append(dst, 0)
}
