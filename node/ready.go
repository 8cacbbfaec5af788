package node

import (
	"fmt"
	"slices"

	"go.etcd.io/raft/v3"
	pb "go.etcd.io/raft/v3/raftpb"

	"github.com/seshat-db/seshat/internal/assert"
	"github.com/seshat-db/seshat/internal/mutant"
	"github.com/seshat-db/seshat/kv"
	"github.com/seshat-db/seshat/storage"
)

// Process drains raft's Ready: it persists entries, hard state and the
// effects of committed entries in one batch (synced when it must be), then
// sends messages, answers clients and advances raft. A returned error is a storage
// failure: the node has stopped and every later request fails.
func (n *Node) Process() error {
	if n.stopped != nil {
		return n.stopped
	}
	if n.rn == nil {
		return nil
	}
	n.releaseParked()
	n.askReadIndex()
	if n.stopped != nil {
		return n.stopped // raft failed while asked (guardRaft stopped the node)
	}
	for n.rn.HasReady() {
		var err error
		if perr := n.guardRaft(func() { err = n.processReady(n.rn.Ready()) }); perr != nil {
			return perr
		}
		if err != nil {
			return n.stop(err)
		}
		n.noteClock()
		n.stampNewTerm()
	}
	if err := n.maybeCompact(); err != nil {
		return n.stop(err)
	}
	return nil
}

// stop makes the node fail-stop: after a storage failure nothing it holds
// in memory can be trusted to match the disk, so it answers nothing more.
func (n *Node) stop(err error) error {
	if n.stopped == nil {
		n.stopped = err
		n.env.Log.Error("node stopped", "node", n.cfg.ID, "err", err)
		n.clients.failAll(ErrStopped, ErrOutcomeUnknown)
		n.failParked(ErrStopped)
		n.snaps.closeAll()
	}
	return n.stopped
}

// processReady handles one Ready in the order its safety needs: state,
// snapshot, early appends, one batch, then whatever may only follow
// durability.
func (n *Node) processReady(rd raft.Ready) error {
	if rd.SoftState != nil {
		n.noteSoftState(rd.SoftState)
	}
	if !raft.IsEmptySnap(rd.Snapshot) {
		if err := n.installSnapshot(rd.Snapshot, rd.HardState); err != nil {
			return err
		}
	}
	// A leader may send its appends before its own write is durable
	// (Raft thesis 10.2.1): its followers then sync in parallel with it.
	// This is safe because raft counts the leader's own copy toward a
	// quorum only after Advance, which comes after the sync below.
	sentEarly := n.isLeader
	if sentEarly {
		n.sendAppends(rd.Messages)
	}
	changes := n.membershipChanges
	afterSync := rd.Messages
	if mutant.On(mutant.AckBeforeSync) && !n.isLeader {
		// Acks go out now; the sync is left for later (persist).
		n.sendAfterSync(afterSync, false)
		afterSync = nil
	}
	if err := n.persist(rd); err != nil {
		return err
	}
	if n.membershipChanges != changes {
		n.moment(Moment{Kind: MomentMembershipApplied})
		n.noteSelfRemoved()
	}
	if n.membershipChanges != changes || !raft.IsEmptySnap(rd.Snapshot) {
		if err := n.loadRemovedIDs(); err != nil {
			return err
		}
	}
	if len(rd.CommittedEntries) > 0 {
		n.moment(Moment{Kind: MomentApplied})
	}
	// Durable from here on: tell peers, then clients.
	n.sendAfterSync(afterSync, sentEarly)
	n.clients.answerDurable()
	n.answerMemberChange()
	n.answerTransfer()
	for _, rs := range rd.ReadStates {
		n.readConfirmed(rs)
	}
	n.clients.serveReady(n.readableIndex(), n.serveRead)
	n.rn.Advance(rd)
	return nil
}

func (n *Node) noteSoftState(ss *raft.SoftState) {
	isLeader := ss.RaftState == raft.StateLeader
	if isLeader && !n.isLeader {
		n.adm.leaderSince = n.ticks
		n.leaderFirstIndex = n.store.LastIndexCached() + 1
		n.clockOnLead = true
		n.clock.restartCount(n.ticks)
		if n.toldRemoved {
			// Elected, it is a member as surely as a leader's heartbeat
			// says (heardFromLeader): members drop a removed node's
			// votes. As leader it hears from no leader that would undo
			// the notice (TestRemovalNoticeToAFollowerThatThenLeads).
			n.toldRemoved = false
			n.env.Log.Warn("elected leader: the removal notice was wrong, and it serves again", "node", n.cfg.ID)
		}
	}
	n.isLeader = isLeader
	n.noteLeader(ss.Lead)
}

func (n *Node) noteLeader(lead uint64) {
	if lead == n.lead {
		return
	}
	old := n.lead
	n.lead = lead
	if lead != raft.None {
		n.leaderChanges++
	}
	n.env.Log.Info("leader changed", "node", n.cfg.ID, "from", old, "to", lead, "term", n.rn.BasicStatus().GetTerm())
	if old != raft.None {
		for _, req := range n.clients.leaderLost(n.ticks + uint64(WriteGraceElections*n.cfg.ElectionTicks)) {
			n.park(req)
		}
	}
}

// sendAppends sends the MsgApps among msgs.
func (n *Node) sendAppends(msgs []*pb.Message) {
	for _, m := range msgs {
		if m.GetType() == pb.MessageType_MsgApp {
			n.sendRaft(m)
		}
	}
}

// persist writes rd's hard state, entries and the effects of its committed
// entries as one batch. The batch is synced only when raft says it must
// be (new entries, a new term or vote) or it applies a membership change:
// a batch that only applies committed entries and moves the commit index
// needs no fsync of its own, because every entry it applies is already
// durable in this node's log. If a crash loses it, the node restarts at
// the last durable applied index and applies those entries again, and
// the data, the applied index and the dedup windows, being written in one
// atomic batch, never disagree. So a write costs each node one fsync.
func (n *Node) persist(rd raft.Ready) error {
	batch := n.store.NewBatch()
	hasHardState := !raft.IsEmptyHardState(rd.HardState) && rd.HardState != nil
	mustSync := rd.MustSync || appliesMembership(rd.CommittedEntries)
	if !mustSync || mutant.On(mutant.AckBeforeSync) && !n.isLeader {
		batch.CommitLazily()
	}
	if hasHardState {
		batch.SetHardState(rd.HardState)
	}
	if err := batch.Append(rd.Entries); err != nil {
		return err
	}
	n.clock.received.appended(rd.Entries, n.ticks)
	if mutant.On(mutant.AckBeforeCommit) && n.isLeader {
		for _, e := range rd.Entries {
			if ent, err := decodeEntry(e.GetData()); err == nil && ent.session == n.sessionID() && answersOK(ent.ops) {
				n.clients.applied(ent.seq, make([]kv.Result, len(ent.ops)))
			}
		}
	}
	if err := n.apply(batch, rd.CommittedEntries); err != nil {
		return err
	}
	if err := batch.Commit(); err != nil {
		return err
	}
	if batch.UsersChanged() {
		if err := n.loadUsers(); err != nil {
			return err
		}
	}
	if hasHardState && mustSync {
		n.hardStateSynced(MomentHardStateSynced, rd.HardState)
	}
	return nil
}

func appliesMembership(entries []*pb.Entry) bool {
	for _, e := range entries {
		if t := e.GetType(); t == pb.EntryType_EntryConfChange || t == pb.EntryType_EntryConfChangeV2 {
			return true
		}
	}
	return false
}

// sendAfterSync sends what must wait for durability: every message but
// the appends already sent early, and snapshots as chunked transfers.
func (n *Node) sendAfterSync(msgs []*pb.Message, sentEarly bool) {
	for _, m := range msgs {
		switch {
		case m.GetType() == pb.MessageType_MsgSnap:
			n.startSnapshot(m)
		case sentEarly && m.GetType() == pb.MessageType_MsgApp:
		default:
			n.sendRaft(m)
		}
	}
}

// apply applies committed entries into batch, in log order, and queues the
// answers for requests this node proposed.
func (n *Node) apply(batch *storage.Batch, entries []*pb.Entry) error {
	for _, e := range entries {
		if e.GetIndex() != batch.Applied()+1 {
			// Tested apart from assert.That, whose arguments would be
			// boxed, an allocation per entry, even when the check holds.
			assert.That(false, "applying entry %d after %d", e.GetIndex(), batch.Applied())
		}
		if mutant.On(mutant.DedupForgetsAtNewTerm) {
			if prev, err := n.store.Term(e.GetIndex() - 1); err == nil && prev != e.GetTerm() {
				if err := batch.ForgetSessions(); err != nil {
					return err
				}
			}
		}
		switch e.GetType() {
		case pb.EntryType_EntryNormal:
			if len(e.GetData()) > 0 {
				if err := n.applyNormal(batch, e.GetData(), e.GetTerm()); err != nil {
					return fmt.Errorf("node: apply entry %d: %w", e.GetIndex(), err)
				}
			}
		case pb.EntryType_EntryConfChange, pb.EntryType_EntryConfChangeV2:
			if err := n.applyConfChange(batch, e); err != nil {
				return fmt.Errorf("node: apply membership change %d: %w", e.GetIndex(), err)
			}
		default:
			return fmt.Errorf("node: entry %d has type %s, which this version does not apply", e.GetIndex(), e.GetType())
		}
		batch.SetApplied(e.GetIndex())
		n.clock.applied(e, n.ticks, n.cfg.UnsafeStampedOnlyAnchor)
		if n.cfg.UnsafeDivergeAt != 0 && e.GetIndex() >= n.cfg.UnsafeDivergeAt && !n.diverged {
			n.diverged = n.divergeNext(batch)
		}
		if n.cfg.OnApply != nil {
			n.cfg.OnApply(e.GetIndex(), e.GetTerm(), e.GetData())
		}
		if n.cfg.OnApplyState != nil {
			n.cfg.OnApplyState(e.GetIndex(), batch)
		}
	}
	return nil
}

func (n *Node) applyNormal(batch *storage.Batch, data []byte, term uint64) error {
	ent, err := decodeEntry(data)
	if err != nil {
		return err
	}
	applyClock(batch, ent.clock)
	if len(ent.ops) == 0 {
		return nil // a clock entry
	}
	window := ent.session
	if n.cfg.UnsafeDedupForgetsAtNewTerm {
		window.incarnation ^= term << 40 // a window of its own in each term
	}
	fresh, err := admitOnce(batch, window, ent.seq)
	if err != nil {
		return err
	}
	fresh = fresh || n.cfg.UnsafeNoDedup
	mine := ent.session == n.sessionID()
	var res []kv.Result
	if mine {
		res = make([]kv.Result, len(ent.ops)) // its requests keep it
	} else {
		// Nobody waits for another node's results: they go in a slice
		// reused entry after entry.
		res = slices.Grow(n.othersResults[:0], len(ent.ops))[:len(ent.ops)]
		clear(res)
		n.othersResults = res
	}
	for i := range ent.ops {
		if !fresh {
			// A duplicate (the network delivered a proposal twice) or a
			// proposal too old to tell: it has no effect now.
			res[i].Err = ErrOutcomeUnknown
			continue
		}
		if mutant.On(mutant.GroupAppliedPartially) && i > 0 && i == len(ent.ops)-1 {
			continue
		}
		// The batch is indexed: each op sees the effects of those before it.
		if res[i], err = kv.Apply(batch, ent.ops[i]); err != nil {
			return err
		}
	}
	if mine {
		n.clients.applied(ent.seq, res)
	} else {
		clear(res) // not to hold the values a GETDEL or SET ... GET returned
	}
	return nil
}
