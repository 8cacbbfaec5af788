package node

import (
	pb "go.etcd.io/raft/v3/raftpb"

	"github.com/seshat-db/seshat/storage"
)

// MomentKind names a point in a node's work where a crash tests the most:
// something just became durable and nothing that depends on it has left
// the process yet. Config.OnMoment tells the host about each one; the
// simulator may kill the node right there (in the spirit of
// FoundationDB's BUGGIFY).
type MomentKind int

const (
	// MomentHardStateSynced: a synced batch wrote raft's hard state;
	// nothing that batch allows (a vote reply, an ack) is sent yet.
	MomentHardStateSynced MomentKind = iota + 1
	// MomentSnapshotInstalled: a received snapshot is swapped in and
	// synced; raft has not been advanced past it.
	MomentSnapshotInstalled
	// MomentCompacting: the log is about to be truncated to a new base,
	// in one synced batch.
	MomentCompacting
	// MomentApplied: committed entries are applied and synced; the
	// clients waiting on them have no answer yet.
	MomentApplied
	// MomentMembershipApplied: a membership change is applied and synced.
	MomentMembershipApplied
)

func (k MomentKind) String() string {
	switch k {
	case MomentHardStateSynced:
		return "hard-state-synced"
	case MomentSnapshotInstalled:
		return "snapshot-installed"
	case MomentCompacting:
		return "compacting"
	case MomentApplied:
		return "applied"
	case MomentMembershipApplied:
		return "membership-applied"
	}
	return "unknown"
}

// Moment is what Config.OnMoment hears.
type Moment struct {
	Kind MomentKind
	// Term, Vote and Commit are the hard state now on disk, for
	// MomentHardStateSynced and MomentSnapshotInstalled (zero otherwise).
	Term, Vote, Commit uint64
	// VoteChanged (MomentHardStateSynced): the term or the vote differs
	// from the hard state synced before, so a vote may now be cast.
	VoteChanged bool
}

// moment tells the host about m, if it listens.
func (n *Node) moment(m Moment) {
	if n.cfg.OnMoment != nil {
		n.cfg.OnMoment(m)
	}
}

// hardStateSynced notes that hs is durable and tells the host.
func (n *Node) hardStateSynced(kind MomentKind, hs *pb.HardState) {
	changed := hs.GetTerm() != n.syncedTerm || hs.GetVote() != n.syncedVote
	n.syncedTerm, n.syncedVote = hs.GetTerm(), hs.GetVote()
	if n.cfg.OnMoment != nil {
		n.cfg.OnMoment(Moment{Kind: kind, Term: hs.GetTerm(), Vote: hs.GetVote(), Commit: hs.GetCommit(), VoteChanged: changed})
	}
}

// forgetfulStore is UnsafeForgetVote's planted bug: raft restarts from a
// hard state whose vote was lost, so it may vote again in the same term.
type forgetfulStore struct{ *storage.Store }

func (f forgetfulStore) InitialState() (*pb.HardState, *pb.ConfState, error) {
	hs, cs, err := f.Store.InitialState()
	if hs != nil {
		hs.Vote = nil
	}
	return hs, cs, err
}
