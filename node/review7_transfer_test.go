package node

import (
	"testing"

	pb "go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/proto"
)

// TestTransferAnsweredRightWhenATickFollowsTheVote: a host runs a batch
// of events, then Process once (Driver.RunBatch). When the batch holds
// the new leader's vote request and then a tick, the old leader's raft is
// a follower at the tick while the node has not yet processed that
// (isLeader): raft's transferee is gone, and the transfer, which
// succeeds, must not be answered failed.
func TestTransferAnsweredRightWhenATickFollowsTheVote(t *testing.T) {
	c := newCluster(t, 3, testConfig())
	lead := c.leader()
	to := c.follower(lead)
	c.converged()
	batched := false
	c.drop = func(m message) bool {
		if batched || m.From != to || m.To != lead {
			return false
		}
		hdr, body, err := decodeEnvelope(m.Data)
		if err != nil || hdr.kind != peerRaft {
			return false
		}
		rm := &pb.Message{}
		if proto.Unmarshal(body, rm) != nil || rm.GetType() != pb.MessageType_MsgVote {
			return false
		}
		// One batch: the vote request, then a tick, then Process.
		batched = true
		n := c.node(lead)
		if err := n.Step(m.Data); err != nil {
			t.Fatal(err)
		}
		n.Tick()
		return true
	}
	answers := 0
	var got error
	c.node(lead).TransferLeadership(to, func(err error) { answers++; got = err })
	for range 3 * c.cfg.ElectionTicks {
		if answers > 0 {
			break
		}
		c.tick()
	}
	if !batched {
		t.Fatal("the new leader's vote request never reached the old leader")
	}
	if st := c.node(to).Status(); !st.IsLeader {
		t.Fatalf("node %d does not lead after the transfer (leader %d)", to, st.Lead)
	}
	if answers != 1 || got != nil {
		t.Fatalf("node %d took over; the transfer was answered %d times, last %v; want once, nil", to, answers, got)
	}
}
