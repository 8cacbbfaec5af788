package node

import (
	pb "go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/encoding/protowire"
)

// RaftMessageType returns the raft message type of a peer message, if it
// carries one, without decoding the message: a host that aims network
// faults at one kind of message (the simulator) asks it of every message
// it delivers. Raft messages are marshalled in field order, so the type,
// field 1, comes first.
func RaftMessageType(data []byte) (pb.MessageType, bool) {
	hdr, body, err := decodeEnvelope(data)
	if err != nil || hdr.kind != peerRaft {
		return 0, false
	}
	num, typ, n := protowire.ConsumeTag(body)
	if n <= 0 || num != 1 || typ != protowire.VarintType {
		return 0, false
	}
	v, m := protowire.ConsumeVarint(body[n:])
	if m <= 0 {
		return 0, false
	}
	return pb.MessageType(v), true
}
