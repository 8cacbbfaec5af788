package node

import (
	"testing"
)

// TestHeldJoinOfARetiredIdentityIsIgnored (review3 finding 5): node 4, a
// learner, is wiped and rejoins under identity X, then wiped again and
// rejoins under Y, which retires X. A copy of a join request X sent,
// held by the network, reaches the leader while Y is down: taken, it made
// the leader remove Y and admit X again, an identity no process holds.
func TestHeldJoinOfARetiredIdentityIsIgnored(t *testing.T) {
	c := newCluster(t, 3, testConfig())
	lead := c.theLeader()
	if r := c.do(lead, set("a", "1")); r.Err != nil {
		t.Fatal(r.Err)
	}
	c.addLearner(lead, 4)
	c.ticks(30) // node 4 acknowledges entries: a wiped start must rejoin
	var held [][]byte
	c.drop = func(m message) bool {
		if hdr, _, err := decodeEnvelope(m.Data); err == nil && hdr.kind == peerJoin && hdr.from == 4 && m.To == lead {
			held = append(held, append([]byte(nil), m.Data...))
		}
		return false
	}
	c.wipeJoined(4)
	x := c.waitRole(4, "learner").Identity
	c.ticks(50)
	if len(held) == 0 || x == 0 {
		t.Fatalf("no join request of node 4's first rejoin seen (identity %x)", x)
	}
	old := held[0]
	c.drop = nil
	c.wipeJoined(4)
	y := c.waitRole(4, "learner").Identity
	c.ticks(50)
	if y == x || !c.node(lead).store.IsRetired(4, x) {
		t.Fatalf("identity %x (before %x) not retired at the leader", y, x)
	}
	c.stop(4)
	c.ticks(3 * c.cfg.ElectionTicks)
	before := c.node(lead).Status().MembershipChanges
	if err := c.node(lead).Step(old); err != nil {
		t.Fatal(err)
	}
	c.ticks(3 * c.cfg.ElectionTicks)
	if got := c.node(lead).Status().MembershipChanges - before; got != 0 || !c.node(lead).isMember(4) {
		t.Fatalf("a held join request of node 4's retired identity %x made the leader apply %d membership changes; node 4 (identity %x, down) a member: %v", x, got, y, c.node(lead).isMember(4))
	}
}
