// Tests that the chaos scenarios have teeth: each protection the product
// relies on is switched off (or the cluster misconfigured), and the
// scenario that guards it must fail with its own expectation, within a few
// seeds. A scenario that cannot fail proves nothing.
package sim

import (
	"strings"
	"testing"
)

func TestScenarioTeeth(t *testing.T) {
	if replaying() {
		t.Skip("replaying particular runs")
	}
	cases := []struct {
		name     string
		scenario string
		why      string // the defect: the protection switched off
		opts     Options
		want     string // a fragment of the failure
		seedsMax int
	}{
		{"slow elections", "leader-killed", "a 3 to 6 s election timeout instead of 0.5 to 1 s",
			Options{ElectionTicks: 300}, "no new leader within 2s", 3},
		{"no spare replica", "follower-killed", "a 2-node cluster, which a single failure stops",
			Options{Nodes: 2}, "want success", 3},
		{"minority leader keeps leading", "partition-2-1", "CheckQuorum: a leader cut off in the minority never steps down",
			Options{DisableCheckQuorum: true}, "no clear error", 10},
		{"minority serves reads", "partition-2-1", "ReadIndex: reads answered from local state",
			Options{UnsafeLocalReads: true}, "without a quorum succeeded", 5},
		{"deaf leader", "asymmetric", "CheckQuorum: a leader that hears no one goes on leading",
			Options{DisableCheckQuorum: true}, "still leads", 3},
		{"isolated leader", "leader-isolated", "CheckQuorum: an isolated leader goes on leading",
			Options{DisableCheckQuorum: true}, "still leads", 3},
		{"last node standing", "cascading", "CheckQuorum: a lone leader keeps taking writes until the 30 s timeout",
			Options{DisableCheckQuorum: true}, "no clear error", 10},
		// The clients' own INCRs and APPENDs also double, so porcupine's
		// verdict on the whole run may be what fails first: either is the
		// scenario failing.
		{"applied twice", "kill-mid-burst", "exactly-once apply: a proposal the network duplicated is applied twice",
			Options{UnsafeNoDedup: true, DupPercent: 50}, "", 10},
		{"impatient elections", "slow-network", "an election timeout (150 to 300 ms) below the 200 ms round trip",
			Options{ElectionTicks: 15, HeartbeatTicks: 5}, "", 3},
		{"no compaction", "compaction", "snapshots: the log is never compacted",
			Options{SnapshotEntries: 1 << 40}, "log entries, over", 3},
		{"lying disk", "full-restart", "fsync: the write-ahead log acknowledges before data is durable",
			Options{LyingDisk: true}, "", 3},
		{"amnesiac node", "disk-wiped", "probing before bootstrap: a wiped node bootstraps as if it had never been a member",
			Options{UnsafeBlindBootstrap: true}, "", 3},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for seed := uint64(1); seed <= uint64(tc.seedsMax); seed++ {
				o := tc.opts
				o.Scenario, o.Seed = tc.scenario, seed
				res := Run(o)
				if res.Failure == nil {
					continue
				}
				if tc.want != "" && (res.Failure.Class != classExpectation || !strings.Contains(res.Failure.Message, tc.want)) {
					t.Fatalf("seed %d failed, but not with %q: %v", seed, tc.want, res.Failure)
				}
				t.Logf("defect (%s): %s fails at seed %d: %v", tc.why, tc.scenario, seed, res.Failure)
				return
			}
			t.Fatalf("defect (%s): %s still passed %d seeds", tc.why, tc.scenario, tc.seedsMax)
		})
	}
}

// TestScenarioDeterminism runs each scenario's first seed twice and
// compares the hashes of the two runs' events.
func TestScenarioDeterminism(t *testing.T) {
	if replaying() {
		t.Skip("replaying particular runs")
	}
	for _, name := range []string{"leader-killed", "partition-2-1", "kill-mid-burst", "clock-skew", "held-messages", "membership"} {
		opts := Options{Scenario: name, Seed: 1}.FromSeed()
		a, b := run(opts, true), run(opts, true)
		if a.Hash != b.Hash || len(a.Events) != len(b.Events) {
			i := firstDivergence(a.Events, b.Events)
			t.Errorf("%s seed 1 is not deterministic: %d vs %d events; first divergence at event %d", name, len(a.Events), len(b.Events), i)
		}
	}
}
