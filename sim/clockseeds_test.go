package sim

import "testing"

// TestUnstampedAnchorSeeds: the two seeds a sweep of s6-clock failed (not
// linearizable: keys gone early), while only stamped entries anchored
// the applied cluster time. Both pass since every applied entry anchors
// it; with UnsafeStampedOnlyAnchor both fail again. Held-messages seed
// 64: a leader with no time to give (applied clock 0, stamps in its log)
// once stamped 0, which no peer decodes (the guard dropped the append).
func TestUnstampedAnchorSeeds(t *testing.T) {
	if replaying() {
		t.Skip("replaying particular runs")
	}
	for _, o := range []Options{{Scenario: "swarm", Seed: 12}, {Scenario: "disk-wiped", Seed: 22}, {Scenario: "held-messages", Seed: 64}} {
		if res := Run(o); res.Failure != nil {
			t.Errorf("%s seed %d: %v", o.Scenario, o.Seed, res.Failure)
		}
	}
}
