package chaos

import (
	"strconv"
	"time"
)

// HeldStats counts what a cluster's network held back while a scenario
// asked it to (MessageHolder.HoldMessages), so the scenario can prove each kind
// of late message happened.
type HeldStats struct {
	Held              int // messages parked
	AfterHeal         int // set free when the partition that cut them healed
	AfterRestart      int // ... when their receiver restarted
	AfterLeaderChange int // ... when the cluster got a new leader
	AfterTimeout      int // ... after a long time
	Redelivered       int // copies of old messages delivered again
	LongDelays        int // messages delayed by whole election timeouts
}

// heldElectionBound is how soon a leader must follow the old one's death
// while messages are held. Not ElectionBound: the dead leader's held and
// re-delivered heartbeats go on arriving for seconds, and each one tells a
// follower its leader lives (and, under CheckQuorum, makes it refuse
// pre-votes), as they would on a real network that held them.
const heldElectionBound = 15 * time.Second

// HeldMessages is the scenario of messages that outlive what they were
// sent about: a partition, a process, a leader.
var HeldMessages = Scenario{
	Name: "held-messages",
	Doc: "the network holds messages back past a partition's heal, a restart and a leader change, and delivers old ones again: " +
		"nothing acknowledged is lost and no INCR counts twice",
	Nodes:         3,
	SimulatorOnly: true,
	Run: func(t *T) {
		holder, ok := t.Cluster.(MessageHolder)
		if !ok {
			t.Fatalf("this cluster's network cannot hold messages")
		}
		lead := warmUp(t, 6)
		holder.HoldMessages(true)
		const key = "held-counter"
		var calls []*Call
		incr := func(n int) {
			for range n {
				calls = append(calls, t.Send(t.Pick(upNodes(t)), "incr", key))
				t.RunFor(time.Duration(20+t.Rand().IntN(80)) * time.Millisecond)
			}
		}
		acked := writeAcked(t, "held", 5)
		incr(10)

		f := t.Follower(lead)
		t.Isolate(f)
		incr(10)
		t.RunFor(time.Duration(1000+t.Rand().IntN(2000)) * time.Millisecond)
		t.Heal()
		incr(10)

		f = t.Follower(lead)
		t.Kill(f)
		incr(10)
		t.RunFor(time.Duration(500+t.Rand().IntN(1500)) * time.Millisecond)
		t.Restart(f)
		incr(10)

		// A leader change with the old leader alive but cut off: copies
		// held for the change reach it once the partition heals, and it
		// forwards what they carry to the new leader.
		t.Isolate(lead)
		next, _, ok := t.WaitNewLeader(lead, heldElectionBound)
		t.Check(ok, "no new leader within %s of isolating leader n%d", heldElectionBound, lead)
		incr(10)
		t.Heal()
		incr(10)

		t.Kill(next)
		_, _, ok = t.WaitNewLeader(next, heldElectionBound)
		t.Check(ok, "no new leader within %s of killing leader n%d", heldElectionBound, next)
		incr(10)
		t.Restart(next)
		incr(10)
		// Long enough for the long-held messages to go free.
		t.RunFor(6 * time.Second)
		st := holder.HoldMessages(false)
		t.Logf("held %+v", st)
		t.Check(st.Held > 0 && st.AfterHeal > 0 && st.AfterRestart > 0 && st.AfterLeaderChange > 0,
			"a kind of held message never went free (path not exercised): %+v", st)

		var ok64, unknown int64
		for _, c := range calls {
			switch c.Wait().Outcome {
			case OK:
				ok64++
			case Unknown:
				unknown++
			}
		}
		l, _ := t.WaitLeader(FormationBound)
		for _, id := range t.Nodes() {
			waitCaughtUp(t, id)
		}
		checkPresent(t, acked)
		r := t.MustDo(l, "get", key)
		count := int64(0)
		if !r.Nil {
			var err error
			count, err = strconv.ParseInt(r.Value, 10, 64)
			t.Check(err == nil, "the counter reads %q", r.Value)
		}
		t.Logf("counter %d: %d INCRs acknowledged, %d unknown", count, ok64, unknown)
		t.Check(count >= ok64 && count <= ok64+unknown,
			"the counter %d is outside [%d, %d]: %d acknowledged INCRs, %d unknown", count, ok64, ok64+unknown, ok64, unknown)
	},
}
