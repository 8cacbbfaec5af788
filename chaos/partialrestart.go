package chaos

import "time"

// PartialRestartExpiry: never early after a partial restart (found in
// review; node/clock.go restartCount is the fix).
// Two of three nodes are down for 20 s while the leader stays up: the
// cluster time cannot advance (no quorum) but the leader keeps counting
// ticks from its own last stamp. The restarted nodes reload the old clock
// from e/time and lead; a key is set with PX 10000 under them. When the
// node that stayed up leads again, its view is ~20 s ahead of the applied
// clock and the key expires seconds after it was set.
var PartialRestartExpiry = Scenario{
	Name:  "partial-restart-expiry",
	Doc:   "a node that kept counting while a majority was down must not expire keys set after the majority returned early",
	Nodes: 3,
	Run: func(t *T) {
		// The clients' TTL workload (SET k v PX d, reads, SET NX PX
		// locks) keeps deadlines in the store, so the leader looks at its
		// view (expireDue, every 10 ticks) and stamps as it counts; the
		// model judges every read against the keys' windows.
		a := warmUp(t, 8)
		others := t.Others(a)
		b, c := others[0], others[1]
		t.Kill(b)
		t.Kill(c)
		t.RunFor(20 * time.Second)
		t.Isolate(a)
		t.Restart(b)
		t.Restart(c)
		lead, _, ok := t.WaitNewLeader(a, ElectionBound*3)
		t.Check(ok, "no leader among the restarted nodes")
		t.RunFor(2 * time.Second) // clients set keys with TTLs under the restarted nodes' clock
		t.Heal()
		waitCaughtUp(t, a)
		// a or the other restarted node leads next: when a does (about
		// one seed in two), its view is ~20 s ahead of the applied clock.
		t.Kill(lead)
		nl, _, ok := t.WaitNewLeader(lead, ElectionBound*3)
		t.Check(ok, "no new leader")
		t.Logf("n%d leads at %s", nl, t.Now())
		t.RunFor(3 * time.Second) // the clients' reads of their TTL keys are judged by the model
		t.Heal()
		t.Restart(lead)
	},
}
