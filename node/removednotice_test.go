package node

import "testing"

// TestRemovalNoticeToAMemberPassesOver: a removal notice is believed
// without proof (the node it names missed the commit that removed it, so
// it has nothing to check the notice against), so one sent to a node
// that is still a member (by a faulty or confused peer; FuzzPeerStep
// found it: corpus 7064af98f057bb17) must not stop it for good. A leader
// learns its own removal from its log and ignores notices; a follower
// serves again once its leader sends it entries or heartbeats, which a
// removed node no longer gets.
func TestRemovalNoticeToAMemberPassesOver(t *testing.T) {
	c := newCluster(t, 61, testConfig())
	lead, fl := written(c, 1)
	other := 6 - lead - fl
	for _, to := range []uint64{lead, fl} {
		_ = c.node(to).Step(envelope{kind: peerRemoved, from: other}.encode(nil))
	}
	c.servesAfter("a removal notice to members")
	var err error
	for range 5 {
		if err = c.do(fl, set("via the follower", "v")).Err; err == nil {
			return
		}
	}
	t.Fatalf("the follower told it was removed still refuses: %v", err)
}

// TestRemovalNoticeToAFollowerThatThenLeads: a follower told it was
// removed (wrongly: a faulty or forged peer) that wins an election before
// its leader's next heartbeat never hears from a leader again, so nothing
// undid the notice: it led on, refusing every request, and the cluster
// took no write until it lost leadership, which a healthy leader never
// does (found with a forged joint change at a higher term: the forged
// leader's state told a member it was removed). Winning an election
// proves membership as a leader's heartbeat does: a member drops a
// removed node's messages, so none of the voters counted it out.
func TestRemovalNoticeToAFollowerThatThenLeads(t *testing.T) {
	c := newCluster(t, 61, testConfig())
	lead, fl := written(c, 1)
	other := 6 - lead - fl
	_ = c.node(fl).Step(envelope{kind: peerRemoved, from: other}.encode(nil))
	if err := c.transfer(lead, fl); err != nil {
		t.Fatalf("transfer to %d: %v", fl, err)
	}
	var err error
	for range 5 {
		if err = c.do(c.theLeader(), set("via the new leader", "v")).Err; err == nil {
			return
		}
	}
	t.Fatalf("node %d, told it was removed, then elected, refuses: %v", fl, err)
}
