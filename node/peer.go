package node

import (
	"encoding/binary"
	"errors"
	"fmt"

	pb "go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/proto"
)

// Peer messages are bytes, the same in the simulator and on the wire: an
// envelope, then a body. The envelope is the kind (one byte), then as
// uvarints the sender's node id, the sender's identity and the identity
// the sender believes the receiver has (see membership.go: a node whose
// disk was wiped rejoins under a new identity, and messages meant for or
// sent by its former self are dropped on arrival). The kind says what the
// body is:
//
//	peerRaft:       a raft message (protobuf)
//	peerSnapChunk:  one chunk of a snapshot transfer (snapChunk)
//	peerSnapAck:    the receiver's acknowledgement of a chunk (snapAck)
//	peerProbe:      a node with an empty disk asks what the peer holds (empty body)
//	peerProbeReply: the answer (one uvarint: a peerStage)
//	peerJoin:       a node rejoining under a new identity asks to be admitted (empty body)
//	peerRemoved:    a member tells a node whose raft messages it drops that the node was removed (empty body)
//	peerAnnounce:   a member asks the leader to record its addresses (announceBody)
const (
	peerRaft       byte = 1
	peerSnapChunk  byte = 2
	peerSnapAck    byte = 3
	peerProbe      byte = 4
	peerProbeReply byte = 5
	peerJoin       byte = 6
	peerRemoved    byte = 7
	peerAnnounce   byte = 8
)

var errMalformedPeer = errors.New("node: malformed peer message")

// envelope is the header every peer message starts with.
type envelope struct {
	kind         byte
	from         uint64
	fromIdentity uint64
	toIdentity   uint64
}

func (e envelope) encode(body []byte) []byte {
	return append(e.header(len(body)), body...)
}

// header returns the envelope's bytes, with room for a body of size bytes.
func (e envelope) header(size int) []byte {
	b := make([]byte, 0, 1+3*binary.MaxVarintLen64+size)
	b = append(b, e.kind)
	b = binary.AppendUvarint(b, e.from)
	b = binary.AppendUvarint(b, e.fromIdentity)
	return binary.AppendUvarint(b, e.toIdentity)
}

func decodeEnvelope(data []byte) (envelope, []byte, error) {
	if len(data) == 0 {
		return envelope{}, nil, errMalformedPeer
	}
	r := byteReader{b: data[1:]}
	e := envelope{kind: data[0], from: r.uvarint(), fromIdentity: r.uvarint(), toIdentity: r.uvarint()}
	return e, r.b, r.err
}

func marshalRaft(m *pb.Message) []byte {
	data, err := proto.Marshal(m)
	if err != nil {
		panic(fmt.Sprintf("node: marshal raft message: %v", err))
	}
	return data
}

// snapChunk is one piece of a snapshot on its way to a follower. The last
// chunk carries the raft MsgSnap (metadata only) that the receiver steps
// into raft once every chunk is staged.
type snapChunk struct {
	from, to uint64
	id       uint64 // the transfer's id, unique per sender
	seq      uint64 // 0, 1, 2, ...
	final    []byte // the raft MsgSnap, in the last chunk only
	pairs    [][2][]byte
}

// payloadBytes is the data a chunk carries, for the transfer's size.
func (c *snapChunk) payloadBytes() int64 {
	b := int64(len(c.final))
	for _, kv := range c.pairs {
		b += int64(len(kv[0]) + len(kv[1]))
	}
	return b
}

func (c *snapChunk) encode() []byte {
	var b []byte
	for _, v := range []uint64{c.from, c.to, c.id, c.seq, uint64(len(c.final))} {
		b = binary.AppendUvarint(b, v)
	}
	b = append(b, c.final...)
	b = binary.AppendUvarint(b, uint64(len(c.pairs)))
	for _, kv := range c.pairs {
		b = binary.AppendUvarint(b, uint64(len(kv[0])))
		b = append(b, kv[0]...)
		b = binary.AppendUvarint(b, uint64(len(kv[1])))
		b = append(b, kv[1]...)
	}
	return b
}

// byteReader walks an encoding, remembering the first error.
type byteReader struct {
	b   []byte
	err error
}

func (r *byteReader) uvarint() uint64 {
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.err = errMalformedPeer
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *byteReader) bytes(n uint64) []byte {
	if r.err != nil || n > uint64(len(r.b)) {
		r.err = errMalformedPeer
		return nil
	}
	out := r.b[:n:n]
	r.b = r.b[n:]
	return out
}

func decodeSnapChunk(b []byte) (snapChunk, error) {
	r := byteReader{b: b}
	var c snapChunk
	c.from, c.to, c.id, c.seq = r.uvarint(), r.uvarint(), r.uvarint(), r.uvarint()
	c.final = r.bytes(r.uvarint())
	count := r.uvarint()
	if r.err == nil && count > uint64(len(r.b)) {
		return c, errMalformedPeer
	}
	for i := uint64(0); i < count && r.err == nil; i++ {
		k := r.bytes(r.uvarint())
		v := r.bytes(r.uvarint())
		c.pairs = append(c.pairs, [2][]byte{k, v})
	}
	if r.err == nil && len(r.b) != 0 {
		r.err = errMalformedPeer
	}
	return c, r.err
}

type snapAck struct {
	from, to, id, seq uint64
}

func (a snapAck) encode() []byte {
	var b []byte
	for _, v := range []uint64{a.from, a.to, a.id, a.seq} {
		b = binary.AppendUvarint(b, v)
	}
	return b
}

func decodeSnapAck(b []byte) (snapAck, error) {
	r := byteReader{b: b}
	a := snapAck{from: r.uvarint(), to: r.uvarint(), id: r.uvarint(), seq: r.uvarint()}
	if r.err == nil && len(r.b) != 0 {
		r.err = errMalformedPeer
	}
	return a, r.err
}
