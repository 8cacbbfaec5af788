package sim

import (
	"container/heap"
	"time"
)

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
)

var eventKindNames = [...]string{"", "tick", "deliver", "client-op", "client-timeout", "crash", "restart", "partition", "heal", "check", "liveness", "faults-end", "scenario", "work", "client-recv", "batch", "held"}

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

type eventQueue []*event

func (q eventQueue) Len() int { return len(q) }
func (q eventQueue) Less(i, j int) bool {
	if q[i].at != q[j].at {
		return q[i].at < q[j].at
	}
	return q[i].seq < q[j].seq
}
func (q eventQueue) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *eventQueue) Push(x any)   { *q = append(*q, x.(*event)) }
func (q *eventQueue) Pop() any {
	old := *q
	e := old[len(old)-1]
	old[len(old)-1] = nil
	*q = old[:len(old)-1]
	return e
}

var _ heap.Interface = (*eventQueue)(nil)
