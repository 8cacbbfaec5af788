package node

import (
	"encoding/binary"
	"slices"

	"go.etcd.io/raft/v3"
	"go.etcd.io/raft/v3/tracker"

	"github.com/seshat-db/seshat/storage"
)

// A node started with Join (Config.Join, app -join) and an empty data
// directory is either new, waiting for an operator's CLUSTER ADDNODE, or
// a member whose disk was wiped. It cannot tell which by itself, and the
// difference matters: the cluster knows a new node by identity 0 from the
// change that adds it, but a wiped member's old self is still in every
// peer's raft with its match index (and, for a voter, its votes and the
// entries it acknowledged). Coming back as that self with an empty log,
// it would take the leader's heartbeat that commits past its log's end
// (swarm seed 191), and as a voter could help elect a leader missing a
// committed entry. So, before it starts raft, it probes its peers as a
// member of the first configuration does (membership.go), and a peer
// answers with a verdict besides its stage:
//
//  1. verdictMember: the peer knows the node as a member (a voter or
//     learner, or a node an operator added whose old self a rejoin just
//     removed). The node rejoins as a wiped member of the first
//     configuration does: a new random identity, and the leader removes
//     its old self, adds it back as a learner and promotes it once caught
//     up (onJoin), so its old self's acknowledgements never count again
//     and it catches up by snapshot. Any member may say so: rejoining is
//     always safe.
//  2. verdictNew: the leader, having applied every entry of the terms
//     before its own (leaderFirstIndex), does not know the node at all.
//     Any addition of it committed before this term is applied there; one
//     of this term is this leader's own, and until it applies no one
//     sends the node anything as a member. So the node starts as before,
//     under identity 0 (storage.BecomeNewMember), and waits for ADDNODE.
//     Only a leader may say so: a follower behind on membership would
//     say it of a member.
//  3. verdictNone: no verdict (not the leader, or no state of its own).
//
// A node the peer records as removed gets the removed notice instead
// (onProbe's tellRemoved); believed from a configured peer, it makes the
// node refuse everything as removed (onRemovedNotice), instead of waiting
// forever to be added under an id that is never given out again.
type joinVerdict uint64

const (
	verdictNone   joinVerdict = 0
	verdictNew    joinVerdict = 1
	verdictMember joinVerdict = 2
)

// joinProbeBody marks a probe as a Join node's, and names this start of
// it: the peer adds its verdict and echoes the nonce. A verdict is about
// the node as it was when the peer judged it, and the network may hold a
// reply past a restart: a voter wiped after its first start took the
// "new" its first start was given, and voted again with an empty log
// (TestHeldNewVerdictNotTakenByALaterStart).
func joinProbeBody(nonce uint64) []byte {
	return binary.BigEndian.AppendUint64([]byte{1}, nonce)
}

// probeAsJoiner asks every configured peer, at each probe round, until
// one answer decides: a verdict may come from any of them, and a peer
// that had none may have one later.
func (n *Node) probeAsJoiner() {
	if n.toldRemoved {
		return
	}
	for _, id := range n.adm.others {
		n.send(id, peerProbe, joinProbeBody(n.adm.probeNonce))
	}
	if n.adm.nextWaitLog == 0 {
		n.adm.nextWaitLog = n.ticks + uint64(n.cfg.ElectionTicks)*2
	}
	if n.ticks >= n.adm.nextWaitLog {
		n.adm.nextWaitLog = n.ticks + uint64(n.cfg.ElectionTicks)*10
		n.env.Log.Info("empty data directory, started to join: asking the members whether this node was one (a leader must answer)", "node", n.cfg.ID, "peers", n.adm.others)
	}
}

// verdictFor is this node's verdict on a Join node id that probes it.
func (n *Node) verdictFor(id uint64) joinVerdict {
	switch {
	case n.rn == nil || n.store.IsJoining() || n.removedSelf():
		return verdictNone
	case n.isLearner(id) && n.store.MemberIdentity(id) == 0:
		// A learner's acknowledgements and votes never count, so it may
		// come back as itself with an empty log, as long as the leader
		// holds nothing acknowledged by it (whose heartbeat would commit
		// past that log): a learner just added (or since this leader's
		// election) has acknowledged nothing. This is every first start
		// of a node added by ADDNODE: the transport lets its probe
		// through only once the change applied, and a "member" verdict
		// would send it through the rejoin (three more changes, and a
		// promotion that -replace must do itself). Only the leader knows.
		if !n.isLeader || n.leaderFirstIndex == 0 || n.store.Applied() < n.leaderFirstIndex {
			return verdictNone
		}
		if n.matchOf(id) == 0 {
			return verdictNew
		}
		return verdictMember
	case n.isMember(id) || n.addedByOperator(id) || n.store.MemberIdentity(id) != 0:
		return verdictMember
	case n.isLeader && n.leaderFirstIndex != 0 && n.store.Applied() >= n.leaderFirstIndex:
		return verdictNew
	}
	return verdictNone
}

func (n *Node) isLearner(id uint64) bool {
	return slices.Contains(n.store.ConfState().GetLearners(), id)
}

// matchOf is the leader's record of the last entry id acknowledged.
func (n *Node) matchOf(id uint64) uint64 {
	var match uint64
	n.rn.WithProgress(func(pid uint64, _ raft.ProgressType, pr tracker.Progress) {
		if pid == id {
			match = pr.Match
		}
	})
	return match
}

// isMember reports whether id is a voter or learner as of the applied index.
func (n *Node) isMember(id uint64) bool {
	cs := n.store.ConfState()
	return slices.Contains(cs.GetVoters(), id) || slices.Contains(cs.GetLearners(), id)
}

// addedByOperator reports whether an operator added id and did not remove
// it: its record stays active while a rejoin removes and re-adds it.
func (n *Node) addedByOperator(id uint64) bool {
	info, found, err := n.store.MemberInfo(id)
	return err == nil && found && info.State == storage.MemberActive
}

// onJoinVerdict acts on a peer's verdict; verdictNone waits for another.
func (n *Node) onJoinVerdict(from uint64, v joinVerdict) error {
	if n.toldRemoved {
		return nil // a peer behind on membership may not know it yet
	}
	switch v {
	case verdictMember:
		identity := n.env.Rand.Uint64() | 1
		n.env.Log.Warn("empty data directory, but this node was a member: rejoining under a new identity", "node", n.cfg.ID, "identity", identityText(identity), "told_by", from)
		if err := n.store.BecomeJoiner(identity); err != nil {
			return n.stop(err)
		}
		return n.startRaft()
	case verdictNew:
		if err := n.becomeNewMember(); err != nil {
			return n.stop(err)
		}
	}
	return nil
}

// becomeNewMember starts an empty Join node that waits to be added,
// under identity 0.
func (n *Node) becomeNewMember() error {
	if err := n.store.BecomeNewMember(); err != nil {
		return err
	}
	n.env.Log.Info("empty data directory: waiting to be added to the cluster", "node", n.cfg.ID)
	return n.startRaft()
}
