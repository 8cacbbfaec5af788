package sim

import (
	"math/rand/v2"
	"time"

	"github.com/seshat-db/seshat/node"
)

// The network's long faults: messages held back and released much later,
// copies of old messages delivered again, and delays measured in election
// timeouts. Without them no message outlives a leader change or a restart
// (jitter tops out near 35 ms), so a protocol step that trusts "a message
// is from now" is never tested.
//
// Every choice here comes from netFaults.rng, a stream of its own derived
// from the seed, so turning these faults on leaves the draws of w.rng (and
// so the faults a seed had before) as they were up to the first message
// the long faults touch.

// releaseOn names what sets a held message free.
type releaseOn uint8

const (
	releaseHeal    releaseOn = iota // the partition that cut it heals
	releaseRestart                  // its receiver's process restarts
	releaseLeader                   // the cluster gets a new leader
	releaseTimeout                  // a long, seed-drawn time passes
)

// heldMsg is a message parked in the network.
type heldMsg struct {
	from, to int
	msg      []byte
	holdDraw
	epoch int           // releaseRestart: its receiver's process when held
	until time.Duration // every held message goes by this time at the latest
	gone  bool          // released or dropped: its timer finds nothing to do
}

// holdDraw is every random choice about one held message, drawn when the
// network decides to hold it and before the schedule may veto it, so a
// run that skips a hold (a shrink does) draws the same numbers as one
// that does not: the rest of its faults stay what they were.
type holdDraw struct {
	on     releaseOn     // what sets it free, for faultHold (others name their own)
	wait   time.Duration // how long it waits at most: 2 to 10 election timeouts
	spread time.Duration // how much later than the link's latency it arrives once free
	coin   bool          // releaseLeader: freed by the next change even if not to the new leader
	send   bool          // faultHold: the message also goes through now, and the held one is a copy
}

func (w *World) drawHold() holdDraw {
	r, et := w.net.rng, w.electionTimeout()
	return holdDraw{
		on:     []releaseOn{releaseLeader, releaseRestart, releaseTimeout}[r.IntN(3)],
		wait:   et * time.Duration(2+r.IntN(9)),
		spread: time.Duration(r.Int64N(int64(2 * et))),
		coin:   r.IntN(2) == 0,
		send:   r.IntN(2) == 0,
	}
}

// drawn draws from the network's stream whether an event of percent
// likelihood happens; the caller draws what the event needs, then asks
// allowFault.
func (w *World) drawn(percent float64) bool {
	return percent > 0 && w.net.rng.Float64()*100 < percent
}

// pastMsg is a message delivered earlier, kept to be delivered again.
type pastMsg struct {
	from, to int
	msg      []byte
}

// heldMax bounds the parked messages; past it, a message that would be
// held is lost instead, as it would be without holding.
const heldMax = 4096

// pastSlots is how many delivered messages are kept for re-delivery. A
// delivered message replaces a random slot, so the kept ones span from a
// moment ago to the run's start.
const pastSlots = 256

type netFaults struct {
	rng  *rand.Rand
	held []*heldMsg
	past []pastMsg
	// holdOn is a scenario's window of holding (chaos.MessageHolder.HoldMessages);
	// the swarm holds throughout its fault phase when the options say so.
	holdOn bool
	// echo is each node's kept ReadIndex confirmations (echo.go), drawn
	// from echoRng, a stream of its own.
	echo    []echoState
	echoRng *rand.Rand
}

func newNetFaults(seed uint64) *netFaults {
	return &netFaults{rng: rand.New(rand.NewPCG(seed, 0x4e7f4a17)), echoRng: rand.New(rand.NewPCG(seed, 0xec40))}
}

// holding says whether the long faults act now.
func (w *World) holding() bool {
	return w.now < w.opts.FaultsEnd && (w.cluster == nil || w.net.holdOn)
}

// send puts a message on the simulated network.
func (w *World) send(from, to int, msg []byte) {
	w.stats.MessagesSent++
	if to < 0 || to >= len(w.nodes) {
		w.stats.MessagesLost++
		return
	}
	if w.parks(from, to, msg) {
		return
	}
	w.echoOnAsk(from, msg)
	faulty := w.now < w.opts.FaultsEnd
	if faulty && (w.cut[from][to] || w.rng.Float64()*100 < w.opts.DropPercent && w.allowFault(faultDrop) || w.lossy(from, to)) {
		if w.cut[from][to] && w.holding() && w.drawn(w.opts.HoldCutPercent) {
			if d := w.drawHold(); w.allowFault(faultHoldCut) {
				d.on = releaseHeal
				w.hold(from, to, msg, d)
				return
			}
		}
		w.stats.MessagesLost++
		return
	}
	copies := 1
	if faulty && w.rng.Float64()*100 < w.opts.DupPercent && w.allowFault(faultDup) {
		copies = 2
	}
	heldInstead := false
	if w.holding() && w.drawn(w.opts.HoldPercent) {
		// Parked now, set free by a leader change, a restart of the
		// receiver or a long time, whichever the seed picked. Half the
		// time what is parked is a copy (as a retransmission would be)
		// and the message itself goes through: then the late one is a
		// duplicate that outlives what it was sent about.
		if d := w.drawHold(); w.allowFault(faultHold) {
			w.hold(from, to, msg, d)
			heldInstead = !d.send
		}
	}
	for i := range copies {
		delay := w.lat[from][to]
		if w.opts.LatencyJitterMax > 0 {
			jitter := time.Duration(w.rng.Int64N(int64(w.opts.LatencyJitterMax)))
			if w.allowFault(faultJitter) {
				delay += jitter
			}
		}
		if w.holding() && w.drawn(w.opts.LongDelayPercent) {
			if long := w.electionTimeout() * time.Duration(1+w.net.rng.IntN(5)); w.allowFault(faultLongDelay) {
				w.stats.LongDelays++
				delay += long
			}
		}
		if i == 0 && heldInstead {
			// Its draws made all the same, so a run that skips the
			// hold draws what this one does.
			continue
		}
		w.deliverAfter(delay, from, to, msg, sentNow)
	}
	if w.holding() && w.drawn(w.opts.RedeliverPercent) && len(w.net.past) > 0 {
		if p := w.net.past[w.net.rng.IntN(len(w.net.past))]; w.allowFault(faultRedeliver) {
			w.stats.Redelivered++
			w.deliverAfter(w.lat[p.from][p.to], p.from, p.to, p.msg, sentAgain)
		}
	}
}

// lossy draws whether a scenario's lossy link from -> to loses this
// message. The draw comes from the network's own stream, and only on a
// lossy link, so runs without loss draw as before.
func (w *World) lossy(from, to int) bool {
	p := w.loss[from][to]
	return p > 0 && w.net.rng.Float64()*100 < p
}

// electionTimeout is the nodes' base election timeout on the reference clock.
func (w *World) electionTimeout() time.Duration {
	return time.Duration(w.opts.ElectionTicks) * w.opts.Tick
}

// How a message on its way came to be there, which decides what becomes
// of it if its receiver is down or cut off when it arrives.
type delivery uint8

const (
	sentNow     delivery = iota // first sent: lost, or by chance held
	releasedNow                 // set free from holding: held again until the heal or restart
	sentAgain                   // an old copy delivered again: lost
)

// deliverAfter hands msg to node to after delay, if it is up and not cut
// off from its sender then.
func (w *World) deliverAfter(delay time.Duration, from, to int, msg []byte, how delivery) {
	m := w.newOnWire()
	m.from, m.to, m.msg, m.how = from, to, msg, how
	w.schedule(delay, evDeliver, to, digestBytes(msg), m.arrive)
}

// onWire is a message on its way. A delivery event is one per message
// sent, so the world keeps the spent ones for the next messages rather
// than make a closure per message.
type onWire struct {
	w        *World
	from, to int
	msg      []byte
	how      delivery
	arrive   func() // m.deliver, bound once
}

func (w *World) newOnWire() *onWire {
	if n := len(w.wires); n > 0 {
		m := w.wires[n-1]
		w.wires = w.wires[:n-1]
		return m
	}
	m := &onWire{w: w}
	m.arrive = m.deliver
	return m
}

// deliver is the message's arrival. It takes the message out first, so
// what it schedules may reuse m.
func (m *onWire) deliver() {
	w, from, to, msg, how := m.w, m.from, m.to, m.msg, m.how
	m.msg = nil
	w.wires = append(w.wires, m)
	dst := w.nodes[to]
	switch {
	case !dst.up():
		if d, ok := w.holdAgain(how, faultHoldDown); ok {
			d.on = releaseRestart
			w.hold(from, to, msg, d)
		}
		return
	case w.cut[from][to]:
		// A partition also loses what was on the wire, or holds it.
		if d, ok := w.holdAgain(how, faultHoldCut); ok {
			d.on = releaseHeal
			w.hold(from, to, msg, d)
			return
		}
		w.stats.MessagesLost++
		return
	}
	if w.opts.RedeliverPercent > 0 && w.net.rng.IntN(16) == 0 {
		w.remember(from, to, msg)
	}
	w.keepConfirmation(from, to, msg)
	dst.post(node.Event{Kind: node.EventPeer, From: w.nodes[from].id, Msg: msg})
}

// holdAgain says whether a message that meets a down or cut-off receiver
// is held rather than lost. A released one is held again, so a copy set
// free by a leader change still reaches the old leader, cut off as it
// usually is then, once the partition heals.
func (w *World) holdAgain(how delivery, kind string) (holdDraw, bool) {
	if !w.holding() || how == sentAgain || how == sentNow && !w.drawn(w.opts.HoldCutPercent) {
		return holdDraw{}, false
	}
	d := w.drawHold()
	return d, w.allowFault(kind)
}

// remember keeps a delivered message for re-delivery later.
func (w *World) remember(from, to int, msg []byte) {
	p := pastMsg{from: from, to: to, msg: msg}
	if len(w.net.past) < pastSlots {
		w.net.past = append(w.net.past, p)
		return
	}
	w.net.past[w.net.rng.IntN(pastSlots)] = p
}

// hold parks msg until d.on happens, or its drawn wait (2 to 10 election
// timeouts) passes, whichever comes first. Each held message has a timer
// of its own: one shared timer, set for the earliest wait when it was
// armed, would let a message held later with a shorter wait outstay it
// by up to eight election timeouts.
func (w *World) hold(from, to int, msg []byte, d holdDraw) {
	if len(w.net.held) >= heldMax {
		w.stats.MessagesLost++
		return
	}
	h := &heldMsg{from: from, to: to, msg: msg, holdDraw: d, epoch: w.nodes[to].epoch, until: w.now + d.wait}
	w.net.held = append(w.net.held, h)
	w.stats.Held++
	w.schedule(d.wait, evHeld, to, 0, func() {
		if !h.gone {
			w.release(func(x *heldMsg) bool { return x == h }, releaseTimeout)
		}
	})
}

// release delivers, a little later each, the held messages free selects,
// counted under why.
func (w *World) release(free func(*heldMsg) bool, why releaseOn) {
	kept := w.net.held[:0]
	for _, h := range w.net.held {
		if !free(h) {
			kept = append(kept, h)
			continue
		}
		switch why {
		case releaseHeal:
			w.stats.ReleasedAfterHeal++
		case releaseRestart:
			w.stats.ReleasedAfterRestart++
		case releaseLeader:
			w.stats.ReleasedAfterLeaderChange++
		default:
			w.stats.ReleasedAfterTimeout++
		}
		// Spread over two election timeouts: a restarted or healed node
		// first learns who leads, as it would before a real network's
		// backlog drained, and the late messages keep coming for a while.
		h.gone = true
		w.deliverAfter(w.lat[h.from][h.to]+h.spread, h.from, h.to, h.msg, releasedNow)
	}
	clear(w.net.held[len(kept):])
	w.net.held = kept
}

// healed releases the messages a partition cut: every cut was just lifted.
func (w *World) healed() {
	w.release(func(h *heldMsg) bool { return h.on == releaseHeal }, releaseHeal)
}

// restarted releases the messages held for node idx's next process.
func (w *World) restarted(idx int) {
	epoch := w.nodes[idx].epoch
	w.echoRestarted(idx)
	w.release(func(h *heldMsg) bool { return h.on == releaseRestart && h.to == idx && h.epoch < epoch }, releaseRestart)
}

// leaderChanged releases messages held for a leader change: every one
// addressed to the new leader, and the half of the others whose coin
// came up (the rest wait for a change to their receiver, or their time). A copy of a proposal that reaches its old
// leader leading again in a later term is the late duplicate that a
// dedup keyed on the term would apply twice; one that reaches it as a
// follower goes no further (raft forwards it, and the leader refuses a
// raft message whose sender is not the node that sent it).
func (w *World) leaderChanged(leader int) {
	w.release(func(h *heldMsg) bool {
		return h.on == releaseLeader && (h.to == leader || h.coin)
	}, releaseLeader)
}

// dropHeld loses every message still held: the liveness phase starts from
// a network that delivers what is sent, so its bound measures recovery,
// not the tail of the fault phase.
func (w *World) dropHeld() {
	w.stats.HeldDropped += len(w.net.held)
	w.stats.MessagesLost += len(w.net.held)
	for _, h := range w.net.held {
		h.gone = true
	}
	clear(w.net.held)
	w.net.held = w.net.held[:0]
	w.net.past = nil
}
