package resp

// The RESP server: it connects real sockets to the command layer.
//
// Each connection has two goroutines:
//
//  1. The reader parses commands with a bounded parser, hands each to the
//     connection's Executor in order, and queues an ordered reply slot for
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
// NB: redcon's own connection loop is not used. Its reader grows its
// buffer without bound while a command is incomplete, and a bulk length
// near MaxInt overflows its bounds check and panics on redcon's goroutine,
// which would take the whole process down. The parser here checks every
// length before it allocates; redcon still parses inline (telnet-style)
// commands, whose quoting rules it implements.

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tidwall/redcon"
)

// ServerConfig tunes a Server. Zero fields take defaults.
type ServerConfig struct {
	ClientsMax      int // connections open at once; 10,000 (Redis's maxclients)
	PipelineMax     int // commands read but not yet answered, per connection; 1024
	BulkBytesMax    int // longest bulk string; 1 MiB (longer: protocol error, connection closed)
	ArgsMax         int // most arguments in one command; 1,048,576 (Redis's limit)
	CommandBytesMax int // most bytes of arguments in one command; 64 MiB
	InlineBytesMax  int // longest inline command or header line; 64 KiB
	Limits          Limits
	Log             *slog.Logger
	// OnCommand, if set, sees every command's lower-case name and whether
	// its reply was an error, once the reply is known. Must not block.
	OnCommand func(name string, isErr bool)
}

// Server accepts RESP2 clients.
type Server struct {
	cfg     ServerConfig
	backend Backend
	info    ServerInfo

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
func NewServer(cfg ServerConfig, b Backend, info ServerInfo) *Server {
	if cfg.ClientsMax <= 0 {
		cfg.ClientsMax = 10000
	}
	if cfg.PipelineMax <= 0 {
		cfg.PipelineMax = 1024
	}
	if cfg.BulkBytesMax <= 0 {
		cfg.BulkBytesMax = 1 << 20
	}
	if cfg.ArgsMax <= 0 {
		cfg.ArgsMax = 1 << 20
	}
	if cfg.CommandBytesMax <= 0 {
		cfg.CommandBytesMax = 64 << 20
	}
	if cfg.InlineBytesMax <= 0 {
		cfg.InlineBytesMax = 64 << 10
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	return &Server{cfg: cfg, backend: b, info: info, conns: map[*serverConn]struct{}{}}
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
	s.mu.Unlock()
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
	exec  *Executor
	slots chan *replySlot
	quit  chan struct{}
	once  sync.Once
}

// replySlot is one command's place in the reply order. ch has room for
// its one reply, so whoever answers never blocks.
type replySlot struct {
	name string
	ch   chan []byte
	last bool // close the connection after this reply
}

func (s *Server) newConn(c net.Conn) *serverConn {
	exec := NewExecutor(s.backend, s.cfg.Limits, s.info)
	exec.ClientID = s.nextID.Add(1)
	return &serverConn{
		s:     s,
		nc:    c,
		exec:  exec,
		slots: make(chan *replySlot, s.cfg.PipelineMax),
		quit:  make(chan struct{}),
	}
}

func (c *serverConn) close() {
	c.once.Do(func() {
		close(c.quit)
		_ = c.nc.Close()
	})
}

func (c *serverConn) finish() {
	c.close()
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
	case <-c.quit:
		return false
	}
}

func (c *serverConn) readLoop() {
	defer c.s.wg.Done()
	defer close(c.slots)
	r := &commandReader{
		r:   bufio.NewReaderSize(c.nc, 64<<10),
		cfg: &c.s.cfg,
	}
	for {
		args, err := r.next()
		if err != nil {
			var perr protocolError
			if errors.As(err, &perr) {
				// Answer after every earlier reply, then close, as Redis does.
				c.s.cfg.Log.Debug("resp: protocol error; closing connection", "remote", c.nc.RemoteAddr().String(), "err", err)
				slot := &replySlot{name: "", ch: make(chan []byte, 1), last: true}
				slot.ch <- []byte("-ERR Protocol error: " + string(perr) + "\r\n")
				c.enqueue(slot)
			} else if !errors.Is(err, io.EOF) {
				// A broken socket: nobody is left to answer.
				c.close()
			}
			// On EOF (the client may only have shut its write side, as
			// `printf ... | nc` does) the writer still sends what is owed.
			return
		}
		slot := &replySlot{name: strings.ToLower(string(args[0])), ch: make(chan []byte, 1), last: IsQuit(args)}
		if !c.enqueue(slot) {
			return
		}
		c.exec.Execute(args, func(b []byte) { slot.ch <- b })
		if slot.last {
			return
		}
	}
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
		if _, err := w.Write(b); err != nil {
			return
		}
		if slot.last {
			_ = w.Flush()
			return
		}
	}
}

// protocolError is a malformed request; its text follows
// "ERR Protocol error: " in the reply, as in Redis.
type protocolError string

func (e protocolError) Error() string { return "protocol error: " + string(e) }

// commandReader parses RESP2 commands from a connection, checking every
// length against the limits before it allocates for it.
type commandReader struct {
	r   *bufio.Reader
	cfg *ServerConfig
}

// line reads one CRLF- (or LF-) terminated line of at most InlineBytesMax
// bytes. The returned slice is valid until the next read.
func (cr *commandReader) line() ([]byte, error) {
	var buf []byte
	for {
		chunk, err := cr.r.ReadSlice('\n')
		if err == nil {
			if buf != nil {
				chunk = append(buf, chunk...)
			}
			if len(chunk) > cr.cfg.InlineBytesMax+2 {
				return nil, protocolError("too big inline request")
			}
			return bytes.TrimSuffix(chunk[:len(chunk)-1], []byte("\r")), nil
		}
		if !errors.Is(err, bufio.ErrBufferFull) {
			return nil, err
		}
		buf = append(buf, chunk...)
		if len(buf) > cr.cfg.InlineBytesMax {
			return nil, protocolError("too big inline request")
		}
	}
}

func (cr *commandReader) next() ([][]byte, error) {
	for {
		first, err := cr.r.Peek(1)
		if err != nil {
			return nil, err
		}
		if first[0] != '*' {
			args, err := cr.inline()
			if err != nil || len(args) > 0 {
				return args, err
			}
			continue // an empty line: Redis ignores it
		}
		return cr.array()
	}
}

// inline parses a telnet-style command line with redcon's quoting rules.
func (cr *commandReader) inline() ([][]byte, error) {
	line, err := cr.line()
	if err != nil {
		return nil, err
	}
	if len(bytes.TrimSpace(line)) == 0 {
		return nil, nil
	}
	cmd, err := redcon.Parse(append(append([]byte{}, line...), '\r', '\n'))
	if err != nil {
		if strings.Contains(err.Error(), "quote") {
			return nil, protocolError("unbalanced quotes in request")
		}
		return nil, protocolError(strings.TrimPrefix(err.Error(), "Protocol error: "))
	}
	return cmd.Args, nil
}

func (cr *commandReader) array() ([][]byte, error) {
	hdr, err := cr.line()
	if err != nil {
		return nil, err
	}
	count, err := strconv.ParseInt(string(hdr[1:]), 10, 64)
	if err != nil || count > int64(cr.cfg.ArgsMax) {
		return nil, protocolError("invalid multibulk length")
	}
	if count <= 0 {
		return nil, nil // Redis ignores "*0" and "*-1"
	}
	// Grow args as arguments arrive rather than trusting count up front.
	args := make([][]byte, 0, min(count, 64))
	total := 0
	for range count {
		hdr, err := cr.line()
		if err != nil {
			return nil, err
		}
		if len(hdr) == 0 || hdr[0] != '$' {
			got := "\\n"
			if len(hdr) > 0 {
				got = string(hdr[0])
			}
			return nil, protocolError("expected '$', got '" + got + "'")
		}
		size, err := strconv.ParseInt(string(hdr[1:]), 10, 64)
		if err != nil || size < 0 || size > int64(cr.cfg.BulkBytesMax) {
			return nil, protocolError("invalid bulk length")
		}
		total += int(size)
		if total > cr.cfg.CommandBytesMax {
			return nil, protocolError("command larger than the server's limit")
		}
		arg := make([]byte, size+2)
		if _, err := io.ReadFull(cr.r, arg); err != nil {
			return nil, err
		}
		if arg[size] != '\r' || arg[size+1] != '\n' {
			return nil, protocolError("expected CRLF after bulk data")
		}
		args = append(args, arg[:size:size])
	}
	return args, nil
}
