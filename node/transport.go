package node

import (
	"fmt"

	pb "go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/proto"
)

// The sending side of the peer protocol (peer.go holds the wire format):
// every message leaves through env.Transport inside this node's envelope.

// send wraps body in this node's envelope and hands it to the transport.
func (n *Node) send(to uint64, kind byte, body []byte) {
	n.env.Transport.Send(to, n.envelopeTo(to, kind).encode(body))
}

func (n *Node) envelopeTo(to uint64, kind byte) envelope {
	return envelope{kind: kind, from: n.cfg.ID, fromIdentity: n.store.Identity(), toIdentity: n.peerIdentity(to)}
}

// peerIdentity is the identity this node believes peer id has.
func (n *Node) peerIdentity(id uint64) uint64 { return n.store.MemberIdentity(id) }

// sendRaft marshals m straight after its envelope, sparing a copy of
// what may be a megabyte of entries. The marshal reuses the size just
// computed for the buffer instead of walking m again.
func (n *Node) sendRaft(m *pb.Message) {
	n.guard.noteSent(m)
	hdr := n.envelopeTo(m.GetTo(), peerRaft).header(proto.Size(m))
	b, err := proto.MarshalOptions{UseCachedSize: true}.MarshalAppend(hdr, m)
	if err != nil {
		panic(fmt.Sprintf("node: marshal raft message: %v", err))
	}
	n.env.Transport.Send(m.GetTo(), b)
}
