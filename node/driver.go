package node

import "github.com/seshat-db/seshat/kv"

// Driver is the deterministic half of a host loop, the same in both
// worlds: events for the node (ticks, peer messages, client groups) wait
// in its inbox, and RunBatch hands a batch of them to the node, in order,
// then calls Process once, so the writes of the whole batch share one
// synced storage batch (group commit). realenv's host goroutine posts
// what its channels and ticker bring; the simulator posts its events and
// schedules a batch, so the simulator runs group commit as production
// does.
type Driver struct {
	n        *Node
	inbox    []Event // inbox[head:] wait; the array is reused, not grown anew for every batch
	head     int
	batchMax int
	// OnStepError, if set, sees a peer message the node refused.
	OnStepError func(error)
	// AroundProcess, if set, runs the batch's Process (process), to time
	// it; it returns process's error.
	AroundProcess func(process func() error) error
}

// EventKind says what an Event brings the node.
type EventKind uint8

const (
	EventTick EventKind = iota + 1
	EventPeer
	EventOps
	EventCall // an operator's call (a membership change): Call runs with the node
)

// Event is one thing for the node to handle in a batch.
type Event struct {
	Kind EventKind
	Msg  []byte            // EventPeer: the message, as Step takes it
	From uint64            // EventPeer: the peer the transport authenticated as its sender (0: unknown)
	Ops  []kv.Op           // EventOps: a group, as Submit takes it
	Done func([]kv.Result) // EventOps: Submit's done
	Call func(*Node)       // EventCall
}

// NewDriver returns a driver for n that hands it at most batchMax events
// per Process.
func NewDriver(n *Node, batchMax int) *Driver {
	if batchMax <= 0 {
		batchMax = 1
	}
	return &Driver{n: n, batchMax: batchMax}
}

// inboxKeptMax bounds the inbox array an empty inbox keeps for the next
// batches: a larger one, grown by a burst, is let go.
const inboxKeptMax = 4096

// Post puts ev in the inbox, for the next batch.
func (d *Driver) Post(ev Event) { d.inbox = append(d.inbox, ev) }

// Pending returns how many events wait in the inbox.
func (d *Driver) Pending() int { return len(d.inbox) - d.head }

// Full reports that the inbox holds a whole batch: a host stops taking
// events and runs it.
func (d *Driver) Full() bool { return d.Pending() >= d.batchMax }

// RunBatch hands the node the inbox's first batchMax events, in order,
// then calls Process once. It returns how many events it handled and
// Process's error (the node fail-stopped).
func (d *Driver) RunBatch() (handled int, err error) {
	handled = min(d.Pending(), d.batchMax)
	// A handler may Post: that only appends, so the indexes hold.
	for i := d.head; i < d.head+handled; i++ {
		ev := d.inbox[i]
		d.inbox[i] = Event{} // its message and callbacks are garbage once handled
		d.handle(ev)
	}
	d.head += handled
	switch {
	case d.head == len(d.inbox) && cap(d.inbox) > inboxKeptMax:
		d.inbox, d.head = nil, 0 // let a burst's array go
	case d.head >= len(d.inbox)/2:
		// Move the waiting events (fewer than those handled) to the
		// front, so Post appends into the same array, not a new one.
		n := copy(d.inbox, d.inbox[d.head:])
		clear(d.inbox[n:])
		d.inbox, d.head = d.inbox[:n], 0
	}
	if d.AroundProcess != nil {
		return handled, d.AroundProcess(d.n.Process)
	}
	return handled, d.n.Process()
}

func (d *Driver) handle(ev Event) {
	switch ev.Kind {
	case EventTick:
		d.n.Tick()
	case EventPeer:
		if err := d.n.StepFrom(ev.From, ev.Msg); err != nil && d.OnStepError != nil {
			d.OnStepError(err)
		}
	case EventOps:
		d.n.Submit(ev.Ops, ev.Done)
	case EventCall:
		ev.Call(d.n)
	default:
		panic("node: unknown driver event")
	}
}
