package runtime

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"github.com/sluice-sql/sluice/sql/agg"
	"github.com/sluice-sql/sluice/sql/types"
	"github.com/sluice-sql/sluice/state"
)

// snapshotState keeps what a windowed operator holds in memory in its
// keyed state at checkpoints, one entry per window end, in the first key
// group the instance owns (a job restarts with the same parallelism, so
// the instance owning it reads it back). Entries are under a prefix no
// encoded key has: 0xff 'W' then the end, big-endian with its sign bit
// flipped so that ends sort in order; the watermark is under 0xff 'M'.
type snapshotState struct {
	kv    KeyedState
	kg    int
	dirty map[int64]bool // windows changed since the last save
	saved map[int64]bool // windows that have an entry
	last  int64          // the window last touched (a cheap filter)
	buf   []byte
	key   []byte
}

var errSnapshotScan = errors.New("runtime: the operator's state cannot be scanned to restore it")

func newSnapshotState(kv KeyedState, oc OperatorContext) *snapshotState {
	first, _ := types.KeyGroupRange(oc.Instance, types.DefaultKeyGroups, max(oc.Parallelism, 1))
	return &snapshotState{kv: kv, kg: first, dirty: map[int64]bool{}, saved: map[int64]bool{}, last: math.MinInt64}
}

func (ss *snapshotState) windowKey(end int64) []byte {
	ss.key = append(ss.key[:0], 0xff, 'W')
	ss.key = binary.BigEndian.AppendUint64(ss.key, uint64(end)^(1<<63))
	return ss.key
}

// touch marks window end changed.
func (ss *snapshotState) touch(end int64) {
	if end != ss.last {
		ss.dirty[end], ss.last = true, end
	}
}

// drop forgets a window that fired.
func (ss *snapshotState) drop(end int64) error {
	delete(ss.dirty, end)
	if ss.last == end {
		ss.last = math.MinInt64
	}
	if !ss.saved[end] {
		return nil
	}
	delete(ss.saved, end)
	return ss.kv.Delete(ss.kg, ss.windowKey(end))
}

// save writes every changed window, encoded by enc, and the watermark.
func (ss *snapshotState) save(wm int64, enc func(end int64, v []byte) ([]byte, error)) error {
	for end := range ss.dirty {
		v, err := enc(end, ss.buf[:0])
		if err != nil {
			return err
		}
		ss.buf = v
		if err := ss.kv.Put(ss.kg, ss.windowKey(end), v); err != nil {
			return fmt.Errorf("window state: %w", err)
		}
		ss.saved[end] = true
	}
	clear(ss.dirty)
	ss.last = math.MinInt64
	ss.buf = binary.AppendVarint(ss.buf[:0], wm)
	return ss.kv.Put(ss.kg, []byte{0xff, 'M'}, ss.buf)
}

// load reads every saved window back, calling dec with each, and
// returns the saved watermark (NoWatermark when none was saved).
func (ss *snapshotState) load(dec func(end int64, v []byte) error) (int64, error) {
	st, ok := ss.kv.(*state.Store)
	if !ok {
		return types.NoWatermark, errSnapshotScan
	}
	wm := types.NoWatermark
	v, found, err := st.Get(ss.kg, []byte{0xff, 'M'})
	if err != nil {
		return wm, err
	}
	if found {
		w, n := binary.Varint(v)
		if n <= 0 {
			return wm, fmt.Errorf("window state: a bad watermark entry")
		}
		wm = w
	}
	it := st.Scan(ss.kg, []byte{0xff, 'W'})
	defer it.Close()
	for it.Next() {
		k := it.Key()
		if len(k) != 10 {
			return wm, fmt.Errorf("window state: a bad window key")
		}
		end := int64(binary.BigEndian.Uint64(k[2:]) ^ (1 << 63))
		if err := dec(end, it.Value()); err != nil {
			return wm, fmt.Errorf("window state: %w", err)
		}
		ss.saved[end] = true
	}
	return wm, it.Err()
}

// appendSlotState appends a group: its encoded key, then each
// aggregate's state of slot s, each length-prefixed.
func appendSlotState(v []byte, key string, aggs []agg.Agg, s int32) []byte {
	v = binary.AppendUvarint(v, uint64(len(key)))
	v = append(v, key...)
	return appendAggStates(v, aggs, s)
}

// appendAggStates appends each aggregate's state of slot s,
// length-prefixed, as loadSlotState reads them.
func appendAggStates(v []byte, aggs []agg.Agg, s int32) []byte {
	for _, g := range aggs {
		at := len(v)
		v = append(v, make([]byte, binary.MaxVarintLen64)...)
		v = g.AppendState(v, int(s))
		n := len(v) - at - binary.MaxVarintLen64
		w := binary.PutUvarint(v[at:], uint64(n))
		copy(v[at+w:], v[at+binary.MaxVarintLen64:])
		v = v[:at+w+n]
	}
	return v
}

// nextSlotKey reads a group's key; rest starts at its states.
func nextSlotKey(v []byte) (key, rest []byte, err error) {
	l, n := binary.Uvarint(v)
	if n <= 0 || uint64(len(v)-n) < l {
		return nil, nil, errors.New("a bad group entry")
	}
	return v[n : n+int(l)], v[n+int(l):], nil
}

// loadSlotState loads each aggregate's state into slot s and returns
// what follows.
func loadSlotState(v []byte, aggs []agg.Agg, s int32) ([]byte, error) {
	for _, a := range aggs {
		l, n := binary.Uvarint(v)
		if n <= 0 || uint64(len(v)-n) < l {
			return nil, errors.New("a bad aggregate state")
		}
		if err := a.LoadState(int(s), v[n:n+int(l)]); err != nil {
			return nil, err
		}
		v = v[n+int(l):]
	}
	return v, nil
}
