package sim

import (
	"strings"
	"testing"
)

// TestRestartForgetsChangeTeeth: RedisRaft's Jepsen analysis found empty
// reads after membership changes and crashes (a restarted node lost what
// it had applied). Planted here as a restart that takes the membership
// from the node's last snapshot and forgets the changes applied since
// (UnsafeConfFromBase): the change-crash-reads scenario, which restarts
// the whole cluster after a promotion and a removal, must catch it: at
// seed 1 a voter restarts with the membership of before the removal; at
// seed 2, one restarted after the learner's addition, the committed log
// itself is overwritten (two members disagree on who votes).
func TestRestartForgetsChangeTeeth(t *testing.T) {
	plantCaught(t, "a restart that forgets the membership changes since the last snapshot", 40,
		func(seed uint64) Options { return Options{Scenario: "change-crash-reads", Seed: seed} },
		func(o *Options) { o.UnsafeConfFromBase = true },
		func(f *Failure) bool {
			return f.Class == classSafety && strings.Contains(f.Message, "committed entry") ||
				f.Class == classExpectation && (strings.Contains(f.Message, "restarted with the voters") || strings.Contains(f.Message, "reads"))
		})
}
