package node

import (
	"errors"
	"strings"
	"testing"
)

// TestReplaceOfASoleVoterLeader (review4 finding 1): a one-voter cluster
// moved to new hardware (a learner added, caught up, then REPLACENODE 1 2,
// as -join ADDR -replace 1 asks) has no voter to hand leadership to. It
// was answered ErrUnsafeChange ("without a safe quorum", not so) advising
// a TRANSFER-LEADER with nowhere to go, FORCE too, and a -replace joiner
// asked forever. It is refused as ErrBadChange naming the steps that
// work, which app/join.go takes as final.
func TestReplaceOfASoleVoterLeader(t *testing.T) {
	cfg := testConfig()
	cfg.Peers = []uint64{1}
	c := newCluster(t, 3, cfg)
	lead := c.theLeader()
	if r := c.do(lead, set("a", "1")); r.Err != nil {
		t.Fatal(r.Err)
	}
	c.addLearner(lead, 2)
	c.ticks(30)
	for _, force := range []bool{false, true} {
		err := c.change(lead, MemberChange{Kind: Replace, Old: lead, ID: 2, Force: force})
		if !errors.Is(err, ErrBadChange) || !strings.Contains(err.Error(), "is the only voter and leads") || !strings.Contains(err.Error(), "CLUSTER PROMOTE 2") {
			t.Errorf("replacing the only voter (leader) by a caught-up learner, force %v, answered %v, want the steps that work", force, err)
		}
	}
	if c.node(lead).transfer != nil {
		t.Fatal("a hand-off started with no other voter")
	}
}
