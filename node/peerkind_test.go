package node

import (
	"testing"

	pb "go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/proto"
	"pgregory.net/rapid"
)

// TestRaftMessageType: the type read from a peer message's first bytes is
// the one a full decode finds, for any raft message; other kinds of peer
// message carry none.
func TestRaftMessageType(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		typ := pb.MessageType(rapid.IntRange(0, 23).Draw(t, "type"))
		m := &pb.Message{
			Type:    typ.Enum(),
			From:    proto.Uint64(rapid.Uint64().Draw(t, "from")),
			To:      proto.Uint64(rapid.Uint64().Draw(t, "to")),
			Term:    proto.Uint64(rapid.Uint64().Draw(t, "term")),
			Index:   proto.Uint64(rapid.Uint64().Draw(t, "index")),
			Context: rapid.SliceOf(rapid.Byte()).Draw(t, "context"),
		}
		if rapid.Bool().Draw(t, "entry") {
			m.Entries = []*pb.Entry{{Data: rapid.SliceOf(rapid.Byte()).Draw(t, "data")}}
		}
		e := envelope{kind: peerRaft, from: m.GetFrom(), fromIdentity: rapid.Uint64().Draw(t, "identity")}
		got, ok := RaftMessageType(e.encode(marshalRaft(m)))
		if !ok || got != typ {
			t.Fatalf("RaftMessageType = %v, %v; want %v", got, ok, typ)
		}
		e.kind = rapid.SampledFrom([]byte{peerSnapChunk, peerSnapAck, peerProbe, peerProbeReply, peerJoin}).Draw(t, "kind")
		if got, ok := RaftMessageType(e.encode(marshalRaft(m))); ok {
			t.Fatalf("a peer message of kind %d read as raft type %v", e.kind, got)
		}
	})
}
