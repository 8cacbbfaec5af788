//go:build mutants

package sim

import (
	"strings"
	"testing"

	"github.com/seshat-db/seshat/internal/mutant"
)

// TestOperatorCatchesEarlyAck: a leader that answers an operator's
// membership change +OK once it proposed it, before it applied it (the
// mutant member-ack-before-apply), is caught by the swarm operator's
// reply-time check at swarm seed 4, the first seed with an operator.
func TestOperatorCatchesEarlyAck(t *testing.T) {
	if replaying() {
		t.Skip("replaying particular runs")
	}
	const seed = 4
	if err := mutant.Select(mutant.MemberAckBeforeApply); err != nil {
		t.Fatal(err)
	}
	res := Run(Options{Seed: seed})
	_ = mutant.Select("")
	if res.Options.Operator == 0 {
		t.Fatalf("seed %d has no operator", seed)
	}
	if res.Failure == nil || !strings.Contains(res.Failure.Message, "answered +OK to") {
		t.Fatalf("seed %d with an early +OK: %v, want the operator's reply-time check", seed, res.Failure)
	}
	t.Logf("caught: %v", res.Failure)
	if clean := Run(Options{Seed: seed}); clean.Failure != nil {
		t.Fatalf("seed %d without the mutant: %v", seed, clean.Failure)
	}
}
