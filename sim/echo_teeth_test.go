//go:build mutants

package sim

import (
	"strings"
	"testing"

	"github.com/seshat-db/seshat/internal/mutant"
)

// TestEchoesFindStaleReadConfirmation: a node that lets a ReadIndex
// confirmation meant for its previous process serve a read (the mutant
// stale-read-confirmation) is caught by the read floor within a few swarm
// seeds, now that the network echoes a previous process's confirmations
// into the next one (echo.go). Before the echoes it survived 175 seeds.
func TestEchoesFindStaleReadConfirmation(t *testing.T) {
	if replaying() {
		t.Skip("replaying particular runs")
	}
	for seed := uint64(1); seed <= 8; seed++ {
		if err := mutant.Select(mutant.StaleReadConfirmation); err != nil {
			t.Fatal(err)
		}
		res := Run(Options{Seed: seed})
		_ = mutant.Select("")
		if res.Failure == nil {
			continue
		}
		if !strings.Contains(res.Failure.Message, "a stale read") {
			t.Fatalf("seed %d failed with the mutant, but not on the read floor: %v", seed, res.Failure)
		}
		t.Logf("caught at seed %d: %v", seed, res.Failure)
		if clean := Run(Options{Seed: seed}); clean.Failure != nil {
			t.Fatalf("seed %d without the mutant: %v", seed, clean.Failure)
		}
		return
	}
	t.Fatal("stale read confirmations went unnoticed for 8 seeds")
}
