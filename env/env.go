// Package env is the seam between a Seshat node and the world outside its
// memory. A node draws randomness, sends peer messages, touches the disk,
// hands off long work and logs only through these interfaces, so the same node
// code runs over real TCP and Pebble on disk (package realenv) and over
// the seeded, breakable in-memory world of package sim.
//
// The host that owns a node has three duties, in this order of importance:
//
//  1. Call into the node from one goroutine at a time. The node is not safe
//     for concurrent use and never starts a goroutine of its own.
//  2. Call Node.Tick once every tick interval of the host's clock.
//     Ticks are the node's only notion of elapsing time: raft elections,
//     heartbeats and request deadlines all count them. The node reads no
//     clock at all; a host's skew and drift show only as its tick rate.
//  3. Deliver every peer message handed to the node's Transport, or drop
//     it. Raft tolerates loss, duplication and reordering; it does not
//     tolerate a message that is altered in flight.
package env

import (
	"github.com/cockroachdb/pebble/v2/vfs"
)

// Env bundles what one node may use of the outside world. Every field is
// required but Clock.
type Env struct {
	Rand      Rand
	Transport Transport
	FS        vfs.FS
	Log       Logger
	Work      Worker
	Clock     Clock // nil: the cluster time starts at the Unix epoch
}

// Clock is the host's wall clock. A node reads it for one thing only: to
// anchor the cluster time of a new cluster (the first leader's first
// stamp). From then on the cluster time moves by ticks alone, so a clock
// that jumps or drifts later cannot make a key expire early.
//
// Contract: never blocks; may jump either way.
type Clock interface {
	// UnixMilli returns the wall time in milliseconds since the Unix epoch.
	UnixMilli() int64
}

// Rand is the only source of randomness a node may use.
//
// Contract: in the simulator it is seeded, so a seed replays the same draws;
// in production it is seeded from the operating system. Never blocks.
type Rand interface {
	// Uint64 returns a uniformly distributed 64-bit value.
	Uint64() uint64
}

// Transport carries peer messages, as opaque bytes, to other nodes.
//
// Contract: Send never blocks and never fails loudly. It may drop, delay,
// duplicate or reorder a message: the caller (raft) recovers from all four.
// The Transport owns msg after the call; the caller must not reuse it.
// Delivery in the other direction is the host's job: it calls Node.Step
// with the bytes that arrived.
type Transport interface {
	Send(to uint64, msg []byte)
}

// PeerDirectory is a Transport that must be told the address of a member
// added after it started (realenv's, which dials addresses; the
// simulator's network reaches every node by id). The node tells it each
// member's replicated address as it learns it.
type PeerDirectory interface {
	AddPeer(id uint64, addr string)
}

// Worker runs work that must not hold up the node's event goroutine: a
// long read served from a pinned snapshot, one bounded chunk at a time.
//
// Contract: Run never blocks and never runs job before it returns. It
// runs job later, exactly once, unless the process ends first. Production
// runs jobs on a small pool of goroutines, concurrently with the node and
// with each other; the simulator runs each as an event of its own, so a
// seed replays them exactly. A job therefore never touches the node's
// state: only what was handed to it (a snapshot, a done callback). A job
// may call Run again to queue its next chunk behind work already waiting.
type Worker interface {
	Run(job func())
}

// Logger receives a node's structured log lines.
//
// Contract: never blocks for long and never fails. Keys are strings and
// are followed by their values, as in log/slog.
type Logger interface {
	Debug(msg string, keyvals ...any)
	Info(msg string, keyvals ...any)
	Warn(msg string, keyvals ...any)
	Error(msg string, keyvals ...any)
}

// DebugLogger is a Logger that tells whether it keeps Debug lines, so a
// caller skips building lines it would drop: raft formats a debug line
// for many of the messages it handles. A Logger without it is taken to
// keep them.
type DebugLogger interface {
	Logger
	DebugEnabled() bool
}
