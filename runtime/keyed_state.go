package runtime

import (
	"fmt"
	"time"
	"unsafe"

	"github.com/sluice-sql/sluice/sql/types"
	"github.com/sluice-sql/sluice/state"
)

// KeyedState is what a stateful operator instance keeps its keyed state
// in: values by (key group, key), the key group being the one the key's
// hash falls in (types.KeyGroup), which is also how exchanges route it.
// state.Store implements it over Badger; without a state database a job
// keeps its state in memory.
type KeyedState interface {
	// Get returns the key's value, which stays valid until the next
	// call; ok is false when there is none.
	Get(kg int, key []byte) (val []byte, ok bool, err error)
	// Put sets the key's value, copying key and val.
	Put(kg int, key, val []byte) error
	Delete(kg int, key []byte) error
}

var _ KeyedState = (*state.Store)(nil)

// memKeyedState is KeyedState in a map, for operators built without a
// state database (unit tests, jobs of no state directory).
type memKeyedState struct {
	m map[string][]byte
}

func newMemKeyedState() *memKeyedState { return &memKeyedState{m: make(map[string][]byte)} }

func (s *memKeyedState) Get(_ int, key []byte) ([]byte, bool, error) {
	v, ok := s.m[string(key)]
	return v, ok, nil
}

func (s *memKeyedState) Put(_ int, key, val []byte) error {
	old := s.m[string(key)]
	s.m[string(key)] = append(old[:0], val...)
	return nil
}

func (s *memKeyedState) Delete(_ int, key []byte) error {
	delete(s.m, string(key))
	return nil
}

// OperatorContext is what an operator instance is built with: its place
// among the instances of its operator, and the job's state.
type OperatorContext struct {
	// Instance is the instance's number, of Parallelism.
	Instance, Parallelism int
	// State is the job's state database; nil keeps state in memory.
	State *state.DB
	// StateTTL, when positive, makes state not written for that long
	// absent ('state.ttl').
	StateTTL time.Duration
	// StateCacheBytes is the memory an instance's state may hold (the
	// state cache's bound, and a bound on what an operator keeps
	// decoded); 0 is the default.
	StateCacheBytes int64
	// StateIDs is the pipeline's: the numbers operators' state is kept
	// under.
	StateIDs map[uint32]uint32
}

// residentGroups is how many groups an aggregation keeps decoded: about
// one per 512 bytes of the state cache bound, or DefaultResidentGroups.
func (oc OperatorContext) residentGroups() int {
	if oc.StateCacheBytes <= 0 {
		return DefaultResidentGroups
	}
	return max(int(oc.StateCacheBytes/512), 16)
}

// keyedState opens the instance's store of operator op: the key groups
// this instance owns, as the hash exchange before it routes them.
func (oc OperatorContext) keyedState(op uint32) (KeyedState, error) {
	if oc.State == nil {
		return newMemKeyedState(), nil
	}
	if id, ok := oc.StateIDs[op]; ok {
		op = id
	}
	first, end := types.KeyGroupRange(oc.Instance, types.DefaultKeyGroups, max(oc.Parallelism, 1))
	s, err := oc.State.Store(op, state.StoreOptions{FirstKeyGroup: first, EndKeyGroup: end, TTL: oc.StateTTL})
	if err != nil {
		return nil, fmt.Errorf("runtime: state of operator %d: %w", op, err)
	}
	return s, nil
}

// unsafeBytes is s's bytes, without a copy: for reading only.
func unsafeBytes(s string) []byte {
	return unsafe.Slice(unsafe.StringData(s), len(s))
}
