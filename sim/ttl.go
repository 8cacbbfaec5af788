package sim

import (
	"fmt"
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
}

type ttlSet struct {
	ret   time.Duration
	ttl   time.Duration
	epoch int
}

// lease is a lock as its holder sees it: from the reply that granted it
// until its call plus the TTL (after that, the holder must assume it
// lost it).
type lease struct {
	client     int
	from, till time.Duration
	token      string
}

func (t *ttlWorld) init(seed uint64) {
	t.rng = rand.New(rand.NewPCG(seed, 0x7717))
	t.sets = map[string]ttlSet{}
	t.holds = map[string][]lease{}
}

const (
	ttlLocks            = 2
	scenarioDriftMaxPPM = 50000
)

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
		// Never early, up to the tick rate's drift: a leader whose clock
		// runs fast counts time fast. The clock-skew scenario drifts a
		// clock by up to 5%, the swarm by up to DriftMaxPPM; and a
		// millisecond for rounding.
		drift := int64(max(w.opts.DriftMaxPPM, scenarioDriftMaxPPM))
		out.SureFor = int64(ttl) - int64(ttl)*drift/1e6 - int64(time.Millisecond)
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
		t.sets[in.Value] = ttlSet{ret: w.now, ttl: time.Duration(in.TTL), epoch: w.starts}
	case in.Cmd == "get" && !out.Nil:
		set, ok := t.sets[out.Value]
		if ok && set.epoch == w.starts {
			if late := p.call - set.ret - set.ttl; late > w.stats.ExpiryLateMax {
				w.stats.ExpiryLateMax = late
			}
		}
	}
	if in.Cmd != "setnxpx" || out.Nil {
		return
	}
	w.stats.LocksTaken++
	got := lease{client: c.id, from: w.now, till: p.call + time.Duration(in.SureFor), token: in.Value}
	for _, h := range t.holds[in.Key] {
		if max(h.from, got.from) < min(h.till, got.till) {
			w.fail(classSafety, "two clients held lock %s at once: client %d (token %s) from %s to %s, client %d (token %s) from %s to %s",
				in.Key, h.client, h.token, h.from, h.till, got.client, got.token, got.from, got.till)
			return
		}
	}
	t.holds[in.Key] = append(t.holds[in.Key], got)
}
