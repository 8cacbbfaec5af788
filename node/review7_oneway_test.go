package node

import (
	"testing"
)

// TestOneWayCutVoterIsNotActive: a voter the leader cannot reach (its
// peer port firewalled: the leader's messages to it are lost, its own
// reach the leader) acknowledges nothing, yet its pre-vote requests,
// sent every election timeout or so, reach the leader. The strict
// reconfiguration check must not count it active: a change leaving it
// and the leader as the only voters stalls the cluster at once. Nor is it
// an online replica, nor a member in good health.
func TestOneWayCutVoterIsNotActive(t *testing.T) {
	c := newCluster(t, 3, testConfig())
	lead := c.leader()
	f := c.follower(lead)
	c.ticks(2 * c.cfg.ElectionTicks)
	c.drop = func(m message) bool { return m.From == lead && m.To == f }
	c.ticks(2 * c.cfg.ElectionTicks)
	passed, listed, healthy := 0, 0, 0
	for range 4 * c.cfg.ElectionTicks {
		c.tick()
		n := c.node(lead)
		if !n.Status().IsLeader {
			t.Fatal("the leader lost its lead; the test needs it")
		}
		if n.checkQuorumAfter([]uint64{lead, f}, false) == nil {
			passed++
		}
		for _, r := range n.Status().Replicas {
			if r.ID == f {
				listed++
			}
		}
		members, err := n.Members()
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range members {
			if m.ID == f && !m.Failed {
				healthy++
			}
		}
	}
	if passed > 0 || listed > 0 || healthy > 0 {
		t.Fatalf("node %d cut off from the leader (it hears nothing) for %d ticks: counted active by the quorum check at %d ticks, listed as a replica at %d, told healthy at %d; want none",
			f, 4*c.cfg.ElectionTicks, passed, listed, healthy)
	}
}
