package chaos

import (
	"slices"
	"time"
)

// RetiredJoinHeld is review3 finding 5 as a scenario: a join request of
// a wiped learner's earlier start, held by the network, reaches the
// leader while the learner's current self is down. Four machines, three
// first voters: node 4 is added as a learner and catches up; it is
// killed, wiped and started again, and rejoins under identity X while the
// network holds every message from it to the leader for a while, so
// copies of X's join requests stay parked (the later ones go through and
// the rejoin completes); it is wiped again and rejoins under Y, which
// retires X. Node 4 goes down, and once the leader has not heard from
// it for longer than an election timeout, X's join requests go free.
// Taken, the first made the leader remove node 4's current self (it
// looks like a member wiped while down, asking under its new identity),
// and the next ones admit X again, an identity no process holds. The
// leader must ignore them: no membership change, node 4 still a
// learner, and it catches up when it comes back.
var RetiredJoinHeld = Scenario{
	Name: "retired-join-held",
	Doc: "node 4, a learner, is wiped twice; join requests of its first rejoin's identity, held by the network, reach the leader while it is down: " +
		"the leader changes no membership, and node 4 comes back a learner and catches up",
	Nodes:         4,
	InitialVoters: 3,
	SimulatorOnly: true,
	Run: func(t *T) {
		_, lh, voters, acked := learnerFour(t)
		st, _ := t.Status(4)
		t.Check(st.Role == "learner", "n4 is a %s after ADDNODE, want a learner", st.Role)
		first := st.Identity

		// The first rejoin, under X: the leader hears none of its join
		// requests until the hold lifts (the verdict comes from the
		// others, and a joiner asks every peer), and keeps the copies.
		lead := waitLeaderOf(t, voters)
		t.Kill(4)
		t.Wipe(4)
		t.RunFor(time.Duration(t.Rand().IntN(500)) * time.Millisecond)
		lh.HoldLink(4, lead, true)
		t.Restart(4)
		waitVerdict(t, 4)
		t.RunFor(time.Duration(1000+t.Rand().IntN(1500)) * time.Millisecond)
		lh.HoldLink(4, lead, false)
		x := waitLearnerUnder(t, first)
		acked = append(acked, writeAckedVia(t, voters, "x", 5)...)
		waitCaughtUp(t, 4)

		// The second rejoin, under Y, retires X.
		t.Kill(4)
		t.Wipe(4)
		t.RunFor(time.Duration(t.Rand().IntN(500)) * time.Millisecond)
		t.Restart(4)
		y := waitLearnerUnder(t, x)
		acked = append(acked, writeAckedVia(t, voters, "y", 5)...)
		waitCaughtUp(t, 4)

		// Node 4 goes down for longer than an election timeout, so its
		// current self is not heard from lately, and X's join requests go
		// free.
		t.Kill(4)
		t.RunFor(ElectionBound + time.Duration(t.Rand().IntN(1000))*time.Millisecond)
		st, _ = t.Status(lead)
		t.Check(st.IsLeader, "n%d no longer leads when n4's held join requests go free (path not exercised)", lead)
		changes := make(map[ID]int)
		for _, id := range voters {
			st, _ := t.Status(id)
			changes[id] = st.MembershipChanges
		}
		n := lh.ReleaseLink(4, lead)
		t.Check(n > 0, "the network held nothing from n4 to n%d (path not exercised)", lead)
		t.RunFor(3 * ElectionBound)
		acked = append(acked, writeAckedVia(t, voters, "released", 5)...)
		for _, id := range voters {
			st, _ := t.Status(id)
			t.Check(st.MembershipChanges == changes[id],
				"n%d applied %d membership changes after n4's %d held messages of retired identity %x went free (n4 down, under %x)",
				id, st.MembershipChanges-changes[id], n, x, y)
			t.Check(len(st.Voters) == 3 && slices.Equal(st.Learners, []uint64{4}),
				"n%d has voters %v and learners %v after n4's held join requests went free, want n4 a learner still", id, st.Voters, st.Learners)
		}

		// Node 4 comes back under Y and catches up.
		t.Restart(4)
		waitCaughtUp(t, 4)
		st, _ = t.Status(4)
		t.Check(st.Role == "learner" && st.Identity == y,
			"n4 is a %s under identity %x after its restart, want a learner under %x", st.Role, st.Identity, y)
		t.StopClients()
		checkAcked(t, voters, acked)
	},
}

// waitVerdict waits until a wiped node id has its join verdict.
func waitVerdict(t *T, id ID) {
	took, ok := t.WaitFor(CatchUpBound, func() bool {
		st, up := t.Status(id)
		return up && st.Role != "discovering"
	})
	t.Check(ok, "wiped n%d is still discovering after %s", id, CatchUpBound)
	t.Logf("n%d has its verdict after %s", id, took)
}

// waitLearnerUnder waits until node 4 is a learner in every voter's
// configuration under an identity other than before, and returns it.
func waitLearnerUnder(t *T, before uint64) uint64 {
	var id uint64
	took, ok := t.WaitFor(CatchUpBound, func() bool {
		st, up := t.Status(4)
		if !up || st.Role != "learner" || st.Identity == 0 || st.Identity == before {
			return false
		}
		id = st.Identity
		for _, v := range []ID{1, 2, 3} {
			if vs, up := t.Status(v); !up || !slices.Equal(vs.Learners, []uint64{4}) {
				return false
			}
		}
		return true
	})
	t.Check(ok, "wiped n4 is not a learner under a new identity (before %x) within %s", before, CatchUpBound)
	t.Logf("n4 rejoined as a learner under identity %x in %s", id, took)
	return id
}
