package node

import (
	"encoding/binary"
	"fmt"

	"go.etcd.io/raft/v3"

	"github.com/seshat-db/seshat/internal/assert"
	"github.com/seshat-db/seshat/internal/mutant"
	"github.com/seshat-db/seshat/kv"
)

// Submit starts a group of client operations, all reads or all writes,
// to run in order as one: the writes as one raft entry applied in one go,
// the reads at one ReadIndex. done is called exactly once with one result
// per op, from inside this or a later call into the node.
func (n *Node) Submit(ops []kv.Op, done func([]kv.Result)) {
	if len(ops) == 0 {
		done(nil)
		return
	}
	req := &request{ops: ops, done: done}
	if err := n.refuseSubmit(req); err != nil {
		req.fail(err)
		return
	}
	isRead := ops[0].Kind.IsRead()
	if isRead && (n.cfg.UnsafeLocalReads || mutant.On(mutant.LeaderLocalReads) && n.isLeader || n.cfg.UnsafeRemovedServes && n.removedSelf()) {
		n.serveRead(req)
		return
	}
	if n.lead == raft.None {
		n.park(req)
		return
	}
	n.start(req)
}

// start sends a request on its way: a read to the next ReadIndex round, a
// write to raft.
func (n *Node) start(req *request) {
	if req.ops[0].Kind.IsRead() {
		n.queueRead(req)
	} else if !n.propose(req) {
		return
	}
	n.clients.track(req, n.ticks+uint64(n.cfg.RequestTimeoutTicks))
}

// refuseSubmit returns why the node cannot take req now, or nil.
func (n *Node) refuseSubmit(req *request) error {
	isRead := req.ops[0].Kind.IsRead()
	for i := range req.ops {
		assert.That(req.ops[i].Kind.IsRead() == isRead, "node: a group mixes reads and writes")
	}
	switch {
	case n.stopped != nil:
		return n.refusal()
	case n.removedSelf() && !n.cfg.UnsafeRemovedServes:
		return ErrRemoved // told so even before it has a raft (joinprobe.go)
	case n.rn == nil && n.cfg.Join:
		return ErrJoining // asking the members whether it was one (joinprobe.go)
	case n.rn == nil:
		return ErrNoQuorum // no cluster yet: still asking the peers
	case n.store.IsJoining():
		return ErrJoining
	case len(n.clients.inflight)+len(n.longReads)+len(n.parked) >= n.cfg.RequestsInflightMax && n.inflightCount()+len(n.parked) >= n.cfg.RequestsInflightMax:
		return ErrBusy
	}
	return nil
}

func (n *Node) propose(req *request) bool {
	n.nextSeq++
	seq := n.nextSeq
	data := encodeEntry(n.sessionID(), seq, req.ops)
	// n.isLeader too: raft may have made this node leader earlier in the
	// batch, before noteSoftState forgot its stamps of before
	// (restartCount); an entry left unstamped counts from its own
	// receipt (clusterClock.applied), which is safe.
	if n.isLeader && n.rn.BasicStatus().RaftState == raft.StateLeader {
		data = stampEntry(data, n.clusterNow())
	}
	if uint64(len(data)) > n.cfg.EntryBytesMax {
		// It could never be replicated: refuse it rather than try.
		req.fail(&WriteTooLargeError{Bytes: len(data), Max: int(n.cfg.EntryBytesMax)})
		return false
	}
	var err error
	if n.guardRaft(func() { err = n.rn.Propose(data) }) != nil {
		req.fail(ErrOutcomeUnknown)
		return false
	}
	if err != nil {
		// Dropped before it reached any log: it did not happen. A leader
		// drops a proposal while it hands leadership over (CLUSTER
		// TRANSFER-LEADER) or when its uncommitted bytes are at their
		// bound; anyone else only when it knows no leader (a follower
		// forwards).
		switch st := n.rn.BasicStatus(); {
		case st.RaftState == raft.StateLeader && st.LeadTransferee != raft.None:
			req.fail(ErrTransferring)
		case st.RaftState == raft.StateLeader:
			req.fail(ErrUncommittedFull)
		default:
			req.fail(ErrNoQuorum)
		}
		return false
	}
	n.clients.addWrite(seq, req)
	req.entry = data
	req.retryAt = n.ticks + uint64(n.cfg.ReadRetryTicks)
	return true
}

// retry asks again for a read's ReadIndex, or proposes a write again.
func (n *Node) retry(req *request) {
	if req.isWrite {
		n.repropose(req)
		return
	}
	n.queueRead(req)
}

// repropose proposes a write not yet applied again, with the same session
// and number, so it applies once whichever copy commits first (admitOnce
// drops the other). A follower forwards a proposal to its leader in one
// message that raft never sends again: lost, the write would wait out the
// request timeout and end UNKNOWN though it never happened. A leader's
// proposal is in its own log, so only a node that does not lead now
// proposes again.
func (n *Node) repropose(req *request) {
	req.retryAt = n.ticks + uint64(n.cfg.ReadRetryTicks)
	if n.isLeader || n.lead == raft.None {
		return
	}
	// A proposal dropped now (no leader known after all) is tried again at
	// the next retry; a raft panic is guardRaft's to report.
	_ = n.guardRaft(func() { _ = n.rn.Propose(req.entry) })
}

// queueRead files req for the next ReadIndex round (askReadIndex).
func (n *Node) queueRead(req *request) {
	req.retryAt = n.ticks + uint64(n.cfg.ReadRetryTicks)
	n.askReads = append(n.askReads, req)
}

// askReadIndex asks one ReadIndex for every read queued since the last
// round, as etcd does: the reads that arrive together share one
// heartbeat round, and each waits for no round but the first after it
// arrived, so its read index is still one taken after it began.
func (n *Node) askReadIndex() {
	if len(n.askReads) == 0 {
		return
	}
	n.nextSeq++
	round := n.nextSeq
	for _, req := range n.askReads {
		if !req.finished {
			n.clients.addRead(round, req)
		}
	}
	clear(n.askReads)
	n.askReads = n.askReads[:0]
	if !n.clients.hasRound(round) {
		return // every read of the round ended while it waited
	}
	// The context names this process too: a confirmation meant for a
	// read of an earlier process of this node, delayed in the network,
	// must not serve a read of this one at an index that may be stale.
	ctx := binary.BigEndian.AppendUint64(binary.BigEndian.AppendUint64(nil, n.incarnation), round)
	if n.guardRaft(func() { n.rn.ReadIndex(ctx) }) != nil {
		n.clients.failRound(round, n.refusal())
	}
}

// readConfirmed records that a read may be served once the node has
// applied rs.Index, if rs answers a read of this process.
func (n *Node) readConfirmed(rs raft.ReadState) {
	if len(rs.RequestCtx) != 16 || binary.BigEndian.Uint64(rs.RequestCtx) != n.incarnation && !mutant.On(mutant.StaleReadConfirmation) {
		return
	}
	n.clients.readConfirmed(binary.BigEndian.Uint64(rs.RequestCtx[8:]), rs.Index)
}

// serveRead runs a read group's ops in order against the applied state:
// all of them see the same index.
func (n *Node) serveRead(req *request) {
	// A read served below its read index may miss a write that was
	// acknowledged before the read began: a stale read.
	if req.readIndex > n.store.Applied() {
		// Tested apart from assert.That, whose arguments would be boxed,
		// an allocation per read, even when the check holds.
		assert.That(false, "read served at applied index %d, before its read index %d", n.store.Applied(), req.readIndex)
	}
	if n.serveLongRead(req) {
		return
	}
	view := n.store.DataView()
	res := make([]kv.Result, len(req.ops))
	for i := range req.ops {
		r, err := kv.Apply(view, req.ops[i])
		if err != nil {
			n.stopped = fmt.Errorf("node: read: %w", err)
			n.clients.finishErr(req, ErrStopped)
			return
		}
		res[i] = r
	}
	n.clients.finish(req, res)
}

// sessionID names this incarnation of this node as a proposer.
func (n *Node) sessionID() session { return session{origin: n.cfg.ID, incarnation: n.incarnation} }

// inflightCount drops finished requests and ended long reads and returns
// how many are left: a long read holds its snapshot and results until it
// answers, so it counts toward RequestsInflightMax. It runs only when the
// lists look full, so Process stays free of a scan per Ready.
func (n *Node) inflightCount() int {
	n.longReads = pruneLongReads(n.longReads)
	return n.clients.compact() + len(n.longReads)
}
