package node

import (
	"errors"
	"strings"
	"testing"
)

// TestReplaceOfASoleVoterLeader (review4 finding 1): a one-voter cluster
// moved to new hardware (a learner added, caught up, then REPLACENODE 1 2,
// as -join ADDR -replace 1 asks) passes the quorum check (the one voter
// after it, the caught-up learner, is active) and then meets the hand-off,
// which finds no other voter: it answers ErrUnsafeChange, "the change would
// leave the cluster without a safe quorum", which is not so, advises
// CLUSTER TRANSFER-LEADER, which has no voter to go to, and refuses FORCE
// the same way. app/join.go matches none of its done or give-up strings, so
// a -replace joiner asks forever: the case the hand-off set out to end.
// FAILS on review4 (= land 65ddbf7).
func TestReplaceOfASoleVoterLeader(t *testing.T) {
	cfg := testConfig()
	cfg.Peers = []uint64{1}
	c := newCluster(t, 3, cfg)
	lead := c.theLeader()
	if r := c.do(lead, set("a", "1")); r.Err != nil {
		t.Fatal(r.Err)
	}
	c.addMachine(2)
	if err := c.change(lead, MemberChange{Kind: AddLearner, ID: 2, PeerAddr: "p2", ClientAddr: "c2"}); err != nil {
		t.Fatal(err)
	}
	c.ticks(30)
	for _, force := range []bool{false, true} {
		err := c.change(lead, MemberChange{Kind: Replace, Old: lead, ID: 2, Force: force})
		if errors.Is(err, ErrUnsafeChange) || err != nil && strings.Contains(err.Error(), "TRANSFER-LEADER") {
			t.Errorf("replacing the only voter (leader) by a caught-up learner, force %v, answered %v: the quorum after is safe and there is no voter to transfer to", force, err)
		}
	}
}
