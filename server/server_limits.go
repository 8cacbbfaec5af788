package server

// Memory bounds for client connections, after Redis's
// client-output-buffer-limit and maxmemory-clients.
//
// A connection's memory is counted in bytes, in three parts:
//
//   - input: commands read and handed to the resp.Executor but not yet
//     answered (the resp.Executor's op holds a copy of each until then);
//   - output: replies filled but not yet written to the socket;
//   - its read buffer (large while a large command arrives).
//
// Three rules use the counts:
//
//  1. Output limits. A connection whose output passes OutputBytesHard, or
//     stays above OutputBytesSoft for OutputSoftDuration, is closed: the
//     client does not read its replies, and holding them for it is how one
//     client takes the server's memory. Redis logs the same words.
//  2. Input backpressure. A connection with commands in flight is not read
//     while its input is at InputBytesMax, or while all connections
//     together hold 3/4 of TotalBytesMax. A connection with nothing in
//     flight is always read, so every client makes progress.
//  3. The total. When all connections together pass TotalBytesMax, the
//     biggest are closed until the total is under it again (Redis 7's
//     client eviction).

import (
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// ClientLimits bound the memory client connections hold. Zero fields take
// the defaults below.
type ClientLimits struct {
	OutputBytesHard    int64         // unwritten replies of one connection; past it, closed at once
	OutputBytesSoft    int64         // ... past it for OutputSoftDuration, closed
	OutputSoftDuration time.Duration //
	InputBytesMax      int64         // unanswered commands of one connection; at it, reading pauses
	TotalBytesMax      int64         // all connections' buffers; past it, the biggest are closed
}

// The default ClientLimits. Redis bounds no normal client by default;
// these are its pub/sub clients' output limits (32 MiB hard, 8 MiB soft),
// with a shorter soft time. A client that reads its replies stays far
// under them, unless one reply is larger: an MGET of more than about 500
// values of the largest size (64 KiB) closes its client, as in Redis.
// The total allows a few commands of the largest size
// (ServerCommandLimits.CommandBytesMax, 64 MiB, plus its read buffer) at
// once.
const (
	OutputBytesHardDefault    = 32 << 20
	OutputBytesSoftDefault    = 8 << 20
	OutputSoftDurationDefault = 10 * time.Second
	InputBytesMaxDefault      = 32 << 20
	TotalBytesMaxDefault      = 256 << 20
)

func (l ClientLimits) withDefaults() ClientLimits {
	def := func(v *int64, d int64) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&l.OutputBytesHard, OutputBytesHardDefault)
	def(&l.OutputBytesSoft, OutputBytesSoftDefault)
	def(&l.InputBytesMax, InputBytesMaxDefault)
	def(&l.TotalBytesMax, TotalBytesMaxDefault)
	if l.OutputSoftDuration <= 0 {
		l.OutputSoftDuration = OutputSoftDurationDefault
	}
	return l
}

// LimitStats are the server's memory counters, for metrics.
type LimitStats struct {
	BufferBytes        int64  // held by all connections now
	OutputLimitClosed  uint64 // connections closed for their output limit
	Evicted            uint64 // connections closed because the total was over TotalBytesMax
	InputPauses        uint64 // times a connection's reading paused for memory
	BufferBytesHighest int64  // the most BufferBytes has been since the start
}

// serverMem is the server's side of the accounting.
type serverMem struct {
	total        atomic.Int64
	highest      atomic.Int64
	outputClosed atomic.Uint64
	evicted      atomic.Uint64
	pauses       atomic.Uint64
	evicting     sync.Mutex // one eviction pass at a time
}

func (m *serverMem) add(d int64) int64 {
	t := m.total.Add(d)
	for {
		h := m.highest.Load()
		if t <= h || m.highest.CompareAndSwap(h, t) {
			return t
		}
	}
}

// LimitStats returns the memory counters.
func (s *Server) LimitStats() LimitStats {
	return LimitStats{
		BufferBytes:        s.mem.total.Load(),
		OutputLimitClosed:  s.mem.outputClosed.Load(),
		Evicted:            s.mem.evicted.Load(),
		InputPauses:        s.mem.pauses.Load(),
		BufferBytesHighest: s.mem.highest.Load(),
	}
}

// connMem is one connection's accounting. mu orders the updates against
// release, so nothing is counted for a connection after it is gone.
type connMem struct {
	mu        sync.Mutex
	in, out   int64
	buf       int64
	overSoft  time.Time // when output went over the soft limit; zero if under
	released  bool
	answered  chan struct{} // a command was answered; room for one signal
	closedFor string        // why the limits closed it, once
}

func (m *connMem) size() int64 { return m.in + m.out + m.buf }

// change applies deltas to the connection's counts and the server's total,
// and returns the total after it (or -1 if the connection is gone).
func (c *serverConn) change(in, out, buf int64) int64 {
	m := &c.mem
	m.mu.Lock()
	if m.released {
		m.mu.Unlock()
		return -1
	}
	m.in += in
	m.out += out
	m.buf += buf
	total := c.s.mem.add(in + out + buf)
	over := c.checkOutput(time.Now())
	m.mu.Unlock()
	if over != "" {
		c.closeForLimit(over)
	}
	return total
}

// checkOutput returns why the connection's output breaks a limit, or "".
// Called with mu held.
func (c *serverConn) checkOutput(now time.Time) string {
	m, l := &c.mem, &c.s.limits
	switch {
	case m.out > l.OutputBytesHard:
		return "hard"
	case m.out <= l.OutputBytesSoft:
		m.overSoft = time.Time{}
	case m.overSoft.IsZero():
		m.overSoft = now
	case now.Sub(m.overSoft) >= l.OutputSoftDuration:
		return "soft"
	}
	return ""
}

// commandRead counts a command of n bytes that the resp.Executor now holds.
func (c *serverConn) commandRead(n int) {
	c.s.commands.Add(1)
	c.times.touch()
	if c.change(int64(n), 0, 0) > c.s.limits.TotalBytesMax {
		c.s.evict()
	}
}

// replied counts the answer to a command of n bytes: the command's memory
// goes, its reply's comes.
func (c *serverConn) replied(n int, reply []byte) {
	if c.change(-int64(n), int64(len(reply)), 0) > c.s.limits.TotalBytesMax {
		c.s.evict()
	}
	select {
	case c.mem.answered <- struct{}{}:
	default:
	}
}

// written counts a reply handed to the socket.
func (c *serverConn) written(n int) { c.change(0, -int64(n), 0) }

// readBuffer counts the read buffer's new size.
func (c *serverConn) readBuffer(size int) {
	c.mem.mu.Lock()
	d := int64(size) - c.mem.buf
	c.mem.mu.Unlock()
	if d != 0 && c.change(0, 0, d) > c.s.limits.TotalBytesMax {
		c.s.evict()
	}
}

// release takes the connection's memory out of the total, for good.
func (c *serverConn) release() {
	m := &c.mem
	m.mu.Lock()
	if !m.released {
		m.released = true
		c.s.mem.add(-m.size())
	}
	m.mu.Unlock()
}

// mayRead waits until the connection may read more input (rule 2). It
// returns false if the connection closed meanwhile.
func (c *serverConn) mayRead() bool {
	paused := false
	for {
		c.mem.mu.Lock()
		in := c.mem.in
		c.mem.mu.Unlock()
		if in == 0 || (in < c.s.limits.InputBytesMax && c.s.mem.total.Load() < c.s.limits.TotalBytesMax/4*3) {
			return true
		}
		if !paused {
			paused = true
			c.s.mem.pauses.Add(1)
		}
		select {
		case <-c.mem.answered:
		case <-c.quit:
			return false
		}
	}
}

// closeForLimit closes a connection that broke an output limit, once.
func (c *serverConn) closeForLimit(which string) {
	c.mem.mu.Lock()
	first := c.mem.closedFor == ""
	if first {
		c.mem.closedFor = which
	}
	out := c.mem.out
	c.mem.mu.Unlock()
	if !first {
		return
	}
	c.s.mem.outputClosed.Add(1)
	l := c.s.limits
	c.s.cfg.Log.Warn("Client "+c.describe()+" scheduled to be closed ASAP for overcoming of output buffer limits.",
		"limit", which, "output_bytes", out, "hard_bytes", l.OutputBytesHard, "soft_bytes", l.OutputBytesSoft, "soft_seconds", l.OutputSoftDuration.Seconds())
	c.close()
}

func (c *serverConn) describe() string {
	return "id=" + strconv.FormatInt(c.exec.ClientID, 10) + " addr=" + c.nc.RemoteAddr().String()
}

// evict closes the biggest connections until the total is under
// TotalBytesMax (rule 3).
func (s *Server) evict() {
	// NB: Lock, not TryLock: a connection that finds the total over waits
	// for the pass under way, so nobody grows past the bound meanwhile.
	s.mem.evicting.Lock()
	defer s.mem.evicting.Unlock()
	for s.mem.total.Load() > s.limits.TotalBytesMax {
		s.mu.Lock()
		var biggest *serverConn
		var size int64
		for sc := range s.conns { // NB: any order: the biggest wins, ties are equal
			sc.mem.mu.Lock()
			if n := sc.mem.size(); !sc.mem.released && sc.mem.closedFor == "" && n > size {
				biggest, size = sc, n
			}
			sc.mem.mu.Unlock()
		}
		s.mu.Unlock()
		if biggest == nil {
			return
		}
		biggest.mem.mu.Lock()
		biggest.mem.closedFor = "evicted"
		biggest.mem.mu.Unlock()
		s.mem.evicted.Add(1)
		s.cfg.Log.Warn("Evicting client: "+biggest.describe(),
			"why", "all client connections together hold more than client_memory_max_bytes; the biggest is closed first",
			"client_bytes", size, "total_bytes", s.mem.total.Load(), "max_bytes", s.limits.TotalBytesMax)
		biggest.close()
		biggest.release()
	}
}

// watchLimits closes connections that stay over the soft output limit
// without any new reply to notice it (Redis's clientsCron), until quit.
func (s *Server) watchLimits(quit <-chan struct{}) {
	defer s.wg.Done()
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-quit:
			return
		case now := <-t.C:
			s.mu.Lock()
			conns := make([]*serverConn, 0, len(s.conns))
			for sc := range s.conns {
				conns = append(conns, sc)
			}
			s.mu.Unlock()
			for _, sc := range conns {
				sc.mem.mu.Lock()
				over := ""
				if !sc.mem.released {
					over = sc.checkOutput(now)
				}
				sc.mem.mu.Unlock()
				if over != "" {
					sc.closeForLimit(over)
				}
			}
		}
	}
}
