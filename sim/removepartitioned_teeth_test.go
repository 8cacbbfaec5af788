package sim

import (
	"strings"
	"testing"
)

// TestRemovedLeaderRefusesWritesTeeth: RedisRaft's Jepsen analysis lost
// updates while a node was removed under a partition. Planted here as a
// leader that, applying its own removal, tells the writes it has in
// flight that they did not happen (UnsafeRemovedRefusesWrites), though
// its successor commits those it replicated: the remove-partitioned
// scenario, which writes through the removed node as the removal
// commits, must see a refused write happen (seed 8).
func TestRemovedLeaderRefusesWritesTeeth(t *testing.T) {
	plantCaught(t, "a removed leader that refuses its in-flight writes", 40,
		func(seed uint64) Options { return Options{Scenario: "remove-partitioned", Seed: seed} },
		func(o *Options) { o.UnsafeRemovedRefusesWrites = true },
		func(f *Failure) bool {
			return f.Class == classExpectation && strings.Contains(f.Message, "refused by") || f.Class == classSafety
		})
}
