package node

import (
	"testing"
)

// TestReplaceLeavesAfterFailedTransfer: a leadership transfer started
// while a Replace is on its way (here to the dead voter it replaces)
// makes raft drop its automatic leave of the joint configuration (raft
// drops every proposal during a transfer) and try again only when a
// later entry applies. In an idle cluster none does: raft stayed joint,
// and every later membership change was refused as pending.
func TestReplaceLeavesAfterFailedTransfer(t *testing.T) {
	c := newCluster(t, 7, testConfig())
	lead := c.theLeader()
	if r := c.do(lead, set("a", "1")); r.Err != nil {
		t.Fatal(r.Err)
	}
	old := c.follower(lead)
	c.addLearner(lead, 4)
	c.ticks(30)
	c.stop(old)
	c.ticks(3 * c.cfg.ElectionTicks)
	replaced, transferred := 0, 0
	var replaceErr, transferErr error
	c.node(lead).ChangeMembership(MemberChange{Kind: Replace, Old: old, ID: 4}, func(err error) { replaced++; replaceErr = err })
	c.node(lead).TransferLeadership(old, func(err error) { transferred++; transferErr = err })
	for range 20 * c.cfg.ElectionTicks {
		c.tick()
	}
	if replaced != 1 || transferred != 1 {
		t.Fatalf("replace answered %d times (%v), transfer %d times (%v)", replaced, replaceErr, transferred, transferErr)
	}
	t.Logf("replace: %v; transfer: %v", replaceErr, transferErr)
	lead = c.theLeader()
	if cs := c.node(lead).store.ConfState(); len(cs.GetVotersOutgoing()) != 0 {
		t.Fatalf("leader %d is still joint after %d idle election timeouts: %v", lead, 20, cs)
	}
}
