package node

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/seshat-db/seshat/storage"
)

// Replace (replace.go) on the node harness: a dead voter is replaced by a
// caught-up learner in one joint change; the answer comes once raft left
// the joint configuration, the records end with the old voter removed and
// the new one active, and the old voter, restarted, is told it was
// removed. The refusals come first.

func TestReplaceDeadVoter(t *testing.T) {
	c := newCluster(t, 7, testConfig())
	lead := c.theLeader()
	if r := c.do(lead, set("a", "1")); r.Err != nil {
		t.Fatal(r.Err)
	}
	old := c.follower(lead)
	if err := c.change(lead, MemberChange{Kind: Replace, Old: old, ID: 4}); !errors.Is(err, ErrBadChange) {
		t.Fatalf("replacing by a node that is no learner answered %v", err)
	}
	c.addLearner(lead, 4)
	for _, bad := range []MemberChange{
		{Kind: Replace, Old: 4, ID: 4},      // itself
		{Kind: Replace, Old: 9, ID: 4},      // no voter
		{Kind: Replace, Old: old, ID: lead}, // a voter already
	} {
		if err := c.change(lead, bad); !errors.Is(err, ErrBadChange) {
			t.Fatalf("%+v answered %v, want ErrBadChange", bad, err)
		}
	}
	c.ticks(30) // 4 catches up by snapshot
	c.stop(old)
	c.ticks(3 * c.cfg.ElectionTicks)
	if err := c.change(lead, MemberChange{Kind: Replace, Old: old, ID: 4}); err != nil {
		t.Fatalf("replace %d by 4: %v", old, err)
	}
	// Answered once raft left the joint configuration.
	cs := c.node(lead).store.ConfState()
	if len(cs.GetVotersOutgoing()) != 0 || slices.Contains(cs.GetVoters(), old) || !slices.Contains(cs.GetVoters(), 4) || len(cs.GetVoters()) != 3 {
		t.Fatalf("the leader's membership after the replace: %v", cs)
	}
	for _, id := range c.node(lead).Status().Voters {
		info, ok, err := c.node(id).store.MemberInfo(old)
		if err != nil || !ok || info.State != storage.MemberRemoved {
			t.Fatalf("node %d's record of %d: %+v %v %v", id, old, info, ok, err)
		}
		info, ok, err = c.node(id).store.MemberInfo(4)
		if err != nil || !ok || info.State != storage.MemberActive || info.PeerAddr != "p4" {
			t.Fatalf("node %d's record of 4: %+v %v %v", id, info, ok, err)
		}
	}
	if r := c.do(4, set("b", "2")); r.Err != nil {
		t.Fatal(r.Err)
	}
	c.mustGet(lead, "b", "2")
	c.start(old)
	c.ticks(4 * c.cfg.ElectionTicks)
	if st := c.node(old).Status(); st.Role != "removed" {
		t.Fatalf("node %d is %q, want removed", old, st.Role)
	}
	if r := c.do(old, get("a")); !errors.Is(r.Err, ErrRemoved) {
		t.Fatalf("the replaced node answered %v, want ErrRemoved", r.Err)
	}
}

// TestReplaceWaitsForCatchUp: a learner that has not caught up is refused
// (its empty log would count in the new majority), unless forced.
func TestReplaceWaitsForCatchUp(t *testing.T) {
	c := newCluster(t, 8, testConfig())
	lead := c.theLeader()
	for i := range 3 {
		if r := c.do(lead, set(string(rune('a'+i)), "v")); r.Err != nil {
			t.Fatal(r.Err)
		}
	}
	old := c.follower(lead)
	if err := c.change(lead, MemberChange{Kind: AddLearner, ID: 4, PeerAddr: "p4", ClientAddr: "c4"}); err != nil {
		t.Fatal(err) // node 4 is not even started: it cannot catch up
	}
	// Never started, its record is unclaimed (claim.go): no process could
	// vote under its identity, so even FORCE is refused.
	for _, force := range []bool{false, true} {
		if err := c.change(lead, MemberChange{Kind: Replace, Old: old, ID: 4, Force: force}); !errors.Is(err, ErrNotYet) || !strings.Contains(err.Error(), "has not started yet") {
			t.Fatalf("replacing by a learner that never started (force %v) answered %v, want ErrNotYet", force, err)
		}
		if err := c.change(lead, MemberChange{Kind: Promote, ID: 4, Force: force}); !errors.Is(err, ErrNotYet) {
			t.Fatalf("promoting a learner that never started (force %v) answered %v, want ErrNotYet", force, err)
		}
	}
	// Started, claimed, but not caught up: refused as unsafe unless forced.
	c.addMachine(4)
	for range 100 {
		if !c.node(lead).store.IsUnclaimed(4) {
			break
		}
		c.tick()
	}
	c.stop(4)
	for range 3 {
		if r := c.do(lead, set("more", "v")); r.Err != nil {
			t.Fatal(r.Err)
		}
	}
	if c.node(lead).store.IsUnclaimed(4) {
		t.Fatal("node 4 never claimed an identity")
	}
	if err := c.change(lead, MemberChange{Kind: Replace, Old: old, ID: 4}); !errors.Is(err, ErrUnsafeChange) {
		t.Fatalf("replacing by a learner that has not caught up answered %v, want ErrUnsafeChange", err)
	}
}

// TestReplaceOfTheLeaderHandsOff: a Replace of the leader, allowed
// otherwise, hands leadership to the most caught-up active voter and asks
// to be sent again; the new leader makes it. Refusing it outright left a
// node started with -replace naming the leader asking forever.
func TestReplaceOfTheLeaderHandsOff(t *testing.T) {
	c := newCluster(t, 9, testConfig())
	lead := c.theLeader()
	if r := c.do(lead, set("a", "1")); r.Err != nil {
		t.Fatal(r.Err)
	}
	c.addLearner(lead, 4)
	c.ticks(30) // 4 catches up by snapshot
	err := c.change(lead, MemberChange{Kind: Replace, Old: lead, ID: 4})
	if !errors.Is(err, ErrNotYet) || !strings.Contains(err.Error(), "ask the new leader again") {
		t.Fatalf("replacing the leader answered %v, want a hand-off (ErrNotYet)", err)
	}
	if again := c.change(lead, MemberChange{Kind: Replace, Old: lead, ID: 4}); !errors.Is(again, ErrNotYet) {
		t.Fatalf("asked again during the hand-off: %v", again)
	}
	c.ticks(2 * c.cfg.ElectionTicks)
	next := c.theLeader()
	if next == lead || next == 4 {
		t.Fatalf("after the hand-off node %d leads", next)
	}
	if err := c.change(next, MemberChange{Kind: Replace, Old: lead, ID: 4}); err != nil {
		t.Fatalf("the new leader replacing %d by 4: %v", lead, err)
	}
	cs := c.node(next).store.ConfState()
	if slices.Contains(cs.GetVoters(), lead) || !slices.Contains(cs.GetVoters(), 4) || len(cs.GetVoters()) != 3 {
		t.Fatalf("the membership after the replace: %v", cs)
	}
	c.ticks(4 * c.cfg.ElectionTicks)
	if st := c.node(lead).Status(); st.Role != "removed" {
		t.Fatalf("the replaced old leader is %q, want removed", st.Role)
	}
	c.mustGet(4, "a", "1")
}

// leaderAloneWithLearner4 adds node 4 as a learner, then stops every voter
// but the leader for three election timeouts, and returns the leader.
func (c *cluster) leaderAloneWithLearner4() uint64 {
	lead := c.theLeader()
	c.addLearner(lead, 4)
	c.ticks(30)
	for _, id := range c.node(lead).Status().Voters {
		if id != lead {
			c.stop(id)
		}
	}
	c.ticks(3 * c.cfg.ElectionTicks)
	return lead
}

// TestReplaceOfTheLeaderWithNoSuccessor: with every other voter down, a
// Replace of the leader is refused as unsafe by the quorum check before
// any hand-off is tried.
func TestReplaceOfTheLeaderWithNoSuccessor(t *testing.T) {
	c := newCluster(t, 10, testConfig())
	lead := c.leaderAloneWithLearner4()
	err := c.change(lead, MemberChange{Kind: Replace, Old: lead, ID: 4})
	if !errors.Is(err, ErrUnsafeChange) && !errors.As(err, new(*NotLeaderError)) {
		t.Fatalf("replacing the leader with no other voter up answered %v", err)
	}
	if c.node(lead).transfer != nil {
		t.Fatal("a hand-off started with no voter to take over")
	}
}

// TestForcedReplaceOfTheLeaderWithNoActiveVoter reaches the hand-off's
// "no other voter is active" branch, which only FORCE gets to (without
// it the quorum check refuses first): the leader, left believing it
// leads (CheckQuorum off), may not hand leadership to a voter it has not
// heard from, and says how to go on.
func TestForcedReplaceOfTheLeaderWithNoActiveVoter(t *testing.T) {
	cfg := testConfig()
	cfg.DisableCheckQuorum = true
	c := newCluster(t, 10, cfg)
	lead := c.leaderAloneWithLearner4()
	if !c.node(lead).Status().IsLeader {
		t.Fatal("with CheckQuorum off the leader stepped down")
	}
	err := c.change(lead, MemberChange{Kind: Replace, Old: lead, ID: 4, Force: true})
	if !errors.Is(err, ErrUnsafeChange) || !strings.Contains(err.Error(), "no other voter is active to take over") {
		t.Fatalf("a forced replace of the leader with no other voter up answered %v", err)
	}
	if c.node(lead).transfer != nil {
		t.Fatal("a hand-off started with no voter to take over")
	}
}
