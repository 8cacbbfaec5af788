package chaos

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The bounds the scenarios hold the cluster to. Times are on the runner's
// reference clock; the nodes tick every 10 ms, with a 100 ms heartbeat and a 500 to 1000 ms
// election timeout, and their request timeout is the product's 30 s.
const (
	// FormationBound: a fresh or fully restarted cluster elects a leader
	// within this (the product's target: cluster formation within 5 s).
	FormationBound = 5 * time.Second
	// ElectionBound: after a leader fails, a new one is elected within this
	// (the product's target: under 2 s).
	ElectionBound = 2 * time.Second
	// StepDownBound: a leader that hears from no quorum stops believing it
	// leads within this (CheckQuorum acts once per election timeout).
	StepDownBound = 2 * time.Second
	// ClearErrorBound: a client of a node that cannot reach a quorum gets
	// a clear error (NOQUORUM, or UNKNOWN for a write already proposed)
	// within this: far sooner than the 30 s request timeout.
	ClearErrorBound = 3 * time.Second
	// CommitBound: on a healthy majority a write or read is answered
	// within this.
	CommitBound = time.Second
	// CatchUpBound: a node that returns catches up with the leader's
	// commit index within this.
	CatchUpBound = 10 * time.Second
	// SlowOpBound: with 100 ms on every link (200 ms round trips) a
	// command is answered within this.
	SlowOpBound = 2 * time.Second
	// SlowLeaderChangesMax: leader changes allowed during the 20 s of
	// 100 ms links. None are expected: heartbeats still arrive every 100 ms.
	SlowLeaderChangesMax = 1
	// LossyPercent is the share of packets every link loses in the slow
	// network's second phase, and LossyOpBound how soon a command is
	// answered then: raft resends a lost append at the next heartbeat
	// (100 ms), a node proposes a lost forwarded write or asks a lost
	// ReadIndex again after a second (node.Config.ReadRetryTicks), TCP
	// resends after its retransmission timeout (200 ms, doubling while the
	// copies are lost too).
	LossyPercent = 2.0
	LossyOpBound = 5 * time.Second
	// CompactionEntries is scenario 10's snapshot interval, and
	// LogEntriesMax the bound on any node's in-memory log under it.
	CompactionEntries = 200
	LogEntriesMax     = 3 * CompactionEntries
)

// warmUp starts the background clients and waits for the cluster to form
// and settle; it returns the leader.
func warmUp(t *T, clients int) ID {
	t.StartClients(clients)
	l, took := t.WaitLeader(FormationBound)
	t.Logf("n%d leads after %s", l, took)
	t.RunFor(2 * time.Second)
	l, _ = t.WaitLeader(ElectionBound)
	return l
}

// commitIndex is the highest commit index any running node knows.
func commitIndex(t *T) uint64 {
	var c uint64
	for _, id := range t.Nodes() {
		if st, ok := t.Status(id); ok {
			c = max(c, st.Commit)
		}
	}
	return c
}

// waitCaughtUp waits until id has applied everything committed now.
func waitCaughtUp(t *T, id ID) {
	target := commitIndex(t)
	took, ok := t.WaitFor(CatchUpBound, func() bool {
		st, up := t.Status(id)
		return up && st.Applied >= target && st.Lead != 0
	})
	t.Check(ok, "n%d did not catch up to commit index %d within %s", id, target, CatchUpBound)
	t.Logf("n%d caught up to %d in %s", id, target, took)
}

// kv is a key and the value an acknowledged write gave it.
type kv struct{ key, value string }

// writeAcked writes n fresh keys through random running nodes and returns
// them: each was acknowledged, so each must survive whatever comes next.
func writeAcked(t *T, prefix string, n int) []kv {
	var out []kv
	for i := range n {
		id := t.Pick(upNodes(t))
		t.Check(t.WaitKnowsLeader(id, ElectionBound), "n%d knows no leader after %s", id, ElectionBound)
		k, v := fmt.Sprintf("%s-%d", prefix, i), fmt.Sprintf("v%d-%d", i, t.Rand().IntN(1000))
		t.MustDo(id, "set", k, v)
		out = append(out, kv{k, v})
	}
	return out
}

// checkPresent reads every key back through each running node.
func checkPresent(t *T, want []kv) {
	for _, id := range upNodes(t) {
		for _, p := range want {
			r := t.MustDo(id, "get", p.key)
			if r.Nil || r.Value != p.value {
				t.Errorf("acknowledged write %s=%s lost: n%d reads %q (nil %v)", p.key, p.value, id, r.Value, r.Nil)
			}
		}
	}
}

// checkAbsent checks, through node id, that none of the keys prefix-0 to
// prefix-(n-1), written only through a node without a quorum, exists.
func checkAbsent(t *T, id ID, prefix string, n int, where string) {
	for i := range n {
		key := fmt.Sprintf("%s-%d", prefix, i)
		if r := t.MustDo(id, "get", key); !r.Nil {
			t.Errorf("a write sent to %s took effect: %s = %q", where, key, r.Value)
		}
	}
}

func upNodes(t *T) []ID {
	var ups []ID
	for _, id := range t.Nodes() {
		if t.Up(id) {
			ups = append(ups, id)
		}
	}
	return ups
}

// refusedQuickly sends a write and a read to id and demands that neither
// succeeds and both get a clear answer within ClearErrorBound.
func refusedQuickly(t *T, id ID, key string) {
	for _, args := range [][]string{{"set", key, "must-not-be-acked"}, {"get", key}} {
		r := t.Do(id, args...)
		switch {
		case r.Outcome == OK:
			t.Errorf("%s %s via n%d without a quorum succeeded: %s", args[0], key, id, r.Text)
		case !r.Answered || r.Took > ClearErrorBound:
			t.Errorf("%s %s via n%d without a quorum: no clear error within %s (%s after %s)", args[0], key, id, ClearErrorBound, r.Text, r.Took)
		}
	}
}

// LeaderKilled is scenario 1.
var LeaderKilled = Scenario{
	Name:  "leader-killed",
	Doc:   "kill the leader: a new leader within 2 s, and the old one catches up when it returns",
	Nodes: 3,
	Run: func(t *T) {
		old := warmUp(t, 6)
		term := t.Term()
		t.Kill(old)
		lead, took, ok := t.WaitNewLeader(old, ElectionBound)
		t.Check(ok, "no new leader within %s of killing leader n%d", ElectionBound, old)
		t.Check(t.Term() > term, "the leader changed without a new term (path not exercised)")
		t.Logf("n%d leads %s after n%d died", lead, took, old)
		r := t.MustDo(lead, "set", "leader-killed", "after")
		t.Check(r.Took <= CommitBound, "the first write under the new leader took %s", r.Took)
		t.RunFor(2 * time.Second)
		t.Restart(old)
		waitCaughtUp(t, old)
		r = t.MustDo(old, "get", "leader-killed")
		t.Check(r.Value == "after", "the returned node reads %q", r.Value)
	},
}

// FollowerKilled is scenario 2.
var FollowerKilled = Scenario{
	Name:  "follower-killed",
	Doc:   "kill a follower: the other two keep committing, with no election",
	Nodes: 3,
	Run: func(t *T) {
		lead := warmUp(t, 6)
		f := t.Follower(lead)
		term := t.Term()
		t.Kill(f)
		before := t.ClientStats()
		acked := writeAckedWithin(t, "follower-killed", 20, CommitBound, t.Others(f))
		t.Check(!t.Up(f), "n%d came back by itself (path not exercised)", f)
		got := t.ClientStats().Sub(before)
		t.Check(got.OK > 0, "the clients got nothing done while n%d was down: %+v", f, got)
		l, _ := t.Leader()
		t.Check(l == lead && t.Term() == term, "losing a follower changed the leader (n%d term %d -> n%d term %d)", lead, term, l, t.Term())
		checkFailedFlags(t, lead, []ID{f}, 0)
		t.Restart(f)
		waitCaughtUp(t, f)
		checkPresent(t, acked)
		checkFailedFlags(t, lead, nil, 0)
	},
}

// checkFailedFlags: the leader's CLUSTER NODES flags exactly the members
// in down fail (as Redis flags a node it cannot reach), within an
// election timeout and a heartbeat of the last change, and still does at
// every look, 100 ms apart, for hold after that.
func checkFailedFlags(t *T, lead ID, down []ID, hold time.Duration) {
	nt, ok := t.Cluster.(NodesTeller)
	t.Check(ok, "this cluster cannot ask a node for CLUSTER NODES")
	var nodes string
	var failed []ID
	_, ok = t.WaitFor(ElectionBound, func() bool {
		var err error
		if nodes, err = nt.ClusterNodes(lead); err != nil {
			return false
		}
		failed = failedIn(nodes)
		return slices.Equal(failed, down)
	})
	t.Check(ok, "the leader n%d flags %v failed, want %v:\n%s", lead, failed, down, nodes)
	for end := t.Now() + hold; t.Now() < end; {
		t.RunFor(100 * time.Millisecond)
		var err error
		nodes, err = nt.ClusterNodes(lead)
		t.Check(err == nil, "CLUSTER NODES via the leader n%d: %v", lead, err)
		failed = failedIn(nodes)
		t.Check(slices.Equal(failed, down), "the leader n%d flags %v failed, want %v still:\n%s", lead, failed, down, nodes)
	}
}

// failedIn lists the members a CLUSTER NODES reply flags fail, in order.
func failedIn(nodes string) []ID {
	var out []ID
	for _, line := range strings.Split(nodes, "\n") {
		f := strings.Fields(line)
		if len(f) < 8 || len(f[0]) != 40 || !slices.Contains(strings.Split(f[2], ","), "fail") {
			continue
		}
		if id, err := strconv.ParseUint(f[0][24:], 16, 64); err == nil { // the raft id is the last 16 digits
			out = append(out, ID(id))
		}
	}
	slices.Sort(out)
	return out
}

// writeAckedWithin writes n keys through nodes picked from via, spaced
// 100 ms apart, and demands each be acknowledged within bound.
func writeAckedWithin(t *T, prefix string, n int, bound time.Duration, via []ID) []kv {
	var out []kv
	for i := range n {
		id := t.Pick(via)
		t.Check(t.WaitKnowsLeader(id, ElectionBound), "n%d knows no leader after %s", id, ElectionBound)
		k, v := fmt.Sprintf("%s-%d", prefix, i), fmt.Sprintf("v%d", i)
		r := t.MustDo(id, "set", k, v)
		if r.Took > bound {
			t.Errorf("set %s via n%d took %s, over %s", k, id, r.Took, bound)
		}
		out = append(out, kv{k, v})
		t.RunFor(100 * time.Millisecond)
	}
	return out
}

// Partition21 is scenario 3.
var Partition21 = Scenario{
	Name:  "partition-2-1",
	Doc:   "split 2-1: the majority commits; the minority acknowledges nothing and says so quickly",
	Nodes: 3,
	Run: func(t *T) {
		old := warmUp(t, 6)
		minority := t.Pick(t.Nodes()) // the leader in about a third of the seeds
		majority := t.Others(minority)
		t.Logf("minority n%d (leader n%d)", minority, old)
		t.Partition([]ID{minority}, majority)
		// Nothing reaches the minority after the cut, but a message that
		// arrived just before it may still wait in its host's queue (for
		// the next batch, or behind a sync): its commit counts from the
		// moment that queue has drained (partition-2-1 seed 53: 336 ->
		// 337 in the batch after the cut).
		t.RunFor(50 * time.Millisecond)
		minCommit, _ := t.Status(minority)
		for i := range 3 {
			refusedQuickly(t, minority, fmt.Sprintf("minority-%d", i))
		}
		_, ok := t.WaitFor(ElectionBound, func() bool {
			l, ok := t.Leader()
			return ok && l != minority
		})
		t.Check(ok, "no leader on the majority side within %s", ElectionBound)
		before := commitIndex(t)
		acked := writeAckedWithin(t, "majority", 10, CommitBound, majority)
		t.Check(commitIndex(t) > before, "the majority committed nothing (path not exercised)")
		st, _ := t.Status(minority)
		t.Check(st.Commit == minCommit.Commit, "the minority n%d committed %d -> %d while cut off", minority, minCommit.Commit, st.Commit)
		t.Heal()
		t.WaitLeader(ElectionBound)
		waitCaughtUp(t, minority)
		checkPresent(t, acked)
		// Nothing sent to the minority took effect: it never reached a quorum.
		checkAbsent(t, t.Pick(majority), "minority", 3, "the minority")
	},
}

// Asymmetric is scenario 4.
var Asymmetric = Scenario{
	Name:  "asymmetric",
	Doc:   "a leader that can send but not hear, then one that can hear but not send: each steps down and a new leader serves",
	Nodes: 3,
	Run: func(t *T) {
		warmUp(t, 6)
		for _, deaf := range []bool{true, false} {
			old, _ := t.WaitLeader(ElectionBound)
			term := t.Term()
			how := "can hear but not send"
			for _, f := range t.Others(old) {
				if deaf {
					t.Cut(f, old)
				} else {
					t.Cut(old, f)
				}
			}
			if deaf {
				how = "can send but not hear"
			}
			t.Logf("leader n%d %s", old, how)
			took, ok := t.WaitFor(StepDownBound, func() bool {
				st, _ := t.Status(old)
				return !st.IsLeader
			})
			t.Check(ok, "leader n%d that %s still leads after %s", old, how, StepDownBound)
			t.Logf("n%d stepped down after %s", old, took)
			lead, took, ok := t.WaitNewLeader(old, ElectionBound+StepDownBound)
			t.Check(ok, "no new leader within %s after leader n%d %s", ElectionBound+StepDownBound, old, how)
			t.Check(t.Term() > term, "no new term (path not exercised)")
			t.Logf("n%d leads after %s", lead, took)
			writeAckedWithin(t, fmt.Sprintf("asym-%v", deaf), 5, CommitBound, t.Others(old))
			// Deaf, the old leader still reaches the new one with its
			// pre-votes; only answers to the leader tell a member is well.
			checkFailedFlags(t, lead, []ID{old}, time.Second)
			t.Heal()
			t.RunFor(time.Second)
		}
	},
}

// LeaderIsolated is scenario 5.
var LeaderIsolated = Scenario{
	Name:  "leader-isolated",
	Doc:   "isolate the leader: it commits nothing more and steps down; the majority elects a new leader",
	Nodes: 3,
	Run: func(t *T) {
		old := warmUp(t, 6)
		t.Isolate(old)
		st0, _ := t.Status(old)
		var calls []*Call
		for i := range 3 {
			calls = append(calls, t.Send(old, "set", fmt.Sprintf("isolated-%d", i), "must-not-be-acked"))
		}
		lead, took, ok := t.WaitNewLeader(old, ElectionBound)
		t.Check(ok, "no new leader within %s of isolating leader n%d", ElectionBound, old)
		t.Logf("n%d leads %s after n%d was isolated", lead, took, old)
		_, ok = t.WaitFor(StepDownBound, func() bool {
			st, _ := t.Status(old)
			return !st.IsLeader
		})
		t.Check(ok, "isolated leader n%d still leads after %s", old, StepDownBound)
		writeAckedWithin(t, "isolated-majority", 5, CommitBound, t.Others(old))
		for range 6 {
			t.RunFor(500 * time.Millisecond)
			st, _ := t.Status(old)
			t.Check(st.Commit == st0.Commit, "isolated n%d committed %d -> %d", old, st0.Commit, st.Commit)
		}
		for _, c := range calls {
			r := c.Wait()
			t.Check(r.Outcome != OK, "a write to the isolated leader was acknowledged: %v", c.Args)
			t.Check(r.Took <= ClearErrorBound, "a write to the isolated leader waited %s for %q", r.Took, r.Text)
		}
		t.Heal()
		waitCaughtUp(t, old)
		checkAbsent(t, lead, "isolated", len(calls), "the isolated leader")
	},
}

// Cascading is scenario 6.
var Cascading = Scenario{
	Name:  "cascading",
	Doc:   "two of three nodes die one after the other: writes fail clearly and none is acknowledged; on return every acknowledged write is there",
	Nodes: 3,
	Run: func(t *T) {
		warmUp(t, 6)
		acked := writeAcked(t, "cascade", 10)
		first := t.Pick(t.Nodes())
		t.Kill(first)
		lead, _ := t.WaitLeader(ElectionBound + StepDownBound)
		acked = append(acked, writeAcked(t, "cascade-two", 5)...)
		t.RunFor(time.Second)
		second := t.Pick(t.Others(first))
		survivor := t.Others(first, second)[0]
		t.Logf("n%d and n%d dead; n%d survives (leader was n%d)", first, second, survivor, lead)
		t.Kill(second)
		t.RunFor(time.Second)
		before := t.ClientStats()
		for i := range 3 {
			refusedQuickly(t, survivor, fmt.Sprintf("cascade-lost-%d", i))
		}
		t.RunFor(3 * time.Second)
		t.Check(!t.Up(first) && !t.Up(second), "the two nodes were not down together (path not exercised)")
		got := t.ClientStats().Sub(before)
		t.Check(got.OK == 0, "%d client commands succeeded with 2 of 3 nodes dead", got.OK)
		t.Check(got.Refused+got.Unknown > 0, "no client command failed with 2 of 3 nodes dead (path not exercised)")
		t.Restart(first)
		t.Restart(second)
		t.WaitLeader(FormationBound)
		for _, id := range t.Nodes() {
			waitCaughtUp(t, id)
		}
		checkPresent(t, acked)
	},
}

// KillMidBurst is scenario 7.
var KillMidBurst = Scenario{
	Name:  "kill-mid-burst",
	Doc:   "kill the leader in the middle of a burst of INCRs: acknowledged ones survive and the count proves none applied twice",
	Nodes: 3,
	Run: func(t *T) {
		old := warmUp(t, 4)
		const key, burst = "burst-counter", 12
		var calls []*Call
		for i := range burst {
			id := old
			if i%3 == 2 {
				id = t.Pick(t.Others(old))
			}
			calls = append(calls, t.Send(id, "incr", key))
		}
		t.RunFor(time.Duration(t.Rand().IntN(3000)) * time.Microsecond)
		inflight := 0
		for _, c := range calls {
			if !c.Done() {
				inflight++
			}
		}
		t.Check(inflight > 0, "every INCR of the burst was answered before the leader died (path not exercised)")
		t.Logf("killing leader n%d with %d of %d INCRs in flight", old, inflight, burst)
		t.Kill(old)
		lead, _, ok := t.WaitNewLeader(old, ElectionBound)
		t.Check(ok, "no new leader within %s", ElectionBound)
		seen := map[int64]bool{}
		ackedMax, acked := int64(0), 0
		for _, c := range calls {
			r := c.Wait()
			if r.Outcome != OK {
				continue
			}
			acked++
			t.Check(!seen[r.Int], "two INCRs both returned %d", r.Int)
			seen[r.Int] = true
			ackedMax = max(ackedMax, r.Int)
		}
		t.Restart(old)
		waitCaughtUp(t, old)
		var count int64
		for _, id := range t.Nodes() {
			r := t.MustDo(id, "get", key)
			n, err := int64(0), error(nil) // absent: no INCR happened
			if !r.Nil {
				n, err = strconv.ParseInt(r.Value, 10, 64)
			}
			t.Check(err == nil, "the counter reads %q via n%d", r.Value, id)
			if id > 1 {
				t.Check(n == count, "nodes disagree on the counter: %d and %d", count, n)
			}
			count = n
		}
		t.Logf("counter %d: %d of %d INCRs acknowledged, highest reply %d", count, acked, burst, ackedMax)
		t.Check(count >= int64(acked) && count >= ackedMax, "the counter %d is below what was acknowledged (%d acks, highest %d)", count, acked, ackedMax)
		t.Check(count <= burst, "the counter %d exceeds the %d INCRs sent: an INCR applied twice", count, burst)
		// From here each INCR counts exactly once.
		for i := range 3 {
			r := t.MustDo(lead, "incr", key)
			t.Check(r.Int == count+int64(i)+1, "INCR after the burst returned %d, want %d", r.Int, count+int64(i)+1)
		}
	},
}

// FullRestart is scenario 8.
var FullRestart = Scenario{
	Name:  "full-restart",
	Doc:   "every node crashes at once: all acknowledged data is there after restart, and a leader within 5 s",
	Nodes: 3,
	Run: func(t *T) {
		warmUp(t, 6)
		acked := writeAcked(t, "restart", 20)
		incrs := 1 + t.Rand().IntN(10)
		for range incrs {
			t.MustDo(t.Pick(t.Nodes()), "incr", "restart-counter")
		}
		for _, id := range t.Nodes() {
			t.Kill(id)
		}
		t.Check(len(upNodes(t)) == 0, "not every node was down (path not exercised)")
		t.RunFor(time.Duration(500+t.Rand().IntN(2500)) * time.Millisecond)
		for _, id := range t.Nodes() {
			t.Restart(id)
		}
		lead, took := t.WaitLeader(FormationBound)
		t.Logf("n%d leads %s after the restart", lead, took)
		for _, id := range t.Nodes() {
			waitCaughtUp(t, id)
		}
		checkPresent(t, acked)
		r := t.MustDo(lead, "get", "restart-counter")
		t.Check(r.Value == strconv.Itoa(incrs), "the counter reads %q after %d acknowledged INCRs", r.Value, incrs)
	},
}

// SlowNetwork is scenario 9.
var SlowNetwork = Scenario{
	Name:  "slow-network",
	Doc:   "100 ms on every link, then 2% packet loss: reads and writes keep succeeding and leader changes stay rare",
	Nodes: 3,
	Run: func(t *T) {
		warmUp(t, 6)
		t.SetLatency(AllNodes, AllNodes, 100*time.Millisecond)
		term := t.Term()
		before := t.ClientStats()
		start := t.Now()
		slowest, fastest := time.Duration(0), time.Duration(1<<62)
		for i := 0; t.Now()-start < 20*time.Second; i++ {
			k, v := fmt.Sprintf("slow-%d", i), fmt.Sprintf("v%d", i)
			for _, args := range [][]string{{"set", k, v}, {"get", k}} {
				r := t.Do(t.Pick(t.Nodes()), args...)
				if r.Outcome != OK || r.Took > SlowOpBound {
					t.Fatalf("%s %s over 100 ms links: %s %q after %s (bound %s)", args[0], k, r.Outcome, r.Text, r.Took, SlowOpBound)
				}
				if args[0] == "get" && r.Value != v {
					t.Fatalf("get %s read %q after set %q", k, r.Value, v)
				}
				slowest, fastest = max(slowest, r.Took), min(fastest, r.Took)
			}
		}
		t.Logf("commands took %s to %s over 100 ms links", fastest, slowest)
		t.Check(fastest >= 200*time.Millisecond, "a command took only %s: the 100 ms latency was not in effect (path not exercised)", fastest)
		changes := t.Term() - term
		t.Check(changes <= SlowLeaderChangesMax, "%d leader changes in 20 s of 100 ms links (at most %d)", changes, SlowLeaderChangesMax)
		got := t.ClientStats().Sub(before)
		t.Check(got.OK > 0, "the clients got nothing done over slow links: %+v", got)
		t.SetLatency(AllNodes, AllNodes, 0)

		// Then lossy links: commands still succeed, only later. Over TCP a
		// lost segment stalls its link for a retransmission timeout or
		// more, long enough now and then for an election: a command may
		// then be refused or end unknown, but most must succeed and none
		// may read a wrong value.
		t.SetLoss(AllNodes, AllNodes, LossyPercent)
		before = t.ClientStats()
		start, slowest = t.Now(), 0
		var done, succeeded int
		for i := 0; t.Now()-start < 10*time.Second; i++ {
			k, v := fmt.Sprintf("lossy-%d", i), fmt.Sprintf("v%d", i)
			for _, args := range [][]string{{"set", k, v}, {"get", k}} {
				r := t.Do(t.Pick(t.Nodes()), args...)
				done++
				if r.Outcome != OK {
					t.Logf("%s %s over lossy links: %s %q", args[0], k, r.Outcome, r.Text)
					break
				}
				succeeded++
				if r.Took > LossyOpBound {
					t.Fatalf("%s %s over links losing %.0f%% took %s (bound %s)", args[0], k, LossyPercent, r.Took, LossyOpBound)
				}
				if args[0] == "get" && r.Value != v {
					t.Fatalf("get %s read %q after set %q", k, r.Value, v)
				}
				slowest = max(slowest, r.Took)
			}
		}
		t.Logf("over lossy links %d of %d commands succeeded, the slowest in %s", succeeded, done, slowest)
		t.Check(succeeded*10 >= done*9, "only %d of %d commands succeeded over links losing %.0f%%", succeeded, done, LossyPercent)
		got = t.ClientStats().Sub(before)
		t.Check(got.OK > 0, "the clients got nothing done over lossy links: %+v", got)
		t.SetLoss(AllNodes, AllNodes, 0)
	},
}

// Compaction is scenario 10.
var Compaction = Scenario{
	Name:            "compaction",
	Doc:             "log compaction under load: snapshots are taken, a follower that fell behind catches up by snapshot, the log stays bounded",
	Nodes:           3,
	SnapshotEntries: CompactionEntries,
	Run: func(t *T) {
		lead := warmUp(t, 16)
		behind := t.Follower(lead)
		t.Kill(behind)
		checkLog := func() {
			for _, id := range upNodes(t) {
				st, _ := t.Status(id)
				t.Check(st.LogEntries <= LogEntriesMax, "n%d holds %d log entries, over %d", id, st.LogEntries, LogEntriesMax)
			}
		}
		start := commitIndex(t)
		for commitIndex(t) < start+5*CompactionEntries {
			t.RunFor(500 * time.Millisecond)
			checkLog()
			t.Check(t.Now() < 5*time.Minute, "the load committed only %d entries", commitIndex(t)-start)
		}
		lead, _ = t.WaitLeader(ElectionBound)
		st, _ := t.Status(lead)
		t.Check(st.SnapshotsTaken > 0, "leader n%d took no snapshot after %d entries (interval %d)", lead, commitIndex(t)-start, CompactionEntries)
		t.Restart(behind)
		took, ok := t.WaitFor(CatchUpBound, func() bool {
			checkLog()
			st, _ := t.Status(behind)
			return st.SnapshotsInstalled > 0
		})
		t.Check(ok, "n%d, %d entries behind, installed no snapshot within %s", behind, commitIndex(t)-start, CatchUpBound)
		t.Logf("n%d installed a snapshot after %s", behind, took)
		waitCaughtUp(t, behind)
		t.RunFor(2 * time.Second)
		checkLog()
	},
}

// ClockSkew is scenario 11.
var ClockSkew = Scenario{
	Name:  "clock-skew",
	Doc:   "the leader's clock 30 s ahead, then 30 s behind, and another's drifting: no effect on safety, availability or expiry (no key early, no lock held twice)",
	Nodes: 3,
	Run: func(t *T) {
		lead := warmUp(t, 6)
		ahead, drifting := lead, t.Follower(lead)
		ppm := 1000 + t.Rand().IntN(49000)
		if t.Rand().IntN(2) == 0 {
			ppm = -ppm
		}
		t.SkewClock(ahead, 30*time.Second)
		t.DriftClock(drifting, ppm)
		term := t.Term()
		writeAckedWithin(t, "skew", 50, CommitBound, t.Nodes())
		t.Check(t.ClockOffset(ahead) >= 30*time.Second, "n%d's clock is only %s ahead (path not exercised)", ahead, t.ClockOffset(ahead))
		t.Check(t.ClockOffset(drifting) != 0, "n%d's clock did not drift (path not exercised)", drifting)
		t.Check(t.Term() == term, "skewed clocks caused an election (term %d -> %d)", term, t.Term())
		// Keys set with a TTL and locks taken meanwhile (the clients' TTL
		// workload) expire no earlier for the jump ahead; now back.
		t.RunFor(3 * time.Second)
		t.SkewClock(ahead, -60*time.Second)
		writeAckedWithin(t, "skew-back", 20, CommitBound, t.Nodes())
		t.RunFor(3 * time.Second)
		// Elections work with skewed clocks too.
		t.Kill(ahead)
		lead, _, ok := t.WaitNewLeader(ahead, ElectionBound)
		t.Check(ok, "no new leader within %s with skewed clocks", ElectionBound)
		t.MustDo(lead, "set", "skew-after", "x")
		t.Restart(ahead)
		waitCaughtUp(t, ahead)
	},
}

// DiskWiped goes beyond the matrix (issue 5): a node restarted with an
// empty data directory rejoins, by snapshot, under a new identity.
var DiskWiped = Scenario{
	Name:            "disk-wiped",
	Doc:             "a follower, then the leader, lose their disks: each rejoins by snapshot as a voter, and no acknowledged write is lost",
	Nodes:           3,
	SnapshotEntries: CompactionEntries,
	Run: func(t *T) {
		lead := warmUp(t, 6)
		acked := writeAcked(t, "before-wipe", 10)
		for round, victim := range []ID{t.Follower(lead), 0} {
			if round == 1 {
				victim, _ = t.WaitLeader(ElectionBound) // the leader at this point
			}
			t.Kill(victim)
			t.Wipe(victim)
			if round == 1 {
				_, _, ok := t.WaitNewLeader(victim, ElectionBound)
				t.Check(ok, "no new leader within %s of killing leader n%d", ElectionBound, victim)
			}
			acked = append(acked, writeAckedWithin(t, fmt.Sprintf("wiped-n%d", victim), 10, ClearErrorBound, t.Others(victim))...)
			t.Restart(victim)
			took, ok := t.WaitFor(CatchUpBound, func() bool {
				st, up := t.Status(victim)
				return up && st.Role == "voter" && st.Identity != 0
			})
			st, _ := t.Status(victim)
			t.Check(ok, "n%d did not rejoin as a voter within %s: %+v", victim, CatchUpBound, st)
			t.Check(st.SnapshotsInstalled > 0, "n%d rejoined without installing a snapshot (path not exercised)", victim)
			t.Logf("n%d rejoined as identity %x in %s", victim, st.Identity, took)
			waitCaughtUp(t, victim)
			checkPresent(t, acked)
		}
		for _, id := range t.Nodes() {
			st, _ := t.Status(id)
			t.Check(len(st.Voters) == 3 && len(st.Learners) == 0, "n%d ends with voters %v and learners %v", id, st.Voters, st.Learners)
		}
	},
}

// DiskWipedLagging: five nodes. One is down, its disk intact, while
// another loses its disk and rejoins under a new identity. Once the
// rejoined node leads, the one that was down comes back: it has not
// applied the rejoined node's admission, so it knows the leader by its
// former identity, yet it must catch up from it.
var DiskWipedLagging = Scenario{
	Name:            "disk-wiped-lagging",
	Doc:             "five nodes: one is down while another rejoins after a wipe; once the rejoined node leads, the one that was down comes back and catches up",
	Nodes:           5,
	SnapshotEntries: CompactionEntries,
	Run: func(t *T) {
		lead := warmUp(t, 6)
		acked := writeAcked(t, "before-wipe", 10)
		down := t.Follower(lead)
		t.Kill(down)
		victim := t.Follower(lead)
		t.Kill(victim)
		t.Wipe(victim)
		t.Restart(victim)
		_, ok := t.WaitFor(CatchUpBound, func() bool {
			st, up := t.Status(victim)
			return up && st.Role == "voter" && st.Identity != 0
		})
		t.Check(ok, "n%d did not rejoin as a voter within %s", victim, CatchUpBound)
		// Kill leaders, one at a time, until the rejoined node leads.
		for range 30 {
			l, _ := t.WaitLeader(ElectionBound)
			if l == victim {
				break
			}
			t.Kill(l)
			t.WaitNewLeader(l, ElectionBound)
			t.Restart(l)
			waitCaughtUp(t, l)
		}
		l, _ := t.WaitLeader(ElectionBound)
		t.Check(l == victim, "rejoined n%d never led (path not exercised)", victim)
		acked = append(acked, writeAcked(t, "rejoined-leads", 10)...)
		t.Restart(down)
		waitCaughtUp(t, down)
		st, _ := t.Status(down)
		t.Check(st.Lead == victim, "n%d caught up under n%d, not the rejoined n%d (path not exercised)", down, st.Lead, victim)
		checkPresent(t, acked)
	},
}
