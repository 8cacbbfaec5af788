package node

import (
	"testing"

	pb "go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/proto"
)

// The fuzzers of the peer input (issue 16): any bytes, and any raft
// message built field by field near the receiver's state, stepped into a
// running three-node cluster. Neither may panic, stop a node, or keep the
// cluster from taking a write. `go test` runs the seed corpus (f.Add and
// testdata/fuzz); `make fuzz` explores for FUZZTIME each.

// FuzzPeerStep: the decoder (envelope, raft protobuf, snapshot chunk and
// ack, probe answers) and Step behind it, on arbitrary bytes.
func FuzzPeerStep(f *testing.F) {
	beat := &pb.Message{Type: pb.MessageType_MsgHeartbeat.Enum(), From: proto.Uint64(1), To: proto.Uint64(2), Term: proto.Uint64(2), Commit: proto.Uint64(999999999)}
	f.Add(envelope{kind: peerRaft, from: 1}.encode(marshalRaft(beat)))
	f.Add(envelope{kind: peerSnapChunk, from: 1}.encode((&snapChunk{from: 1, to: 2, id: 1, final: marshalRaft(beat)}).encode()))
	f.Add(envelope{kind: peerSnapAck, from: 3}.encode(snapAck{from: 3, to: 2, id: 1}.encode()))
	f.Add(envelope{kind: peerProbeReply, from: 3}.encode([]byte{1}))
	f.Add(envelope{kind: peerJoin, from: 3, fromIdentity: 7}.encode(nil))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		c := newCluster(t, 61, testConfig())
		lead, fl := written(c, 2)
		for _, to := range []uint64{fl, lead} {
			_ = c.node(to).Step(data)
			if err := c.node(to).StopErr(); err != nil {
				t.Fatalf("node %d stopped on %x: %v", to, data, err)
			}
		}
		c.servesAfter("fuzzed peer bytes")
	})
}

// FuzzForgedRaft: well-formed raft messages in a member's name, their
// fields drawn near the receiver's term and log (forged, see
// TestStepSurvivesForgedRaft for the property run in every `go test`).
func FuzzForgedRaft(f *testing.F) {
	add := func(toLeader bool, from, typ uint8, termOff int8, indexOff, commitOff int16, entries uint8, kind int8, data []byte) {
		f.Add(uint8(1), toLeader, from, typ, termOff, int8(0), indexOff, commitOff, false, entries, int8(0), kind, data)
	}
	add(false, 1, uint8(pb.MessageType_MsgHeartbeat), 0, 0, 1000, 0, 0, nil)
	add(false, 1, uint8(pb.MessageType_MsgApp), 0, 0, 1, 1, 3, []byte("injected"))
	add(false, 1, uint8(pb.MessageType_MsgApp), 1, -3, 0, 2, 1, []byte{0xff})
	add(true, 2, uint8(pb.MessageType_MsgAppResp), 0, 500, 0, 0, 0, nil)
	add(true, 2, uint8(pb.MessageType_MsgProp), -100, 0, 0, 1, 2, []byte{1})
	add(false, 3, uint8(pb.MessageType_MsgSnap), 0, 50, 0, 2, 0, nil)
	add(false, 3, uint8(pb.MessageType_MsgVote), 1, 5, 0, 0, 0, nil)
	f.Fuzz(func(t *testing.T, seed uint8, toLeader bool, from, typ uint8, termOff, logTermOff int8, indexOff, commitOff int16,
		reject bool, entries uint8, entryTermOff, entryKind int8, data []byte) {
		forgeAndServe(t, forged{
			seed: uint64(seed % 4), toLeader: toLeader, from: from % 5, typ: typ % 25,
			termOff: termOff, logTermOff: logTermOff, indexOff: indexOff, commitOff: commitOff,
			reject: reject, entries: entries % 8, entryTermOff: entryTermOff, entryKind: entryKind & 3, data: data,
		})
	})
}
