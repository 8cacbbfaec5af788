package sim

import (
	"testing"
	"time"
)

// TestScannerFinishesScans: the SCAN workload runs scans to their end
// under the swarm's faults, so its check is exercised (its planted bug,
// the scan-cursor-skips mutant, is caught by `make mutants`).
func TestScannerFinishesScans(t *testing.T) {
	if replaying() {
		t.Skip("replaying particular runs")
	}
	res := Run(Options{Seed: 1, Run: 20 * time.Second, FaultsEnd: 8 * time.Second})
	if res.Failure != nil {
		t.Fatal(res.Failure)
	}
	if res.Stats.Scans < 3 {
		t.Fatalf("%d scans finished in 20 s", res.Stats.Scans)
	}
	t.Logf("%d scans finished and checked", res.Stats.Scans)
}
