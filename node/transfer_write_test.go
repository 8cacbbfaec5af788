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

// TestTransferToADownVoterAnswersWhenRaftGivesUp: raft abandons a
// transfer after one election timeout and takes writes again; the
// transfer's answer comes then, not at our own backstop of two, when a
// repeated ask would still hear a transfer is under way (review4).
func TestTransferToADownVoterAnswersWhenRaftGivesUp(t *testing.T) {
	c := newCluster(t, 3, testConfig())
	lead := c.leader()
	to := c.follower(lead)
	c.stop(to)
	answers, ticks := 0, 0
	var got error
	c.node(lead).TransferLeadership(to, func(err error) { answers++; got = err })
	for answers == 0 && ticks < 3*c.cfg.ElectionTicks {
		c.tick()
		ticks++
	}
	if answers != 1 || !errors.Is(got, ErrTransferFailed) {
		t.Fatalf("transfer to a down voter: %d answers, %v; want one ErrTransferFailed", answers, got)
	}
	if ticks > c.cfg.ElectionTicks+1 {
		t.Fatalf("the transfer was answered after %d ticks; raft gave it up after %d", ticks, c.cfg.ElectionTicks)
	}
	if r := c.do(lead, set("a", "1")); r.Err != nil {
		t.Fatalf("a write after the answer: %v", r.Err)
	}
}
