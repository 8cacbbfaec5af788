package node

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/seshat-db/seshat/env"
	"github.com/seshat-db/seshat/env/envtest"
	"github.com/seshat-db/seshat/storage"
)

// (review6) a store an older binary left as m/newmember, whose id that
// older binary's cluster already added (identity 0 recorded, no unclaimed
// mark: ADDNODE applied before claims). After the upgrade it opens as a
// joiner under a fresh identity: the leader must take it through the
// ordinary rejoin (remove, add back) and it must end a learner that
// catches up and can be promoted.
func TestPredecessorAddedNewMemberRejoins(t *testing.T) {
	cfg := testConfig()
	cfg.UnsafeNewLearnerVerdict = true // the older binary: ADDNODE marks nothing
	c := newCluster(t, 5, cfg)
	lead := c.theLeader()
	if res := c.do(lead, incr("n")); res.Err != nil {
		t.Fatal(res.Err)
	}
	c.ticks(30)
	c.addMachine(4)
	c.stop(4)
	if err := c.change(lead, MemberChange{Kind: AddLearner, ID: 4, PeerAddr: "p4", ClientAddr: "c4"}); err != nil {
		t.Fatal(err)
	}
	if c.node(lead).store.IsUnclaimed(4) || c.node(lead).store.MemberIdentity(4) != 0 {
		t.Fatal("set-up: the older binary's ADDNODE should record identity 0 without the mark")
	}
	fs := vfs.NewMem()
	s, err := storage.Open(fs, "/data", envtest.QuietLog{T: t}, storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.BecomeNewMember(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	c.fss[3] = fs
	// The upgrade: every member restarts under this binary.
	c.cfg.UnsafeNewLearnerVerdict = false
	for id := uint64(1); id <= 3; id++ {
		c.stop(id)
		c.start(id)
	}
	c.startJoined(4)
	lead = c.theLeader()
	var st Status
	for range 400 {
		c.tick()
		lead = c.theLeader()
		st = c.node(4).Status()
		if st.Identity != 0 && c.node(lead).store.MemberIdentity(4) == st.Identity && c.node(lead).matchOf(4) > 0 {
			break
		}
	}
	if st.Identity == 0 || c.node(lead).store.MemberIdentity(4) != st.Identity || c.node(lead).matchOf(4) == 0 {
		t.Fatalf("node 4 (identity %x, leader %d records %x, match %d) never rejoined", st.Identity, lead, c.node(lead).store.MemberIdentity(4), c.node(lead).matchOf(4))
	}
	if ls := c.node(lead).Status(); !slices.Contains(ls.Learners, 4) {
		t.Fatalf("node 4 should be a learner after its rejoin, learners %v voters %v", ls.Learners, ls.Voters)
	}
	c.mustGet(4, "n", "1")
	c.ticks(30) // the rejoin's add is one change at a time
	if err := c.change(lead, MemberChange{Kind: Promote, ID: 4}); err != nil {
		t.Fatalf("PROMOTE: %v", err)
	}
}

// (review6) the claim's winner, counted as heard, dies and its disk is
// wiped; a few copies of its old peerJoin, held by the network, reach
// the leader around the wiped node's restart. The refreshed heardAt may
// delay the rejoin by an election timeout per copy, never for good.
func TestStaleWinnerJoinsDoNotStarveRejoin(t *testing.T) {
	c := newCluster(t, 3, testConfig())
	lead := c.theLeader()
	if res := c.do(lead, incr("n")); res.Err != nil {
		t.Fatal(res.Err)
	}
	c.ticks(30)
	c.addLearner(lead, 4)
	var winner uint64
	for range 200 {
		if winner = c.node(lead).store.MemberIdentity(4); winner != 0 && c.node(lead).matchOf(4) > 0 {
			break
		}
		c.tick()
	}
	if winner == 0 {
		t.Fatal("node 4 never claimed")
	}
	c.wipeJoined(4)
	// Three held copies, one every few ticks.
	for range 3 {
		if err := c.node(lead).Step(envelope{kind: peerJoin, from: 4, fromIdentity: winner}.encode(nil)); err != nil {
			t.Fatal(err)
		}
		c.ticks(5)
	}
	var st Status
	for range 300 {
		c.tick()
		st = c.node(4).Status()
		if st.Identity != winner && c.node(lead).store.MemberIdentity(4) == st.Identity && c.node(lead).matchOf(4) > 0 {
			break
		}
	}
	if st.Identity == winner || c.node(lead).store.MemberIdentity(4) != st.Identity || c.node(lead).matchOf(4) == 0 {
		t.Fatalf("wiped node 4 (identity %x, winner %x, leader records %x) never rejoined", st.Identity, winner, c.node(lead).store.MemberIdentity(4))
	}
}

// (review6) an unclaimed learner whose process never ran blocks
// PROMOTE and REPLACENODE (FORCE too), but the operator gets out with
// REMOVENODE.
func TestUnclaimedLearnerCanBeRemoved(t *testing.T) {
	c := newCluster(t, 3, testConfig())
	lead := c.theLeader()
	if err := c.change(lead, MemberChange{Kind: AddLearner, ID: 4, PeerAddr: "p4", ClientAddr: "c4"}); err != nil {
		t.Fatal(err)
	}
	if err := c.change(lead, MemberChange{Kind: Promote, ID: 4, Force: true}); !errors.Is(err, ErrNotYet) {
		t.Fatalf("forced PROMOTE of an unclaimed learner: %v", err)
	}
	if err := c.change(lead, MemberChange{Kind: Remove, ID: 4}); err != nil {
		t.Fatalf("REMOVENODE of an unclaimed learner: %v", err)
	}
	if ls := c.node(lead).Status(); slices.Contains(ls.Learners, 4) {
		t.Fatalf("node 4 still a learner: %v", ls.Learners)
	}
}

// TestJoinerWithNoMemberToAskIsRefused (review6): a store that drew its
// identity as a joiner, started with no other member's address, would
// ask nobody to admit it and wait forever without a word; it is refused
// at open, saying what to set.
func TestJoinerWithNoMemberToAskIsRefused(t *testing.T) {
	fs := vfs.NewMem()
	s, err := storage.Open(fs, "/data", envtest.QuietLog{T: t}, storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.BecomeJoiner(0x77); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	cfg := testConfig()
	cfg.ID, cfg.Peers, cfg.Dir, cfg.Join = 4, []uint64{4}, "/data", true
	var net envtest.Queue
	e := env.Env{Rand: envtest.NewRand(1, 7), Transport: net.From(4), FS: fs, Log: envtest.QuietLog{T: t}}
	n, err := Open(cfg, e)
	if err == nil {
		_ = n.Close()
		t.Fatal("a joiner with no member to ask was opened")
	}
	if !strings.Contains(err.Error(), "no other member's address was given to ask") {
		t.Fatalf("refused with %v", err)
	}
}
