package node

import (
	"encoding/binary"
	"fmt"
	"slices"

	"go.etcd.io/raft/v3"

	"github.com/seshat-db/seshat/storage"
)

// Status is a snapshot of a node's view, for the simulator's checks, INFO
// and metrics.
type Status struct {
	ID   uint64
	Term uint64
	Vote uint64 // whom this node voted for in Term (0: nobody)
	Lead uint64
	// LeadClientAddr is where clients reach the leader, from its member
	// record ("" if none is known).
	LeadClientAddr string
	IsLeader       bool
	Commit         uint64
	Applied        uint64
	// DurableApplied is the applied index a crash cannot take back; Applied
	// runs ahead of it by applies not yet synced (persist).
	DurableApplied uint64
	Stopped        bool
	// StopReason is why it stopped: "nospace", "damaged", "failed" ("" while it runs).
	StopReason string
	Inflight   int

	SnapshotIndex      uint64 // the log starts after this index
	SnapshotsTaken     int    // by this process, since it opened
	SnapshotsInstalled int    // received from a leader, by this process
	LogEntries         uint64 // entries in the log after the snapshot

	// Role is "discovering" (an empty node asking its peers), "joining"
	// (rejoining, no data yet), "learner", "voter", "removed", or
	// "replaced" (another node joined under this node's id).
	Role     string
	Identity uint64 // this node's identity: 0 for a first-configuration member
	// Voters, Learners, VotersOutgoing and Removed may be shared with
	// other Status values (sharedIDs): read them, clone before changing.
	Voters   []uint64
	Learners []uint64
	// VotersOutgoing is the outgoing half while raft is in a joint
	// configuration (a REPLACENODE in progress), else empty.
	VotersOutgoing []uint64
	// Removed lists the ids an operator removed, as of the applied index:
	// the simulator holds each to learning it was removed.
	Removed           []uint64
	MembershipChanges int // applied by this process, since it opened
	DroppedStale      int // peer messages dropped for naming a former identity
	// LeaderChanges counts the leaders this process has seen take over
	// (etcd's leader_changes_seen): a steady cluster adds one per election.
	LeaderChanges int
	DroppedForged uint64 // raft messages dropped before raft: impossible, or would make raft panic (peerguard.go)
	// Keys and Expiring count the applied state's keys, and those of
	// them with a deadline (INFO keyspace).
	Keys, Expiring int64
	// RefusedAcked counts, of DroppedForged, a follower's refusals of an
	// entry it had acknowledged: an honest peer sends these too, as
	// delayed copies of an old refusal (checkRejectBelowMatch).
	RefusedAcked uint64
	// Replicas is, on the leader, the members it heard from recently
	// (replicas.go); nil elsewhere.
	Replicas []Replica
}

// Status returns the node's current view.
func (n *Node) Status() Status {
	st := n.BatchStatus()
	st.Replicas = n.replicas(st.IsLeader)
	return st
}

// BatchStatus is Status without Replicas, which walks raft's progress
// and allocates: for the simulator's checks, which ask after every batch
// and read no replica.
func (n *Node) BatchStatus() Status {
	var bs raft.BasicStatus
	if n.rn != nil {
		bs = n.rn.BasicStatus()
	}
	cs := n.store.ConfState()
	return Status{
		ID:                n.cfg.ID,
		Role:              n.role(),
		Identity:          n.store.Identity(),
		Voters:            n.statusIDs.voters.share(cs.GetVoters()),
		Learners:          n.statusIDs.learners.share(cs.GetLearners()),
		VotersOutgoing:    n.statusIDs.outgoing.share(cs.GetVotersOutgoing()),
		Removed:           n.statusIDs.removed.share(n.removedIDs),
		MembershipChanges: n.membershipChanges,
		DroppedStale:      n.adm.droppedStale,
		LeaderChanges:     n.leaderChanges,
		DroppedForged:     n.guard.dropped,
		RefusedAcked:      n.guard.refusedAcked,

		Term:           bs.GetTerm(),
		Vote:           bs.GetVote(),
		Lead:           bs.Lead,
		LeadClientAddr: n.clientAddrs[bs.Lead],
		IsLeader:       bs.RaftState == raft.StateLeader,
		Commit:         bs.GetCommit(),
		Applied:        n.store.Applied(),
		DurableApplied: n.store.DurableApplied(),
		Stopped:        n.stopped != nil,
		StopReason:     n.StopReason(),
		Inflight:       len(n.clients.inflight),

		SnapshotIndex:      n.store.SnapshotIndex(),
		SnapshotsTaken:     n.snapshotsTaken,
		SnapshotsInstalled: n.snapshotsInstalled,
		LogEntries:         n.store.LastIndexCached() - n.store.SnapshotIndex(),
		Keys:               n.store.Len(),
		Expiring:           n.store.Expiring(),
	}
}

// statusIDs are the id lists Status last returned, to share while they
// still hold the same ids: the simulator asks for a Status after every
// batch, and the membership seldom changes.
type statusIDs struct {
	voters, learners, outgoing, removed sharedIDs
}

// sharedIDs is a copy of an id list that is never written once made, so
// any number of Status values may hold it.
type sharedIDs []uint64

// share returns a copy of ids: the last one if it holds the same ids. Its
// capacity is its length, so a caller's append copies rather than writes
// into it. An empty list is nil, as a fresh copy would be.
func (s *sharedIDs) share(ids []uint64) []uint64 {
	if !slices.Equal(*s, ids) {
		c := append([]uint64(nil), ids...)
		*s = c[:len(c):len(c)]
	}
	return *s
}

// DataDigest returns a hash of every key, value and deadline the node
// holds and of its cluster time, with the applied index it reflects:
// replicas at one index must agree. It reads the whole store
// (storage.ScanDataSum).
func (n *Node) DataDigest() (applied uint64, sum uint64, err error) {
	sum, err = n.store.ScanDataSum()
	return n.store.Applied(), sum + clockShare(n.store.Clock()), err
}

// RunningDataDigest returns what DataDigest would, from the sum the store
// keeps up to date at each write, without reading it; false unless
// Config.DataSum is set.
func (n *Node) RunningDataDigest() (applied uint64, sum uint64, ok bool) {
	sum, ok = n.store.DataSum()
	return n.store.Applied(), sum + clockShare(n.store.Clock()), ok
}

// clockShare is the cluster time's share of a data digest: replicas at
// one applied index agree on it too.
func clockShare(clock int64) uint64 {
	return storage.PairHash([]byte("\x00clock"), binary.BigEndian.AppendUint64(nil, uint64(clock)))
}

// StorageStats returns the store's size, key count and Pebble's
// background figures. Like every Node method, call it on the goroutine
// that owns the node (realenv.Host.Call).
func (n *Node) StorageStats() storage.Stats { return n.store.Stats() }

// Checkpoint writes a consistent copy of the node's store to dir, for a
// backup: the state after the applied index it returns. Call it on the
// node's goroutine (realenv.Host.Call), between batches. A node that is
// stopped, or holds no data of its own yet (discovering, joining), has
// nothing to back up.
func (n *Node) Checkpoint(dir string) (storage.CheckpointInfo, error) {
	if n.stopped != nil {
		return storage.CheckpointInfo{}, fmt.Errorf("node: stopped: %w", n.stopped)
	}
	if role := n.role(); role != "voter" && role != "learner" {
		return storage.CheckpointInfo{}, fmt.Errorf("node: no data to back up yet: the node is %s", role)
	}
	return n.store.Checkpoint(dir)
}
