package chaos

import (
	"slices"
	"strings"
	"time"

	"github.com/seshat-db/seshat/node"
)

// Replace is the scenario of replacing a dead voter (CLUSTER REPLACENODE,
// node/replace.go): three voters under client load, node 4 added as a
// learner and caught up, then a follower voter lost (killed, or cut off)
// and replaced by node 4 in one joint change while the leader dies
// mid-change or a live voter is cut off. Nothing acknowledged may be
// lost, every voter must end with the new membership and its addresses,
// and the old voter, back, must refuse to serve, saying it was removed.
var Replace = Scenario{
	Name: "replace",
	Doc: "node 4, a caught-up learner, replaces a dead or cut-off voter in one joint change while the leader dies or a voter is cut off: " +
		"nothing acknowledged is lost, every voter holds the new membership, and the replaced node refuses to serve",
	Nodes:         4,
	InitialVoters: 3,
	SimulatorOnly: true,
	Run: func(t *T) {
		mc := changerOf(t)
		warmUp(t, 4)
		var lead ID
		voters := []ID{1, 2, 3}
		acked := writeAckedVia(t, voters, "before", 5)
		changeMembers(t, mc, voters, node.MemberChange{Kind: node.AddLearner, ID: 4, PeerAddr: "n4:7379", ClientAddr: "n4:6379"})
		waitCaughtUp(t, 4)
		acked = append(acked, writeAckedVia(t, voters, "learner", 5)...)

		// The old voter is lost: dead (the usual case), or cut off and
		// alive, so that it comes back on its own.
		lead = waitLeaderOf(t, voters)
		old := t.Pick(t.Others(lead, 4))
		killOld := t.Rand().IntN(2) == 0
		if killOld {
			t.Kill(old)
		} else {
			t.Isolate(old)
		}
		t.RunFor(time.Duration(t.Rand().IntN(3)) * ElectionBound / 2) // the leader may or may not see it silent
		remaining := without(voters, old)
		after := append(slices.Clone(remaining), 4)

		// A fault mid-change: the leader dies within 20 ms of the ask (a
		// follower's restart brings the quorum back), or the one other
		// live voter, or node 4, is cut off for a while.
		lead = waitLeaderOf(t, remaining)
		fault := t.Rand().IntN(3)
		var hit ID
		switch fault {
		case 0:
			hit = lead
			t.At(t.Now()+time.Duration(t.Rand().IntN(20))*time.Millisecond, func() { t.Kill(hit) })
			t.At(t.Now()+time.Duration(300+t.Rand().IntN(700))*time.Millisecond, func() { t.Restart(hit) })
		default:
			hit = t.Pick([]ID{t.Pick(without(remaining, lead)), 4})
			cutOff := hit
			t.At(t.Now()+time.Duration(t.Rand().IntN(20))*time.Millisecond, func() {
				if killOld {
					t.Isolate(cutOff)
				} else {
					t.Partition([]ID{old}, []ID{cutOff}) // old stays cut off
				}
			})
			t.At(t.Now()+time.Duration(300+t.Rand().IntN(700))*time.Millisecond, func() {
				t.Heal()
				if !killOld {
					t.Isolate(old)
				}
			})
		}
		t.Logf("replacing n%d (killed %v) by n4; fault %d on n%d", old, killOld, fault, hit)
		changeMembers(t, mc, remaining, node.MemberChange{Kind: node.Replace, Old: old, ID: 4})
		t.RunFor(time.Second) // the faults above end
		if !t.Up(hit) {
			t.Restart(hit)
		}
		acked = append(acked, writeAckedVia(t, after, "after", 5)...)

		// Every voter holds the new membership, raft's joint
		// configuration left.
		for _, id := range after {
			_, ok := t.WaitFor(CatchUpBound, func() bool {
				st, up := t.Status(id)
				return up && slices.Equal(st.Voters, []uint64{after[0], after[1], 4}) && len(st.Learners) == 0
			})
			st, _ := t.Status(id)
			t.Check(ok, "n%d's membership is voters %v learners %v, want voters %v", id, st.Voters, st.Learners, after)
		}

		// The replaced node, back, refuses: killed, it is told by a
		// member; cut off, it hears no leader and a member tells it.
		t.Heal()
		if !t.Up(old) {
			t.Restart(old)
		}
		t.RunFor(2 * ElectionBound)
		for _, p := range acked[len(acked)-5:] {
			if r := t.Do(old, "get", p.key); r.Outcome == OK {
				t.Errorf("replaced n%d served a read of %s: %q", old, p.key, r.Value)
			}
		}
		r := t.Do(old, "set", "replaced-write", "x")
		t.Check(r.Outcome == Refused && strings.Contains(r.Text, "removed"), "replaced n%d answered a write with %s (%s), want a refusal that says it was removed", old, r.Outcome, r.Text)

		t.StopClients()
		checkAcked(t, after, acked)
		checkAddresses(t, mc, after)
	},
}
