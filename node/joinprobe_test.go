package node

import (
	"errors"
	"slices"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"
)

// Goal: a node started with Join whose disk is wiped after an operator
// added it is not taken for a new node (joinprobe.go). Method: the test
// harness adds node 4 to a cluster of three, promotes it, wipes it and
// starts it again with the same config; it must rejoin under a new
// identity, by snapshot, and be a voter again with every write. Without
// the join probe it came back under identity 0 with an empty log, and the
// leader's heartbeat committed past its log (swarm seed 191).

// wipeJoined stops node id, empties its disk, and starts it with Join.
func (c *cluster) wipeJoined(id uint64) {
	c.stop(id)
	c.fss[id-1] = vfs.NewMem()
	c.startJoined(id)
}

// addVoter adds node 4 as an operator would: ADDNODE, then PROMOTE.
func (c *cluster) addVoter(lead, id uint64) {
	c.t.Helper()
	c.addMachine(id)
	if err := c.change(lead, MemberChange{Kind: AddLearner, ID: id, PeerAddr: "p4", ClientAddr: "c4"}); err != nil {
		c.t.Fatal(err)
	}
	c.ticks(30)
	if err := c.change(lead, MemberChange{Kind: Promote, ID: id}); err != nil {
		c.t.Fatal(err)
	}
	c.waitRole(id, "voter")
}

func TestWipedJoinedMemberRejoins(t *testing.T) {
	c := newCluster(t, 3, testConfig())
	lead := c.theLeader()
	c.addVoter(lead, 4)
	claimed := c.node(4).Status().Identity
	if claimed == 0 {
		t.Fatal("a node added by ADDNODE runs under identity 0, want the one it claimed")
	}
	for range 3 {
		if res := c.do(4, incr("n")); res.Err != nil {
			t.Fatal(res.Err)
		}
	}
	c.converged()

	c.wipeJoined(4)
	if res := c.do(4, get("n")); !errors.Is(res.Err, ErrJoining) {
		t.Fatalf("GET on the wiped node = %+v, want ErrJoining", res)
	}
	st := c.waitRole(4, "voter")
	if st.Identity == 0 || st.Identity == claimed || st.SnapshotsInstalled != 1 || st.DroppedForged != 0 {
		t.Fatalf("the wiped node: %+v, want a new identity, one snapshot, nothing dropped as forged", st)
	}
	lead = c.theLeader()
	if ls := c.node(lead).Status(); !slices.Equal(ls.Voters, []uint64{1, 2, 3, 4}) || len(ls.Learners) != 0 {
		t.Fatalf("leader after the rejoin: voters %v learners %v", ls.Voters, ls.Learners)
	}
	for id := uint64(1); id <= 4; id++ {
		if st := c.node(id).Status(); st.Stopped || st.DroppedForged != 0 {
			t.Fatalf("node %d: stopped %v, %d raft messages dropped as forged", id, st.Stopped, st.DroppedForged)
		}
	}
	c.converged()
	c.mustGet(4, "n", "3")
	if res := c.do(4, incr("n")); res.Err != nil || res.Int != 4 {
		t.Fatalf("INCR on the rejoined node = %+v, want 4", res)
	}
}

// A node an operator removed, wiped and started again with Join, is told
// it was removed: never added again (its id is retired), it would wait to
// be added forever.
func TestWipedRemovedJoinedNodeIsTold(t *testing.T) {
	c := newCluster(t, 3, testConfig())
	lead := c.theLeader()
	c.addVoter(lead, 4)
	if err := c.change(lead, MemberChange{Kind: Remove, ID: 4}); err != nil {
		t.Fatal(err)
	}
	c.wipeJoined(4)
	c.waitRole(4, "removed")
	if res := c.do(4, get("n")); !errors.Is(res.Err, ErrRemoved) {
		t.Fatalf("GET on the removed node = %+v, want ErrRemoved", res)
	}
	if ls := c.node(c.theLeader()).Status(); !slices.Equal(ls.Voters, []uint64{1, 2, 3}) {
		t.Fatalf("voters %v after the removed node's restart", ls.Voters)
	}
}

// A node added by ADDNODE whose first probe reaches the members only once
// the change applied (the TCP transport refuses a peer the members do not
// know yet) is a first start, not a wiped member: the member is recorded
// unclaimed, so it claims the identity it drew, in one entry, with no
// rejoin (which would cost three more changes). A learner that had
// caught up, wiped, rejoins under a new identity and stays a learner:
// the replicated record says the removed self was one.
func TestAddedLearnerFirstStartIsNotARejoin(t *testing.T) {
	c := newCluster(t, 3, testConfig())
	lead := c.theLeader()
	if res := c.do(lead, incr("n")); res.Err != nil {
		t.Fatal(res.Err)
	}
	changes := c.node(lead).Status().MembershipChanges
	unknown := true
	c.drop = func(m message) bool { return unknown && (m.To == 4 || m.From == 4) }
	c.addLearner(lead, 4)
	unknown = false
	st := c.waitRole(4, "learner")
	c.ticks(30)
	st = c.node(4).Status()
	claimed := st.Identity
	if claimed == 0 || st.SnapshotsInstalled != 1 {
		t.Fatalf("the added node: identity %x, %d snapshots; want an identity of its own and one snapshot", st.Identity, st.SnapshotsInstalled)
	}
	if got := c.node(lead).Status().MembershipChanges - changes; got != 2 {
		t.Fatalf("the leader applied %d membership changes for one ADDNODE, want 2 (the add and the claim, no rejoin)", got)
	}
	c.mustGet(4, "n", "1")
	// An operator's PROMOTE right after the catch-up is not told to wait.
	if err := c.change(lead, MemberChange{Kind: Promote, ID: 4}); err != nil {
		t.Fatalf("PROMOTE after the claim: %v", err)
	}
	c.waitRole(4, "voter")
	if err := c.change(lead, MemberChange{Kind: Remove, ID: 4}); err != nil {
		t.Fatal(err)
	}
}

// A caught-up learner, wiped, rejoins under a new identity and stays a
// learner; wiped again in the middle of that rejoin, it still ends a
// learner. The role is the replicated record's, not the joiner's.
func TestWipedLearnerRejoinsAsLearner(t *testing.T) {
	c := newCluster(t, 3, testConfig())
	lead := c.theLeader()
	if res := c.do(lead, incr("n")); res.Err != nil {
		t.Fatal(res.Err)
	}
	c.addLearner(lead, 4)
	c.waitRole(4, "learner")
	c.ticks(30)
	claimed := c.node(4).Status().Identity
	c.mustGet(4, "n", "1")

	c.wipeJoined(4)
	for range 500 { // the rejoin under way: its old self removed
		if ls := c.node(c.theLeader()).Status(); !slices.Contains(ls.Learners, 4) {
			break
		}
		c.tick()
	}
	if ls := c.node(c.theLeader()).Status(); slices.Contains(ls.Learners, 4) {
		t.Fatal("the rejoin never removed the old self")
	}
	c.wipeJoined(4)
	st := c.waitRole(4, "learner")
	c.ticks(100)
	st = c.node(4).Status()
	if st.Role != "learner" || st.Identity == 0 || st.Identity == claimed {
		t.Fatalf("the wiped learner: %s under identity %x (claimed %x), want a learner under a new one", st.Role, st.Identity, claimed)
	}
	if ls := c.node(c.theLeader()).Status(); !slices.Equal(ls.Voters, []uint64{1, 2, 3}) || !slices.Equal(ls.Learners, []uint64{4}) {
		t.Fatalf("voters %v learners %v, want node 4 a learner", ls.Voters, ls.Learners)
	}
	c.converged()
	c.mustGet(4, "n", "1")
}

// A voter wiped in the middle of its rejoin (removed, not yet promoted
// back) ends a voter: the record keeps that the first removal was of a
// voter.
func TestVoterWipedDuringItsRejoinEndsAVoter(t *testing.T) {
	c := newCluster(t, 3, testConfig())
	lead := c.theLeader()
	c.addVoter(lead, 4)
	c.wipeJoined(4)
	for range 500 {
		if ls := c.node(c.theLeader()).Status(); slices.Contains(ls.Learners, 4) {
			break
		}
		c.tick()
	}
	if ls := c.node(c.theLeader()).Status(); !slices.Contains(ls.Learners, 4) {
		t.Fatal("the rejoin never added node 4 back as a learner")
	}
	c.wipeJoined(4)
	st := c.waitRole(4, "voter")
	if st.Identity == 0 {
		t.Fatalf("node 4: %+v", st)
	}
	c.converged()
}
