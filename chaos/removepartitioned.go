package chaos

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/seshat-db/seshat/node"
)

// RemovePartitioned is RedisRaft's lost updates under a removal (Jepsen,
// RedisRaft 1b3fbf6, 2020): a voter of five, the leader half the time, is
// removed while a partition cuts it off with the minority or leaves it on
// the majority side, with writes in flight through it and through the
// minority. Every write acknowledged anywhere survives on every remaining
// voter, a removal that would leave the reachable voters no quorum is
// refused, and the removed node, told once the cut heals, refuses to
// serve, also after a restart.
var RemovePartitioned = Scenario{
	Name: "remove-partitioned",
	Doc: "a voter of five, the leader half the time, is removed while cut off with the minority or on the majority side, with writes in flight through it: " +
		"nothing acknowledged is lost, a removal leaving no reachable quorum is refused, and the removed node refuses to serve",
	Nodes:         5,
	InitialVoters: 5,
	SimulatorOnly: true,
	Run: func(t *T) {
		mc := changerOf(t)
		lead := warmUp(t, 6)
		voters := t.Nodes()
		acked := writeAckedVia(t, voters, "before", 5)

		removed := t.Pick(t.Others(lead))
		if t.Rand().IntN(2) == 0 {
			removed = lead
		}
		rest := without(voters, removed)
		var minority []ID
		if t.Rand().IntN(2) == 0 {
			// The removed node is cut off, alone or with another voter
			// (never the leader, unless it is the removed one): the
			// majority side removes it.
			minority = []ID{removed}
			if t.Rand().IntN(2) == 0 {
				minority = append(minority, t.Pick(without(rest, lead)))
			}
		} else {
			// The removed node stays on the majority side. First two
			// others are cut off: of the four voters left, two would be
			// reachable, and the leader must refuse (etcd's strict
			// reconfiguration check) rather than stop the cluster.
			two := slices.Clone(without(rest, lead))
			t.Rand().Shuffle(len(two), func(i, j int) { two[i], two[j] = two[j], two[i] })
			two = two[:2]
			t.Partition(others(voters, two), two)
			// The leader's view of who is active is renewed once per
			// election timeout: two of them, and the cut ones count out.
			t.RunFor(1200 * time.Millisecond)
			lead = waitLeaderOf(t, others(voters, two))
			err := mc.ChangeMembership(lead, node.MemberChange{Kind: node.Remove, ID: removed})
			t.Check(err != nil && strings.Contains(err.Error(), "safe quorum"),
				"removing n%d while %v were cut off, leaving two of four voters reachable: %v, want a refusal", removed, two, err)
			minority = two[:1]
		}
		majority := others(voters, minority)
		t.Partition(majority, minority)
		if !slices.Contains(minority, removed) {
			t.RunFor(300 * time.Millisecond) // the leader hears from the one let back
		}
		t.Logf("n%d is removed with the minority %v cut off", removed, minority)

		// Writes in flight through the removed node and the minority
		// while the removal commits: none may be acknowledged and lost.
		var inflight []*Call
		sendAround := func(ids []ID, prefix string) {
			for i, id := range ids {
				at := t.Now() + time.Duration(t.Rand().IntN(40))*time.Millisecond
				k, v := fmt.Sprintf("%s-%d-n%d", prefix, i, id), fmt.Sprintf("v%d", t.Rand().IntN(1000))
				t.At(at, func() { inflight = append(inflight, t.Send(id, "set", k, v)) })
			}
		}
		sendAround(append([]ID{removed, removed}, minority...), "inflight")
		if removed == lead && slices.Contains(minority, removed) {
			// The leader cut off still believes it leads for a while:
			// its own removal, asked of it, must not be acknowledged.
			err := mc.ChangeMembership(removed, node.MemberChange{Kind: node.Remove, ID: removed})
			t.Check(err != nil, "n%d, cut off with the minority %v, acknowledged its own removal", removed, minority)
			t.Logf("n%d cut off, asked for its own removal: %v", removed, err)
		}
		waitLeaderOf(t, majority)
		changeMembers(t, mc, majority, node.MemberChange{Kind: node.Remove, ID: removed})
		acked = append(acked, writeAckedVia(t, without(majority, removed), "during", 5)...)

		// Healed, a removed node that missed the commit is told by the
		// members it asks for votes.
		t.Heal()
		_, told := t.WaitFor(2*ElectionBound, func() bool {
			st, up := t.Status(removed)
			return up && st.Role == "removed"
		})
		t.Check(told, "n%d does not know it was removed %s after the cut healed", removed, 2*ElectionBound)
		r := t.Do(removed, "get", acked[len(acked)-1].key)
		t.Check(r.Outcome != OK, "removed n%d served a read of %s: %q", removed, acked[len(acked)-1].key, r.Value)
		r = t.Do(removed, "set", "removed-write", "x")
		t.Check(r.Outcome == Refused && strings.Contains(r.Text, "removed"), "removed n%d answered a write with %s (%s), want a refusal that says it was removed", removed, r.Outcome, r.Text)
		// A write acknowledged must be there; one refused must not be:
		// a refusal says it did not happen, and its client may move on.
		waitLeaderOf(t, rest)
		for _, c := range inflight {
			r := c.Wait()
			if r.Outcome == OK {
				acked = append(acked, kv{c.Args[1], c.Args[2]})
				t.Logf("in-flight %s via n%d acknowledged", c.Args[1], c.Node)
				continue
			}
			got := t.MustDo(t.Pick(rest), "get", c.Args[1])
			t.Logf("in-flight %s via n%d: %s (%s); reads %q", c.Args[1], c.Node, r.Outcome, r.Text, got.Value)
			if r.Outcome == Refused && !got.Nil {
				t.Errorf("a write of %s refused by n%d (%s) happened: it reads %q", c.Args[1], c.Node, r.Text, got.Value)
			}
		}
		acked = append(acked, writeAckedVia(t, rest, "after", 5)...)

		// Restarted, the removed node still refuses.
		t.Kill(removed)
		t.Restart(removed)
		t.RunFor(time.Second)
		r = t.Do(removed, "get", acked[len(acked)-1].key)
		t.Check(r.Outcome != OK, "removed n%d, restarted, served a read of %s: %q", removed, acked[len(acked)-1].key, r.Value)

		waitLeaderOf(t, rest)
		checkAcked(t, rest, acked)
	},
}

// changerOf is the scenario's cluster as a MemberChanger.
func changerOf(t *T) MemberChanger {
	mc, ok := t.Cluster.(MemberChanger)
	if !ok {
		t.Fatalf("this cluster cannot change its membership")
	}
	return mc
}

// checkAcked reads every acknowledged write from every one of voters,
// each caught up first: none may be missing or older.
func checkAcked(t *T, voters []ID, acked []kv) {
	for _, id := range voters {
		waitCaughtUp(t, id)
	}
	for _, id := range voters {
		for _, p := range acked {
			r := t.MustDo(id, "get", p.key)
			if r.Nil || r.Value != p.value {
				t.Errorf("acknowledged write %s=%s lost: n%d reads %q (nil %v)", p.key, p.value, id, r.Value, r.Nil)
			}
		}
	}
}

// others lists ids but the ones in not.
func others(ids, not []ID) []ID {
	return slices.DeleteFunc(slices.Clone(ids), func(id ID) bool { return slices.Contains(not, id) })
}
