package node

import (
	"go.etcd.io/raft/v3"
)

// Status is a snapshot of a node's view, for the simulator's checks, INFO
// and metrics.
type Status struct {
	ID       uint64
	Term     uint64
	Vote     uint64 // whom this node voted for in Term (0: nobody)
	Lead     uint64
	IsLeader bool
	Commit   uint64
	Applied  uint64
	Stopped  bool
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
	Role              string
	Identity          uint64 // this node's identity: 0 for a first-configuration member
	Voters            []uint64
	Learners          []uint64
	MembershipChanges int // applied by this process, since it opened
	DroppedStale      int // peer messages dropped for naming a former identity
}

// Status returns the node's current view.
func (n *Node) Status() Status {
	var bs raft.BasicStatus
	if n.rn != nil {
		bs = n.rn.BasicStatus()
	}
	cs := n.store.ConfState()
	return Status{
		ID:                n.cfg.ID,
		Role:              n.role(),
		Identity:          n.store.Identity(),
		Voters:            append([]uint64(nil), cs.GetVoters()...),
		Learners:          append([]uint64(nil), cs.GetLearners()...),
		MembershipChanges: n.membershipChanges,
		DroppedStale:      n.adm.droppedStale,

		Term:       bs.GetTerm(),
		Vote:       bs.GetVote(),
		Lead:       bs.Lead,
		IsLeader:   bs.RaftState == raft.StateLeader,
		Commit:     bs.GetCommit(),
		Applied:    n.store.Applied(),
		Stopped:    n.stopped != nil,
		StopReason: n.StopReason(),
		Inflight:   len(n.clients.inflight),

		SnapshotIndex:      n.store.SnapshotIndex(),
		SnapshotsTaken:     n.snapshotsTaken,
		SnapshotsInstalled: n.snapshotsInstalled,
		LogEntries:         n.store.LastIndexCached() - n.store.SnapshotIndex(),
	}
}

// DataDigest returns a hash of every key and value the node holds, with
// the applied index it reflects: replicas at one index must agree. It
// reads the whole store (storage.ScanDataSum).
func (n *Node) DataDigest() (applied uint64, sum uint64, err error) {
	sum, err = n.store.ScanDataSum()
	return n.store.Applied(), sum, err
}

// RunningDataDigest returns what DataDigest would, from the sum the store
// keeps up to date at each write, without reading it; false unless
// Config.DataSum is set.
func (n *Node) RunningDataDigest() (applied uint64, sum uint64, ok bool) {
	sum, ok = n.store.DataSum()
	return n.store.Applied(), sum, ok
}
