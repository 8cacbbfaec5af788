package chaos

import (
	"slices"
	"time"

	"github.com/seshat-db/seshat/node"
)

// ChangeCrashReadsEntries is the change-crash-reads scenario's snapshot
// interval: small, so that some seeds compact between the changes and
// some do not, and the new node catches up by snapshot.
const ChangeCrashReadsEntries = 100

// ChangeCrashReads is RedisRaft's empty reads after membership changes and
// crashes (Jepsen, RedisRaft 1b3fbf6, 2020: a node restarted after a
// change came back without what it had applied). Node 4 joins three
// voters as a learner and is promoted, and an original member is removed
// while another is cut off, with a node killed as each change applies
// and the whole cluster killed after the last one. Every voter, the new
// one included, reads every acknowledged key (the new one before it is
// known to be caught up, too), and every voter restarts with the
// membership it had applied.
var ChangeCrashReads = Scenario{
	Name: "change-crash-reads",
	Doc: "node 4 joins three voters and is promoted, an original member is removed while another is cut off, a node is killed as each change applies and the whole cluster after: " +
		"every voter, the new one included, reads every acknowledged key and restarts with the membership it had",
	Nodes:           5,
	InitialVoters:   3,
	SnapshotEntries: ChangeCrashReadsEntries,
	SimulatorOnly:   true,
	Run: func(t *T) {
		mc := changerOf(t)
		warmUp(t, 6)
		var lead ID
		voters := []ID{1, 2, 3}
		acked := writeAckedVia(t, voters, "before", 5)

		// changeKilling makes ch while a member dies about when it
		// applies it (aimed kills die at its next crash point), and
		// brings it back after a while.
		changeKilling := func(ch node.MemberChange, victims []ID) {
			victim := t.Pick(victims)
			t.At(t.Now()+time.Duration(t.Rand().IntN(30))*time.Millisecond, func() { t.Kill(victim) })
			changeMembers(t, mc, upOf(t, voters), ch)
			t.RunFor(30*time.Millisecond + time.Duration(t.Rand().IntN(500))*time.Millisecond) // the kill has come
			t.Restart(victim)
		}
		changeKilling(node.MemberChange{Kind: node.AddLearner, ID: 4, PeerAddr: "n4:7379", ClientAddr: "n4:6379"}, []ID{1, 2, 3, 4})
		acked = append(acked, writeAckedVia(t, voters, "learner", 5)...)
		waitCaughtUp(t, 4)
		changeKilling(node.MemberChange{Kind: node.Promote, ID: 4}, []ID{4, 4, t.Pick(voters)})
		voters = append(voters, 4)
		acked = append(acked, writeAckedVia(t, voters, "promoted", 5)...)

		// An original member is removed while another is cut off: what
		// is written after, only the leader and node 4 may hold.
		lead = waitLeaderOf(t, voters)
		removed := t.Pick(t.Others(lead, 4, 5))
		cut := t.Pick(t.Others(lead, 4, 5, removed))
		t.Isolate(cut)
		changeMembers(t, mc, without(voters, cut), node.MemberChange{Kind: node.Remove, ID: removed})
		voters = without(voters, removed)
		acked = append(acked, writeAckedVia(t, without(voters, cut), "removed", 5)...)

		// The whole cluster dies, in a random order, and comes back.
		all := slices.Clone(t.Nodes())
		t.Rand().Shuffle(len(all), func(i, j int) { all[i], all[j] = all[j], all[i] })
		for _, id := range all {
			t.Kill(id)
		}
		t.RunFor(time.Duration(t.Rand().IntN(1000)) * time.Millisecond)
		t.Heal()
		for _, id := range all {
			t.Restart(id)
		}
		waitLeaderOf(t, voters)
		for _, p := range acked {
			if r := t.Do(4, "get", p.key); r.Outcome == OK && (r.Nil || r.Value != p.value) {
				t.Errorf("acknowledged write %s=%s: n4, just restarted, reads %q (nil %v)", p.key, p.value, r.Value, r.Nil)
			}
		}
		checkAcked(t, voters, acked)
		for _, id := range voters {
			st, _ := t.Status(id)
			got := slices.Sorted(slices.Values(st.Voters))
			t.Check(slices.Equal(got, voters), "n%d restarted with the voters %v, want %v", id, got, voters)
		}
		r := t.Do(removed, "get", acked[0].key)
		t.Check(r.Outcome != OK, "removed n%d, restarted, served a read of %s: %q", removed, acked[0].key, r.Value)
	},
}
