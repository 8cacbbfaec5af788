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
// flake) is caught by the operator's impostor check at swarm seed 74:
// its first command, at 0.65 s, asks n2 to add node 3 from imp3:7379
// before node 3 announced its address.
func TestOperatorCatchesImpostorTold(t *testing.T) {
	if replaying() {
		t.Skip("replaying particular runs")
	}
	const seed = 74
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
