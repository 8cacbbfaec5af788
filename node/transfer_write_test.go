package node

import (
	"errors"
	"testing"
)

// TestWriteDuringLeadershipTransfer (review r8, LOW): while a transfer is
// under way raft drops the leader's proposals (leadTransferee), and
// propose() words that as ErrUncommittedFull ("the leader's log holds as
// many uncommitted bytes as it may"), its comment saying "Seshat never
// transfers leadership", which CLUSTER TRANSFER-LEADER now does. The
// reply was retryable and right (nothing ran); its explanation was not.
func TestWriteDuringLeadershipTransfer(t *testing.T) {
	c := newCluster(t, 3, testConfig())
	lead := c.leader()
	to := c.follower(lead)
	c.stop(to) // the transfer stays under way: the target does not answer
	c.node(lead).TransferLeadership(to, func(error) {})
	cl := c.submit(lead, set("a", "1"))
	if cl.n != 1 || !errors.Is(cl.res.Err, ErrTransferring) {
		t.Fatalf("a write during a leadership transfer: %d answers, %v; want %v", cl.n, cl.res.Err, ErrTransferring)
	}
}
