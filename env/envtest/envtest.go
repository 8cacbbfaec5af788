// Package envtest holds the test doubles of env: a seeded Rand, a FIFO
// queue of peer messages, a queue of worker jobs and loggers, each
// deterministic and driven by the test. The node tests build their
// harness from them; the simulator uses the adapters (TransportFunc,
// WorkerFunc, LogFunc) to plug its world in.
//
// Nothing here reads the wall clock or starts a goroutine: a test decides
// when a message is delivered and when a job runs.
package envtest

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/seshat-db/seshat/env"
)

// Rand is a seeded env.Rand. Keep one per node across restarts, like a
// machine's entropy, so a test replays the same draws.
type Rand struct{ R *rand.Rand }

// NewRand returns a Rand seeded with (seed, stream).
func NewRand(seed, stream uint64) Rand { return Rand{rand.New(rand.NewPCG(seed, stream))} }

// Uint64 implements env.Rand.
func (r Rand) Uint64() uint64 { return r.R.Uint64() }

// Message is one peer message in flight.
type Message struct {
	From, To uint64
	Data     []byte
}

// Queue is a FIFO transport shared by several nodes: every node sends
// into it, and the test takes messages out and delivers them (or not).
type Queue struct {
	Msgs   []Message
	OnSend func(m Message) // if set, sees each message as it is sent
}

// From returns the transport of node id: what it sends joins the queue.
func (q *Queue) From(id uint64) env.Transport { return queueSender{q, id} }

// Take removes and returns the oldest message; ok is false if none is left.
func (q *Queue) Take() (m Message, ok bool) {
	if len(q.Msgs) == 0 {
		return Message{}, false
	}
	m = q.Msgs[0]
	q.Msgs = q.Msgs[1:]
	return m, true
}

type queueSender struct {
	q    *Queue
	from uint64
}

func (s queueSender) Send(to uint64, msg []byte) {
	m := Message{From: s.from, To: to, Data: msg}
	if s.q.OnSend != nil {
		s.q.OnSend(m)
	}
	s.q.Msgs = append(s.q.Msgs, m)
}

// Jobs is an env.Worker that runs nothing until the test says so, so a
// test can put events between a long read's chunks.
type Jobs struct{ queue []func() }

// Run implements env.Worker.
func (j *Jobs) Run(job func()) { j.queue = append(j.queue, job) }

// RunAll runs the queued jobs, and the jobs they queue, until none is
// left, and returns how many ran.
func (j *Jobs) RunAll() int {
	ran := 0
	for len(j.queue) > 0 {
		job := j.queue[0]
		j.queue = j.queue[1:]
		job()
		ran++
	}
	return ran
}

// RunOne runs the oldest queued job, if any, and reports whether one ran.
func (j *Jobs) RunOne() bool {
	if len(j.queue) == 0 {
		return false
	}
	job := j.queue[0]
	j.queue = j.queue[1:]
	job()
	return true
}

// Pending reports how many jobs wait.
func (j *Jobs) Pending() int { return len(j.queue) }

// QuietLog drops log lines but fails the test on an error line, unless
// *ErrorsExpected is true (a test that breaks a disk on purpose).
type QuietLog struct {
	T              testing.TB
	ErrorsExpected *bool
}

func (QuietLog) Debug(string, ...any) {}
func (QuietLog) Info(string, ...any)  {}
func (QuietLog) Warn(string, ...any)  {}

// DebugEnabled implements env.DebugLogger: QuietLog keeps no Debug line.
func (QuietLog) DebugEnabled() bool { return false }

func (l QuietLog) Error(msg string, kv ...any) {
	l.T.Helper()
	if l.ErrorsExpected != nil && *l.ErrorsExpected {
		return
	}
	l.T.Errorf("node logged an error: %s %v", msg, kv)
}

// TransportFunc adapts a function to env.Transport.
type TransportFunc func(to uint64, msg []byte)

// Send implements env.Transport.
func (f TransportFunc) Send(to uint64, msg []byte) { f(to, msg) }

// WorkerFunc adapts a function to env.Worker.
type WorkerFunc func(job func())

// Run implements env.Worker.
func (f WorkerFunc) Run(job func()) { f(job) }

// LogFunc adapts a function that takes every line, with its level, to
// env.Logger.
type LogFunc func(level, msg string, kv []any)

func (f LogFunc) Debug(msg string, kv ...any) { f("DEBUG", msg, kv) }
func (f LogFunc) Info(msg string, kv ...any)  { f("INFO", msg, kv) }
func (f LogFunc) Warn(msg string, kv ...any)  { f("WARN", msg, kv) }
func (f LogFunc) Error(msg string, kv ...any) { f("ERROR", msg, kv) }

// LevelLogFunc is a LogFunc that takes Debug lines only when Verbose,
// and says so (env.DebugLogger), so that otherwise they are not even
// built.
type LevelLogFunc struct {
	F       LogFunc
	Verbose bool
}

func (l LevelLogFunc) Debug(msg string, kv ...any) {
	if l.Verbose {
		l.F("DEBUG", msg, kv)
	}
}
func (l LevelLogFunc) Info(msg string, kv ...any)  { l.F("INFO", msg, kv) }
func (l LevelLogFunc) Warn(msg string, kv ...any)  { l.F("WARN", msg, kv) }
func (l LevelLogFunc) Error(msg string, kv ...any) { l.F("ERROR", msg, kv) }

// DebugEnabled implements env.DebugLogger.DebugEnabled.
func (l LevelLogFunc) DebugEnabled() bool { return l.Verbose }

// FormatLine renders a log line as "LEVEL msg k=v k=v".
func FormatLine(level, msg string, kv []any) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s", level, msg)
	for i := 0; i+1 < len(kv); i += 2 {
		fmt.Fprintf(&b, " %v=%v", kv[i], kv[i+1])
	}
	return b.String()
}

var (
	_ env.Rand        = Rand{}
	_ env.Transport   = queueSender{}
	_ env.Transport   = TransportFunc(nil)
	_ env.Worker      = (*Jobs)(nil)
	_ env.Worker      = WorkerFunc(nil)
	_ env.Logger      = QuietLog{}
	_ env.DebugLogger = QuietLog{}
	_ env.Logger      = LogFunc(nil)
	_ env.DebugLogger = LevelLogFunc{}
)
