package server

// The RESP server: it moves bytes between real sockets and each
// connection's state machine (resp.Conn), which parses, runs the commands
// in order and keeps the replies in that order; the simulator's clients
// run the same state machine without a socket.
//
// Each connection has two goroutines:
//
//  1. The reader reads into the Conn's bounded buffer (ReadRoom), which
//     runs every complete command it holds. At PipelineMax commands not
//     yet answered the Conn stalls and the reader stops reading until the
//     writer takes a reply out: a client that sends faster than it is
//     answered is simply not read (TCP backpressure).
//  2. The writer takes replies out in order as they are filled and
//     writes them; it flushes whenever the next reply is not ready yet, so
//     a pipeline's ready replies leave in one write and a reply that waits
//     on raft holds back only the replies behind it on this connection.
//
// Replies are filled from whatever goroutine answers (usually the node's
// host goroutine), into the Conn under its own lock, so the answering
// goroutine never blocks on a slow client.
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
	"sync"
	"sync/atomic"
	"time"

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
	// Auth: protected mode and failed logins (protected.go).
	Auth AuthConfig
}

// Server accepts RESP2 clients.
type Server struct {
	cfg     ServerConfig
	backend resp.Backend
	info    resp.ServerInfo
	limits  ClientLimits
	mem     serverMem

	clients atomic.Int64
	// clientsMax is ServerConfig.ClientsMax, which CONFIG SET maxclients
	// changes while the server runs.
	clientsMax atomic.Int64
	rejected   atomic.Uint64
	nextID     atomic.Int64
	commands   atomic.Uint64 // commands read, for INFO stats

	authLog   rateLog // failed logins (protected.go)
	deniedLog rateLog // protected mode's refusals

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
	s := &Server{cfg: cfg, backend: b, info: info, limits: cfg.Clients.withDefaults(), conns: map[*serverConn]struct{}{}}
	s.clientsMax.Store(int64(cfg.ClientsMax))
	return s
}

// ClientsMax returns how many connections may be open at once.
func (s *Server) ClientsMax() int64 { return s.clientsMax.Load() }

// SetClientsMax changes how many connections may be open at once (CONFIG
// SET maxclients); connections already open over it stay open, as in
// Redis.
func (s *Server) SetClientsMax(n int64) { s.clientsMax.Store(n) }

// Clients returns how many connections are open.
func (s *Server) Clients() int64 { return s.clients.Load() }

// Rejected returns how many connections were refused at the limit.
func (s *Server) Rejected() uint64 { return s.rejected.Load() }

// Connections returns how many client connections were accepted since
// the server started (INFO's total_connections_received).
func (s *Server) Connections() int64 { return s.nextID.Load() }

// Commands returns how many commands clients sent since the server
// started (INFO's total_commands_processed).
func (s *Server) Commands() uint64 { return s.commands.Load() }

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
		if s.clients.Add(1) > s.ClientsMax() {
			s.clients.Add(-1)
			s.rejected.Add(1)
			// Redis's own words, then hang up: the client learns why.
			s.refuse(c, []byte("-ERR max number of clients reached\r\n"), false)
			continue
		}
		if refusal := s.unprotectedRefusal(c); refusal != nil {
			s.refuse(c, refusal, true)
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
	rc    *resp.Conn
	ready chan struct{} // a reply was filled, or the reader is done; room for one signal
	room  chan struct{} // a reply was taken out; room for one signal
	quit  chan struct{}
	once  sync.Once
	times connTimes // CLIENT LIST's age and idle (clients.go)
	mem   connMem

	readDone atomic.Bool // the reader read its last command
}

func (s *Server) newConn(c net.Conn) *serverConn {
	exec := resp.NewExecutor(s.backend, s.cfg.Limits, s.info)
	exec.ClientID = s.nextID.Add(1)
	exec.SetLocker(&sync.Mutex{}) // replies come from the host goroutine
	exec.OnAuthFailed = s.authFailed(c)
	sc := &serverConn{
		s:     s,
		nc:    c,
		exec:  exec,
		ready: make(chan struct{}, 1),
		room:  make(chan struct{}, 1),
		quit:  make(chan struct{}),
		mem:   connMem{answered: make(chan struct{}, 1)},
	}
	sc.rc = resp.NewConn(exec, resp.ConnConfig{
		Command:     s.cfg.Command,
		PipelineMax: s.cfg.PipelineMax,
		OnRead:      sc.commandRead,
		OnAnswer:    sc.replied,
		OnReply:     func() { signal(sc.ready) },
		OnProtocolError: func(err error) {
			s.cfg.Log.Debug("resp: protocol error; closing connection", "remote", c.RemoteAddr().String(), "err", err)
		},
	})
	sc.rc.SetLocker(&sync.Mutex{})
	s.setUpClient(sc)
	return sc
}

// signal wakes whoever waits on ch, or leaves it a wake-up.
func signal(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
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

func (c *serverConn) readLoop() {
	defer c.s.wg.Done()
	defer signal(c.ready)
	defer c.readDone.Store(true)
	// Commands already parsed still run after EOF (the client may have
	// only half-closed), QUIT or a protocol error; a broken connection's
	// close drops them first.
	defer c.exec.Flush()
	for {
		if !c.mayRead() {
			return
		}
		room := c.rc.ReadRoom()
		c.readBuffer(c.rc.BufferBytes())
		n, rerr := c.nc.Read(room)
		// Runs every complete command the buffer holds, in order; the
		// commands of this read arrived together, so they may run as
		// groups (resp/sequencer.go).
		c.rc.Received(n)
		for c.rc.Stalled() {
			if c.rc.Full() {
				select {
				case <-c.room:
				case <-c.quit:
					return
				}
			}
			c.rc.Resume()
		}
		if c.rc.Closing() {
			return // QUIT or a protocol error: the writer sends what is owed, then closes
		}
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
	}
}

func (c *serverConn) writeLoop() {
	defer c.s.wg.Done()
	defer c.finish()
	w := bufio.NewWriterSize(c.nc, 64<<10)
	for {
		b, name, last, ok := c.rc.Next()
		if !ok {
			// NB: readDone before Owed: the reader stores it after its
			// last command is in the Conn.
			if c.readDone.Load() && c.rc.Owed() == 0 {
				_ = w.Flush()
				return
			}
			// Not ready (it waits on raft), or nothing more is read yet:
			// send what is ready first.
			if w.Flush() != nil {
				return
			}
			select {
			case <-c.ready:
			case <-c.quit:
				return
			}
			continue
		}
		signal(c.room)
		if name != "" && c.s.cfg.OnCommand != nil {
			c.s.cfg.OnCommand(name, len(b) > 0 && b[0] == '-')
		}
		_, err := w.Write(b)
		c.written(len(b))
		if err != nil {
			return
		}
		if last {
			_ = w.Flush()
			return
		}
	}
}
