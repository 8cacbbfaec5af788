package chaos

import (
	"math/rand/v2"
	"time"

	"github.com/seshat-db/seshat/node"
)

// ID names a node of the cluster: 1..n, as raft numbers them.
type ID = uint64

// AllNodes, given as a link end to SetLatency, means every node.
const AllNodes ID = 0

// Cluster is a running Seshat cluster that a scenario can break. The
// simulator implements it over virtual time; a real-process runner over
// wall time. Every method is called from the scenario's one goroutine.
//
// Time only moves inside RunFor and Do: a scenario that does not call them
// sees a frozen cluster (in the simulator) or races it (for real), so
// scenarios read state right after they changed it only through waits.
type Cluster interface {
	// Nodes lists the node ids, in order.
	Nodes() []ID
	// Rand is the scenario's own seeded source for its choices (which node
	// to kill, which way to cut): a seed replays them too.
	Rand() *rand.Rand
	// Logf notes a line in the run's trace.
	Logf(format string, args ...any)

	// Kill crashes a node: its process dies at once and its disk keeps only
	// what was synced. Clients connected to it lose their connection.
	Kill(id ID)
	// Restart starts a killed node again over what its disk kept.
	Restart(id ID)
	// Wipe erases a killed node's disk, as a disk replacement would: its
	// next Restart finds an empty data directory.
	Wipe(id ID)
	// Up says whether a node's process is running.
	Up(id ID) bool

	// Partition cuts the network into groups that cannot reach each
	// other, both ways; nodes named in no group form one more group. It
	// replaces any earlier cut.
	Partition(groups ...[]ID)
	// Cut drops every message from one node to another, one way, on top
	// of the cuts already in place.
	Cut(from, to ID)
	// Isolate cuts one node off from every other, both ways.
	Isolate(id ID)
	// Heal lifts every cut.
	Heal()
	// SetLatency sets the one-way delay of the link from -> to; AllNodes
	// for either end means every node. Heal does not reset it.
	SetLatency(from, to ID, d time.Duration)
	// SetLoss loses percent of the packets on the link from -> to (AllNodes
	// as for SetLatency): messages in the simulator, whose raft retries;
	// TCP segments between real processes, which TCP retransmits after a
	// timeout, so there they arrive late and hold up those behind them.
	// Heal does not reset it; 0 ends it.
	SetLoss(from, to ID, percent float64)
	// SkewClock moves a node's clock by d, at once.
	SkewClock(id ID, d time.Duration)
	// DriftClock makes a node's clock run fast (ppm > 0) or slow from now on.
	DriftClock(id ID, ppm int)
	// ClockOffset is how far a node's clock is from the runner's reference
	// clock now.
	ClockOffset(id ID) time.Duration

	// Now is the time since the cluster started, on the reference clock.
	Now() time.Duration
	// RunFor lets the cluster run for d.
	RunFor(d time.Duration)
	// At runs fn at time t (not before Now), while a later RunFor or Do
	// passes it. fn may change faults and read state, but must not itself
	// call RunFor, Do or Send's Wait.
	At(t time.Duration, fn func())

	// StartClients starts n more background clients: each sends a random
	// single-key command at a time to a node of its choice, moving to
	// another node when its node fails it. Their history is judged.
	StartClients(n int)
	// StopClients stops every background client after its current command.
	StopClients()
	// ClientStats counts the background clients' outcomes so far.
	ClientStats() ClientStats

	// Send starts one command (a single-key Redis command: GET, SET, INCR,
	// DEL, APPEND, SETNX, GETDEL, EXISTS, STRLEN) on a node's client port,
	// without waiting for it. Its history is judged like the clients'.
	Send(id ID, args ...string) *Call
	// Do sends a command and runs the cluster until it is answered or the
	// client gives up on it.
	Do(id ID, args ...string) Reply

	// Leader returns the running node that believes it leads the highest
	// term, if any does.
	Leader() (ID, bool)
	// Status is a running node's own view; ok is false when it is down.
	Status(id ID) (st node.Status, ok bool)
}

// MessageHolder is a Cluster whose network can hold messages back: the
// simulator's. TCP between real processes cannot be told to hold a message
// past a restart, so the scenarios that need it (SimulatorOnly) run in the
// simulator alone.
type MessageHolder interface {
	// HoldMessages, while on, makes the network hold some messages back
	// and deliver them much later (after the partition that cut them
	// heals, after their receiver restarts, after a leader change, or
	// after a long time), deliver copies of old messages again, and delay
	// a few by whole election timeouts. Turning it off stops new holding
	// (what is held still goes free) and returns what happened so far.
	HoldMessages(on bool) HeldStats
}

// LinkHolder is a Cluster whose network can hold every message of one
// link, one way, and set them free at a moment the scenario picks: the
// simulator's (the scenarios that need it are SimulatorOnly). Where
// MessageHolder holds a few messages by chance, this holds them all: a
// scenario can have every acknowledgement of a node's process outlive it.
type LinkHolder interface {
	// HoldLink, on, parks every message sent from -> to from now on
	// instead of delivering it; off, the link delivers again, and what
	// it parked stays parked until ReleaseLink. What is still parked
	// when the timeline ends is lost.
	HoldLink(from, to ID, on bool)
	// ReleaseLink delivers what the link from -> to parked, in the order
	// it was sent, each after the link's latency, and says how many.
	ReleaseLink(from, to ID) int
}

// Outcome sorts a command's reply the way the product promises them.
type Outcome int

const (
	// OK: the command happened and this is its result.
	OK Outcome = iota
	// Refused: a clear error that says it did not happen (NOQUORUM,
	// TRYAGAIN, connection refused).
	Refused
	// Unknown: it may or may not have happened (an UNKNOWN error, a
	// timeout, a connection lost while waiting).
	Unknown
)

func (o Outcome) String() string {
	return [...]string{"ok", "refused", "unknown"}[o]
}

// Reply is what a command got back.
type Reply struct {
	Outcome Outcome
	Text    string // the reply as redis-cli would print it, or why there was none
	Nil     bool   // a nil bulk reply
	Value   string // a bulk reply
	Int     int64  // an integer reply
	Took    time.Duration
	// Answered is false when no reply came at all (timeout, connection
	// lost, refused): the client gave up.
	Answered bool
}

// Call is a command on its way.
type Call struct {
	Node   ID
	Args   []string
	Sent   time.Duration
	done   bool
	reply  Reply
	waitFn func(*Call)
}

// NewCall makes a call for a runner; the runner completes it with Finish
// and, if it must do work to get the answer, waits for it in wait.
func NewCall(id ID, args []string, sent time.Duration, wait func(*Call)) *Call {
	return &Call{Node: id, Args: args, Sent: sent, waitFn: wait}
}

// Finish records the call's reply. A runner calls it once.
func (c *Call) Finish(r Reply) {
	if c.done {
		return
	}
	c.done, c.reply = true, r
}

// Done says whether the reply came (or the client gave up).
func (c *Call) Done() bool { return c.done }

// Reply returns the reply; the zero Reply while the call is not done.
func (c *Call) Reply() Reply { return c.reply }

// Wait runs the cluster until the call is done and returns its reply.
func (c *Call) Wait() Reply {
	if !c.done && c.waitFn != nil {
		c.waitFn(c)
	}
	return c.reply
}

// ClientStats counts background client commands by outcome.
type ClientStats struct {
	OK, Refused, Unknown int
}

// Sub returns the counts since an earlier reading.
func (s ClientStats) Sub(earlier ClientStats) ClientStats {
	return ClientStats{OK: s.OK - earlier.OK, Refused: s.Refused - earlier.Refused, Unknown: s.Unknown - earlier.Unknown}
}
