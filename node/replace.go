package node

import (
	"fmt"
	"slices"

	"go.etcd.io/raft/v3"
	pb "go.etcd.io/raft/v3/raftpb"
	"go.etcd.io/raft/v3/tracker"
	"google.golang.org/protobuf/proto"

	"github.com/seshat-db/seshat/storage"
)

// Replacing a voter (CLUSTER REPLACENODE old new): the learner new, added
// by ADDNODE (or started with -join ADDR -replace OLD) and caught up, is
// promoted and the voter old removed in one raft ConfChangeV2 of two
// changes, which raft makes through a joint configuration:
//
//  1. the change commits in the old configuration and, once applied,
//     raft is joint: a decision needs a majority of the old voters AND a
//     majority of the new ones;
//  2. the leader, once it applied it, proposes raft's empty "leave
//     joint" change by itself (transition Auto: raft's AutoLeave), and a
//     new leader elected meanwhile does the same once it applied its
//     first entry;
//  3. applying the leave drops the old configuration: old is no member
//     now, and its record is marked removed then (recordLeft), not at
//     step 1, while old still votes in the outgoing half and its
//     messages must not be dropped as a removed node's.
//
// Why a learner first: the new voter counts in the incoming majority from
// step 1 on. Added with an empty log, it could not acknowledge anything
// until a snapshot reached it, and with one more voter down the joint
// configuration would stall. A caught-up learner answers at once. Why
// not promote then remove: in between, four voters with one dead need
// three of the four live ones; the joint change never has more voters
// than it started with in either half.

// replaceChanges are the two changes of ch, promotion first: raft applies
// them in order, and a voter is never removed before its successor is in.
func replaceChanges(ch MemberChange) (*pb.ConfChangeSingle, []*pb.ConfChangeSingle) {
	add := &pb.ConfChangeSingle{Type: pb.ConfChangeType_ConfChangeAddNode.Enum(), NodeId: proto.Uint64(ch.ID)}
	remove := &pb.ConfChangeSingle{Type: pb.ConfChangeType_ConfChangeRemoveNode.Enum(), NodeId: proto.Uint64(ch.Old)}
	return add, []*pb.ConfChangeSingle{remove}
}

// checkReplace returns why ch, a Replace, cannot be proposed now.
func (n *Node) checkReplace(ch MemberChange, voters []uint64, isVoter, isLearner bool) error {
	switch {
	case ch.Old == 0:
		return fmt.Errorf("%w: node id 0 is not allowed", ErrBadChange)
	case ch.Old == ch.ID:
		return fmt.Errorf("%w: a node cannot replace itself", ErrBadChange)
	case isVoter:
		// Told first: a joining node asking again after its replace
		// applied (app/join.go) learns it is done.
		return fmt.Errorf("%w: node %d is a voter already", ErrBadChange, ch.ID)
	case !slices.Contains(voters, ch.Old):
		return fmt.Errorf("%w: node %d is not a voter", ErrBadChange, ch.Old)
	case !isLearner:
		return fmt.Errorf("%w: node %d is not a learner: add it first (CLUSTER ADDNODE), or start it with -join ADDR -replace %d", ErrBadChange, ch.ID, ch.Old)
	}
	if err := n.checkStarted(ch.ID); err != nil {
		return err
	}
	if !ch.Force && !n.caughtUp(ch.ID) {
		return fmt.Errorf("%w: learner %d has not caught up with the log yet", ErrUnsafeChange, ch.ID)
	}
	after := append(slices.DeleteFunc(slices.Clone(voters), func(id uint64) bool { return id == ch.Old }), ch.ID)
	if err := n.checkQuorumAfter(after, ch.Force); err != nil {
		return err
	}
	if ch.Old == n.cfg.ID {
		return n.handOffBeforeReplace(ch, voters)
	}
	return nil
}

// handOffBeforeReplace answers a Replace of this leader, which is
// otherwise allowed, by handing leadership to the most caught-up active
// voter, and tells the asker to ask the new leader. A leader could lead
// the configuration it is leaving (raft can), but one that cannot stay
// is a transfer waiting to happen; refusing outright left a node started
// with -replace naming the leader asking again forever.
func (n *Node) handOffBeforeReplace(ch MemberChange, voters []uint64) error {
	if n.transfer != nil {
		return fmt.Errorf("%w: node %d leads and is handing leadership to node %d; ask the new leader again", ErrNotYet, ch.Old, n.transfer.to)
	}
	// The most caught-up active voters; of several, one drawn at random:
	// always the lowest id would hand leadership back and forth between
	// two voters that two -replace joiners each want gone, each hand-off
	// refusing writes for a moment (review3).
	var best []uint64
	match := uint64(0)
	n.rn.WithProgress(func(id uint64, _ raft.ProgressType, pr tracker.Progress) {
		if id == n.cfg.ID || !slices.Contains(voters, id) || !n.active(id) {
			return
		}
		switch {
		case len(best) == 0 || pr.Match > match:
			best, match = []uint64{id}, pr.Match
		case pr.Match == match:
			best = append(best, id)
		}
	})
	if len(voters) == 1 {
		// No voter to hand leadership to, and a leader left alone in the
		// configuration it is leaving is the case the hand-off avoids:
		// the steps that work, told whole (review4).
		return fmt.Errorf("%w: node %d is the only voter and leads: make node %d a voter (CLUSTER PROMOTE %d), hand it leadership (CLUSTER TRANSFER-LEADER %d), then remove node %d (CLUSTER REMOVENODE %d)", ErrBadChange, ch.Old, ch.ID, ch.ID, ch.ID, ch.Old, ch.Old)
	}
	if len(best) == 0 {
		return fmt.Errorf("%w: node %d leads and no other voter is active to take over; hand leadership on first (CLUSTER TRANSFER-LEADER)", ErrUnsafeChange, ch.Old)
	}
	slices.Sort(best) // WithProgress's order is raft's; the draw must not depend on it
	to := best[n.env.Rand.Uint64()%uint64(len(best))]
	var refused error
	answered := false
	n.TransferLeadership(to, func(err error) {
		if !answered {
			refused = err // refused at once
			return
		}
		if err != nil {
			n.env.Log.Warn("leadership hand-off for a replace did not complete", "node", n.cfg.ID, "to", to, "replace", ch.Old, "with", ch.ID, "err", err)
		}
	})
	answered = true
	if refused != nil {
		return refused
	}
	return fmt.Errorf("%w: node %d leads; it is handing leadership to node %d first: ask the new leader again", ErrNotYet, ch.Old, to)
}

// inJoint reports whether the applied membership is a joint one.
func (n *Node) inJoint() bool {
	return len(n.store.ConfState().GetVotersOutgoing()) > 0
}

// recordLeft marks removed, in the batch that applies raft's leave of a
// joint configuration, every member that was in it (before) and is not
// in the configuration it left for (after): the voter a Replace removed.
// Every replica applies the same leave at the same index.
func recordLeft(batch *storage.Batch, before, after *pb.ConfState) {
	stays := slices.Concat(after.GetVoters(), after.GetLearners())
	var gone []uint64
	for _, id := range slices.Concat(before.GetVoters(), before.GetVotersOutgoing(), before.GetLearners(), before.GetLearnersNext()) {
		if !slices.Contains(stays, id) && !slices.Contains(gone, id) {
			gone = append(gone, id)
		}
	}
	slices.Sort(gone)
	for _, id := range gone {
		batch.SetMemberInfo(storage.MemberInfo{ID: id, State: storage.MemberRemoved})
	}
}

// replaceLeaving reports whether req, an applied Replace, waits for raft
// to leave the joint configuration before it is answered: the next
// change would be refused until then, and CLUSTER NODES would still list
// the old voter. Committed already, it is answered OK whatever happens
// after (leadership lost, the deadline): raft leaves by itself.
func (n *Node) replaceLeaving(req *memberRequest) bool {
	return req.result == nil && req.change.Kind == Replace && n.inJoint() &&
		n.isLeader && n.stopped == nil && n.ticks < req.deadline
}

// nudgeLeave proposes an empty entry, once per election timeout, while
// this leader stays joint: raft proposes its leave only as an entry
// applies, and drops it during a leadership transfer. A transfer that
// then failed (its target down) left an idle cluster joint, every later
// change refused as pending (TestReplaceLeavesAfterFailedTransfer).
func (n *Node) nudgeLeave() {
	if !n.isLeader || !n.inJoint() {
		n.jointSince = 0
		return
	}
	if n.jointSince == 0 {
		n.jointSince = n.ticks
		return
	}
	if since := n.ticks - n.jointSince; since > 0 && since%uint64(n.cfg.ElectionTicks) == 0 {
		_ = n.guardRaft(func() { _ = n.rn.Propose(nil) })
	}
}
