package resp

import "github.com/seshat-db/seshat/kv"

// A connection's data commands run in the order the client sent them, as
// in Redis: each command sees the effects of every earlier one on its
// connection, and none of a later one. The Backend gives no such order
// by itself (a write goes through the raft log, a read through ReadIndex,
// and a follower forwards each proposal to the leader as its own
// message), so the sequencer hands it one GROUP at a time:
//
//   - a group is a run of consecutive data commands of one class, all
//     reads or all writes, that arrived together (before one Flush), at
//     most groupOpsMax ops and about groupBytesMax bytes;
//   - a group is submitted only once every earlier group of the
//     connection has been answered;
//   - the Backend runs a group in order as one: writes as one raft entry
//     applied in one go, reads at one ReadIndex.
//
// So a pipeline of writes still costs one entry, and one of reads one
// ReadIndex; only a switch between reads and writes costs a round trip.
// Commands that touch no data (PING, CLIENT, errors found before
// submitting) never wait here: their replies are ready at once, and the
// server's reply slots put them in their place.
//
// Replies may come back on any goroutine; the server then gives the
// sequencer a mutex (SetLocker), while the simulator, on one goroutine,
// needs none and the command layer imports no sync. The lock is never
// held while calling the Backend or a reply, so a Backend that answers
// within Submit (a refusal) cannot deadlock, and whichever goroutine finds
// the next group ready submits it (pump), one at a time.

// Bounds on one group: enough for a deep pipeline to share one raft entry,
// small enough that the entry stays far below raft's message and
// uncommitted-bytes limits.
const (
	groupOpsMax   = 256
	groupBytesMax = 1 << 20
)

// queuedOp is one data command waiting for its group's turn.
type queuedOp struct {
	op     kv.Op
	reply  func([]byte)
	format func(kv.Result) []byte
	// prepare, if set, completes op just before it is submitted, when
	// every earlier group has been answered (EXEC takes WATCH's tokens).
	prepare func(*kv.Op)
	// local, if set, is a command that runs here in its turn, a group of
	// its own, instead of an op (Executor.runInTurn).
	local func()
}

// Locker is sync.Locker.
type Locker interface {
	Lock()
	Unlock()
}

type noLock struct{}

func (noLock) Lock()   {}
func (noLock) Unlock() {}

type sequencer struct {
	backend      Backend
	writeKeysMax int // keys of one write group; 0: unbounded

	mu       Locker     // noLock unless replies come from other goroutines
	queue    []queuedOp // arrived, not yet submitted, in order
	sealed   int        // queue[:sealed] arrived before the last Flush
	inflight bool       // a group is submitted and not yet answered
	pumping  bool       // a goroutine is in pump: only it submits
	closed   bool
	// inLocal: a local command runs; what it adds goes before the rest
	// of the queue, at front, since it came first.
	inLocal bool
	front   int
}

// add queues one data command. It runs once Flush has sealed it and every
// earlier group has been answered.
func (s *sequencer) add(q queuedOp) {
	s.mu.Lock()
	switch {
	case s.closed:
	case s.inLocal:
		// The local command arrived before everything queued: its ops
		// go ahead of them, and are as sealed as it was.
		s.queue = append(s.queue, queuedOp{})
		copy(s.queue[s.front+1:], s.queue[s.front:])
		s.queue[s.front] = q
		s.front++
		s.sealed++
	default:
		s.queue = append(s.queue, q)
	}
	s.mu.Unlock()
}

// addLocal queues a command to run in its turn (Executor.runInTurn).
func (s *sequencer) addLocal(run func()) { s.add(queuedOp{local: run}) }

// busy reports whether a command of the connection waits here or is
// still unanswered.
func (s *sequencer) busy() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.inflight || s.pumping || len(s.queue) > 0
}

// flush marks every command added so far as complete, ready to group,
// and submits the next group if none is in flight.
func (s *sequencer) flush() {
	s.mu.Lock()
	s.sealed = len(s.queue)
	g := s.takeLocked()
	s.mu.Unlock()
	if g != nil {
		s.pump(g)
	}
}

// close drops the commands not yet submitted: the connection is gone, and
// as in Redis, what a closed client sent but was not run never runs.
func (s *sequencer) close() {
	s.mu.Lock()
	s.closed = true
	s.queue, s.sealed = nil, 0
	s.mu.Unlock()
}

// takeLocked cuts the next group off the queue, if one may go now, and
// makes the caller the pump.
func (s *sequencer) takeLocked() []queuedOp {
	if s.inflight || s.pumping || s.closed || s.sealed == 0 {
		return nil
	}
	n := groupLen(s.queue[:s.sealed], s.writeKeysMax)
	g := make([]queuedOp, n)
	copy(g, s.queue)
	clear(s.queue[:n])
	s.queue = s.queue[n:]
	s.sealed -= n
	if len(s.queue) == 0 {
		s.queue = nil // let the backing array go
	}
	s.inflight, s.pumping = true, true
	return g
}

// groupLen is how many ops at the head of q form one group: same class,
// within the bounds, at least one.
//
// A write group is one raft entry, applied in one go on the node's event
// goroutine, so it carries at most writeKeysMax keys (KeysPerWriteMax, the
// bound on one write, for the same reason); a read group's keys beyond a
// chunk are read off that goroutine, so only ops and bytes bound it.
func groupLen(q []queuedOp, writeKeysMax int) int {
	if q[0].local != nil {
		return 1
	}
	isRead := q[0].op.Kind.IsRead()
	bytes, keys := 0, 0
	for i := range q {
		bytes += opBytes(&q[i].op)
		keys += opKeys(&q[i].op)
		tooManyKeys := !isRead && writeKeysMax > 0 && keys > writeKeysMax
		if i > 0 && (q[i].local != nil || q[i].op.Kind.IsRead() != isRead || i == groupOpsMax || bytes > groupBytesMax || tooManyKeys) {
			return i
		}
	}
	return len(q)
}

// opKeys counts the keys op touches, a transaction's queued ops' too.
func opKeys(op *kv.Op) int {
	n := max(len(op.Keys), 1)
	for i := range op.Ops {
		n += opKeys(&op.Ops[i])
	}
	return n
}

func opBytes(op *kv.Op) int {
	n := 16 // the op's fixed fields and framing, roughly
	for i := range op.Ops {
		n += opBytes(&op.Ops[i])
	}
	for _, k := range op.Keys {
		n += len(k)
	}
	for _, v := range op.Values {
		n += len(v)
	}
	return n
}

// pump submits g, then every group that becomes ready while it is still
// the pump: a Backend that answers within Submit makes a loop here, not a
// recursion.
func (s *sequencer) pump(g []queuedOp) {
	for g != nil {
		if g[0].local != nil {
			s.mu.Lock()
			s.inLocal, s.front = true, 0
			s.mu.Unlock()
			g[0].local()
			s.mu.Lock()
			s.inLocal, s.inflight, s.pumping = false, false, false
			g = s.takeLocked()
			s.mu.Unlock()
			continue
		}
		ops := make([]kv.Op, len(g))
		for i := range g {
			if g[i].prepare != nil {
				g[i].prepare(&g[i].op)
			}
			ops[i] = g[i].op
		}
		s.backend.Submit(ops, s.answer(g))
		s.mu.Lock()
		s.pumping = false
		g = s.takeLocked()
		s.mu.Unlock()
	}
}

// answer returns the done callback of group g: it replies to g's commands
// in order, then lets the next group go.
func (s *sequencer) answer(g []queuedOp) func([]kv.Result) {
	return func(res []kv.Result) {
		for i := range g {
			g[i].reply(formatResult(res[i], g[i].format))
		}
		s.mu.Lock()
		s.inflight = false
		next := s.takeLocked()
		s.mu.Unlock()
		if next != nil {
			s.pump(next)
		}
	}
}

func formatResult(res kv.Result, format func(kv.Result) []byte) []byte {
	// Redis names the command in this one's text: the expiry commands'
	// formats word it (expiry.go).
	if res.Err != nil && res.Err != kv.ErrInvalidExpire {
		return AppendError(nil, ErrorReply(res.Err))
	}
	return format(res)
}
