package sim

import (
	"strings"
	"testing"
)

// TestWallClockExpiryCaught: a leader that stamps its own wall clock as
// the cluster time expires keys 30 s early when its clock jumps ahead;
// the clock-skew scenario's expiry windows must catch it.
func TestWallClockExpiryCaught(t *testing.T) {
	plantCaught(t, "wall-clock expiry", 20,
		func(seed uint64) Options { return Options{Scenario: "clock-skew", Seed: seed} },
		func(o *Options) { o.UnsafeWallClockStamps = true },
		func(f *Failure) bool {
			return f.Class == classLinearizability || strings.Contains(f.Message, "held lock")
		})
}

// TestTTLWorkloadRuns: the clients' TTL commands run, take locks, and see
// keys expire within the late bound, in a swarm with faults.
func TestTTLWorkloadRuns(t *testing.T) {
	if replaying() {
		t.Skip("replaying particular runs")
	}
	var locks int
	for seed := uint64(1); seed <= 3; seed++ {
		res := Run(Options{Seed: seed})
		if res.Failure != nil {
			t.Fatalf("seed %d: %v", seed, res.Failure)
		}
		locks += res.Stats.LocksTaken
		t.Logf("seed %d: %d locks taken, latest read past a TTL %s", seed, res.Stats.LocksTaken, res.Stats.ExpiryLateMax)
	}
	if locks == 0 {
		t.Fatal("no client took a lock: the TTL workload did not run")
	}
}

// TestStampedOnlyAnchorCaught: the anchoring before every applied entry
// anchored (UnsafeStampedOnlyAnchor): a key set by an unstamped entry (a
// forwarded proposal stepped in the batch that won an election, or
// appended by a leader with no time to give yet) counted from the last
// stamped entry's receipt and expired early. It needs a key set with a
// TTL by just such an entry and read just before its true deadline, so
// it is rare: with transactions and SCAN in the workload it was caught in
// 2 of 360 runs at 30% TTL commands (seeds 1-60 of disk-wiped,
// leader-killed, held-messages, swarm, disk-wiped-lagging and
// partial-restart-expiry): held-messages seed 21 (not linearizable 23.4 s
// in) and swarm seed 6; which seeds catch it moves whenever the run's
// events do (it was disk-wiped seed 27 before requests waited for a
// leader). The seeds here start at 18 so the test finds it fast.
//
// It replaces TestMidTickAnchorCaught: UnsafeMidTickAnchor's error is up
// to a tick, which keys now make up for by living a tick past their
// deadline (kv.ExpirySlackMillis); with it planted, held-messages seeds
// 1-80 (20 of them at 100 µs latency and 30% TTL commands) and 10 seeds
// each of partial-restart-expiry, clock-skew, leader-killed and
// compaction all passed.
func TestStampedOnlyAnchorCaught(t *testing.T) {
	plantCaught(t, "anchoring at stamped entries only", 10,
		func(seed uint64) Options { return Options{Scenario: "held-messages", Seed: 17 + seed, TTLPercent: 30} },
		func(o *Options) { o.UnsafeStampedOnlyAnchor = true },
		func(f *Failure) bool {
			return f.Class == classLinearizability || strings.Contains(f.Message, "held lock")
		})
}
