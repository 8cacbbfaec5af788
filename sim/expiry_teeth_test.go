package sim

import "testing"

// TestPartialRestartNeverExpiresEarly: two of three nodes are down 20 s
// while the leader stays up and counts ticks; the restarted nodes reload
// the old cluster time and lead, and clients set keys with PX d under
// them. When the node that stayed up leads again (seeds 1 and 7) it must
// count from the applied clock, not from its own last stamp: otherwise
// its view is ~20 s ahead and keys vanish a fraction of their TTL after
// their SET returned (seed 1: t0 set [26.516s, 26.520s] PX 1.315s, GET at
// 26.705s -> nil), which this test showed before restartCount.
func TestPartialRestartNeverExpiresEarly(t *testing.T) {
	for _, seed := range []uint64{1, 7} {
		if res := Run(Options{Scenario: "partial-restart-expiry", Seed: seed}); res.Failure != nil {
			t.Errorf("seed %d: %v", seed, res.Failure)
		}
	}
}
