package node

import (
	"fmt"
	"testing"

	pb "go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/proto"
)

// A peer's forwarded proposal (MsgProp) may carry a membership
// change. The guard only checks that it decodes; raft's leader takes it
// (no change pending), commits it, and every node applies it with
// RawNode.ApplyConfChange, which panics on a change confchange refuses
// (two voters removed at once without a joint config). The panic is a
// plain error, not raftPanic or storage damage, so guardRaft re-panics:
// the process dies on every node, and again on every restart when the
// committed entry is re-applied.
func TestForgedConfChangeProposalIsDropped(t *testing.T) {
	for _, tc := range []struct {
		name string
		cc   *pb.ConfChangeV2
	}{
		{"two-voters-removed-simple", &pb.ConfChangeV2{Changes: []*pb.ConfChangeSingle{
			{Type: pb.ConfChangeType_ConfChangeRemoveNode.Enum(), NodeId: proto.Uint64(2)},
			{Type: pb.ConfChangeType_ConfChangeRemoveNode.Enum(), NodeId: proto.Uint64(3)},
		}}},
		{"all-voters-removed", &pb.ConfChangeV2{Changes: []*pb.ConfChangeSingle{
			{Type: pb.ConfChangeType_ConfChangeRemoveNode.Enum(), NodeId: proto.Uint64(1)},
			{Type: pb.ConfChangeType_ConfChangeRemoveNode.Enum(), NodeId: proto.Uint64(2)},
			{Type: pb.ConfChangeType_ConfChangeRemoveNode.Enum(), NodeId: proto.Uint64(3)},
		}}},
		{"demote-voter-1", &pb.ConfChangeV2{Changes: []*pb.ConfChangeSingle{
			{Type: pb.ConfChangeType_ConfChangeAddLearnerNode.Enum(), NodeId: proto.Uint64(1)},
		}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newCluster(t, 41, testConfig())
			lead, f := written(c, 3)
			data, err := proto.Marshal(tc.cc)
			if err != nil {
				t.Fatal(err)
			}
			prop := &pb.Message{Type: pb.MessageType_MsgProp.Enum(), From: proto.Uint64(f),
				Entries: []*pb.Entry{{Type: pb.EntryType_EntryConfChangeV2.Enum(), Data: data}}}
			func() {
				defer func() {
					if p := recover(); p != nil {
						t.Fatalf("a forwarded membership-change proposal from peer %d panicked the process: %v", f, p)
					}
				}()
				if err := c.forge(lead, prop); err != nil {
					t.Logf("step: %v", err)
				}
				c.settle()
				c.ticks(5)
				st := c.node(lead).Status()
				t.Logf("lead %d after forge: %+v", lead, st)
				if st.MembershipChanges != 0 || len(st.Voters) != 3 {
					t.Errorf("a forged proposal from peer %d changed the membership: voters %v learners %v", f, st.Voters, st.Learners)
				}
				c.servesAfter(fmt.Sprintf("forged conf change %s", tc.name))
			}()
		})
	}
}

// The sim (held-messages seed 1, with every guard drop made a panic)
// showed the guard dropping an honest, delayed append of an older term:
// "append at term 2 would overwrite entry 1302 of term 3". Raft ignores a
// message of an older term, but with CheckQuorum/PreVote it answers a
// stale MsgApp or MsgHeartbeat with a MsgAppResp at its own term, so that
// a leader stuck in an old term (a node that moved on cannot win a
// pre-vote while the others hear that leader) learns it and steps down.
// The guard judges the stale append's entries against the newer log and
// drops it unanswered (and counts it as forged). The same holds for a
// stale heartbeat whose commit is past this node's log. Judging should
// only apply to messages at or above the node's term.
func TestStaleTermAppendIsRaftsToAnswer(t *testing.T) {
	c := newCluster(t, 43, testConfig())
	lead, f := written(c, 3)
	st := c.node(f).Status()
	other := uint64(1)
	for other == lead || other == f {
		other++
	}
	last := st.Commit
	stale := &pb.Message{Type: pb.MessageType_MsgApp.Enum(), From: proto.Uint64(other), Term: proto.Uint64(st.Term - 1),
		Index: proto.Uint64(last - 1), LogTerm: proto.Uint64(st.Term - 1), Commit: proto.Uint64(0),
		Entries: []*pb.Entry{{Index: proto.Uint64(last), Term: proto.Uint64(st.Term - 1)}}}
	before := c.node(f).Status().DroppedForged
	if err := c.forge(f, stale); err != nil {
		t.Logf("step: %v", err)
	}
	if got := c.node(f).Status().DroppedForged; got != before {
		t.Fatalf("a stale append of term %d (node at term %d) was dropped by the guard instead of answered by raft", st.Term-1, st.Term)
	}
}
