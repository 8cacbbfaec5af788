package sim

import (
	"strings"
	"testing"
)

// TestRemovedNodeServesTeeth: RedisRaft's Jepsen analysis found a node
// removed from the cluster that still served reads. Planted here as a
// removed node that serves reads from its local state, the membership
// scenario's stale-read invariant must catch it (the scenario reads
// through the removed node after newer writes).
func TestRemovedNodeServesTeeth(t *testing.T) {
	plantCaught(t, "a removed node that serves reads", 5,
		func(seed uint64) Options { return Options{Scenario: "membership", Seed: seed} },
		func(o *Options) { o.UnsafeRemovedServes = true },
		func(f *Failure) bool {
			return f.Class == classSafety && strings.Contains(f.Message, "a stale read") ||
				f.Class == classExpectation && strings.Contains(f.Message, "served a read")
		})
}

// TestReplaceKeepsOldTeeth: a REPLACENODE that promotes the new node but
// leaves the old voter in (UnsafeReplaceKeepsOld) must be caught by the
// replace scenario: the voters' membership is not the new one, and the
// old node, back, still serves.
func TestReplaceKeepsOldTeeth(t *testing.T) {
	plantCaught(t, "a replace that keeps the old voter", 5,
		func(seed uint64) Options { return Options{Scenario: "replace", Seed: seed} },
		func(o *Options) { o.UnsafeReplaceKeepsOld = true },
		func(f *Failure) bool {
			return f.Class == classExpectation && (strings.Contains(f.Message, "membership is voters") || strings.Contains(f.Message, "want a refusal"))
		})
}
