package node

import "go.etcd.io/raft/v3"

// A request that arrives while this node knows no leader (an election is
// under way) waits for one, up to two election timeouts (raft draws a
// timeout from [1, 2) of ElectionTicks, so most elections end within
// that), instead of failing at once: clients then see no error for a
// leader change, only a longer request. Past that it fails with
// ErrNoQuorum (CLUSTERDOWN), as before, having done nothing. Waiting
// requests keep their order: a connection submits its next group only
// once this one is answered.

// parkedRequest is a request waiting for a leader.
type parkedRequest struct {
	req   *request
	until uint64 // tick: fail it then if no leader is known
}

// park files req until a leader is known.
func (n *Node) park(req *request) {
	wait := min(2*n.cfg.ElectionTicks, n.cfg.RequestTimeoutTicks)
	n.parked = append(n.parked, parkedRequest{req: req, until: n.ticks + uint64(wait)})
}

// releaseParked starts the waiting requests once a leader is known, and
// fails those whose wait is over. It runs at each tick and before each
// Process drains raft, never inside a Ready.
func (n *Node) releaseParked() {
	if len(n.parked) == 0 {
		return
	}
	waiting := n.parked[:0]
	for _, p := range n.parked {
		switch {
		case p.req.finished:
		case n.lead != raft.None:
			n.start(p.req)
		case n.ticks >= p.until:
			p.req.fail(ErrNoQuorum)
		default:
			waiting = append(waiting, p)
		}
	}
	clear(n.parked[len(waiting):])
	n.parked = waiting
}

// failParked answers every waiting request with err (the node stopped,
// or was removed): none of them ran.
func (n *Node) failParked(err error) {
	for _, p := range n.parked {
		if !p.req.finished {
			p.req.fail(err)
		}
	}
	clear(n.parked)
	n.parked = n.parked[:0]
}
