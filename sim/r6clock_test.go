package sim

import (
	"fmt"
	"runtime/debug"
	"testing"
	"time"

	"github.com/seshat-db/seshat/chaos"
	"github.com/seshat-db/seshat/kv"
	"github.com/seshat-db/seshat/node"
)

// runCustom is run() with a scenario of the test's own (review r6-clock):
// opts.Scenario names an existing scenario for its defaults only.
func runCustom(opts Options, scen chaos.Scenario) (res Result) {
	opts = opts.FromSeed()
	w := newWorld(opts)
	withSeededCryptoRand(opts.Seed, func() {
		defer func() {
			if p := recover(); p != nil {
				w.fail(classCrash, "panic at %s: %v\n%s", w.now, p, debug.Stack())
			}
			w.closeAll()
		}()
		w.setup()
		r6World = w
		w.runScenario(scen)
		if w.failure == nil {
			w.finalChecks()
		}
	})
	w.stats.SimulatedTime = w.now
	return Result{Options: opts, Stats: w.stats, Failure: w.failure}
}

var r6World *World

// clockProbe reads the cluster time through PTTL of a key set with PXAT
// far ahead: clock = deadline - PTTL. It submits kv ops to a node
// directly (the scenario client speaks only the model's commands).
type clockProbe struct {
	t        *chaos.T
	deadline int64
}

func r6Do(t *chaos.T, id chaos.ID, op kv.Op) (kv.Result, bool) {
	s := r6World.nodes[id-1]
	if !s.up() {
		return kv.Result{}, false
	}
	var got []kv.Result
	done := false
	s.post(node.Event{Kind: node.EventOps, Ops: []kv.Op{op}, Done: func(r []kv.Result) { got, done = r, true }})
	t.WaitFor(5*time.Second, func() bool { return done })
	if !done || len(got) == 0 || got[0].Err != nil {
		return kv.Result{}, false
	}
	return got[0], true
}

func newClockProbe(t *chaos.T, id chaos.ID) *clockProbe {
	d := int64(1_900_000_000_000) // 2030: far past the cluster's birth (2026)
	_, ok := r6Do(t, id, kv.Op{Kind: kv.Set, Keys: [][]byte{[]byte("r6probe")}, Values: [][]byte{[]byte("v")}, Exp: kv.ExpAbsolute, Expiry: d})
	t.Check(ok, "SET PXAT failed")
	return &clockProbe{t: t, deadline: d}
}

func (p *clockProbe) read(id chaos.ID) (int64, bool) {
	r, ok := r6Do(p.t, id, kv.Op{Kind: kv.TTL, Keys: [][]byte{[]byte("r6probe")}})
	if !ok || r.Int <= 0 {
		return 0, false
	}
	return p.deadline - r.Int, true
}

// TestR6ClusterClockSpeed (review r6-clock): under a constant client
// write load, with no fault and no drift, the cluster time must keep up
// with real (virtual) time: re-anchoring at every applied entry must not
// lose a fraction of a tick each time. The late bound (2 x election
// timeout + 1 s) does not see a clock that loses less than a third of a
// 3 s TTL, so this measures the speed directly.
func TestR6ClusterClockSpeed(t *testing.T) {
	for _, clients := range []int{0, 8, 32} {
		for seed := uint64(1); seed <= 2; seed++ {
			var lines []string
			var worst float64 = 1
			var lagMax int64
			scen := chaos.Scenario{Name: "r6-clock-speed", Nodes: 3, Run: func(ct *chaos.T) {
				if clients > 0 {
					ct.StartClients(clients)
				}
				ct.WaitLeader(chaos.FormationBound)
				ct.RunFor(2 * time.Second)
				l, _ := ct.WaitLeader(chaos.ElectionBound)
				p := newClockProbe(ct, l)
				c0, ok := p.read(l)
				t0 := ct.Now()
				ct.Check(ok, "no clock reading")
				for range 3 {
					ct.RunFor(10 * time.Second)
					c, ok := p.read(l)
					if !ok {
						continue
					}
					real := ct.Now() - t0
					speed := float64(c-c0) / float64(real.Milliseconds())
					worst = min(worst, speed)
					lagMax = max(lagMax, real.Milliseconds()-(c-c0))
					lines = append(lines, fmt.Sprintf("after %s real: cluster +%d ms (speed %.4f, lag %d ms)", real, c-c0, speed, real.Milliseconds()-(c-c0)))
				}
				ct.StopClients()
			}}
			res := runCustom(Options{Scenario: "clock-skew", Seed: seed}, scen)
			for _, l := range lines {
				t.Logf("clients=%d seed=%d %s", clients, seed, l)
			}
			if res.Failure != nil {
				t.Errorf("clients=%d seed=%d: %v", clients, seed, res.Failure)
			}
			// The late bound allows ~1 s of lag on a 3 s TTL: a clock
			// slower than 0.99 makes a one-hour TTL late by 36 s.
			// With no writes, the applied clock moves by clock-only
			// entries once it lags a leader's view by a second
			// (clockEntryMillis), looked at every 100 ms: a reading may
			// be that stale, but no more, and it must not grow.
			if clients == 0 {
				if lagMax > 1200 {
					t.Errorf("seed=%d: idle, the applied clock lagged real time by %d ms", seed, lagMax)
				}
				continue
			}
			if worst < 0.99 {
				t.Errorf("clients=%d seed=%d: the cluster time ran at %.4f of real time", clients, seed, worst)
			}
		}
	}
}

// TestR6NeverEarlyTick (review r6-clock): a leader stamps a write with
// its view counted to the tick that last passed (countFrom returns
// n.ticks, and clusterNow keeps it as stampedAt), but the write arrived
// partway through that tick; the leader then counts the TTL on from that
// tick, so a key can read as gone up to one tick before call + TTL. With
// no drift the model's window is the whole TTL (sureFor), so this is a
// never-early violation the sim's own check should call one. SETs go to
// the leader directly, one every 0.7 ms across several ticks; GETs poll
// each key around its deadline.
func TestR6NeverEarlyTick(t *testing.T) {
	const ttl = 1000 * time.Millisecond
	for seed := uint64(1); seed <= 3; seed++ {
		var early []string
		var sets int
		scen := chaos.Scenario{Name: "r6-never-early-tick", Nodes: 3, Run: func(ct *chaos.T) {
			ct.WaitLeader(chaos.FormationBound)
			ct.RunFor(2 * time.Second)
			l, _ := ct.WaitLeader(chaos.ElectionBound)
			w := r6World
			s := w.nodes[l-1]
			for i := range 40 {
				key := fmt.Sprintf("r6k%d", i)
				w.schedule(time.Duration(i)*700*time.Microsecond+time.Millisecond, evScenario, -1, 0, func() {
					call := w.now
					ok := false
					s.post(node.Event{Kind: node.EventOps, Ops: []kv.Op{{Kind: kv.Set, Keys: [][]byte{[]byte(key)}, Values: [][]byte{[]byte("v")}, Exp: kv.ExpRelative, Expiry: ttl.Milliseconds()}},
						Done: func(r []kv.Result) { ok = len(r) == 1 && r[0].Err == nil }})
					// Poll from call + TTL - 30 ms to call + TTL, every 0.25 ms.
					for d := ttl - 30*time.Millisecond; d < ttl; d += 250 * time.Microsecond {
						w.schedule(call+d-w.now, evScenario, -1, 0, func() {
							if !ok || !s.up() {
								return
							}
							sent := w.now
							s.post(node.Event{Kind: node.EventOps, Ops: []kv.Op{{Kind: kv.Get, Keys: [][]byte{[]byte(key)}}},
								Done: func(r []kv.Result) {
									if len(r) == 1 && r[0].Err == nil && r[0].Nil && w.now < call+ttl {
										early = append(early, fmt.Sprintf("%s: SET PX %d at %s; GET sent %s returned nil at %s, %s before call+TTL", key, ttl.Milliseconds(), call, sent, w.now, call+ttl-w.now))
									}
								}})
						})
					}
					sets++
				})
			}
			ct.RunFor(3 * time.Second)
		}}
		res := runCustom(Options{Scenario: "clock-skew", Seed: seed, LatencyMin: 100 * time.Microsecond, LatencyJitterMax: -1, TTLPercent: -1}, scen)
		if res.Failure != nil {
			t.Errorf("seed %d: %v", seed, res.Failure)
		}
		if sets == 0 {
			t.Fatalf("seed %d: no SET ran", seed)
		}
		for i, e := range early {
			if i < 5 {
				t.Errorf("seed %d: never early broken: %s", seed, e)
			}
		}
		if len(early) > 0 {
			t.Errorf("seed %d: %d reads saw a key gone before its TTL had passed since its SET was called (%d SETs)", seed, len(early), sets)
		}
	}
}

// TestR6LowLatencySweep (review r6-clock): the standard scenarios with a
// fast network (100 µs one way, no jitter), where a client's call is
// close to its arrival at the leader: the model's own window (the whole
// TTL without drift) meets the one-tick-early of TestR6NeverEarlyTick.
func TestR6LowLatencySweep(t *testing.T) {
	for _, scen := range []string{"held-messages", "partial-restart-expiry", "clock-skew"} {
		for seed := uint64(1); seed <= 4; seed++ {
			res := Run(Options{Scenario: scen, Seed: seed, LatencyMin: 100 * time.Microsecond, LatencyJitterMax: -1, TTLPercent: 30})
			if res.Failure != nil {
				t.Errorf("%s seed %d (latency 100µs, TTL 30%%): %v", scen, seed, res.Failure)
			}
		}
	}
}

// TestR6LowLatencyHeldMessagesSeed2 (review r6-clock): the simulator's
// own model found the one-tick-early expiry once clients are close to
// the leader: held-messages seed 2 with a 100 µs network failed as not
// linearizable at 0d03309 (window = the whole TTL), and passed when kv's
// relative deadline counts one tick more (now + op.Expiry + 10 in
// kv/apply.go deadline(), tried in a scratch copy). Since a3c60c1 the
// model's window allows the tick, so this passes: TestR6NeverEarlyTick
// keeps the bound (no tick).
func TestR6LowLatencyHeldMessagesSeed2(t *testing.T) {
	res := Run(Options{Scenario: "held-messages", Seed: 2, LatencyMin: 100 * time.Microsecond, LatencyJitterMax: -1, TTLPercent: 30})
	if res.Failure != nil {
		t.Fatal(res.Failure)
	}
}
