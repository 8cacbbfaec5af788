package sim

import "time"

// eventKind names what an event does; it is part of the run's hash.
type eventKind uint8

const (
	evTick eventKind = iota + 1
	evDeliver
	evClientOp
	evClientTimeout
	evCrash
	evRestart
	evPartition
	evHeal
	evCheck
	evLiveness
	evFaultsEnd
	evScenario
	evWork
	evClientRecv
	evBatch
	evHeld
	evOperator
)

var eventKindNames = [...]string{"", "tick", "deliver", "client-op", "client-timeout", "crash", "restart", "partition", "heal", "check", "liveness", "faults-end", "scenario", "work", "client-recv", "batch", "held", "operator"}

func (k eventKind) String() string { return eventKindNames[k] }

// event is one thing that happens at one virtual instant. Events at the
// same instant run in the order they were scheduled (seq), so the order
// never depends on anything but the seed.
type event struct {
	at    time.Duration
	seq   uint64
	kind  eventKind
	node  int    // the node it concerns, or -1
	extra uint64 // a digest of its payload, for the run's hash
	fn    func()
}

// eventQueue is a 4-ary min-heap of events by value, earliest (at, seq)
// first. container/heap over pointers cost a tenth of a run: an
// allocation per event, an interface call per comparison and a pointer
// chase per look at a parent or child. The order is the same total order,
// so a seed runs the same events.
type eventQueue []event

func (q eventQueue) Len() int { return len(q) }

func (e *event) before(o *event) bool {
	if e.at != o.at {
		return e.at < o.at
	}
	return e.seq < o.seq
}

func (q *eventQueue) push(ev event) {
	*q = append(*q, ev)
	h := *q
	i := len(h) - 1
	for i > 0 {
		parent := (i - 1) / 4
		if !ev.before(&h[parent]) {
			break
		}
		h[i] = h[parent]
		i = parent
	}
	h[i] = ev
}

// pop removes and returns the earliest event; the queue must not be empty.
func (q *eventQueue) pop() event {
	h := *q
	top := h[0]
	n := len(h) - 1
	last := h[n]
	h[n] = event{} // the closure is garbage once run
	h = h[:n]
	*q = h
	if n == 0 {
		return top
	}
	i := 0
	for {
		first := 4*i + 1
		if first >= n {
			break
		}
		least := first
		for c := first + 1; c < min(first+4, n); c++ {
			if h[c].before(&h[least]) {
				least = c
			}
		}
		if !h[least].before(&last) {
			break
		}
		h[i] = h[least]
		i = least
	}
	h[i] = last
	return top
}
