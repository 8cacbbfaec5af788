package sim

import (
	"strings"
	"testing"
)

// TestLearnerWipedHeldAcksTeeth: with the join verdict of before claims
// (UnsafeNewLearnerVerdict), an added learner runs under identity 0, and
// its wiped self is called new again while its old self's
// acknowledgements are held: they count for the empty new self
// (review2 finding 1). learner-wiped-held-acks must notice: node 4 ends
// under identity 0 (seeds 1, 3, 4), or its peer guard drops the leader's
// heartbeat past its empty log (seeds 2, 5, 6, 7).
func TestLearnerWipedHeldAcksTeeth(t *testing.T) {
	plantCaught(t, "a wiped learner called new under identity 0", 5,
		func(seed uint64) Options { return Options{Scenario: "learner-wiped-held-acks", Seed: seed} },
		func(o *Options) { o.UnsafeNewLearnerVerdict = true },
		func(f *Failure) bool {
			return f.Class == classExpectation && strings.Contains(f.Message, "under identity 0") ||
				f.Class == classSafety && strings.Contains(f.Message, "peer guard dropped")
		})
}
