package realcluster

import (
	"fmt"
	"time"

	"github.com/seshat-db/seshat/chaos"
)

// HealBound is the target for a partition that heals: the node
// that was cut off knows the leader and serves a linearizable read within
// this, however long the partition lasted.
const HealBound = 2 * time.Second

// Smoke is the short real-process scenario `make test` runs: the leader
// is killed, then a node is cut off for 10 s and the partition heals.
var Smoke = chaos.Scenario{
	Name:  "smoke",
	Doc:   "kill the leader: a new leader within 2 s; then cut a node off for 10 s: it serves within 2 s of the heal",
	Nodes: 3,
	Run: func(t *chaos.T) {
		old := warmUp(t, 3)
		t.Kill(old)
		lead, took, ok := t.WaitNewLeader(old, chaos.ElectionBound)
		t.Check(ok, "no new leader within %s of killing leader n%d", chaos.ElectionBound, old)
		t.Logf("n%d leads %s after n%d died", lead, took, old)
		t.MustDo(lead, "set", "smoke", "after-kill")
		t.Restart(old)
		victim := t.Pick(t.Nodes())
		cutOff(t, victim, 10*time.Second)
	},
}

// warmUp starts clients and waits for a settled leader.
func warmUp(t *chaos.T, clients int) chaos.ID {
	t.StartClients(clients)
	t.WaitLeader(chaos.FormationBound)
	t.RunFor(time.Second)
	l, _ := t.WaitLeader(chaos.ElectionBound)
	return l
}

// cutOff isolates id for d, heals, and demands that id know the leader
// and serve a read within HealBound; it returns how long that took.
func cutOff(t *chaos.T, id chaos.ID, d time.Duration) time.Duration {
	t.Isolate(id)
	t.RunFor(d)
	t.Heal()
	healed := t.Now()
	knew := false
	for {
		st, up := t.Status(id)
		if up && st.Lead != 0 {
			if !knew {
				knew = true
				lst, _ := t.Status(st.Lead)
				t.Logf("n%d knows leader n%d %s after the heal (applied %d, the leader's commit %d)", id, st.Lead, (t.Now() - healed).Round(time.Millisecond), st.Applied, lst.Commit)
			}
			r := t.Do(id, "get", fmt.Sprintf("heal-%d", id))
			if r.Outcome == chaos.OK {
				break
			}
			st, _ = t.Status(id)
			t.Logf("a read via n%d: %s %s after %s (applied now %d)", id, r.Outcome, r.Text, r.Took.Round(time.Millisecond), st.Applied)
		}
		t.Check(t.Now()-healed <= HealBound, "n%d, cut off for %s, did not serve a read within %s of the heal", id, d, HealBound)
		t.RunFor(10 * time.Millisecond)
	}
	took := t.Now() - healed
	t.Check(took <= HealBound, "n%d, cut off for %s, served a read only %s after the heal", id, d, took)
	t.Logf("n%d, cut off for %s, knew the leader and served a read %s after the heal", id, d, took.Round(time.Millisecond))
	return took
}

// HealAfter is a measurement: a follower is cut off for each of the
// lengths in turn; each heal must bring it back within HealBound. The
// times go to out.
func HealAfter(lengths []time.Duration, out *[]time.Duration) chaos.Scenario {
	return chaos.Scenario{
		Name:  "heal",
		Doc:   fmt.Sprintf("a follower cut off for %v, in turn, serves within %s of each heal", lengths, HealBound),
		Nodes: 3,
		Run: func(t *chaos.T) {
			lead := warmUp(t, 3)
			for _, d := range lengths {
				f := t.Follower(lead)
				*out = append(*out, cutOff(t, f, d))
				lead, _ = t.WaitLeader(chaos.ElectionBound)
			}
		},
	}
}

// Failover is a measurement: the leader is killed kills times; each time,
// writes go to the other nodes every 20 ms from the kill on, and the time
// from the kill to the first acknowledged one goes to out. The old leader
// is restarted and caught up before the next kill.
func Failover(kills int, out *[]time.Duration) chaos.Scenario {
	return chaos.Scenario{
		Name:  "failover",
		Doc:   fmt.Sprintf("kill the leader %d times: the time from each kill to the first acknowledged write", kills),
		Nodes: 3,
		Run: func(t *chaos.T) {
			warmUp(t, 3)
			for k := range kills {
				old, _ := t.WaitLeader(chaos.FormationBound)
				t.Kill(old)
				killed := t.Now()
				var calls []*chaos.Call
				var first time.Duration
				for i := 0; first == 0; i++ {
					t.Check(t.Now()-killed < 30*time.Second, "no write acknowledged within 30 s of killing leader n%d", old)
					via := t.Others(old)[i%2]
					calls = append(calls, t.Send(via, "set", fmt.Sprintf("failover-%d", k), fmt.Sprintf("w%d", i)))
					t.RunFor(20 * time.Millisecond)
					for _, c := range calls {
						if c.Done() && c.Reply().Outcome == chaos.OK {
							at := c.Sent + c.Reply().Took - killed
							if first == 0 || at < first {
								first = at
							}
						}
					}
				}
				t.Logf("kill %d: leader n%d killed; first write acknowledged %s later", k+1, old, first.Round(time.Millisecond))
				*out = append(*out, first)
				t.Restart(old)
				_, ok := t.WaitFor(chaos.CatchUpBound, func() bool {
					st, up := t.Status(old)
					return up && st.Lead != 0 && st.Lead != old
				})
				t.Check(ok, "n%d did not rejoin within %s", old, chaos.CatchUpBound)
				t.RunFor(time.Second)
			}
		},
	}
}

// pauser is the faults of this package's Cluster beyond chaos.Cluster.
type pauser interface {
	Pause(id chaos.ID)
	Resume(id chaos.ID)
}

// LeaderPaused goes beyond the matrix, for real processes only: the
// leader is stopped with SIGSTOP (a long GC pause, a stalled VM), the
// others elect a new leader and take writes; when the old leader
// continues, a read through it must see those writes at once: a leader
// that trusted its own belief of leading (a lease read without a clock
// bound) would serve its stale data.
var LeaderPaused = chaos.Scenario{
	Name:  "leader-paused",
	Doc:   "SIGSTOP the leader for 5 s: a new leader within 2 s; once it continues, reads through it see the writes made meanwhile",
	Nodes: 3,
	Run: func(t *chaos.T) {
		p, ok := t.Cluster.(pauser)
		t.Check(ok, "this cluster cannot pause a node")
		old := warmUp(t, 6)
		t.MustDo(old, "set", "paused", "before")
		p.Pause(old)
		lead, took, ok := t.WaitNewLeader(old, chaos.ElectionBound)
		t.Check(ok, "no new leader within %s of pausing leader n%d", chaos.ElectionBound, old)
		t.Logf("n%d leads %s after n%d was paused", lead, took, old)
		pending := t.Send(old, "get", "paused") // waits in n's socket until it continues
		t.MustDo(lead, "set", "paused", "during")
		t.RunFor(5*time.Second - took)
		p.Resume(old)
		r := t.Do(old, "get", "paused")
		t.Check(r.Outcome != chaos.OK || r.Value == "during", "n%d, paused while the leader, read %q after it continued, not the write made meanwhile", old, r.Value)
		r = pending.Wait()
		t.Logf("the read sent to n%d while it was paused: %s %q after %s", old, r.Outcome, r.Value, r.Took.Round(time.Millisecond))
		_, ok = t.WaitFor(chaos.StepDownBound, func() bool {
			st, up := t.Status(old)
			return up && !st.IsLeader && st.Lead != 0
		})
		t.Check(ok, "n%d still leads or knows no leader %s after it continued", old, chaos.StepDownBound)
		r = t.MustDo(old, "get", "paused")
		t.Check(r.Value == "during", "n%d reads %q after it stepped down", old, r.Value)
	},
}
