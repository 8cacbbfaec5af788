package node

import (
	"testing"

	pb "go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/proto"
)

// TestReplicaOffsetsNotPastMaster: ROLE and INFO tell a master's offset
// (its applied index) and each replica's (the leader's match of it); a
// Redis replica is never ahead of its master, and a client measuring lag
// as the difference saw a negative one: a follower acknowledges entries
// before the leader applies them.
func TestReplicaOffsetsNotPastMaster(t *testing.T) {
	c := newCluster(t, 7, testConfig())
	lead, _ := written(c, 1)
	c.submit(lead, set("k", "v"))
	if err := c.node(lead).Process(); err != nil {
		t.Fatal(err)
	}
	// Deliver everything but what reaches the leader: the followers
	// store and acknowledge; the leader hears the acks, applies nothing.
	for range 1000 {
		m, ok := c.net.Take()
		if !ok {
			break
		}
		if err := c.node(m.To).Step(m.Data); err != nil {
			t.Fatal(err)
		}
		if m.To != lead {
			if err := c.node(m.To).Process(); err != nil {
				t.Fatal(err)
			}
		}
	}
	st := c.node(lead).Status()
	if len(st.Replicas) == 0 {
		t.Fatal("the leader lists no replicas")
	}
	for _, r := range st.Replicas {
		if r.Match > st.Applied {
			t.Fatalf("replica %d at offset %d, past its master's %d", r.ID, r.Match, st.Applied)
		}
	}
}

// snapshotNeverArrives writes 20 keys, then wipes follower f, whose
// rejoin catches it up from nothing by a snapshot; every chunk of it to f
// is lost, so the leader stays sending until the test sets c.drop to nil.
func snapshotNeverArrives(t *testing.T) (c *cluster, lead, f uint64) {
	c = newCluster(t, 5, testConfig())
	lead = c.leader()
	f = c.follower(lead)
	for i := range 20 {
		if res := c.do(lead, set(string(rune('a'+i)), "0123456789")); res.Err != nil {
			t.Fatal(res.Err)
		}
	}
	c.converged()
	c.drop = func(m message) bool {
		hdr, _, err := decodeEnvelope(m.Data)
		return err == nil && hdr.kind == peerSnapChunk && m.To == f
	}
	c.wipe(f)
	return c, lead, f
}

// TestReplicaReceivingASnapshotIsSyncing: a replica the leader is
// sending a snapshot to is listed as syncing (INFO tells it send_bulk,
// ROLE leaves it out, as Redis does a replica in full sync), and as in
// sync once it has caught up. Before, a wiped follower catching up was
// told online all along.
func TestReplicaReceivingASnapshotIsSyncing(t *testing.T) {
	c, lead, f := snapshotNeverArrives(t)
	replica := func() (Replica, bool) {
		for _, r := range c.node(lead).Status().Replicas {
			if r.ID == f {
				return r, true
			}
		}
		return Replica{}, false
	}
	syncing := false
	for range 100 {
		if r, ok := replica(); ok && r.Syncing {
			syncing = true
			break
		}
		c.tick()
	}
	if !syncing {
		t.Fatal("the wiped follower was never listed as syncing while it was sent a snapshot")
	}
	c.drop = nil
	c.waitRole(f, "voter")
	c.converged()
	if r, ok := replica(); !ok || r.Syncing {
		t.Fatalf("after catching up: %+v listed %v, want listed and not syncing", r, ok)
	}
}

// TestLeaderClosesWhileSendingASnapshot: a leader stopped in the middle
// of sending a snapshot closes cleanly. Its transfer held a Pebble
// snapshot open, and Close reported "leaked snapshots" (found while
// writing the test above).
func TestLeaderClosesWhileSendingASnapshot(t *testing.T) {
	c, lead, _ := snapshotNeverArrives(t)
	for range 100 {
		if len(c.node(lead).snaps.sending) > 0 {
			break
		}
		c.tick()
	}
	if len(c.node(lead).snaps.sending) == 0 {
		t.Fatal("the leader never started sending f a snapshot")
	}
	c.stop(lead) // fails the test if Close reports an error
}

// TestReplicasDoNotBlinkAtTheQuorumCheck: raft's CheckQuorum marks every
// peer inactive at each election timeout, until the next heartbeat's
// answers. ROLE and INFO built on that flag told a master with no
// replicas in that gap, once per election timeout; and CLUSTER NODES
// would have flagged every member failed.
func TestReplicasDoNotBlinkAtTheQuorumCheck(t *testing.T) {
	c := newCluster(t, 3, testConfig())
	lead := c.leader()
	c.ticks(2 * c.cfg.ElectionTicks)
	for i := range 3 * c.cfg.ElectionTicks {
		n := c.node(lead)
		n.Tick() // the leader's tick alone: its heartbeats are not yet answered
		if got := len(n.Status().Replicas); got != 2 {
			t.Fatalf("tick %d: the leader lists %d replicas, want 2", i, got)
		}
		members, err := n.Members()
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range members {
			if m.Failed {
				t.Fatalf("tick %d: the leader tells live member %d failed", i, m.ID)
			}
		}
		for id := range c.nodes {
			if id+1 != int(lead) {
				c.node(uint64(id + 1)).Tick()
			}
		}
		c.settle()
	}
}

// TestLeaderTellsADownMemberFailed: the leader flags a member it has not
// heard from within an election timeout failed (CLUSTER NODES tells it
// as Redis does a failed node), and unflags it once it is back; a
// follower, which hears only from its leader, flags nobody.
func TestLeaderTellsADownMemberFailed(t *testing.T) {
	c := newCluster(t, 3, testConfig())
	lead := c.leader()
	f := c.follower(lead)
	failed := func(at uint64) []uint64 {
		members, err := c.node(at).Members()
		if err != nil {
			t.Fatal(err)
		}
		var out []uint64
		for _, m := range members {
			if m.Failed {
				out = append(out, m.ID)
			}
		}
		return out
	}
	c.ticks(2 * c.cfg.ElectionTicks)
	if got := failed(lead); len(got) != 0 {
		t.Fatalf("all up: the leader tells %v failed", got)
	}
	c.stop(f)
	c.ticks(c.cfg.ElectionTicks + 1)
	if got := failed(lead); len(got) != 1 || got[0] != f {
		t.Fatalf("node %d down: the leader tells %v failed", f, got)
	}
	for _, r := range c.node(lead).Status().Replicas {
		if r.ID == f {
			t.Fatalf("node %d down: the leader lists it as a replica", f)
		}
	}
	other := c.follower(lead)
	for other == f {
		t.Fatal("follower() named the stopped node")
	}
	if got := failed(other); len(got) != 0 {
		t.Fatalf("a follower tells %v failed", got)
	}
	c.start(f)
	c.ticks(3)
	if got := failed(lead); len(got) != 0 {
		t.Fatalf("node %d back: the leader tells %v failed", f, got)
	}
}

// TestQuorumCheckDoesNotBlink: the strict reconfiguration check counts
// the voters this leader knows alive; raft's CheckQuorum clears that
// flag for every peer at each election timeout, and a change asked
// before the next heartbeat's answers was refused as leaving no quorum.
func TestQuorumCheckDoesNotBlink(t *testing.T) {
	c := newCluster(t, 3, testConfig())
	lead := c.leader()
	c.ticks(2 * c.cfg.ElectionTicks)
	voters := []uint64{1, 2, 3}
	for i := range 3 * c.cfg.ElectionTicks {
		n := c.node(lead)
		n.Tick()
		if err := n.checkQuorumAfter(voters, false); err != nil {
			t.Fatalf("tick %d: all three voters up, the quorum check said %v", i, err)
		}
		for id := range c.nodes {
			if id+1 != int(lead) {
				c.node(uint64(id + 1)).Tick()
			}
		}
		c.settle()
	}
	// Strict still: a voter down for an election timeout is not counted.
	f := c.follower(lead)
	c.stop(f)
	c.ticks(c.cfg.ElectionTicks + 1)
	if err := c.node(lead).checkQuorumAfter([]uint64{lead, f}, false); err == nil {
		t.Fatalf("node %d down: a change leaving voters %d and %d passed the quorum check", f, lead, f)
	}
}

// TestDroppedAckIsNoAnswer: an ack the peer guard drops (of an index past
// the leader's log) is not an answer: a member that sends only such
// messages is still flagged failed and not counted active.
func TestDroppedAckIsNoAnswer(t *testing.T) {
	c := newCluster(t, 3, testConfig())
	lead := c.leader()
	f := c.follower(lead)
	c.stop(f)
	term := c.node(lead).Status().Term
	for range 3 * c.cfg.ElectionTicks {
		if err := c.forge(lead, &pb.Message{Type: pb.MessageType_MsgAppResp.Enum(), From: proto.Uint64(f), Term: proto.Uint64(term), Index: proto.Uint64(1 << 40)}); err != nil {
			t.Fatal(err)
		}
		c.tick()
	}
	if c.node(lead).active(f) {
		t.Fatalf("node %d, down, sent only acks the guard dropped and is counted active", f)
	}
	members, err := c.node(lead).Members()
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range members {
		if m.ID == f && !m.Failed {
			t.Fatalf("node %d, down, sent only acks the guard dropped and is not flagged failed", f)
		}
	}
}
