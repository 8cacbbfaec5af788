package sim

import (
	"math/rand/v2"
	"testing"
	"time"
)

// bareNetWorld is a world with a network and three nodes that never
// start: enough to drive send, hold and release by hand.
func bareNetWorld(o Options) *World {
	o.Nodes = 3
	o.FaultsEnd = 1 << 62
	o.ElectionTicks, o.Tick = 50, 10*time.Millisecond
	w := &World{opts: o, rng: rand.New(rand.NewPCG(o.Seed, 0x5e5a7)), net: newNetFaults(o.Seed)}
	w.faultSched = newFaultSchedule(o)
	w.cut, w.lat, w.loss = make([][]bool, 3), make([][]time.Duration, 3), make([][]float64, 3)
	for i := range 3 {
		w.nodes = append(w.nodes, &simNode{w: w, idx: i, id: uint64(i + 1)})
		w.cut[i], w.lat[i], w.loss[i] = make([]bool, 3), make([]time.Duration, 3), make([]float64, 3)
		for j := range 3 {
			w.lat[i][j] = time.Millisecond
		}
	}
	return w
}

// TestSkippedNetFaultKeepsDraws: leaving out one kind of the network's
// long faults (as a shrink does) must not move the random draws of the
// others: every fault draws what it needs before the schedule decides.
// Over the same messages, a world that skips the kind and one that does
// not end with their streams and fault numbers in the same place.
func TestSkippedNetFaultKeepsDraws(t *testing.T) {
	opts := Options{Seed: 7, HoldPercent: 20, HoldCutPercent: 50, RedeliverPercent: 10, LongDelayPercent: 10, DupPercent: 10}
	for _, kind := range []string{faultHold, faultHoldCut, faultRedeliver, faultLongDelay} {
		worlds := [2]*World{}
		for i := range worlds {
			o := opts
			if i == 1 {
				o.SkipKinds = []string{kind}
			}
			w := bareNetWorld(o)
			w.cut[1][2] = true
			for k := range 8 {
				w.remember(1, 0, []byte{byte(k)})
			}
			for k := range 3000 {
				w.send(k%2, 1+k%2, []byte{byte(k), byte(k >> 8)})
			}
			worlds[i] = w
		}
		a, b := worlds[0], worlds[1]
		if b.stats.FaultsSkipped == 0 {
			t.Fatalf("%s: nothing skipped: the test drives no such fault", kind)
		}
		if a.faultSched.seq != b.faultSched.seq {
			t.Errorf("%s skipped: %d fault decisions, %d without skipping", kind, b.faultSched.seq, a.faultSched.seq)
		}
		if x, y := a.net.rng.Uint64(), b.net.rng.Uint64(); x != y {
			t.Errorf("%s skipped: the network's stream moved (next draw %x, %x without skipping)", kind, y, x)
		}
		if x, y := a.rng.Uint64(), b.rng.Uint64(); x != y {
			t.Errorf("%s skipped: the world's stream moved (next draw %x, %x without skipping)", kind, y, x)
		}
	}
}

// TestHeldMessagesLeaveOnTime: a held message whose time comes before
// that of one held earlier is set free at its own time, not at the
// earlier one's.
func TestHeldMessagesLeaveOnTime(t *testing.T) {
	for seed := uint64(1); seed <= 20; seed++ {
		w := bareNetWorld(Options{Seed: seed})
		timeout := func() holdDraw { d := w.drawHold(); d.on = releaseTimeout; return d }
		w.hold(0, 1, []byte("first"), timeout())
		first := w.net.held[0].until
		var early time.Duration
		for k := 0; early == 0 && k < 100; k++ {
			w.hold(0, 1, []byte("next"), timeout())
			if u := w.net.held[len(w.net.held)-1].until; u < first-2*w.opts.Tick {
				early = u
			}
		}
		if early == 0 {
			continue
		}
		w.runUntil(early + w.opts.Tick)
		if w.stats.ReleasedAfterTimeout == 0 {
			t.Fatalf("seed %d: a message held until %s was still held at %s (the first one held waits until %s)", seed, early, w.now, first)
		}
		return
	}
	t.Fatal("no seed held a message due before the first one held")
}
