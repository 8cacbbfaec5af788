package sim

import (
	"strings"
	"testing"
)

// TestOperatorCatchesReplaceKeepingOld: a REPLACENODE that promotes the
// new node and forgets to remove the old one (UnsafeReplaceKeepsOld) is
// caught by the operator's reply-time check at a swarm seed whose
// operator swaps a learner in.
func TestOperatorCatchesReplaceKeepingOld(t *testing.T) {
	if replaying() {
		t.Skip("replaying particular runs")
	}
	const seed = 8
	res := Run(Options{Seed: seed, UnsafeReplaceKeepsOld: true})
	if res.Options.Operator == 0 {
		t.Fatalf("seed %d has no operator", seed)
	}
	if res.Failure == nil || !strings.Contains(res.Failure.Message, "REPLACENODE") {
		t.Fatalf("seed %d with a replace that keeps the old voter: %v, want the operator's reply-time check", seed, res.Failure)
	}
	t.Logf("caught: %v", res.Failure)
	if clean := Run(Options{Seed: seed}); clean.Failure != nil {
		t.Fatalf("seed %d without the plant: %v", seed, clean.Failure)
	}
}
