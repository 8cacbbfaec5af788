package node

import (
	"testing"

	"github.com/seshat-db/seshat/kv"

	pb "go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/proto"
)

// r6Raft decodes a peer message's raft message (nil if it carries none).
func r6Raft(m message) *pb.Message {
	hdr, body, err := decodeEnvelope(m.Data)
	if err != nil || hdr.kind != peerRaft {
		return nil
	}
	rm := &pb.Message{}
	if proto.Unmarshal(body, rm) != nil {
		return nil
	}
	return rm
}

// TestR6NewLeaderWithZeroClockStampsWallClock (review r6-clock): a new
// leader counts cluster time only once it has applied an entry of its
// own term (countsFromLog), but clusterNow checks "applied clock is 0:
// a new cluster, read the wall clock" BEFORE that guard. A node that holds
// the cluster's stamped entries in its log without having applied any
// (it never learned they committed) and wins an election therefore
// stamps its own wall clock: 30 s ahead here, and a key set with PX 10000
// a moment before is gone at once, on every node.
func TestR6NewLeaderWithZeroClockStampsWallClock(t *testing.T) {
	const base = 1_700_000_000_000
	c := newCluster(t, 1, testConfig())
	c.walls = []int64{base, base, base}
	for id := uint64(1); id <= 3; id++ {
		c.stop(id)
		c.start(id)
	}
	lead := c.leader()
	var a, b uint64
	for id := uint64(1); id <= 3; id++ {
		if id != lead {
			if a == 0 {
				a = id
			} else {
				b = id
			}
		}
	}
	// a receives the leader's entries but never learns they committed.
	c.drop = func(m message) bool {
		rm := r6Raft(m)
		if rm == nil || m.From != lead || m.To != a {
			return false
		}
		return rm.GetType() == pb.MessageType_MsgHeartbeat || rm.GetType() == pb.MessageType_MsgApp && len(rm.GetEntries()) == 0
	}
	if r := c.do(lead, setPX("k", "v", 10_000)); r.Err != nil {
		t.Fatal(r.Err)
	}
	c.ticks(5)
	if got := c.node(a).store.Clock(); got != 0 {
		t.Skipf("node %d applied the stamped entry (clock %d): the setup did not hold", a, got)
	}
	if c.node(b).store.Clock() == 0 {
		t.Fatalf("node %d has no clock either", b)
	}
	clockBefore := c.node(b).store.Clock()
	// a's wall clock is 30 s ahead. The leader dies; b's campaigns are
	// lost, so a wins (its log is as long as b's); b's acks to a are
	// held until a has taken a client write.
	c.walls[a-1] += 30_000
	c.stop(lead)
	holdAcks := true
	c.drop = func(m message) bool {
		rm := r6Raft(m)
		if rm == nil || m.From != b {
			return false
		}
		switch rm.GetType() {
		case pb.MessageType_MsgVote, pb.MessageType_MsgPreVote:
			return true // b never wins
		case pb.MessageType_MsgAppResp:
			return holdAcks
		}
		return false
	}
	for range 300 {
		if c.node(a).Status().IsLeader {
			break
		}
		c.tick()
	}
	if !c.node(a).Status().IsLeader {
		t.Fatalf("node %d never led", a)
	}
	if got := c.node(a).store.Clock(); got != 0 {
		t.Skipf("node %d applied before it led (clock %d)", a, got)
	}
	cl := c.submit(a, set("other", "x"))
	c.node(a).Process()
	holdAcks = false
	c.drop = nil
	c.wait(cl)
	c.ticks(2)
	after := c.node(b).store.Clock()
	t.Logf("cluster time before the election %d, after a's first stamp %d (+%d ms)", clockBefore, after, after-clockBefore)
	if after-clockBefore > 5_000 {
		t.Errorf("a new leader's first stamp moved the cluster time %d ms ahead: its wall clock, unchecked", after-clockBefore)
	}
	for id := uint64(1); id <= 3; id++ {
		if n := c.node(id); n != nil && n.StopErr() != nil {
			t.Errorf("node %d stopped: %v", id, n.StopErr())
		}
	}
	if r := c.do(a, get("other")); r.Nil {
		t.Errorf("the write the new leader stamped is lost")
	}
	if r := c.do(a, get("k")); r.Nil {
		t.Errorf("key k, set with PX 10000, is gone after at most ~4 s of real time")
	}
}

// TestR6UnstampedKeyInElectionBatch (review r6-clock): stampForwarded
// stamps a forwarded proposal only when n.isLeader, which Ready sets; a
// MsgProp stepped in the same batch as the vote that makes raft leader is
// appended with no stamp. Its key's deadline is the applied clock + TTL,
// and the cluster has been idle 5 s since the last stamp: a node that
// anchors its count only at stamped entries (the receipts rework on
// s6-clock) counts those 5 s on top and expires the key 5 s early. At
// HEAD, which re-anchors at every applied entry, this passes.
func TestR6UnstampedKeyInElectionBatch(t *testing.T) {
	const base = 1_700_000_000_000
	c := newCluster(t, 1, testConfig())
	c.walls = []int64{base, base, base}
	for id := uint64(1); id <= 3; id++ {
		c.stop(id)
		c.start(id)
	}
	lead := c.leader()
	c.do(lead, set("a", "1"))
	c.ticks(500) // 5 s idle: no deadline, no clock entry
	var cand, f uint64
	for id := uint64(1); id <= 3; id++ {
		if id != lead {
			if cand == 0 {
				cand = id
			} else {
				f = id
			}
		}
	}
	var vote *message
	c.drop = func(m message) bool {
		rm := r6Raft(m)
		if rm == nil || m.From != f {
			return false
		}
		switch rm.GetType() {
		case pb.MessageType_MsgPreVote, pb.MessageType_MsgVote:
			return true // f never campaigns successfully
		case pb.MessageType_MsgVoteResp:
			if m.To == cand && !rm.GetReject() && vote == nil {
				mm := m
				vote = &mm
				return true
			}
		}
		return false
	}
	c.stop(lead)
	for range 400 {
		if vote != nil {
			break
		}
		c.tick()
	}
	if vote == nil {
		t.Fatal("no vote for the candidate")
	}
	n := c.node(cand)
	if err := n.Step(vote.Data); err != nil {
		t.Fatal(err)
	}
	prop := &pb.Message{Type: pb.MessageType_MsgProp.Enum(), From: proto.Uint64(f),
		Entries: []*pb.Entry{{Type: pb.EntryType_EntryNormal.Enum(), Data: encodeEntry(session{origin: f, incarnation: 1}, 1, []kv.Op{setPX("k", "v", 10_000)})}}}
	if err := c.forge(cand, prop); err != nil {
		t.Fatal(err)
	}
	if err := n.Process(); err != nil {
		t.Fatal(err)
	}
	c.drop = nil
	c.settle()
	if r := c.do(cand, get("k")); r.Nil {
		t.Fatalf("the forwarded SET PX did not land")
	}
	unstamped := false
	for _, d := range c.applied[cand-1] {
		if e, err := decodeEntry(d); err == nil && len(e.ops) == 1 && string(e.ops[0].Keys[0]) == "k" {
			unstamped = d[0] != entryStamped
		}
	}
	if !unstamped {
		t.Skip("the forwarded SET PX was stamped: the race did not happen")
	}
	t.Log("the forwarded SET PX was appended without a stamp")
	for tk := 1; tk <= 1100; tk++ {
		c.tick()
		if tk%10 == 0 {
			if r := c.do(cand, get("k")); r.Nil {
				if tk < 990 {
					t.Errorf("a key set with PX 10000 was gone after %d ticks (%d ms)", tk, tk*10)
				}
				return
			}
		}
	}
	t.Errorf("the key never expired")
}
