package chaos

import (
	"time"

	"github.com/seshat-db/seshat/node"
)

// LearnerWipedHeldAcks is review2 finding 1 as a scenario: a learner's
// old self's acknowledgements, held by the network past a wipe, reach
// the leader once the learner's next process has its join verdict. Four
// machines, three first voters: node 4 is added as a learner and catches
// up under client load; leadership moves to a follower while the
// network holds every message from node 4 to it, so the new leader knows
// no match for node 4 while node 4 acknowledges its appends; node 4 is
// killed, wiped and started again (Join), and the held acknowledgements
// go free as soon as it has its verdict (or, a third of the time, up to
// 1.5 s later). A verdict that brought it back
// under identity 0 let them raise the leader's match past its empty log:
// the heartbeats that commit past it are dropped by its peer guard (the
// simulator fails any honest drop) and it never catches up. Node 4's
// first process claims an identity of its own (node/claim.go), so its
// wiped one rejoins under another, as a learner (the replicated record
// says the removed self was one), and the held ones are a retired
// identity's; it must catch up.
var LearnerWipedHeldAcks = Scenario{
	Name: "learner-wiped-held-acks",
	Doc: "node 4, a learner, is wiped while a new leader's network holds its acknowledgements, freed once it has its join verdict: " +
		"it rejoins as a learner under a new identity and catches up, and nothing acknowledged is lost",
	Nodes:         4,
	InitialVoters: 3,
	SimulatorOnly: true,
	Run: func(t *T) {
		mc, lh, voters, acked := learnerFour(t)
		acked = append(acked, writeAckedVia(t, voters, "learner", 5)...)
		st, _ := t.Status(4)
		t.Check(st.Role == "learner", "n4 is a %s after ADDNODE, want a learner", st.Role)
		before := st.Identity

		// Leadership moves while the link from node 4 to the new leader
		// holds everything: the new leader's match for node 4 stays 0,
		// and node 4 acknowledges its appends all the same.
		lead := waitLeaderOf(t, voters)
		to := t.Pick(without(voters, lead))
		lh.HoldLink(4, to, true)
		err := mc.TransferLeader(lead, to)
		t.Logf("leadership n%d -> n%d: %v", lead, to, err)
		_, ok := t.WaitFor(2*ElectionBound, func() bool {
			l, ok := t.Leader()
			return ok && l == to
		})
		t.Check(ok, "n%d did not take over from n%d (path not exercised)", to, lead)
		acked = append(acked, writeAckedVia(t, voters, "moved", 5)...)
		t.RunFor(time.Duration(100+t.Rand().IntN(900)) * time.Millisecond)

		// Node 4 loses its disk; its next process's messages go through,
		// its old self's stay held until it has its verdict.
		t.Kill(4)
		lh.HoldLink(4, to, false)
		t.Wipe(4)
		t.RunFor(time.Duration(t.Rand().IntN(500)) * time.Millisecond)
		t.Restart(4)
		start := t.Now()
		for {
			st, up := t.Status(4)
			if up && st.Role != "discovering" {
				t.Logf("n4 has its verdict after %s: %s under identity %x", t.Now()-start, st.Role, st.Identity)
				break
			}
			t.Check(t.Now()-start < CatchUpBound, "wiped n4 is still discovering after %s", CatchUpBound)
			t.RunFor(time.Millisecond) // the acknowledgements must beat its catch-up
		}
		// Mostly at once, to beat its catch-up; now and then once its
		// rejoin has moved on, when the leader must drop them as from a
		// former identity.
		if t.Rand().IntN(3) == 0 {
			t.RunFor(time.Duration(50+t.Rand().IntN(1500)) * time.Millisecond)
		}
		st, _ = t.Status(to)
		t.Check(st.IsLeader, "n%d no longer leads when n4's old acknowledgements go free (path not exercised)", to)
		stale := st.DroppedStale
		n := lh.ReleaseLink(4, to)
		t.Check(n > 0, "the network held nothing from n4 to n%d (path not exercised)", to)
		acked = append(acked, writeAckedVia(t, voters, "released", 5)...)
		st, _ = t.Status(to)
		t.Logf("n%d dropped %d of the %d set free as from a former identity", to, st.DroppedStale-stale, n)

		// Node 4 catches up past the commit index at the heal, a learner
		// under a new identity.
		t.Heal()
		waitCaughtUp(t, 4)
		st, _ = t.Status(4)
		t.Check(st.Role == "learner" && st.Identity != 0 && st.Identity != before,
			"wiped n4 is a %s under identity %x (before the wipe %x), want a learner under a new identity", st.Role, st.Identity, before)
		for _, id := range voters {
			st, _ := t.Status(id)
			t.Check(len(st.Voters) == 3 && len(st.Learners) == 1 && st.Learners[0] == 4,
				"n%d ends with voters %v and learners %v, want n4 a learner still", id, st.Voters, st.Learners)
		}
		t.StopClients()
		checkAcked(t, voters, acked)
	},
}

// learnerFour is how the learner scenarios start (4 machines, 3 first
// voters, a network that can hold a link): clients write, node 4 is added
// as a learner and catches up. It returns the writes acknowledged so far.
func learnerFour(t *T) (MemberChanger, LinkHolder, []ID, []kv) {
	mc := changerOf(t)
	lh, ok := t.Cluster.(LinkHolder)
	if !ok {
		t.Fatalf("this cluster's network cannot hold a link")
	}
	warmUp(t, 4)
	voters := []ID{1, 2, 3}
	acked := writeAckedVia(t, voters, "before", 5)
	changeMembers(t, mc, voters, node.MemberChange{Kind: node.AddLearner, ID: 4, PeerAddr: "n4:7379", ClientAddr: "n4:6379"})
	waitCaughtUp(t, 4)
	return mc, lh, voters, acked
}
