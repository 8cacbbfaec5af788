package node

import (
	"encoding/binary"
	"fmt"
	"slices"

	pb "go.etcd.io/raft/v3/raftpb"

	"github.com/seshat-db/seshat/storage"
)

// Claims: how the first process of a member an operator added gets an
// identity of its own without a rejoin.
//
// A member added by CLUSTER ADDNODE is recorded unclaimed when the
// change applies (storage.Batch.MarkUnclaimed): its identity is 0, and
// no process ever runs under identity 0 for it. Its first process, a
// Join node with an empty disk, draws a random identity before it
// probes; the leader answers verdictClaim for an unclaimed learner, and
// the node records its identity durably (a joiner, storage.BecomeJoiner)
// and asks to be admitted (peerJoin) until the leader records it. The
// leader proposes one entry, a ConfChangeV2 that adds the learner as a
// learner (nothing for raft) with the identity in a claim context. At
// apply, on every replica, the claim takes effect only if the record is
// still unclaimed and the node a learner; otherwise it is ignored, and
// the node, a joiner under an identity the cluster does not hold for it,
// goes through the ordinary rejoin (remove, add back).
//
// Why this is safe where calling the learner new was not (review2
// finding 1): an unclaimed member's identity has no process, so no
// message of an earlier process can carry it, and peers take no raft
// message from an unclaimed member at all (knows). Once claimed, identity
// 0 is retired, and a wiped process comes back under another identity,
// which the cluster does not know: it rejoins, and its old self's held
// messages are dropped as a retired identity's. A first start costs one
// entry, never a removal.

// claimContextTag starts a claim's context; an operator change's starts
// with memberContextTag, and a rejoin's add is 8 bytes long.
const claimContextTag = byte(0xC1)

func claimContext(identity uint64) []byte {
	return binary.BigEndian.AppendUint64([]byte{claimContextTag}, identity)
}

// decodeClaim returns the node and identity a claim records, if cc is one.
func decodeClaim(cc *pb.ConfChangeV2) (id, identity uint64, ok bool) {
	ctx, chs := cc.GetContext(), cc.GetChanges()
	if len(ctx) != 9 || ctx[0] != claimContextTag || len(chs) != 1 || chs[0].GetType() != pb.ConfChangeType_ConfChangeAddLearnerNode {
		return 0, 0, false
	}
	return chs[0].GetNodeId(), binary.BigEndian.Uint64(ctx[1:]), true
}

// applyClaim records identity for learner id if it is still unclaimed.
// raft is not told: the change would add a learner as a learner.
func (n *Node) applyClaim(batch *storage.Batch, index, id, identity uint64) {
	n.membershipChanges++
	if !slices.Contains(batch.ConfState().GetLearners(), id) || !batch.Claim(id, identity) {
		n.env.Log.Info("identity claim ignored: the member's record is claimed already, or it is no learner", "node", n.cfg.ID, "index", index, "of", id, "identity", identityText(identity))
		return
	}
	if n.isLeader {
		// The claimant asked under this identity a moment ago, and every
		// message it sent before was dropped (knows): without this, a
		// second process under the id asking next would pass the leader's
		// "current self heard lately" guard and its rejoin would remove
		// the live winner (review5).
		n.adm.heardAt[id] = n.ticks
		if n.adm.claimProposed == [2]uint64{id, identity} {
			// Done: an operator's change (a PROMOTE once it caught up)
			// need not wait out the window of one change at a time.
			n.adm.confProposedAt, n.adm.claimProposed = 0, [2]uint64{}
		}
	}
	n.env.Log.Info("identity claimed", "node", n.cfg.ID, "index", index, "of", id, "identity", identityText(identity))
}

// recordRejoinRole keeps, in the replicated member record, what a rejoin
// must make of node id: a voter removed by a rejoin (or removed again
// before its rejoin promoted it) is promoted back once caught up; a
// learner stays one. prev is the membership before cc applied.
func recordRejoinRole(batch *storage.Batch, prev *pb.ConfState, cc *pb.ConfChangeV2, isOp bool) {
	for _, ch := range cc.GetChanges() {
		id := ch.GetNodeId()
		switch ch.GetType() {
		case pb.ConfChangeType_ConfChangeRemoveNode:
			if !isOp && len(cc.GetChanges()) == 1 {
				batch.SetRejoinAsVoter(id, batch.RejoinsAsVoter(id) || slices.Contains(prev.GetVoters(), id))
			}
		case pb.ConfChangeType_ConfChangeAddNode:
			batch.SetRejoinAsVoter(id, false)
		}
	}
}

// checkStarted refuses to make id a voter while its record is unclaimed,
// FORCE or not: no process runs under its identity yet, and every peer
// drops that identity's messages (knows), so it would be a voter that
// never votes or acknowledges (review5).
func (n *Node) checkStarted(id uint64) error {
	if n.store.IsUnclaimed(id) {
		return fmt.Errorf("%w: node %d has not started yet (its first process has not claimed an identity): ask again once it runs", ErrNotYet, id)
	}
	return nil
}
