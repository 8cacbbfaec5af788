package resp

import (
	"github.com/seshat-db/seshat/internal/assert"
)

// Conn is one client connection's byte path with the socket left out:
// bytes a read returned go in (Feed), are parsed with the bounded codec
// (CommandLimits.ParseCommand), each command runs on the connection's
// Executor in order, and the replies come out (Next, Output) as bytes, in
// the order the commands arrived, whatever order they are answered in.
// A QUIT or a protocol error ends the connection after its reply.
//
// Conn does no I/O and starts no goroutine: package server moves bytes
// between a socket and a Conn, and the simulator's clients hand a Conn
// the bytes of their bursts, so both run this code.
//
// Feed, Resume, Next and Output are called from one goroutine (or one
// simulator event) at a time; replies may be filled from another (the
// node's host goroutine), so a server gives the Conn a Locker (SetLocker)
// shared with nothing else that is held while it calls out.
type Conn struct {
	cfg  ConnConfig
	exec *Executor
	mu   Locker

	buf     []byte      // buf[start:held] is input not yet parsed
	start   int         //
	held    int         //
	slots   []*connSlot // commands read and not yet taken out, in order
	closing bool        // a QUIT or protocol error was read: nothing after it is parsed
	stalled bool        // parsing stopped at PipelineMax with input left: Resume once there is room
	ended   bool        // its last reply was taken out
	inBytes int64       // bytes of the commands read but not yet answered
	outSize int64       // bytes of the replies filled but not yet taken out

	// UnsafeReverseReplies (TEST ONLY) sends the replies that are ready
	// together in reverse order, as a broken pipeline would. It exists to
	// show that the simulator's checker catches replies out of order.
	UnsafeReverseReplies bool
}

// ServerCommandLimits are a connection's default command limits: Redis's,
// except that a bulk string holds at most 1 MiB (Seshat's values are far
// smaller; see Limits) and a command at most 64 MiB.
var ServerCommandLimits = CommandLimits{
	BulkBytesMax:    1 << 20,
	ArrayLenMax:     1 << 20,
	InlineBytesMax:  64 << 10,
	CommandBytesMax: 64 << 20,
}

// ConnConfig bounds one connection. Zero fields take defaults.
type ConnConfig struct {
	Command     CommandLimits // bounds one command; zero: ServerCommandLimits
	PipelineMax int           // commands read but not yet taken out; 1024
	// OnRead, if set, sees each command read, by its size in bytes,
	// before it runs.
	OnRead func(commandBytes int)
	// OnAnswer, if set, sees each reply as it is filled, before it may be
	// taken out, with its command's size (0 for a protocol error).
	OnAnswer func(commandBytes int, reply []byte)
	// OnReply, if set, is called when a reply is filled and may be taken
	// out. It must not block. These hooks run without the Conn's lock.
	OnReply func()
	// OnProtocolError, if set, sees the protocol error that ends the
	// connection, to log it.
	OnProtocolError func(err error)
}

// connSlot is one command's place in the reply order.
type connSlot struct {
	name  string // lower-case command name; "" for a protocol error
	size  int    // bytes of the command, held until it is answered
	reply []byte
	ready bool
	last  bool // the connection ends after this reply
}

// NewConn returns the byte path of a connection whose commands run on
// exec.
func NewConn(exec *Executor, cfg ConnConfig) *Conn {
	if cfg.Command == (CommandLimits{}) {
		cfg.Command = ServerCommandLimits
	}
	if cfg.PipelineMax <= 0 {
		cfg.PipelineMax = 1024
	}
	return &Conn{cfg: cfg, exec: exec, mu: noLock{}}
}

// SetLocker makes the Conn take l around its state, for replies filled
// on another goroutine. It is called before the first Feed.
func (c *Conn) SetLocker(l Locker) { c.mu = l }

// Executor returns the connection's Executor.
func (c *Conn) Executor() *Executor { return c.exec }

// ReadRoom returns where the next read's bytes go: free room after the
// input not yet parsed, at least ReadRoomBytesMin. The buffer holds the
// commands of one read and at most one partial command, which the codec
// bounds by CommandBytesMax (and InlineBytesMax), so a connection buffers
// at most that plus one read, and drops back to ReadBufBytes once a large
// command is done. Not while Stalled.
func (c *Conn) ReadRoom() []byte {
	assert.That(!c.stalled, "resp: ReadRoom on a stalled connection")
	if c.buf == nil {
		c.buf = make([]byte, ReadBufBytes)
	}
	c.buf, c.held = readRoom(c.buf, c.buf[c.start:c.held], max(c.cfg.Command.CommandBytesMax, c.cfg.Command.InlineBytesMax))
	c.start = 0
	return c.buf[c.held:]
}

// Received runs the commands that the n bytes just read into ReadRoom
// complete, as Feed does.
func (c *Conn) Received(n int) {
	c.held += n
	c.Resume()
}

// BufferBytes returns the size of the input buffer.
func (c *Conn) BufferBytes() int { return len(c.buf) }

// Feed takes the bytes one read returned and runs every complete command
// they finish, in order. The commands of one Feed arrived together: they
// may run as groups (sequencer.go). It is for callers that stay under
// PipelineMax; a socket reader uses ReadRoom and Received.
func (c *Conn) Feed(b []byte) {
	for !c.closing {
		n := copy(c.ReadRoom(), b)
		b = b[n:]
		c.Received(n)
		if len(b) == 0 {
			return
		}
	}
}

// Resume runs the complete commands buffered, in order, until the
// pipeline is full (Stalled), then flushes the Executor.
func (c *Conn) Resume() {
	pending := c.buf[c.start:c.held]
	c.stalled = false
	for !c.closing {
		if c.Full() {
			c.stalled = len(pending) > 0
			break
		}
		args, rest, err := c.cfg.Command.ParseCommand(pending)
		if err == ErrIncomplete {
			pending = rest
			break
		}
		if err != nil {
			// Answer after every earlier reply, then close, as Redis does.
			if c.cfg.OnProtocolError != nil {
				c.cfg.OnProtocolError(err)
			}
			slot := &connSlot{last: true}
			c.push(slot)
			c.closing = true
			c.fill(slot, AppendError(nil, err.Error()))
			break
		}
		slot := &connSlot{name: commandName(args[0]), size: len(pending) - len(rest), last: IsQuit(args)}
		c.push(slot)
		// Execute copies what it keeps, so args may alias c.buf.
		c.exec.Execute(args, func(b []byte) { c.fill(slot, b) })
		pending = rest
		if slot.last {
			c.closing = true
		}
	}
	c.start = c.held - len(pending)
	if c.closing {
		c.start = c.held // nothing after the last command is run
	}
	// Also when full: the replies owed must come before there is room,
	// and the commands waiting for a Flush would never be answered
	// without one.
	c.exec.Flush()
}

// Stalled reports that complete commands wait in the buffer for room in
// the pipeline: the reader does not read (TCP backpressure) and calls
// Resume once Full turns false.
func (c *Conn) Stalled() bool { return c.stalled }

// A connection's input buffer is ReadBufBytes between large commands, and
// a read always gets at least ReadRoomBytesMin of it.
const (
	ReadBufBytes     = 64 << 10
	ReadRoomBytesMin = 16 << 10
)

// readRoom returns a buffer that starts with pending (a partial command,
// or nothing; a suffix of buf) and has at least ReadRoomBytesMin bytes
// free after it. The codec keeps a partial command within partialBytesMax, so
// the buffer never grows past partialBytesMax plus one read; once the
// partial command is small again, a large buffer is let go.
func readRoom(buf, pending []byte, partialBytesMax int) ([]byte, int) {
	assert.That(len(pending) <= partialBytesMax, "resp: the codec left a partial command of %d bytes, over %d", len(pending), partialBytesMax)
	switch {
	case len(buf) > ReadBufBytes && len(pending)+ReadRoomBytesMin <= ReadBufBytes:
		buf = make([]byte, ReadBufBytes)
	case len(buf)-len(pending) < ReadRoomBytesMin:
		buf = make([]byte, min(max(2*len(buf), len(pending)+ReadRoomBytesMin), partialBytesMax+ReadRoomBytesMin))
	case len(pending) > 0 && &pending[0] == &buf[0]:
		return buf, len(pending) // already at the front: nothing to move
	}
	return buf, copy(buf, pending)
}

func (c *Conn) push(slot *connSlot) {
	c.mu.Lock()
	c.slots = append(c.slots, slot)
	c.inBytes += int64(slot.size)
	c.mu.Unlock()
	if c.cfg.OnRead != nil && slot.size > 0 {
		c.cfg.OnRead(slot.size)
	}
}

func (c *Conn) fill(slot *connSlot, b []byte) {
	if c.cfg.OnAnswer != nil {
		c.cfg.OnAnswer(slot.size, b)
	}
	c.mu.Lock()
	slot.reply, slot.ready = b, true
	c.inBytes -= int64(slot.size)
	c.outSize += int64(len(b))
	c.mu.Unlock()
	if c.cfg.OnReply != nil {
		c.cfg.OnReply()
	}
}

// Full reports that PipelineMax commands wait to be taken out: the
// reader stops reading (TCP backpressure) until Next makes room.
func (c *Conn) Full() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.slots) >= c.cfg.PipelineMax
}

// Closing reports that a QUIT or protocol error was read: the reader is
// done, the replies owed still go out.
func (c *Conn) Closing() bool { return c.closing }

// Buffered returns the input bytes not yet parsed.
func (c *Conn) Buffered() int { return c.held - c.start }

// Owed returns how many commands read have replies not yet taken out.
func (c *Conn) Owed() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.slots)
}

// Next takes out the next reply in command order, if it is ready, with
// its command's lower-case name ("" for a protocol error). last means the
// connection ends after it.
func (c *Conn) Next() (reply []byte, name string, last, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.slots) == 0 || !c.slots[0].ready {
		return nil, "", false, false
	}
	i := 0
	if c.UnsafeReverseReplies {
		for i+1 < len(c.slots) && c.slots[i+1].ready {
			i++ // the last of the replies ready together goes first
		}
	}
	s := c.slots[i]
	if i == 0 {
		c.slots[0] = nil
		c.slots = c.slots[1:]
	} else {
		copy(c.slots[i:], c.slots[i+1:])
		c.slots[len(c.slots)-1] = nil
		c.slots = c.slots[:len(c.slots)-1]
	}
	c.outSize -= int64(len(s.reply))
	c.ended = c.ended || s.last
	return s.reply, s.name, s.last, true
}

// Output appends every reply that is ready, in command order, up to the
// first that is not, and reports whether the connection has ended.
func (c *Conn) Output(dst []byte) (out []byte, ended bool) {
	for {
		reply, _, _, ok := c.Next()
		if !ok {
			return dst, c.Ended()
		}
		dst = append(dst, reply...)
	}
}

// Ended reports that the last reply (QUIT's, or a protocol error's) was
// taken out: the connection closes.
func (c *Conn) Ended() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ended
}

// Bytes returns the bytes of the commands read but not yet answered
// (input) and of the replies filled but not yet taken out (output).
func (c *Conn) Bytes() (input, output int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.inBytes, c.outSize
}

// Close ends the connection: commands not yet submitted die with it, and
// replies that still come are kept for nobody.
func (c *Conn) Close() {
	c.closing = true
	c.exec.Close()
}
