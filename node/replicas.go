package node

import (
	"go.etcd.io/raft/v3"
	"go.etcd.io/raft/v3/tracker"
)

// Replica is a member the leader replicates to that answered it within the
// last election timeout (followsLately), as ROLE and INFO replication
// tell a master's connected replicas.
type Replica struct {
	ID         uint64
	ClientAddr string // "" while its member record has not reached this node
	Match      uint64 // the last log index the leader knows it stores, at most its applied index
	// Syncing: the leader is sending it a snapshot (it is catching up
	// from far behind), as a Redis master tells a replica in full sync.
	Syncing bool
}

// replicas is the leader's connected replicas, by id; nil on a follower,
// which knows nobody's progress.
func (n *Node) replicas(leader bool) []Replica {
	if !leader || n.rn == nil {
		return nil
	}
	var out []Replica
	// A follower acknowledges entries before the leader applies them; a
	// Redis replica is never ahead of its master's offset (the applied
	// index), and a client measuring lag would see a negative one.
	applied := n.store.Applied()
	// WithProgress visits ids in order, so the list is stable.
	n.rn.WithProgress(func(id uint64, _ raft.ProgressType, pr tracker.Progress) {
		// Not raft's RecentActive: CheckQuorum clears it for every peer
		// at each election timeout, and until the next heartbeat's
		// answers a master would have told no replica at all.
		if id != n.cfg.ID && n.followsLately(id) {
			out = append(out, Replica{ID: id, ClientAddr: n.clientAddrs[id], Match: min(pr.Match, applied), Syncing: pr.State == tracker.StateSnapshot})
		}
	})
	return out
}
