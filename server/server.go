package server

// The RESP server: it connects real sockets to the command layer.
//
// Each connection has two goroutines:
//
//  1. The reader reads into a bounded buffer, parses as many complete
//     commands as it holds (resp.CommandLimits.ParseCommand), hands each to the
//     connection's resp.Executor in order, and queues an ordered reply slot for
//     it. The queue holds PipelineMax slots at most: a client that sends
//     faster than it is answered is simply not read (TCP backpressure).
//  2. The writer takes slots in order, waits for each to be filled, and
//     writes it; it flushes whenever the next reply is not ready yet, so a
//     pipeline's ready replies leave in one write and a reply that waits
//     on raft holds back only the replies behind it on this connection.
//
// Replies are filled from whatever goroutine answers (usually the node's
// host goroutine), into a slot with room for exactly one reply, so the
// answering goroutine never blocks on a slow client.
//
// The read buffer holds the commands of one read and at most one partial
// command, which the codec bounds by Command.CommandBytesMax (and
// InlineBytesMax), so a connection buffers at most CommandBytesMax plus
// one read, and drops back to a small buffer once a large command is
// done.
//
// NB: redcon's connection loop is not used. Its reader grows its buffer
// without bound while a command is incomplete, and a bulk length near
// MaxInt overflows its bounds check and panics on redcon's goroutine,
// which would take the whole process down.

import (
	"bufio"
	"errors"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/seshat-db/seshat/internal/assert"
	"github.com/seshat-db/seshat/resp"
)

// ServerConfig tunes a Server. Zero fields take defaults.
type ServerConfig struct {
	ClientsMax  int // connections open at once; 10,000 (Redis's maxclients)
	PipelineMax int // commands read but not yet answered, per connection; 1024
	// Command bounds one command; a command beyond it is a protocol
	// error that closes the connection. Zero fields take
	// resp.ServerCommandLimits'.
	Command resp.CommandLimits
	Limits  resp.Limits
	// Clients bounds the memory connections hold (server_limits.go).
	Clients ClientLimits
	Log     *slog.Logger
	// OnCommand, if set, sees every command's lower-case name and whether
	// its reply was an error, once the reply is known. Must not block.
	OnCommand func(name string, isErr bool)
}

// A connection's read buffer is readBufBytes between large commands, and
// a read always gets at least readRoomBytesMin of it.
const (
	readBufBytes     = 64 << 10
	readRoomBytesMin = 16 << 10
)

// Server accepts RESP2 clients.
type Server struct {
	cfg     ServerConfig
	backend resp.Backend
	info    resp.ServerInfo
	limits  ClientLimits
	mem     serverMem

	clients  atomic.Int64
	rejected atomic.Uint64
	nextID   atomic.Int64

	mu     sync.Mutex
	ln     net.Listener
	conns  map[*serverConn]struct{}
	closed bool
	wg     sync.WaitGroup
}

// NewServer returns a server whose connections run commands against b.
func NewServer(cfg ServerConfig, b resp.Backend, info resp.ServerInfo) *Server {
	if cfg.ClientsMax <= 0 {
		cfg.ClientsMax = 10000
	}
	if cfg.PipelineMax <= 0 {
		cfg.PipelineMax = 1024
	}
	d := resp.ServerCommandLimits
	for _, f := range []struct {
		v   *int
		def int
	}{
		{&cfg.Command.BulkBytesMax, d.BulkBytesMax},
		{&cfg.Command.ArrayLenMax, d.ArrayLenMax},
		{&cfg.Command.InlineBytesMax, d.InlineBytesMax},
		{&cfg.Command.CommandBytesMax, d.CommandBytesMax},
	} {
		if *f.v <= 0 {
			*f.v = f.def
		}
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	return &Server{cfg: cfg, backend: b, info: info, limits: cfg.Clients.withDefaults(), conns: map[*serverConn]struct{}{}}
}

// Clients returns how many connections are open.
func (s *Server) Clients() int64 { return s.clients.Load() }

// Rejected returns how many connections were refused at the limit.
func (s *Server) Rejected() uint64 { return s.rejected.Load() }

// Serve accepts connections on ln until Close. It returns nil after Close.
func (s *Server) Serve(ln net.Listener) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return ln.Close()
	}
	s.ln = ln
	watchQuit := make(chan struct{})
	defer close(watchQuit)
	s.wg.Add(1)
	s.mu.Unlock()
	go s.watchLimits(watchQuit)
	for {
		c, err := ln.Accept()
		if err != nil {
			s.mu.Lock()
			closed := s.closed
			s.mu.Unlock()
			if closed || errors.Is(err, net.ErrClosed) {
				return nil
			}
			s.cfg.Log.Warn("resp: accept failed", "err", err)
			time.Sleep(50 * time.Millisecond)
			continue
		}
		if s.clients.Add(1) > int64(s.cfg.ClientsMax) {
			s.clients.Add(-1)
			s.rejected.Add(1)
			// Redis's own words, then hang up: the client learns why.
			_ = c.SetWriteDeadline(time.Now().Add(time.Second))
			_, _ = c.Write([]byte("-ERR max number of clients reached\r\n"))
			_ = c.Close()
			continue
		}
		sc := s.newConn(c)
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			_ = c.Close()
			s.clients.Add(-1)
			continue
		}
		s.conns[sc] = struct{}{}
		s.wg.Add(2)
		s.mu.Unlock()
		go sc.readLoop()
		go sc.writeLoop()
	}
}

// Close stops accepting, closes every connection and waits for their
// goroutines. Replies still waiting on the backend are abandoned.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	var err error
	if s.ln != nil {
		err = s.ln.Close()
	}
	for sc := range s.conns {
		sc.close()
	}
	s.mu.Unlock()
	s.wg.Wait()
	return err
}

type serverConn struct {
	s     *Server
	nc    net.Conn
	exec  *resp.Executor
	slots chan *replySlot
	quit  chan struct{}
	once  sync.Once
	mem   connMem
}

// replySlot is one command's place in the reply order. ch has room for
// its one reply, so whoever answers never blocks.
type replySlot struct {
	name string
	ch   chan []byte
	last bool // close the connection after this reply
}

func (s *Server) newConn(c net.Conn) *serverConn {
	exec := resp.NewExecutor(s.backend, s.cfg.Limits, s.info)
	exec.ClientID = s.nextID.Add(1)
	exec.SetLocker(&sync.Mutex{}) // replies come from the host goroutine
	return &serverConn{
		s:     s,
		nc:    c,
		exec:  exec,
		slots: make(chan *replySlot, s.cfg.PipelineMax),
		quit:  make(chan struct{}),
		mem:   connMem{answered: make(chan struct{}, 1)},
	}
}

func (c *serverConn) close() {
	c.once.Do(func() {
		close(c.quit)
		_ = c.nc.Close()
		c.exec.Close()
	})
}

func (c *serverConn) finish() {
	c.close()
	c.release()
	c.s.mu.Lock()
	_, ok := c.s.conns[c]
	delete(c.s.conns, c)
	c.s.mu.Unlock()
	if ok {
		c.s.clients.Add(-1)
	}
}

func (c *serverConn) enqueue(slot *replySlot) bool {
	select {
	case c.slots <- slot:
		return true
	default:
	}
	// Full: the replies owed must come before there is room, and the
	// commands waiting for a Flush would never be answered without one.
	c.exec.Flush()
	select {
	case c.slots <- slot:
		return true
	case <-c.quit:
		return false
	}
}

func (c *serverConn) readLoop() {
	defer c.s.wg.Done()
	defer close(c.slots)
	// Commands already parsed still run after EOF (the client may have
	// only half-closed), QUIT or a protocol error; a broken connection's
	// close drops them first.
	defer c.exec.Flush()
	limits := c.s.cfg.Command
	buf, held := make([]byte, readBufBytes), 0 // buf[:held] is unparsed input
	c.readBuffer(len(buf))
	for {
		if !c.mayRead() {
			return
		}
		n, rerr := c.nc.Read(buf[held:])
		held += n
		pending := buf[:held]
		// Run every complete command the buffer holds, in order.
		for {
			args, rest, err := limits.ParseCommand(pending)
			if err == resp.ErrIncomplete {
				pending = rest
				break
			}
			if err != nil {
				// Answer after every earlier reply, then close, as Redis does.
				c.s.cfg.Log.Debug("resp: protocol error; closing connection", "remote", c.nc.RemoteAddr().String(), "err", err)
				slot := &replySlot{ch: make(chan []byte, 1), last: true}
				b := resp.AppendError(nil, err.Error())
				c.replied(0, b)
				slot.ch <- b
				c.enqueue(slot)
				return
			}
			slot := &replySlot{name: strings.ToLower(string(args[0])), ch: make(chan []byte, 1), last: resp.IsQuit(args)}
			if !c.enqueue(slot) {
				return
			}
			// Execute copies what it keeps, so args may alias buf.
			size := len(pending) - len(rest)
			c.commandRead(size)
			c.exec.Execute(args, func(b []byte) {
				c.replied(size, b)
				slot.ch <- b
			})
			if slot.last {
				return
			}
			pending = rest
		}
		// The commands of this read arrived together: they may run as
		// groups (sequencer.go).
		c.exec.Flush()
		if rerr != nil {
			// On EOF (the client may only have shut its write side, as
			// `printf ... | nc` does) the writer still sends what is
			// owed; a partial command is dropped. A broken socket
			// leaves nobody to answer.
			if !errors.Is(rerr, io.EOF) {
				c.close()
			}
			return
		}
		buf, held = readRoom(buf, pending, max(limits.CommandBytesMax, limits.InlineBytesMax))
		c.readBuffer(len(buf))
	}
}

// readRoom returns a buffer that starts with pending (a partial command,
// or nothing; a suffix of buf) and has at least readRoomBytesMin bytes
// free after it. The codec keeps a partial command within partialBytesMax, so
// the buffer never grows past partialBytesMax plus one read; once the
// partial command is small again, a large buffer is let go.
func readRoom(buf, pending []byte, partialBytesMax int) ([]byte, int) {
	assert.That(len(pending) <= partialBytesMax, "resp: the codec left a partial command of %d bytes, over %d", len(pending), partialBytesMax)
	switch {
	case len(buf) > readBufBytes && len(pending)+readRoomBytesMin <= readBufBytes:
		buf = make([]byte, readBufBytes)
	case len(buf)-len(pending) < readRoomBytesMin:
		buf = make([]byte, min(max(2*len(buf), len(pending)+readRoomBytesMin), partialBytesMax+readRoomBytesMin))
	case len(pending) > 0 && &pending[0] == &buf[0]:
		return buf, len(pending) // already at the front: nothing to move
	}
	return buf, copy(buf, pending)
}

func (c *serverConn) writeLoop() {
	defer c.s.wg.Done()
	defer c.finish()
	w := bufio.NewWriterSize(c.nc, 64<<10)
	for {
		var slot *replySlot
		var ok bool
		select {
		case slot, ok = <-c.slots:
		default:
			// Nothing more is queued: send what is buffered before waiting.
			if w.Flush() != nil {
				return
			}
			slot, ok = <-c.slots
		}
		if !ok {
			_ = w.Flush()
			return
		}
		var b []byte
		select {
		case b = <-slot.ch:
		default:
			// Not ready (it waits on raft): send what is ready first.
			if w.Flush() != nil {
				return
			}
			select {
			case b = <-slot.ch:
			case <-c.quit:
				return
			}
		}
		if slot.name != "" && c.s.cfg.OnCommand != nil {
			c.s.cfg.OnCommand(slot.name, len(b) > 0 && b[0] == '-')
		}
		_, err := w.Write(b)
		c.written(len(b))
		if err != nil {
			return
		}
		if slot.last {
			_ = w.Flush()
			return
		}
	}
}
