package node

import "testing"

// TestRemovedLearnerLearnsIt: a learner cut off while it is removed
// misses the commit, and the leader sends nothing to a removed node, nor
// does a learner campaign (which members answer with the notice): it
// must still learn it was removed once the cut heals (swarm seed 127),
// by asking the voters it knows (askIfRemoved).
func TestRemovedLearnerLearnsIt(t *testing.T) {
	c := newCluster(t, 62, testConfig())
	lead := c.theLeader()
	if r := c.do(lead, set("a", "1")); r.Err != nil {
		t.Fatal(r.Err)
	}
	c.addLearner(lead, 4)
	c.waitRole(4, "learner")
	cut := true
	c.drop = func(m message) bool { return cut && (m.To == 4 || m.From == 4) }
	if err := c.change(lead, MemberChange{Kind: Remove, ID: 4}); err != nil {
		t.Fatal(err)
	}
	c.ticks(5)
	if st := c.node(4).Status(); st.Role != "learner" {
		t.Fatalf("cut-off node 4 is %q before the heal, want learner", st.Role)
	}
	cut = false
	c.waitRole(4, "removed")
	if r := c.do(4, get("a")); r.Err == nil {
		t.Fatalf("the removed learner served a read")
	}
}

// TestRemovedBeforeItHeardAnythingLearnsIt: a node started to join,
// added and removed again before it heard a word from the cluster (swarm
// seed 795), has applied no membership and never campaigns; it must
// still learn it was removed, from its configured peers' answers.
func TestRemovedBeforeItHeardAnythingLearnsIt(t *testing.T) {
	c := newCluster(t, 63, testConfig())
	lead := c.theLeader()
	c.addMachine(4)
	c.ticks(20) // the leader calls it new: it probes on until it is added
	if st := c.node(4).Status(); st.Role != "discovering" || st.Identity != 0 {
		t.Fatalf("node 4 before it is added: %q, identity %x", st.Role, st.Identity)
	}
	cut := true
	c.drop = func(m message) bool { return cut && (m.To == 4 || m.From == 4) }
	if err := c.change(lead, MemberChange{Kind: AddLearner, ID: 4, PeerAddr: "p4", ClientAddr: "c4"}); err != nil {
		t.Fatal(err)
	}
	if err := c.change(lead, MemberChange{Kind: Remove, ID: 4}); err != nil {
		t.Fatal(err)
	}
	c.ticks(5)
	cut = false
	c.waitRole(4, "removed")
}
