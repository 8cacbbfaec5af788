//go:build mutants

package sim

import (
	"strings"
	"testing"

	"github.com/seshat-db/seshat/internal/mutant"
)

// TestOperatorCatchesImpostorTold: a leader that answers an ADDNODE
// under a member's id from another machine "already a member" while the
// member's address is not recorded yet (the mutant
// unrecorded-member-already-in, the e2e TestJoinUnderAMembersIDIsRefused
// flake) is caught by the operator's impostor check at swarm seed 10:
// its early impostor (earlyImpostor) asks the first leader to add a first
// member from another machine's addresses before that member announced
// its own. Seeds 20, 24 and 39 catch it too.
func TestOperatorCatchesImpostorTold(t *testing.T) {
	if replaying() {
		t.Skip("replaying particular runs")
	}
	const seed = 10
	if err := mutant.Select(mutant.UnrecordedMemberAlreadyIn); err != nil {
		t.Fatal(err)
	}
	res := Run(Options{Seed: seed})
	_ = mutant.Select("")
	if res.Failure == nil || !strings.Contains(res.Failure.Message, "already a member, which it takes as its join done") {
		t.Fatalf("seed %d with the old answer: %v, want the operator's impostor check", seed, res.Failure)
	}
	t.Logf("caught: %v", res.Failure)
	if clean := Run(Options{Seed: seed}); clean.Failure != nil {
		t.Fatalf("seed %d without the mutant: %v", seed, clean.Failure)
	}
}
