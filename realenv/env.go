package realenv

import (
	"context"
	crand "crypto/rand"
	"log/slog"
	"math/rand/v2"
	"sync"

	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/seshat-db/seshat/env"
)

// New returns the production env.Env of one node: OS-seeded
// randomness, the given transport, filesystem and logger, and a worker
// pool of ReadWorkers goroutines for long reads.
func New(tr env.Transport, log *slog.Logger, fs vfs.FS) env.Env {
	return env.Env{
		Rand:      NewRand(),
		Transport: tr,
		FS:        fs,
		Log:       Logger{L: log},
		Work:      NewWorkers(ReadWorkers),
		Clock:     wallClock{},
	}
}

// wallClock is env.Clock over the host's clock; a test-only offset
// (Clock.Set) is applied where the app passes it in (WithClock).
type wallClock struct{ c *Clock }

// UnixMilli implements env.Clock.UnixMilli.
func (w wallClock) UnixMilli() int64 { return w.c.Now().UnixMilli() }

// WithClock returns e with its wall clock read through c (a test-only
// skewed clock), so the anchor of a new cluster's time follows it.
func WithClock(e env.Env, c *Clock) env.Env {
	e.Clock = wallClock{c}
	return e
}

// ReadWorkers is how many goroutines serve a node's long reads at once:
// two keep a core for the event goroutine and the socket server on a
// small machine, and still read two long commands in parallel.
const ReadWorkers = 2

// Rand is a ChaCha8 stream seeded from crypto/rand. It is safe for
// concurrent use, although a node only draws from its host goroutine.
type Rand struct {
	mu sync.Mutex
	r  *rand.Rand
}

var _ env.Rand = (*Rand)(nil)

// NewRand seeds a new stream from the operating system.
func NewRand() *Rand {
	var seed [32]byte
	// crypto/rand.Read never fails on the platforms Go supports (it
	// crashes the program itself if the OS source is broken).
	_, _ = crand.Read(seed[:])
	return &Rand{r: rand.New(rand.NewChaCha8(seed))}
}

// Uint64 implements env.Rand.Uint64.
func (r *Rand) Uint64() uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.r.Uint64()
}

// Logger adapts a *slog.Logger to env.Logger.
type Logger struct{ L *slog.Logger }

var _ env.DebugLogger = Logger{}

// DebugEnabled implements env.DebugLogger.DebugEnabled.
func (l Logger) DebugEnabled() bool { return l.L.Enabled(context.Background(), slog.LevelDebug) }

// Debug implements env.Logger.Debug.
func (l Logger) Debug(msg string, kv ...any) { l.L.Debug(msg, kv...) }

// Info implements env.Logger.Info.
func (l Logger) Info(msg string, kv ...any) { l.L.Info(msg, kv...) }

// Warn implements env.Logger.Warn.
func (l Logger) Warn(msg string, kv ...any) { l.L.Warn(msg, kv...) }

// Error implements env.Logger.Error.
func (l Logger) Error(msg string, kv ...any) { l.L.Error(msg, kv...) }
