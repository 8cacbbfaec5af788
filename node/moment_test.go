package node

import (
	"fmt"
	"testing"
)

// TestMomentsReachTheHost: a host listening with OnMoment hears a vote
// synced with the hard state raft then runs with, the entries applied
// and the log compacted.
func TestMomentsReachTheHost(t *testing.T) {
	cfg := testConfig()
	cfg.SnapshotEntries, cfg.SnapshotCatchUpEntries = 5, 1
	seen := map[MomentKind]int{}
	var votes []Moment
	cfg.OnMoment = func(m Moment) {
		seen[m.Kind]++
		if m.Kind == MomentHardStateSynced && m.VoteChanged && m.Vote != 0 {
			votes = append(votes, m)
		}
	}
	c := newCluster(t, 1, cfg)
	lead := c.leader()
	for i := range 10 {
		c.do(lead, set(fmt.Sprint("k", i), "v"))
	}
	for _, k := range []MomentKind{MomentHardStateSynced, MomentApplied, MomentCompacting} {
		if seen[k] == 0 {
			t.Errorf("no %s moment in an election, 10 writes and a compaction: %v", k, seen)
		}
	}
	st := c.node(lead).Status()
	found := false
	for _, m := range votes {
		found = found || m.Term == st.Term && m.Vote == lead
	}
	if !found {
		t.Errorf("no synced vote for leader n%d in term %d among %+v", lead, st.Term, votes)
	}
}

// TestUnsafeForgetVoteForgets: the planted bug does what it says (a
// restarted node starts without its vote), and without it the vote stays.
func TestUnsafeForgetVoteForgets(t *testing.T) {
	for _, forget := range []bool{false, true} {
		cfg := testConfig()
		cfg.UnsafeForgetVote = forget
		c := newCluster(t, 1, cfg)
		lead := c.leader()
		f := c.follower(lead)
		before := c.node(f).Status()
		c.stop(f)
		c.start(f)
		after := c.node(f).Status()
		if before.Vote == 0 {
			t.Fatalf("follower n%d cast no vote in term %d", f, before.Term)
		}
		if kept := after.Term == before.Term && after.Vote == before.Vote; kept == forget {
			t.Errorf("UnsafeForgetVote=%v: vote in term %d was n%d, after restart term %d vote n%d", forget, before.Term, before.Vote, after.Term, after.Vote)
		}
	}
}
