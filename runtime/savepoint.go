package runtime

import (
	"fmt"
	"hash/fnv"

	"github.com/sluice-sql/sluice/planner"
)

// stateful reports whether a planner node keeps keyed state.
func statefulNode(n *planner.Node) bool {
	switch n.Kind {
	case planner.KindAggregate, planner.KindWindowAggregate, planner.KindSessionAggregate,
		planner.KindTopN, planner.KindNormalize:
		return true
	}
	return false
}

// stateIDs numbers the state of p's stateful operators by what the state
// holds rather than by where the operator is in the plan: the number is
// a hash of the operator's StateSignature (and of how many operators
// before it have the same one). A compatible change of the query (a
// filter or a projection added around the same aggregation) renumbers
// the plan's nodes but leaves these numbers as they were, so that a job
// started from a savepoint finds its state. The numbers are in [1, 2^24),
// below mvIndexOp's.
func stateIDs(p *planner.Physical) map[uint32]uint32 {
	ids := map[uint32]uint32{}
	used := map[uint32]bool{}
	seen := map[string]int{}
	for _, n := range p.Nodes {
		if !statefulNode(n) {
			continue
		}
		sig := n.StateSignature()
		seen[sig]++
		h := fnv.New32a()
		fmt.Fprintf(h, "%s#%d", sig, seen[sig])
		id := h.Sum32()%(mvIndexOp-1) + 1
		for used[id] { // a collision: the next free number, in plan order
			id = id%(mvIndexOp-1) + 1
		}
		used[id] = true
		ids[uint32(n.ID)] = id
	}
	return ids
}
