package sim

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/seshat-db/seshat/resp"
)

// The SCAN workload: one scanner walks the keyspace with SCAN while the
// clients write, each call to a node drawn at random (so a cursor one
// node handed out is resumed on another, across leader changes and
// crashes), and checks SCAN's guarantee: a key present from a scan's
// first call to its last reply is returned by one of its calls. The keys
// it holds to that are its own, written once (MSET, retried until
// acknowledged) and never deleted, so they are present throughout every
// scan that starts after; the clients' keys come and go around them.
//
// Its choices come from a random stream of its own, so a seed's faults
// and client commands stay what they were.
type scanner struct {
	w       *World
	rng     *rand.Rand
	stable  []string
	ready   bool // the stable keys are acknowledged
	stopped bool
	gen     int // the call in flight: a reply or timeout of another is ignored
	cursor  uint64
	seen    map[string]bool
	start   time.Duration // when this scan's first call was sent
	calls   int
}

const (
	scanStableKeys = 12
	scanTimeout    = 3 * time.Second
	// scanExtra tells the scanner's events from the clients' in the run's
	// hash.
	scanExtra = 1 << 32
)

func (w *World) startScanner(after time.Duration) {
	if w.scan != nil || w.opts.NoScan {
		return
	}
	w.scan = &scanner{w: w, rng: rand.New(rand.NewPCG(w.opts.Seed, 0x5ca4))}
	for i := range scanStableKeys {
		w.scan.stable = append(w.scan.stable, fmt.Sprintf("scan.%d", i))
	}
	w.scan.later(after)
}

func (sc *scanner) later(d time.Duration) {
	sc.w.schedule(d, evClientOp, -1, scanExtra, sc.step)
}

// send sends args to a node drawn at random, and calls got with the
// reply, or retries the step after scanTimeout if none comes.
func (sc *scanner) send(args [][]byte, got func(resp.Reply)) {
	w := sc.w
	if sc.stopped {
		return
	}
	s := w.nodes[sc.rng.IntN(len(w.nodes))]
	if !s.up() {
		sc.later(10 * time.Millisecond)
		return
	}
	sc.gen++
	gen := sc.gen
	w.schedule(scanTimeout, evClientTimeout, -1, scanExtra, func() {
		if sc.gen == gen {
			sc.gen++
			sc.step()
		}
	})
	executeOne(s, args, func(b []byte) {
		if sc.gen != gen {
			return
		}
		sc.gen++
		r, _, err := resp.ParseReply(b)
		if err != nil {
			w.fail(classSafety, "scanner: malformed reply %q to %q: %v", b, args, err)
			return
		}
		if w.keepTrace {
			w.tracef("%s scanner via n%d: %q -> %s", w.now, s.idx+1, args, b)
		}
		if r.Kind == resp.KindError {
			sc.later(time.Duration(1+sc.rng.IntN(50)) * time.Millisecond)
			return
		}
		got(r)
	})
}

// step sends the scanner's next command: the MSET of its keys until one
// is acknowledged, then SCAN calls.
func (sc *scanner) step() {
	if !sc.ready {
		args := [][]byte{[]byte("mset")}
		for _, k := range sc.stable {
			args = append(args, []byte(k), []byte("v"))
		}
		sc.send(args, func(resp.Reply) {
			sc.ready = true
			sc.later(time.Millisecond)
		})
		return
	}
	if sc.calls == 0 && sc.cursor == 0 {
		sc.seen = map[string]bool{}
		sc.start = sc.w.now
	}
	count := 1 + sc.rng.IntN(8)
	args := [][]byte{[]byte("scan"), []byte(strconv.FormatUint(sc.cursor, 10)), []byte("count"), []byte(strconv.Itoa(count))}
	sc.send(args, sc.scanned)
}

func (sc *scanner) scanned(r resp.Reply) {
	w := sc.w
	if r.Kind != resp.KindArray || len(r.Array) != 2 || r.Array[1].Kind != resp.KindArray {
		w.fail(classSafety, "scanner: SCAN replied %v", r)
		return
	}
	next, err := strconv.ParseUint(r.Array[0].Str, 10, 64)
	if err != nil {
		w.fail(classSafety, "scanner: SCAN's cursor %q: %v", r.Array[0].Str, err)
		return
	}
	for _, k := range r.Array[1].Array {
		sc.seen[k.Str] = true
	}
	sc.calls++
	sc.cursor = next
	if next != 0 {
		sc.later(time.Duration(sc.rng.IntN(20)) * time.Millisecond)
		return
	}
	for _, k := range sc.stable {
		if !sc.seen[k] {
			w.fail(classSafety, "SCAN from %s to %s (%d calls) never returned %q, present throughout", sc.start, w.now, sc.calls, k)
			return
		}
	}
	w.stats.Scans++
	sc.calls = 0
	sc.later(time.Duration(1+sc.rng.IntN(200)) * time.Millisecond)
}
