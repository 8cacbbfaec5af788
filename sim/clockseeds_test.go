package sim

import "testing"

// TestUnstampedAnchorSeeds: the two seeds a sweep of s6-clock failed (not
// linearizable: keys gone early), while only stamped entries anchored
// the applied cluster time. Both pass since every applied entry anchors
// it; with UnsafeStampedOnlyAnchor both fail again.
func TestUnstampedAnchorSeeds(t *testing.T) {
	if replaying() {
		t.Skip("replaying particular runs")
	}
	for _, o := range []Options{{Scenario: "swarm", Seed: 12}, {Scenario: "disk-wiped", Seed: 22}} {
		if res := Run(o); res.Failure != nil {
			t.Errorf("%s seed %d: %v", o.Scenario, o.Seed, res.Failure)
		}
	}
}
