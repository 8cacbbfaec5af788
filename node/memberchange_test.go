package node

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/seshat-db/seshat/env/envtest"
)

// addMachine gives the harness node id, started empty with cfg.Join.
func (c *cluster) addMachine(id uint64) {
	for uint64(len(c.nodes)) < id {
		c.nodes = append(c.nodes, nil)
		c.fss = append(c.fss, vfs.NewMem())
		c.rands = append(c.rands, envtest.NewRand(uint64(len(c.rands)+1), 7))
		c.applied = append(c.applied, nil)
	}
	c.startJoined(id)
}

// addLearner gives the harness node id and has lead add it as a learner
// (ADDNODE at peer address p<id> and client address c<id>).
func (c *cluster) addLearner(lead, id uint64) {
	c.t.Helper()
	c.addMachine(id)
	if err := c.change(lead, MemberChange{Kind: AddLearner, ID: id, PeerAddr: fmt.Sprintf("p%d", id), ClientAddr: fmt.Sprintf("c%d", id)}); err != nil {
		c.t.Fatal(err)
	}
}

// startJoined starts node id with cfg.Join, as -join does at every start.
func (c *cluster) startJoined(id uint64) {
	saved := c.cfg
	c.cfg.Join = true
	c.cfg.Peers = []uint64{1, 2, 3, 4, 5}
	c.start(id)
	c.cfg = saved
}

// theLeader ticks until some live node leads, and returns it.
func (c *cluster) theLeader() uint64 {
	for range 300 {
		for id, n := range c.nodes {
			if n != nil && n.Status().IsLeader {
				return uint64(id + 1)
			}
		}
		c.tick()
	}
	c.t.Fatal("no leader")
	return 0
}

// change asks the leader for ch and ticks until it is answered.
func (c *cluster) change(at uint64, ch MemberChange) error {
	answers := 0
	var got error
	c.node(at).ChangeMembership(ch, func(err error) { answers++; got = err })
	for range 100 {
		if answers > 0 {
			break
		}
		c.tick()
	}
	if answers != 1 {
		c.t.Fatalf("%s of %d answered %d times, want once", ch.Kind, ch.ID, answers)
	}
	return got
}

func TestMembershipAddPromoteRemove(t *testing.T) {
	c := newCluster(t, 1, testConfig())
	lead := c.theLeader()
	if r := c.do(lead, set("a", "1")); r.Err != nil {
		t.Fatal(r.Err)
	}
	c.addMachine(4)
	if r := c.do(4, get("a")); !errors.Is(r.Err, ErrJoining) {
		t.Fatalf("a node waiting to be added answered %v, want ErrJoining", r.Err)
	}
	// Raft forwards a follower's proposal, but only the leader can check it.
	var notLeader *NotLeaderError
	if err := c.change(c.follower(lead), MemberChange{Kind: AddLearner, ID: 4, PeerAddr: "p4", ClientAddr: "c4"}); !errors.As(err, &notLeader) || notLeader.Leader != lead {
		t.Fatalf("a follower answered %v, want NotLeaderError naming %d", err, lead)
	}
	if err := c.change(lead, MemberChange{Kind: AddLearner, ID: 4, PeerAddr: "p4"}); !errors.Is(err, ErrBadChange) {
		t.Fatalf("an add without a client address answered %v", err)
	}
	// A second change while one is in flight gets a clear error.
	var first error
	firstDone := false
	c.node(lead).ChangeMembership(MemberChange{Kind: AddLearner, ID: 4, PeerAddr: "p4", ClientAddr: "c4"}, func(err error) { first, firstDone = err, true })
	if err := c.change(lead, MemberChange{Kind: AddLearner, ID: 5, PeerAddr: "p5", ClientAddr: "c5"}); !errors.Is(err, ErrChangePending) {
		t.Fatalf("a second change answered %v, want ErrChangePending", err)
	}
	for range 50 {
		if firstDone {
			break
		}
		c.tick()
	}
	if !firstDone || first != nil {
		t.Fatalf("add learner 4: done %v, err %v", firstDone, first)
	}
	c.ticks(30) // it catches up by snapshot
	if st := c.node(4).Status(); st.Role != "learner" {
		t.Fatalf("node 4 is %q, want learner", st.Role)
	}
	c.mustGet(4, "a", "1")
	info, ok, err := c.node(1).store.MemberInfo(4)
	if err != nil || !ok || info.PeerAddr != "p4" || info.ClientAddr != "c4" {
		t.Fatalf("node 1's record of 4: %+v %v %v", info, ok, err)
	}
	if info, ok, _ := c.node(4).store.MemberInfo(4); !ok || info.ClientAddr != "c4" {
		t.Fatalf("node 4's own record came not with the snapshot: %+v", info)
	}
	if err := c.change(lead, MemberChange{Kind: AddLearner, ID: 4, PeerAddr: "p4", ClientAddr: "c4"}); !errors.Is(err, ErrBadChange) {
		t.Fatalf("adding a member again answered %v", err)
	}
	if err := c.change(lead, MemberChange{Kind: Promote, ID: 4}); err != nil {
		t.Fatal(err)
	}
	c.ticks(5)
	if st := c.node(4).Status(); st.Role != "voter" || len(st.Voters) != 4 {
		t.Fatalf("node 4 after promotion: %q, voters %v", st.Role, st.Voters)
	}

	// Remove a follower: it steps out, refuses clients and says why.
	victim := c.follower(lead)
	var said []string
	c.onLog = func(id uint64, msg string, _ []any) {
		if id == victim {
			said = append(said, msg)
		}
	}
	if err := c.change(lead, MemberChange{Kind: Remove, ID: victim}); err != nil {
		t.Fatal(err)
	}
	c.ticks(5)
	if st := c.node(victim).Status(); st.Role != "removed" {
		t.Fatalf("node %d is %q after its removal", victim, st.Role)
	}
	if r := c.do(victim, get("a")); !errors.Is(r.Err, ErrRemoved) {
		t.Fatalf("a removed node answered %v, want ErrRemoved", r.Err)
	}
	if !slices.ContainsFunc(said, func(s string) bool { return strings.Contains(s, "removed from the cluster") }) {
		t.Fatalf("the removed node never said why: %q", said)
	}
	if err := c.change(lead, MemberChange{Kind: AddLearner, ID: victim, PeerAddr: "p", ClientAddr: "c"}); !errors.Is(err, ErrBadChange) {
		t.Fatalf("re-adding a removed id answered %v", err)
	}
	// Three voters left: removing one more would leave two.
	other := uint64(0)
	for _, id := range c.node(lead).Status().Voters {
		if id != lead {
			other = id
		}
	}
	if err := c.change(lead, MemberChange{Kind: Remove, ID: other}); !errors.Is(err, ErrUnsafeChange) {
		t.Fatalf("shrinking to two voters answered %v, want ErrUnsafeChange", err)
	}
	if r := c.do(4, set("b", "2")); r.Err != nil {
		t.Fatal(r.Err)
	}
	c.mustGet(lead, "b", "2")
}

// A voter that no longer answers does not count toward the quorum after a
// change: removing a live voter while two of five are down is refused,
// unless forced.
func TestMembershipRemoveRefusedWithoutActiveQuorum(t *testing.T) {
	c := newCluster(t, 2, testConfig())
	lead := c.theLeader()
	for _, id := range []uint64{4, 5} {
		c.addMachine(id)
		if err := c.change(lead, MemberChange{Kind: AddLearner, ID: id, PeerAddr: fmt.Sprintf("p%d", id), ClientAddr: fmt.Sprintf("c%d", id)}); err != nil {
			t.Fatal(err)
		}
		c.ticks(30)
		if err := c.change(lead, MemberChange{Kind: Promote, ID: id}); err != nil {
			t.Fatal(err)
		}
	}
	var followers []uint64
	for id := uint64(1); id <= 5; id++ {
		if id != lead {
			followers = append(followers, id)
		}
	}
	c.stop(followers[0])
	c.stop(followers[1])
	c.ticks(3 * c.cfg.ElectionTicks) // the leader notices who is silent
	if !c.node(lead).Status().IsLeader {
		t.Fatal("the leader lost its quorum of three")
	}
	if err := c.change(lead, MemberChange{Kind: Remove, ID: followers[2]}); !errors.Is(err, ErrUnsafeChange) {
		t.Fatalf("removing a live voter with two down answered %v, want ErrUnsafeChange", err)
	}
	if err := c.change(lead, MemberChange{Kind: Remove, ID: followers[0], Force: true}); err != nil {
		t.Fatalf("removing a dead voter, forced: %v", err)
	}
	if v := c.node(lead).Status().Voters; slices.Contains(v, followers[0]) || len(v) != 4 {
		t.Fatalf("voters after the forced removal: %v", v)
	}
}

// transfer asks node at to hand leadership to to, and ticks until answered.
func (c *cluster) transfer(at, to uint64) error {
	answers := 0
	var got error
	c.node(at).TransferLeadership(to, func(err error) { answers++; got = err })
	for range 200 {
		if answers > 0 {
			break
		}
		c.tick()
	}
	if answers != 1 {
		c.t.Fatalf("transfer to %d answered %d times", to, answers)
	}
	return got
}

// A member that was down while node 4 joined and took over must still
// follow it: its applied membership does not know node 4 yet.
func TestMembershipLaggingMemberFollowsNewLeader(t *testing.T) {
	c := newCluster(t, 3, testConfig())
	lead := c.theLeader()
	lagging := c.follower(lead)
	c.stop(lagging)
	c.addLearner(lead, 4)
	c.ticks(30)
	if err := c.change(lead, MemberChange{Kind: Promote, ID: 4}); err != nil {
		t.Fatal(err)
	}
	if err := c.transfer(c.follower(lead), 4); !errors.As(err, new(*NotLeaderError)) {
		t.Fatalf("a follower started a transfer: %v", err)
	}
	if err := c.transfer(lead, 4); err != nil {
		t.Fatal(err)
	}
	if r := c.do(4, set("k", "v")); r.Err != nil {
		t.Fatal(r.Err)
	}
	c.start(lagging)
	c.ticks(30)
	c.mustGet(lagging, "k", "v")
	if st := c.node(lagging).Status(); st.Lead != 4 || len(st.Voters) != 4 {
		t.Fatalf("the lagging member: lead %d, voters %v", st.Lead, st.Voters)
	}
}

// The leader removing itself steps down; the others elect a new one and
// the removed node refuses requests.
func TestMembershipLeaderRemovesItself(t *testing.T) {
	c := newCluster(t, 4, testConfig())
	lead := c.theLeader()
	c.addLearner(lead, 4)
	c.ticks(30)
	if err := c.change(lead, MemberChange{Kind: Promote, ID: 4}); err != nil {
		t.Fatal(err)
	}
	if err := c.change(lead, MemberChange{Kind: Remove, ID: lead}); err != nil {
		t.Fatal(err)
	}
	c.ticks(3 * c.cfg.ElectionTicks)
	if c.node(lead).Status().IsLeader {
		t.Fatal("a removed leader still leads")
	}
	if r := c.do(lead, get("x")); !errors.Is(r.Err, ErrRemoved) {
		t.Fatalf("the removed leader answered %v", r.Err)
	}
	next := c.theLeader()
	if next == lead {
		t.Fatal("the removed node leads again")
	}
	if r := c.do(next, set("after", "1")); r.Err != nil {
		t.Fatal(r.Err)
	}
}

// A member down while it is removed never gets the commit: the leader
// stops sending to it once it applies the removal. Restarted, it
// campaigns; the members tell it it was removed, and it refuses clients.
func TestMembershipRemovedWhileDownIsTold(t *testing.T) {
	c := newCluster(t, 5, testConfig())
	lead := c.theLeader()
	c.addLearner(lead, 4)
	c.ticks(30)
	if err := c.change(lead, MemberChange{Kind: Promote, ID: 4}); err != nil {
		t.Fatal(err)
	}
	victim := c.follower(lead)
	c.stop(victim)
	if err := c.change(lead, MemberChange{Kind: Remove, ID: victim}); err != nil {
		t.Fatal(err)
	}
	c.start(victim)
	if st := c.node(victim).Status(); st.Role != "voter" {
		t.Fatalf("the restarted node is %q before anyone told it", st.Role)
	}
	c.ticks(4 * c.cfg.ElectionTicks)
	if st := c.node(victim).Status(); st.Role != "removed" {
		t.Fatalf("node %d is %q, want removed", victim, st.Role)
	}
	if r := c.do(victim, get("x")); !errors.Is(r.Err, ErrRemoved) {
		t.Fatalf("the removed node answered %v", r.Err)
	}
	if !c.node(lead).Status().IsLeader {
		t.Fatal("the removed node's campaign cost the leader its lead")
	}
}
