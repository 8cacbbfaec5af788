package node

import (
	"testing"

	pb "go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/proto"

	"github.com/seshat-db/seshat/kv"
)

// raftType returns the raft message type of a peer message, or -1.
func raftType(data []byte) pb.MessageType {
	hdr, body, err := decodeEnvelope(data)
	if err != nil || hdr.kind != peerRaft {
		return -1
	}
	m := &pb.Message{}
	if proto.Unmarshal(body, m) != nil {
		return -1
	}
	return m.GetType()
}

// electOnly ticks, with votes for any other candidate dropped and the
// current leader cut off, until node want leads.
func (c *cluster) electOnly(want uint64) {
	c.t.Helper()
	old := c.drop
	lead := c.leader()
	c.drop = func(m message) bool {
		if m.From == lead && lead != want {
			return true
		}
		switch raftType(m.Data) {
		case pb.MessageType_MsgPreVote, pb.MessageType_MsgVote:
			return m.From != want
		}
		return false
	}
	for range 500 {
		if st := c.node(want).Status(); st.IsLeader {
			break
		}
		c.tick()
	}
	c.drop = old
	if !c.node(want).Status().IsLeader {
		c.t.Fatalf("node %d did not become leader", want)
	}
}

// lagBehindRejoin builds the setup both tests below share: five nodes;
// node d goes down (disk intact) while node w is wiped and rejoins as a
// voter under a new identity, then made to lead. d has not applied w's
// admission, so it knows w by its old identity.
func lagBehindRejoin(t *testing.T) (c *cluster, d, w uint64) {
	cfg := testConfig()
	cfg.Peers = []uint64{1, 2, 3, 4, 5}
	c = newCluster(t, 21, cfg)
	lead := c.leader()
	var others []uint64
	for id := uint64(1); id <= 5; id++ {
		if id != lead {
			others = append(others, id)
		}
	}
	d, w = others[0], others[1]
	if res := c.do(lead, set("a", "1")); res.Err != nil {
		t.Fatal(res.Err)
	}
	c.converged()
	c.stop(d)
	c.wipe(w)
	c.waitRole(w, "voter")
	c.electOnly(w)
	return c, d, w
}

// TestLaggingNodeFollowsRejoinedLeader: in a five-node cluster, node d is
// down (its disk intact) while node w is wiped and rejoins under a new
// identity. Later w leads, and d restarts. d has not applied w's
// admission, so it knows w by its old identity: it must still catch up
// from w, as raft would have it.
func TestLaggingNodeFollowsRejoinedLeader(t *testing.T) {
	c, d, w := lagBehindRejoin(t)
	if res := c.do(w, set("c", "3")); res.Err != nil {
		t.Fatal(res.Err)
	}

	c.start(d)
	for range 300 {
		c.tick()
		if st := c.node(d).Status(); st.Applied >= c.node(w).Status().Commit && st.Lead == w {
			break
		}
	}
	st, ls := c.node(d).Status(), c.node(w).Status()
	if st.Applied < ls.Commit || st.Lead != w {
		t.Fatalf("node %d restarted under leader %d (identity %x): applied %d of %d, knows leader %d, dropped %d messages as stale; it never catches up",
			d, w, ls.Identity, st.Applied, ls.Commit, st.Lead, st.DroppedStale)
	}
	c.mustGet(d, "c", "3")
}

// TestRejoinedLeaderAndLaggingNodeAreAQuorum: as above, but then two of
// the five nodes go down for good. The three left (the lagging node d,
// the rejoined w and one more) are a quorum of intact disks and must
// still serve writes.
func TestRejoinedLeaderAndLaggingNodeAreAQuorum(t *testing.T) {
	c, d, w := lagBehindRejoin(t)
	// w appends an entry that only it holds, then two others go down.
	var down []uint64
	for _, id := range []uint64{1, 2, 3, 4, 5} {
		if id != d && id != w && len(down) < 2 {
			down = append(down, id)
		}
	}
	c.drop = func(m message) bool { return m.From == w && raftType(m.Data) == pb.MessageType_MsgApp }
	c.submit(w, set("x", "1"))
	c.settle()
	for _, id := range down {
		c.stop(id)
	}
	// w restarts, so nobody leads; its log is ahead of the third node's,
	// so only w can win an election, and only with the lagging d's vote.
	c.stop(w)
	c.start(w)
	c.start(d)
	c.drop = nil // from here on the network is whole
	var res kv.Result
	res.Err = ErrNoQuorum
	for range 1000 {
		c.tick()
		for _, id := range []uint64{1, 2, 3, 4, 5} {
			if n := c.node(id); n != nil && n.Status().IsLeader {
				if res = c.do(id, set("k", "v")); res.Err == nil {
					break
				}
			}
		}
		if res.Err == nil {
			break
		}
	}
	if res.Err != nil {
		st := c.node(d).Status()
		t.Fatalf("nodes %v down for good; the other three, lagging node %d among them, serve no write in 1000 ticks: %v\nnode %d: %+v\nnode %d: %+v",
			down, d, res.Err, d, st, w, c.node(w).Status())
	}
}

func TestAdmissionBookkeeping(t *testing.T) {
	a := newAdmission(Config{ID: 2, Peers: []uint64{3, 1, 2}})
	a.probeAnswers = make([]peerStage, len(a.others))
	if a.answered(2, stageFresh) || a.answered(9, stageFresh) {
		t.Fatal("an answer from itself or a stranger counted")
	}
	a.answered(1, stageFresh)
	if a.allFresh() {
		t.Fatal("all fresh before peer 3 answered")
	}
	a.answered(3, stageFresh)
	if !a.allFresh() {
		t.Fatal("not all fresh after both peers answered fresh")
	}
	a.leaderSince = 100
	if !a.heardLately(1, 105, 10) {
		t.Fatal("a new leader must assume every peer may be alive")
	}
	a.heardAt[1] = 111
	if !a.heardLately(1, 120, 10) || a.heardLately(1, 121, 10) || a.heardLately(3, 120, 10) {
		t.Fatal("heardLately does not follow the last message within the window")
	}
	if a.changing(50, 10) {
		t.Fatal("changing before any change was proposed")
	}
	a.confProposedAt = 50
	if !a.changing(59, 10) || a.changing(60, 10) {
		t.Fatal("changing does not hold for exactly one window")
	}
}
