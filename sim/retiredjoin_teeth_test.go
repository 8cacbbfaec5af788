package sim

import (
	"strings"
	"testing"
)

// TestRetiredJoinHeldTeeth: with a leader that takes a join request of a
// retired identity (UnsafeJoinFromRetired), the held join requests of
// node 4's first rejoin, set free while its current self is down, make
// the leader remove that self (review3 finding 5). retired-join-held must
// notice the membership change.
func TestRetiredJoinHeldTeeth(t *testing.T) {
	plantCaught(t, "a join request of a retired identity taken", 5,
		func(seed uint64) Options { return Options{Scenario: "retired-join-held", Seed: seed} },
		func(o *Options) { o.UnsafeJoinFromRetired = true },
		func(f *Failure) bool {
			return f.Class == classExpectation && strings.Contains(f.Message, "membership changes after n4's")
		})
}
