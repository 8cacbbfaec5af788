package node

import (
	"fmt"

	"go.etcd.io/raft/v3"
	pb "go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/proto"

	"github.com/seshat-db/seshat/storage"
)

// Snapshot transfer: a leader whose follower needs entries it compacted
// away gets a MsgSnap from raft. Instead of sending the data in that one
// message, the node streams it in chunks of SnapshotChunkBytes, one chunk
// in flight per follower (stop and wait: the receiver's disk sets the
// pace), resending a chunk that got no ack within SnapshotRetryTicks and
// giving up after snapshotAttemptsMax tries. raft hears the outcome through
// ReportSnapshot, and retries a failed transfer itself.

const snapshotAttemptsMax = 10

// snapTransfers holds the snapshot transfers a node takes part in: those
// it sends (as leader) and the one it receives.
type snapTransfers struct {
	sending   []*outgoingSnap // one per follower at most, oldest first
	receiving *incomingSnap
}

// acked returns the transfer that a is the ack of its chunk in flight, or nil.
func (t *snapTransfers) acked(a snapAck) *outgoingSnap {
	for _, out := range t.sending {
		if out.to == a.from && out.id == a.id && out.seq == a.seq {
			return out
		}
	}
	return nil
}

// to returns the transfer to follower id, or nil.
func (t *snapTransfers) to(id uint64) *outgoingSnap {
	for _, out := range t.sending {
		if out.to == id {
			return out
		}
	}
	return nil
}

// remove ends out, closing its reader.
func (t *snapTransfers) remove(out *outgoingSnap) {
	_ = out.reader.Close()
	for i, o := range t.sending {
		if o == out {
			t.sending = append(t.sending[:i], t.sending[i+1:]...)
			return
		}
	}
}

// closeAll ends every outgoing transfer.
func (t *snapTransfers) closeAll() {
	for len(t.sending) > 0 {
		t.remove(t.sending[0])
	}
}

// receive returns the incoming transfer that chunk c belongs to, starting
// a new one when c is the first chunk of another transfer; fresh says it
// did, and the staging area must be emptied. It returns nil for a later
// chunk of a transfer it does not follow: the sender resends from its state.
func (t *snapTransfers) receive(c snapChunk) (in *incomingSnap, fresh bool) {
	in = t.receiving
	if in != nil && in.id == c.id && in.from == c.from {
		return in, false
	}
	if c.seq != 0 {
		return nil, false
	}
	t.receiving = &incomingSnap{from: c.from, id: c.id}
	return t.receiving, true
}

type outgoingSnap struct {
	to       uint64
	id       uint64
	msg      []byte // the raft MsgSnap, sent with the last chunk
	reader   *storage.SnapshotReader
	chunk    []byte // the chunk in flight, for resending
	seq      uint64
	final    bool
	sentAt   uint64 // tick
	attempts int
	started  uint64 // tick
	bytes    int64
}

type incomingSnap struct {
	from  uint64
	id    uint64
	next  uint64 // the next chunk expected
	index uint64 // set once the last chunk arrived
	term  uint64

	started uint64 // tick
	bytes   int64
}

// startSnapshot begins streaming the data behind raft's MsgSnap m.
func (n *Node) startSnapshot(m *pb.Message) {
	to := m.GetTo()
	if out := n.snaps.to(to); out != nil {
		n.snaps.remove(out)
	}
	reader, err := n.store.OpenSnapshot(m.GetSnapshot().GetMetadata().GetIndex())
	if err != nil {
		n.env.Log.Warn("cannot send snapshot", "node", n.cfg.ID, "to", to, "err", err)
		n.rn.ReportSnapshot(to, raft.SnapshotFailure)
		return
	}
	n.nextSeq++
	out := &outgoingSnap{to: to, id: n.incarnation<<40 | n.nextSeq, msg: marshalRaft(m), reader: reader, started: n.ticks}
	n.snaps.sending = append(n.snaps.sending, out)
	n.env.Log.Info("sending snapshot", "node", n.cfg.ID, "to", to, "index", m.GetSnapshot().GetMetadata().GetIndex())
	n.sendNextChunk(out)
}

// sendNextChunk reads and sends the next chunk of out.
func (n *Node) sendNextChunk(out *outgoingSnap) {
	c := snapChunk{from: n.cfg.ID, to: out.to, id: out.id, seq: out.seq}
	done, err := out.reader.Next(n.cfg.SnapshotChunkBytes, func(k, v []byte) {
		c.pairs = append(c.pairs, [2][]byte{append([]byte{}, k...), append([]byte{}, v...)})
	})
	if err != nil {
		n.env.Log.Error("reading snapshot failed", "node", n.cfg.ID, "to", out.to, "err", err)
		n.finishOutgoing(out, raft.SnapshotFailure)
		return
	}
	if done {
		c.final = out.msg
		out.final = true
	}
	out.chunk = c.encode()
	out.bytes += c.payloadBytes()
	out.attempts = 0
	n.sendChunk(out)
}

func (n *Node) sendChunk(out *outgoingSnap) {
	out.sentAt = n.ticks
	out.attempts++
	n.send(out.to, peerSnapChunk, out.chunk)
}

// onSnapAck moves a transfer on by one chunk.
func (n *Node) onSnapAck(a snapAck) {
	out := n.snaps.acked(a)
	switch {
	case out == nil:
	case out.final:
		n.env.Log.Info("snapshot sent", "node", n.cfg.ID, "to", out.to, "chunks", out.seq+1)
		n.finishOutgoing(out, raft.SnapshotFinish)
	default:
		out.seq++
		n.sendNextChunk(out)
	}
}

// retrySnapshots resends chunks that got no ack, giving up on transfers
// that tried too often.
func (n *Node) retrySnapshots() {
	for i := 0; i < len(n.snaps.sending); i++ {
		out := n.snaps.sending[i]
		if n.ticks-out.sentAt < uint64(n.cfg.SnapshotRetryTicks) {
			continue
		}
		if out.attempts >= snapshotAttemptsMax {
			n.env.Log.Warn("snapshot transfer failed", "node", n.cfg.ID, "to", out.to, "chunk", out.seq)
			n.finishOutgoing(out, raft.SnapshotFailure)
			i--
			continue
		}
		n.sendChunk(out)
	}
}

func (n *Node) finishOutgoing(out *outgoingSnap, status raft.SnapshotStatus) {
	n.reportTransfer(SnapshotTransfer{Peer: out.to, OK: status == raft.SnapshotFinish, Bytes: out.bytes, Ticks: n.ticks - out.started})
	n.snaps.remove(out)
	n.rn.ReportSnapshot(out.to, status)
}

// onSnapChunk stages one chunk of an incoming snapshot and acknowledges
// it. After the last chunk it hands raft the MsgSnap; raft then decides
// whether to install it (Ready.Snapshot), which processReady does.
func (n *Node) onSnapChunk(c snapChunk) error {
	in, fresh := n.snaps.receive(c)
	if in == nil {
		return nil
	}
	if fresh {
		in.started = n.ticks
		if err := n.store.ResetStaging(); err != nil {
			return n.stop(err)
		}
	}
	switch {
	case c.seq > in.next:
		return nil
	case c.seq < in.next:
		n.ackChunk(c) // our ack was lost: say it again
		return nil
	}
	if err := n.store.Stage(c.pairs); err != nil {
		if n.stopped != nil || n.store.Failed() {
			return n.stop(err)
		}
		return fmt.Errorf("node: snapshot chunk from %d: %w", c.from, err)
	}
	in.next++
	in.bytes += c.payloadBytes()
	n.ackChunk(c)
	if c.final == nil {
		return nil
	}
	m := &pb.Message{}
	if err := proto.Unmarshal(c.final, m); err != nil || m.GetType() != pb.MessageType_MsgSnap || m.GetTo() != n.cfg.ID || m.GetFrom() != c.from {
		return fmt.Errorf("node: snapshot from %d ends with a bad raft message", c.from)
	}
	in.index, in.term = m.GetSnapshot().GetMetadata().GetIndex(), m.GetSnapshot().GetMetadata().GetTerm()
	_, err := n.stepRaft(m)
	return err
}

func (n *Node) ackChunk(c snapChunk) {
	n.send(c.from, peerSnapAck, snapAck{from: n.cfg.ID, to: c.from, id: c.id, seq: c.seq}.encode())
}

// installSnapshot swaps the staged snapshot in, as raft asked in a Ready.
func (n *Node) installSnapshot(snap *pb.Snapshot, hs *pb.HardState) error {
	meta := snap.GetMetadata()
	in := n.snaps.receiving
	if in == nil || in.index != meta.GetIndex() || in.term != meta.GetTerm() {
		return fmt.Errorf("node: raft installs snapshot %d/%d, but the staged one is not it", meta.GetIndex(), meta.GetTerm())
	}
	wasJoining := n.store.IsJoining()
	if err := n.store.InstallSnapshot(meta, hs); err != nil {
		return err
	}
	if !n.cfg.UnsafeStaleUsers {
		if err := n.loadUsers(); err != nil {
			return err
		}
	}
	if wasJoining {
		// The data may hold sessions of this node's wiped former self,
		// under the numbers this process proposes with: take a new
		// incarnation past them (NextIncarnation counts them).
		incarnation, err := n.store.NextIncarnation(n.cfg.ID)
		if err != nil {
			return err
		}
		n.incarnation = incarnation
	}
	n.reportTransfer(SnapshotTransfer{Peer: in.from, Received: true, OK: true, Bytes: in.bytes, Ticks: n.ticks - in.started})
	n.snaps.receiving = nil
	n.snapshotsInstalled++
	n.env.Log.Info("snapshot installed", "node", n.cfg.ID, "index", meta.GetIndex(), "term", meta.GetTerm())
	durable, _, _ := n.store.InitialState()
	n.hardStateSynced(MomentSnapshotInstalled, durable)
	return nil
}

// maybeCompact takes a snapshot, by compacting the log, once enough was
// applied or the log grew large. The data in Pebble is the snapshot; the
// log keeps SnapshotCatchUpEntries entries behind the applied index so a
// follower a little behind catches up from the log, not a snapshot.
func (n *Node) maybeCompact() error {
	applied, base := n.store.Applied(), n.store.SnapshotIndex()
	if applied-base < n.cfg.SnapshotEntries && n.store.LogBytesSinceBase() < n.cfg.SnapshotLogBytes {
		return nil
	}
	keep := n.cfg.SnapshotCatchUpEntries
	if applied <= base+keep {
		return nil
	}
	n.moment(Moment{Kind: MomentCompacting})
	if err := n.store.Compact(applied - keep); err != nil {
		return err
	}
	n.snapshotsTaken++
	// Routine under load (every SnapshotEntries writes): DEBUG.
	n.env.Log.Debug("log compacted", "node", n.cfg.ID, "through", applied-keep, "applied", applied)
	return nil
}

func (n *Node) reportTransfer(t SnapshotTransfer) {
	if n.cfg.OnSnapshotTransfer != nil {
		n.cfg.OnSnapshotTransfer(t)
	}
}
