package chaos

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/seshat-db/seshat/node"
)

// MemberChanger is a Cluster whose membership a scenario can change
// through a node's operator calls (the simulator's; over RESP for real
// processes once CLUSTER ADDNODE and the others exist there).
type MemberChanger interface {
	// ChangeMembership asks node at for ch and runs the cluster until it
	// answers (or the request timeout passes: node.ErrOutcomeUnknown).
	ChangeMembership(at ID, ch node.MemberChange) error
	// TransferLeader asks node at, the leader, to hand leadership to to.
	TransferLeader(at, to ID) error
	NodesTeller
}

// NodesTeller is a Cluster that can ask a node for CLUSTER NODES (both
// the simulator's and real processes).
type NodesTeller interface {
	// ClusterNodes is node at's answer to CLUSTER NODES.
	ClusterNodes(at ID) (string, error)
}

// Membership is the scenario of growing, changing the leader of, and
// shrinking a live cluster under crashes and partitions: three voters,
// then two new nodes added as learners and promoted, leadership handed to
// a new node, and an original member removed while another is cut off.
var Membership = Scenario{
	Name: "membership",
	Doc: "nodes 4 and 5 join three voters as learners and are promoted, one of them takes over, and an original member is removed, " +
		"under a crash and partitions: nothing acknowledged is lost and the removed node refuses to serve",
	Nodes:         5,
	InitialVoters: 3,
	SimulatorOnly: true,
	Run: func(t *T) {
		mc := changerOf(t)
		lead := warmUp(t, 6)
		acked := writeAckedVia(t, []ID{1, 2, 3}, "before", 5)
		voters := []ID{1, 2, 3}
		change := func(ch node.MemberChange) { changeMembers(t, mc, voters, ch) }

		// A second change while one is in flight is refused, clearly.
		first := t.Pick(t.Others(lead, 4, 5))
		t.Isolate(first) // the leader still has a quorum of two
		change(node.MemberChange{Kind: node.AddLearner, ID: 4, PeerAddr: "n4:7379", ClientAddr: "n4:6379"})
		err := mc.ChangeMembership(lead, node.MemberChange{Kind: node.Promote, ID: 5})
		t.Check(err != nil && strings.Contains(err.Error(), "not a learner"), "promoting a node that is no learner: %v", err)
		t.Heal()
		waitCaughtUp(t, 4)
		change(node.MemberChange{Kind: node.Promote, ID: 4})
		voters = append(voters, 4)
		acked = append(acked, writeAckedVia(t, voters, "four", 5)...)

		// Node 5 joins while a node of four voters goes down: a follower
		// before the change, or the leader while it is in flight.
		lead = waitLeaderOf(t, voters)
		down := t.Pick(t.Others(5))
		if down == lead {
			t.At(t.Now()+time.Duration(t.Rand().IntN(20))*time.Millisecond, func() { t.Kill(down) })
		} else {
			t.Kill(down)
		}
		change(node.MemberChange{Kind: node.AddLearner, ID: 5, PeerAddr: "n5:7379", ClientAddr: "n5:6379"})
		acked = append(acked, writeAckedVia(t, upOf(t, voters), "five", 5)...)
		t.RunFor(time.Duration(200+t.Rand().IntN(800)) * time.Millisecond)
		t.Restart(down)
		waitCaughtUp(t, 5)
		waitCaughtUp(t, down)
		change(node.MemberChange{Kind: node.Promote, ID: 5})
		voters = append(voters, 5)

		// A new node takes over.
		lead = waitLeaderOf(t, voters)
		to := ID(4 + t.Rand().IntN(2))
		if to != lead {
			err := mc.TransferLeader(lead, to)
			t.Logf("leadership n%d -> n%d: %v", lead, to, err)
		}
		acked = append(acked, writeAckedVia(t, voters, "moved", 5)...)

		// An original member is removed while another is cut off, or
		// while the leader dies: four voters remain, three of them
		// reachable.
		lead = waitLeaderOf(t, voters)
		removed := t.Pick(t.Others(lead, 4, 5))
		cut := t.Pick(t.Others(lead, removed))
		killLeader := t.Rand().IntN(2) == 0
		if killLeader {
			cut = lead
			t.At(t.Now()+time.Duration(t.Rand().IntN(20))*time.Millisecond, func() { t.Kill(cut) })
		} else {
			t.Isolate(cut)
		}
		change(node.MemberChange{Kind: node.Remove, ID: removed})
		voters = slices.DeleteFunc(voters, func(id ID) bool { return id == removed })
		// The removed node is told only if the commit reaches it; it must
		// still not serve what it missed.
		acked = append(acked, writeAckedVia(t, without(voters, cut), "after", 5)...)
		t.Heal()
		if !t.Up(cut) {
			t.Restart(cut)
		}
		t.RunFor(time.Second)
		for _, p := range acked[len(acked)-5:] {
			r := t.Do(removed, "get", p.key)
			if r.Outcome == OK {
				t.Errorf("removed n%d served a read of %s: %q", removed, p.key, r.Value)
			}
		}
		r := t.Do(removed, "set", "removed-write", "x")
		t.Check(r.Outcome == Refused && strings.Contains(r.Text, "removed"), "removed n%d answered a write with %s (%s), want a refusal that says it was removed", removed, r.Outcome, r.Text)
		t.Kill(removed)

		// The new membership survives its leader's death.
		lead = waitLeaderOf(t, voters)
		t.Kill(lead)
		waitLeaderOf(t, without(voters, lead))
		t.Restart(lead)
		checkAcked(t, voters, acked)
		t.Restart(removed)
		checkAddresses(t, mc, voters)
	},
}

// changeMembers asks the leader for ch until it applies, five times at
// most: a try may meet no leader, a leader that lost its lead, or one
// whose answer was lost (UNKNOWN), after which the leader's membership
// tells whether it applied. voters are the members a new leader is
// waited for among (with a learner being promoted or swapped in: it may lead once it
// is a voter).
func changeMembers(t *T, mc MemberChanger, voters []ID, ch node.MemberChange) {
	if ch.Kind == node.Promote || ch.Kind == node.Replace {
		voters = append(slices.Clone(voters), ch.ID)
	}
	var err error
	unknown := false
	for try := 0; try < 5; try++ {
		at, ok := t.Leader()
		t.Check(ok, "no leader to ask for %s of n%d", ch.Kind, ch.ID)
		start := t.Now()
		err = mc.ChangeMembership(at, ch)
		if err == nil {
			t.Logf("%s of n%d applied via n%d in %s", ch.Kind, ch.ID, at, t.Now()-start)
			return
		}
		t.Logf("%s of n%d via n%d: %v", ch.Kind, ch.ID, at, err)
		t.RunFor(500 * time.Millisecond)
		waitLeaderOf(t, voters)
		if unknown = unknown || errors.Is(err, node.ErrOutcomeUnknown); unknown && applied(t, ch) {
			return // an earlier try applied, and its answer was lost
		}
	}
	t.Fatalf("%s of n%d failed five times, the last: %v", ch.Kind, ch.ID, err)
}

// checkAddresses: every voter tells every other's client and peer
// address in CLUSTER NODES (members of the first configuration announce
// theirs, node/announce.go; an added node's came with its ADDNODE), so a
// cluster client can reach each.
func checkAddresses(t *T, mc MemberChanger, voters []ID) {
	for _, at := range voters {
		var nodes string
		ok := false
		for try := 0; !ok && try < 20; try++ {
			if try > 0 {
				t.RunFor(100 * time.Millisecond)
			}
			var err error
			if nodes, err = mc.ClusterNodes(at); err != nil {
				continue
			}
			ok = true
			for _, id := range voters {
				ok = ok && strings.Contains(nodes, fmt.Sprintf(" n%d:6379@7379 ", id))
			}
		}
		t.Check(ok, "n%d does not tell every voter's address in CLUSTER NODES:\n%s", at, nodes)
	}
}

// applied reports whether ch is already in the membership a live node
// holds (a change whose answer was lost may have applied).
func applied(t *T, ch node.MemberChange) bool {
	for _, id := range t.Nodes() {
		st, ok := t.Status(id)
		if !ok || !st.IsLeader {
			continue
		}
		switch ch.Kind {
		case node.AddLearner:
			return slices.Contains(st.Learners, ch.ID) || slices.Contains(st.Voters, ch.ID)
		case node.Promote:
			return slices.Contains(st.Voters, ch.ID)
		case node.Remove:
			return !slices.Contains(st.Learners, ch.ID) && !slices.Contains(st.Voters, ch.ID)
		case node.Replace:
			return slices.Contains(st.Voters, ch.ID) && !slices.Contains(st.Voters, ch.Old)
		}
	}
	return false
}

// writeAckedVia writes n fresh keys through the given nodes only (a node
// waiting to be added, or removed, serves nothing) and returns those
// acknowledged. A crash the scenario timed may cost a write its answer:
// it is tried again under a new key, since the lost one may or may not
// have happened.
func writeAckedVia(t *T, ids []ID, prefix string, n int) []kv {
	var out []kv
	for i := 0; len(out) < n; i++ {
		t.Check(i < 4*n, "%d writes of %s, only %d acknowledged", i, prefix, len(out))
		id := t.Pick(upOf(t, ids))
		t.Check(t.WaitKnowsLeader(id, 2*ElectionBound), "n%d knows no leader after %s", id, 2*ElectionBound)
		k, v := fmt.Sprintf("%s-%d", prefix, i), fmt.Sprintf("v%d-%d", i, t.Rand().IntN(1000))
		if r := t.Do(id, "set", k, v); r.Outcome == OK {
			out = append(out, kv{k, v})
		} else {
			t.Logf("set %s via n%d: %s (%s); trying a new key", k, id, r.Outcome, r.Text)
		}
	}
	return out
}

func upOf(t *T, ids []ID) []ID {
	return slices.DeleteFunc(slices.Clone(ids), func(id ID) bool { return !t.Up(id) })
}

func without(ids []ID, not ID) []ID {
	return slices.DeleteFunc(slices.Clone(ids), func(id ID) bool { return id == not })
}

// waitLeaderOf waits for a leader among voters that a majority of them
// follow (the chaos helpers count every node, and nodes not yet added
// follow no one).
func waitLeaderOf(t *T, voters []ID) ID {
	var lead ID
	_, ok := t.WaitFor(2*ElectionBound, func() bool {
		l, ok := t.Leader()
		if !ok || !slices.Contains(voters, l) {
			return false // a leader cut off (or removed) that has not yet noticed
		}
		n := 0
		for _, id := range voters {
			if st, up := t.Status(id); up && st.Lead == l {
				n++
			}
		}
		lead = l
		return n >= len(voters)/2+1
	})
	t.Check(ok, "no leader followed by a majority of voters %v within %s", voters, 2*ElectionBound)
	return lead
}
