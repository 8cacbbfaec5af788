package sim

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"time"
)

// The TTL workload: a share of client commands (Options.TTLPercent) set
// keys of their own with SET PX, read them, and take locks with SET NX PX
// on lock keys, which are released by expiry only: Seshat has no atomic
// compare-and-delete (a GET then DEL is not atomic, and GETDEL deletes
// whoever's token it finds), so a lease that runs out is the only release
// that cannot free another client's lock. The porcupine model judges the
// expiry windows (chaos/kvmodel); this file adds the lock check (no two
// clients hold one lock at once) and measures how late keys expire.
//
// Its choices come from a random stream of its own, drawn after the
// command the seed would have sent anyway, so a seed's faults and other
// commands stay what they were.
type ttlWorld struct {
	rng    *rand.Rand
	sets   map[string]ttlSet // by value: the SET PX that wrote it
	holds  map[string][]lease
	tokens int
	// driftPPM is the fastest any node's ticks ran in this run, in parts
	// per million (0 when no clock runs fast): never early holds up to
	// it, so the expiry windows and leases are judged at the end of the
	// run, when it is known (sureFor).
	driftPPM int
}

type ttlSet struct {
	ret  time.Duration
	ttl  time.Duration
	down time.Duration // the nodes' downtime at the set's return
}

// lease is a lock as its holder sees it: from the reply that granted it
// until its call plus the TTL (after that, the holder must assume it
// lost it), less the drift (till, at the end of the run).
type lease struct {
	client     int
	from, call time.Duration
	ttl        time.Duration
	token      string
}

func (t *ttlWorld) init(seed uint64) {
	t.rng = rand.New(rand.NewPCG(seed, 0x7717))
	t.sets = map[string]ttlSet{}
	t.holds = map[string][]lease{}
}

const ttlLocks = 2

// noteDrift records a node's tick rate: drift > 0 runs fast.
func (t *ttlWorld) noteDrift(drift float64) {
	t.driftPPM = max(t.driftPPM, int(math.Ceil(drift*1e6)))
}

// sureFor is how long after its call a SET PX of ttl surely holds: never
// early, up to the tick rate's drift. A node whose ticks run fast by p
// counts ttl in ttl/(1+p) >= ttl(1-p) of real time; a microsecond covers
// the nanoseconds a fast tick period loses to rounding. No tick is taken
// off: a stamp is the cluster time as of the tick the leader is in and
// the call came later in that tick, which keys make up for by living a
// tick past their deadline (kv.ExpirySlackMillis; without it compaction
// seed 27 saw a key gone 1.6 ms early, and TestR6NeverEarlyTick 5 ms).
// The drift is the run's own, so a run without drift sees any error.
func (t *ttlWorld) sureFor(ttl, _ time.Duration) time.Duration {
	return ttl - ttl*time.Duration(t.driftPPM)/1e6 - time.Microsecond
}

// lateBound is how long past its TTL (counted from the set's return) a
// key may still be read: a leader looks for due keys every 100 ms and an
// election takes up to twice the election timeout; a second covers the
// commit and the reads in flight (CHASSIS.md, "Key expiry").
func (w *World) lateBound() time.Duration {
	return 2*time.Duration(w.opts.ElectionTicks)*w.opts.Tick + time.Second
}

// maybeOp replaces in with a TTL command in TTLPercent of the draws.
func (t *ttlWorld) maybeOp(c *client, in opInput) (opInput, [][]byte, bool) {
	w := c.w
	if w.opts.TTLPercent <= 0 || t.rng.IntN(100) >= w.opts.TTLPercent {
		return in, nil, false
	}
	// Keys of their own, and many: a key whose expiry window is open
	// lets porcupine take either outcome for every read in it, so few
	// keys with many reads each make the check exponential (swarm seed
	// 18 ran it out of memory with Keys/2 keys).
	keys := max(8, w.opts.Keys*4)
	out := opInput{Conn: in.Conn, Seq: in.Seq, Key: fmt.Sprintf("t%d", t.rng.IntN(keys))}
	ttl := time.Duration(50+t.rng.IntN(2950)) * time.Millisecond
	switch r := t.rng.IntN(100); {
	case r < 35:
		out.Cmd = "setpx"
	case r < 70:
		out.Cmd = "get"
	case r < 80:
		out.Cmd = "exists"
	case r < 85:
		out.Cmd = "pttl"
	case r < 90:
		out.Cmd = "del"
	default:
		out.Cmd = "setnxpx"
		out.Key = fmt.Sprintf("lock%d", t.rng.IntN(ttlLocks))
	}
	args := [][]byte{[]byte(out.Cmd), []byte(out.Key)}
	if out.Cmd == "setpx" || out.Cmd == "setnxpx" {
		t.tokens++
		out.Value = fmt.Sprintf("x%d.%d", c.id, t.tokens)
		out.TTL = int64(ttl)
		// SureFor is set at the end of the run (judgeWindows), once the
		// run's drift is known.
		out.SureFor = int64(ttl)
		out.GoneAfter = int64(ttl + w.lateBound())
		ms := []byte(strconv.FormatInt(ttl.Milliseconds(), 10))
		args = [][]byte{[]byte("SET"), []byte(out.Key), []byte(out.Value)}
		if out.Cmd == "setnxpx" {
			args = append(args, []byte("NX"))
		}
		args = append(args, []byte("PX"), ms)
	}
	return out, args, true
}

// observe checks and measures a TTL command that returned.
func (t *ttlWorld) observe(c *client, p *pendingOp, out opOutput) {
	w := c.w
	in := p.in
	switch {
	case in.Cmd == "setpx" || in.Cmd == "setnxpx" && !out.Nil:
		t.sets[in.Value] = ttlSet{ret: w.now, ttl: time.Duration(in.TTL), down: w.down.now()}
	case in.Cmd == "get" && !out.Nil:
		// Late past the TTL, less the time nodes spent down meanwhile
		// (which the late bound allows on top).
		set, ok := t.sets[out.Value]
		if ok {
			if late := p.call - set.ret - set.ttl - (w.down.now() - set.down); late > w.stats.ExpiryLateMax {
				w.stats.ExpiryLateMax = late
			}
		}
	}
	if in.Cmd != "setnxpx" || out.Nil {
		return
	}
	w.stats.LocksTaken++
	t.holds[in.Key] = append(t.holds[in.Key], lease{client: c.id, from: w.now, call: p.call, ttl: time.Duration(in.TTL), token: in.Value})
}

// judgeWindows runs at the end of the run, before the linearizability
// check: it sets each SET PX's window (kvmodel.Input.SureFor) for the
// drift the run had, and fails the run if two clients' leases on one lock
// overlapped.
func (t *ttlWorld) judgeWindows(w *World) {
	for i, op := range w.hist.ops {
		in, ok := op.Input.(opInput)
		if ok && (in.Cmd == "setpx" || in.Cmd == "setnxpx") {
			in.SureFor = int64(t.sureFor(time.Duration(in.TTL), w.opts.Tick))
			w.hist.ops[i].Input = in
		}
	}
	for l := range ttlLocks {
		key := fmt.Sprintf("lock%d", l)
		held := t.holds[key]
		for i, got := range held {
			gotTill := got.call + t.sureFor(got.ttl, w.opts.Tick)
			for _, h := range held[:i] {
				till := h.call + t.sureFor(h.ttl, w.opts.Tick)
				if max(h.from, got.from) < min(till, gotTill) {
					w.fail(classSafety, "two clients held lock %s at once: client %d (token %s) from %s to %s, client %d (token %s) from %s to %s",
						key, h.client, h.token, h.from, till, got.client, got.token, got.from, gotTill)
					return
				}
			}
		}
	}
}
