package node

import (
	"slices"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/seshat-db/seshat/env/envtest"
	"github.com/seshat-db/seshat/storage"
)

// Two processes claim the same unclaimed id (an impostor, or a
// copied config). The first claim applied wins; the second process must
// not then evict the winner, which is live: the claim's apply ends the
// leader's wait of one change at a time, and the winner's messages were
// all dropped while the record was unclaimed (knows), so the leader has
// not heard from it yet and heardFromLately does not protect it.
// Before the fix (review5, seed 3): claim applied at tick 45, RemoveNode
// 4 proposed for the second claimant in the same tick, the winner
// re-added under the same identity at tick 55: two needless changes and a
// snapshot, and a live learner removed. The leader now counts the
// claimant as heard when its claim applies (applyClaim).
func TestSecondClaimantDoesNotEvictTheWinner(t *testing.T) {
	c := newCluster(t, 3, testConfig())
	// From the claim's apply at the leader on, the winner's first
	// answer under its claimed identity is one round trip away: hold 4's
	// messages to the leader until the second claimant asked once.
	var lead uint64
	held := false
	c.onLog = func(id uint64, msg string, kv []any) {
		if id == lead && msg == "identity claimed" {
			held = true
		}
	}
	c.drop = func(m message) bool { return held && m.From == 4 && m.To == lead }
	lead = c.theLeader()
	if res := c.do(lead, incr("n")); res.Err != nil {
		t.Fatal(res.Err)
	}
	c.ticks(30) // a leader of some standing: heardFromLately is not its first window
	c.addLearner(lead, 4)
	var winner uint64
	for range 200 {
		if winner = c.node(lead).store.MemberIdentity(4); winner != 0 {
			break
		}
		c.tick()
	}
	if winner == 0 {
		t.Fatal("node 4 never claimed")
	}
	// The second process drew 77, was told claim too, and asks at every
	// tick from now on.
	base := c.node(lead).Status().MembershipChanges
	if err := c.node(lead).Step(envelope{kind: peerJoin, from: 4, fromIdentity: 77}.encode(nil)); err != nil {
		t.Fatal(err)
	}
	c.tick()
	held = false
	for range 60 {
		if err := c.node(lead).Step(envelope{kind: peerJoin, from: 4, fromIdentity: 77}.encode(nil)); err != nil {
			t.Fatal(err)
		}
		c.tick()
	}
	ls := c.node(lead).Status()
	if got := c.node(lead).store.MemberIdentity(4); got != winner || !slices.Contains(ls.Learners, 4) || ls.MembershipChanges != base {
		t.Fatalf("after a second claimant: node 4 recorded under %x (winner %x), learners %v, %d more membership changes; want the live winner kept and no change",
			got, winner, ls.Learners, ls.MembershipChanges-base)
	}
}

// A store an older binary made to wait under identity 0
// (m/newmember, verdictNew before claims), opened by this binary after
// the upgrade. The operator's ADDNODE, applied by this binary, marks the
// member unclaimed, so every peer drops every raft message of the process
// that runs under identity 0, and that process, not a joiner, never
// claims: the learner never caught up and PROMOTE never passed (review5).
// Such a store now becomes a joiner at open and claims; a Join node with
// no peers to ask, which could only wait so, is refused at start.
func TestOlderNewMemberStoreClaims(t *testing.T) {
	upgradedNewMember(t, testConfig())
}

func upgradedNewMember(t *testing.T, cfg Config) {
	c := newCluster(t, 3, cfg)
	lead := c.theLeader()
	if res := c.do(lead, incr("n")); res.Err != nil {
		t.Fatal(res.Err)
	}
	c.ticks(30)
	fs := vfs.NewMem()
	s, err := storage.Open(fs, "/data", envtest.QuietLog{T: t}, storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.BecomeNewMember(); err != nil { // as the older binary did
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	c.addMachine(4)
	c.stop(4)
	c.fss[3] = fs
	c.startJoined(4)
	if err := c.change(lead, MemberChange{Kind: AddLearner, ID: 4, PeerAddr: "p4", ClientAddr: "c4"}); err != nil {
		t.Fatal(err)
	}
	c.ticks(200)
	if m := c.node(lead).matchOf(4); m == 0 {
		t.Fatalf("node 4 (identity %x, leader records %x, unclaimed %v) never acknowledged anything: match 0 after 200 ticks",
			c.node(4).Status().Identity, c.node(lead).store.MemberIdentity(4), c.node(lead).store.IsUnclaimed(4))
	}
	if err := c.change(lead, MemberChange{Kind: Promote, ID: 4}); err != nil {
		t.Fatalf("PROMOTE: %v", err)
	}
}

// The control: without the unclaimed mark (UnsafeNewLearnerVerdict, the
// behaviour before claims) the same store catches up and is promoted.
func TestOlderNewMemberStoreControl(t *testing.T) {
	cfg := testConfig()
	cfg.UnsafeNewLearnerVerdict = true
	upgradedNewMember(t, cfg)
}
