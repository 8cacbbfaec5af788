package node

import (
	"fmt"
	"testing"
)

// addressesOf returns what node at reports of every member's addresses.
func (c *cluster) addressesOf(at uint64) map[uint64]string {
	ms, err := c.node(at).Members()
	if err != nil {
		c.t.Fatal(err)
	}
	out := map[uint64]string{}
	for _, m := range ms {
		out[m.ID] = m.PeerAddr + " " + m.ClientAddr
	}
	return out
}

// TestMembersAnnounceTheirAddresses: the members of the first
// configuration, which no operator change named, record their addresses
// in the replicated membership themselves, one change at a time, and a
// node added later learns them with the rest of the state.
func TestMembersAnnounceTheirAddresses(t *testing.T) {
	c := openCluster(t, testConfig())
	c.advertise = true
	for id := uint64(1); id <= 3; id++ {
		c.stop(id)
		c.start(id)
	}
	lead := c.theLeader()
	c.ticks(20 * c.cfg.ElectionTicks)
	for at := uint64(1); at <= 3; at++ {
		got := c.addressesOf(at)
		for id := uint64(1); id <= 3; id++ {
			if want := fmt.Sprintf("p%d c%d", id, id); got[id] != want {
				t.Fatalf("node %d tells node %d's addresses as %q, want %q", at, id, got[id], want)
			}
		}
	}
	// An operator's change still goes through once the records are there.
	c.addLearner(lead, 4)
	c.ticks(20 * c.cfg.ElectionTicks)
	if got := c.addressesOf(4); got[1] != "p1 c1" || got[4] != "p4 c4" {
		t.Fatalf("the added node tells the addresses %v", got)
	}
}
