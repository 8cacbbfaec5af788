package node

import (
	"encoding/binary"
	"slices"

	"go.etcd.io/raft/v3"
	"go.etcd.io/raft/v3/tracker"

	"github.com/seshat-db/seshat/storage"
)

// A node started with Join (Config.Join, app -join) and an empty data
// directory is either the first process of a member an operator added
// (or is about to add), or a member whose disk was wiped. It cannot tell
// which by itself, and the difference matters: a wiped member's old self
// is still in every peer's raft with its match index (and, for a voter,
// its votes and the entries it acknowledged), and its messages may still
// be on the way. Coming back as that self with an empty log, it would
// take the leader's heartbeat that commits past its log's end (swarm
// seed 191), and as a voter could help elect a leader missing a
// committed entry. So, before it starts raft, it draws a random identity
// and probes its peers as a member of the first configuration does
// (membership.go), and a peer answers with a verdict besides its stage:
//
//  1. verdictMember: the peer knows the node as a member whose identity
//     may have had a process (a voter or learner, claimed or of the first
//     configuration, or a node an operator added whose old self a rejoin
//     just removed). The node rejoins under its new identity: the leader
//     removes its old self, adds it back as a learner, and promotes it
//     once caught up if the removed self was a voter (onJoin, the role
//     kept in the replicated member record), so its old self's messages
//     never count again and it catches up by snapshot. Any member may say
//     so: rejoining is always safe.
//  2. verdictClaim: the leader, having applied every entry of the terms
//     before its own (leaderFirstIndex), holds the node as a learner an
//     operator added and no process ever claimed (claim.go). The node
//     records its identity and asks the leader to record it; one entry,
//     which takes effect only if the member is still unclaimed when it
//     applies. Only a leader says so, to keep two claimants rare (the
//     loser rejoins).
//  3. verdictNew: the leader, caught up as above, does not know the node
//     at all: not added yet. The node keeps probing until it is, and
//     then claims: it never runs under identity 0, so an unclaimed
//     member's identity has had no process.
//  4. verdictNone: no verdict (not the leader, or no state of its own).
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
	verdictClaim  joinVerdict = 3
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
	leads := n.isLeader && n.leaderFirstIndex != 0 && n.store.Applied() >= n.leaderFirstIndex
	switch {
	case n.rn == nil || n.store.IsJoining() || n.removedSelf():
		return verdictNone
	case n.cfg.UnsafeNewLearnerVerdict && n.isLearner(id) && n.store.MemberIdentity(id) == 0:
		// TEST ONLY: the verdict of before claims, which a learner's old
		// self's held acknowledgements fooled (review2 finding 1).
		switch {
		case !leads:
			return verdictNone
		case n.matchOf(id) == 0:
			return verdictNew
		}
		return verdictMember
	case n.isLearner(id) && n.store.IsUnclaimed(id):
		if !leads {
			return verdictNone
		}
		return verdictClaim
	case n.isMember(id) || n.addedByOperator(id) || n.store.MemberIdentity(id) != 0:
		// A learner of identity 0 not marked unclaimed was added before
		// claims, and may have run under identity 0: its old self's
		// messages could count for a new one under the same identity.
		return verdictMember
	case leads:
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

// onJoinVerdict acts on a peer's verdict; verdictNone and verdictNew
// wait for another.
func (n *Node) onJoinVerdict(from uint64, v joinVerdict) error {
	if n.toldRemoved {
		return nil // a peer behind on membership may not know it yet
	}
	identity := n.adm.joinIdentity
	switch v {
	case verdictMember:
		n.env.Log.Warn("empty data directory, but this node was a member: rejoining under a new identity", "node", n.cfg.ID, "identity", identityText(identity), "told_by", from)
	case verdictClaim:
		n.env.Log.Info("empty data directory, first start of an added member: claiming an identity", "node", n.cfg.ID, "identity", identityText(identity), "told_by", from)
	case verdictNew:
		if n.cfg.UnsafeNewLearnerVerdict {
			if err := n.becomeNewMember(); err != nil {
				return n.stop(err)
			}
		}
		return nil
	default:
		return nil
	}
	// Durable before it is asked for, so a restart keeps asking under the
	// same identity; a joiner asks the leader to record it (askToJoin).
	if err := n.store.BecomeJoiner(identity); err != nil {
		return n.stop(err)
	}
	return n.startRaft()
}

// becomeNewMember starts an empty Join node that waits to be added,
// under identity 0: a Join node with no peers to ask, and TEST ONLY
// (UnsafeNewLearnerVerdict) a node called new.
func (n *Node) becomeNewMember() error {
	if err := n.store.BecomeNewMember(); err != nil {
		return err
	}
	n.env.Log.Info("empty data directory: waiting to be added to the cluster", "node", n.cfg.ID)
	return n.startRaft()
}
