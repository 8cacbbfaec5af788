package realenv

import (
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/seshat-db/seshat/kv"
	"github.com/seshat-db/seshat/node"
)

// ErrShuttingDown answers client operations that arrive after Close began.
var ErrShuttingDown = kv.ErrShuttingDown

// HostConfig tunes a Host. Zero fields take defaults.
type HostConfig struct {
	TickInterval   time.Duration // how often the node ticks; node.TickInterval (10 ms)
	EventsQueueMax int           // events waiting for the host goroutine; 8192
	BatchEventsMax int           // events handled before one Process (group commit); 1024
	Log            *slog.Logger
	// Hooks for metrics; each may be nil. They must not block. OnProcess
	// runs on the host goroutine; OnOpDone also on worker goroutines (a
	// long read's answer), so it must be safe for concurrent use.
	OnOpDone  func(kind kv.Kind, took time.Duration, err error)
	OnProcess func(took time.Duration)

	// RequestTimeout, if set, is the node's request timeout on the wall
	// clock: a request still unanswered a little after it is answered by
	// the host itself, even when the node is stuck (watchdog.go).
	RequestTimeout time.Duration
	StallAfter     time.Duration // the host goroutine stuck this long makes Health fail; 5 s
	CloseTimeout   time.Duration // Close gives up waiting on a stuck host goroutine after this; 5 s
	// Clock, if set, sets the tick rate: a clock that runs fast ticks
	// faster (test-only clock drift; see Clock).
	Clock *Clock
}

// Host is the one goroutine that owns a node.Node. Every event (a peer
// message, a tick, a client op, shutdown) reaches the node through it, in
// turn; after each drained batch it calls Process once, so many client
// writes share one synced Pebble batch (group commit). The batch itself is
// node.Driver's, which the simulator runs too; the host adds the
// goroutine, the channel, the ticker and the wall-clock metrics.
type Host struct {
	cfg    HostConfig
	n      *node.Node
	driver *node.Driver // owned by the host goroutine
	events chan node.Event
	calls  chan func(*node.Node) // Call's functions, run between batches
	quit   chan struct{}
	done   chan struct{}
	once   sync.Once

	status   atomic.Pointer[node.Status]
	failed   atomic.Pointer[error]
	dropped  atomic.Uint64
	longest  atomic.Int64 // ns: the longest batch since TakeLongestBatch
	closeErr error

	lastBeat          atomic.Int64 // unix ns of the host goroutine's last loop
	expiredByWatchdog atomic.Uint64
}

// NewHost starts the goroutine that owns n. n must not be touched by
// anyone else from now on.
func NewHost(n *node.Node, cfg HostConfig) *Host {
	if cfg.TickInterval <= 0 {
		cfg.TickInterval = node.TickInterval
	}
	if cfg.EventsQueueMax <= 0 {
		cfg.EventsQueueMax = 8192
	}
	if cfg.BatchEventsMax <= 0 {
		cfg.BatchEventsMax = 1024
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.StallAfter <= 0 {
		cfg.StallAfter = defaultStallAfter
	}
	if cfg.CloseTimeout <= 0 {
		cfg.CloseTimeout = defaultCloseTimeout
	}
	h := &Host{
		cfg:    cfg,
		n:      n,
		driver: node.NewDriver(n, 1+cfg.BatchEventsMax),
		events: make(chan node.Event, cfg.EventsQueueMax),
		calls:  make(chan func(*node.Node)),
		quit:   make(chan struct{}),
		done:   make(chan struct{}),
	}
	h.driver.OnStepError = func(err error) {
		if h.Failed() == nil {
			h.cfg.Log.Debug("peer message refused", "err", err)
		}
	}
	h.driver.AroundProcess = func(process func() error) error {
		start := time.Now()
		err := process()
		if h.cfg.OnProcess != nil {
			h.cfg.OnProcess(time.Since(start))
		}
		return err
	}
	st := n.Status()
	h.status.Store(&st)
	h.beat()
	go h.run()
	return h
}

// Deliver hands the host a message that arrived from peer from (the id
// its connection authenticated). It never blocks: when the queue is full
// the message is dropped, which raft tolerates, rather than stall the
// transport's reader.
func (h *Host) Deliver(from uint64, msg []byte) {
	select {
	case h.events <- node.Event{Kind: node.EventPeer, From: from, Msg: msg}:
	default:
		h.dropped.Add(1)
	}
}

// Submit posts a group of client operations (node.Node.Submit's) to the
// host goroutine; done is called exactly once, on the host goroutine or
// (for a long read) on one of the env's worker goroutines, so it must not
// block. Submit itself never blocks (resp.Backend's contract): when the
// queue is full the group is refused at once with node.ErrBusy, and once
// the host is closing with ErrShuttingDown. Neither happened, so a client
// may retry.
func (h *Host) Submit(ops []kv.Op, done func([]kv.Result)) {
	select {
	case <-h.quit:
		done(errResults(len(ops), ErrShuttingDown))
		return
	default:
	}
	done = h.withDeadline(ops, done)
	select {
	case h.events <- node.Event{Kind: node.EventOps, Ops: ops, Done: h.timed(ops, done)}:
	default:
		done(errResults(len(ops), node.ErrBusy))
	}
}

func errResults(n int, err error) []kv.Result {
	res := make([]kv.Result, n)
	for i := range res {
		res[i].Err = err
	}
	return res
}

// Status returns the node's view as of the end of the last batch. Safe
// from any goroutine.
func (h *Host) Status() node.Status { return *h.status.Load() }

// Failed returns the error that fail-stopped the node, or nil.
func (h *Host) Failed() error {
	if p := h.failed.Load(); p != nil {
		return *p
	}
	return nil
}

// DroppedPeerMessages counts inbound peer messages dropped on a full queue.
func (h *Host) DroppedPeerMessages() uint64 { return h.dropped.Load() }

// Close stops the host goroutine, answers every queued client op with
// ErrShuttingDown, and closes the node. Requests still inside the node
// get no answer (node.Close drops them), so callers close client
// connections first. If the host goroutine or the store's Close is stuck
// (in storage, say under a long read's chunk) Close
// gives up after CloseTimeout without closing the store: the process can
// exit, and what was synced is on disk.
func (h *Host) Close() error {
	h.once.Do(func() {
		close(h.quit)
		// One bound for both waits: node.Close waits for a long read's
		// chunk (on a worker goroutine, not the host's) and for Pebble,
		// either of which a stuck disk can hold forever.
		deadline := time.NewTimer(h.cfg.CloseTimeout)
		defer deadline.Stop()
		select {
		case <-h.done:
		case <-deadline.C:
			h.closeErr = fmt.Errorf("realenv: the node did not stop within %s (blocked in storage?); leaving its store open", h.cfg.CloseTimeout)
			return
		}
		closed := make(chan error, 1)
		go func() { closed <- h.n.Close() }()
		select {
		case h.closeErr = <-closed:
		case <-deadline.C:
			h.closeErr = fmt.Errorf("realenv: the node's store did not close within %s (a read or write blocked in storage?); leaving it open", h.cfg.CloseTimeout)
		}
	})
	return h.closeErr
}

func (h *Host) run() {
	defer close(h.done)
	period := h.cfg.Clock.Period(h.cfg.TickInterval)
	ticker := time.NewTicker(period)
	defer ticker.Stop()
	for {
		h.beat()
		// Block for the first event of a batch ...
		var start time.Time
		select {
		case <-h.quit:
			h.drainOnQuit()
			return
		case <-ticker.C:
			start = time.Now()
			h.driver.Post(node.Event{Kind: node.EventTick})
			if p := h.cfg.Clock.Period(h.cfg.TickInterval); p != period {
				period = p
				ticker.Reset(period)
			}
		case ev := <-h.events:
			start = time.Now()
			h.driver.Post(ev)
		case call := <-h.calls:
			// Between batches: the node is at rest, its last batch
			// processed, nothing half done.
			call(h.n)
			continue
		}
		// ... then take whatever else is already queued, up to a bound,
		// so one Process (one fsync) serves the whole batch.
	drain:
		for !h.driver.Full() {
			select {
			case ev := <-h.events:
				h.driver.Post(ev)
			default:
				break drain
			}
		}
		h.runBatch()
		if took := int64(time.Since(start)); took > h.longest.Load() {
			h.longest.Store(took) // only this goroutine stores but for the reset
		}
	}
}

// TakeLongestBatch returns the longest time one batch (events handled,
// then Process) held the host goroutine since the last call, and starts
// over. No tick runs while a batch does: it bounds how late a tick can be.
func (h *Host) TakeLongestBatch() time.Duration { return time.Duration(h.longest.Swap(0)) }

// timed wraps done to report each op's time from now to its answer.
func (h *Host) timed(ops []kv.Op, done func([]kv.Result)) func([]kv.Result) {
	if h.cfg.OnOpDone == nil {
		return done
	}
	start := time.Now()
	return func(res []kv.Result) {
		took := time.Since(start)
		for i := range res {
			h.cfg.OnOpDone(ops[i].Kind, took, res[i].Err)
		}
		done(res)
	}
}

// runBatch hands the node the batch and processes once.
func (h *Host) runBatch() {
	_, err := h.driver.RunBatch()
	// The status goes out before the failure: a reader that sees the
	// failure (Health) then asks why (Status().StopReason) must find the
	// reason, not the status of the batch before. /health once answered
	// "node stopped ()" in that gap.
	st := h.n.Status()
	h.status.Store(&st)
	if err != nil && h.Failed() == nil {
		// Fail-stop: the node answers every later request with an
		// error; the process stays up so operators can see why.
		h.failed.Store(&err)
		h.cfg.Log.Error("node fail-stopped; answering clients with errors until restarted", "reason", h.n.StopReason(), "err", err)
	}
}

// drainOnQuit answers the client ops still queued, so no connection waits
// for a reply that will never come.
func (h *Host) drainOnQuit() {
	for {
		select {
		case ev := <-h.events:
			if ev.Kind == node.EventOps {
				ev.Done(errResults(len(ev.Ops), ErrShuttingDown))
			}
		default:
			return
		}
	}
}
