package resp

import "strings"

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

	in      []byte      // input not yet parsed: at most a partial command, unless the pipeline is full
	slots   []*connSlot // commands read and not yet taken out, in order
	closing bool        // a QUIT or protocol error was read: nothing after it is parsed
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
	// OnReply, if set, is called when a reply is filled and may be taken
	// out, without the Conn's lock held. It must not block.
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

// Feed takes the bytes one read returned and runs every complete command
// they finish, in order, until the pipeline is full (Resume continues
// then). The commands of one Feed arrived together: they may run as
// groups (sequencer.go).
func (c *Conn) Feed(b []byte) {
	if c.closing {
		return
	}
	c.in = append(c.in, b...)
	c.Resume()
}

// Resume runs the complete commands still buffered, as Feed does. A
// reader calls it once Full turns false.
func (c *Conn) Resume() {
	pending := c.in
	for !c.closing && !c.Full() {
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
			pending = nil
			break
		}
		slot := &connSlot{name: strings.ToLower(string(args[0])), size: len(pending) - len(rest), last: IsQuit(args)}
		c.push(slot)
		// Execute copies what it keeps, so args may alias c.in.
		c.exec.Execute(args, func(b []byte) { c.fill(slot, b) })
		pending = rest
		if slot.last {
			c.closing = true
			pending = nil
		}
	}
	c.in = append(c.in[:0], pending...)
	if cap(c.in) > connBufBytes && len(c.in) <= connBufBytes/2 {
		c.in = append(make([]byte, 0, connBufBytes), c.in...) // let a large command's buffer go
	}
	// Also when full: the replies owed must come before there is room,
	// and the commands waiting for a Flush would never be answered
	// without one.
	c.exec.Flush()
}

// connBufBytes is the input buffer a Conn keeps between large commands.
const connBufBytes = 64 << 10

func (c *Conn) push(slot *connSlot) {
	c.mu.Lock()
	c.slots = append(c.slots, slot)
	c.inBytes += int64(slot.size)
	c.mu.Unlock()
}

func (c *Conn) fill(slot *connSlot, b []byte) {
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

// Buffered returns the input bytes held, parsed or not.
func (c *Conn) Buffered() int { return len(c.in) }

// Next takes out the next reply in command order, if it is ready, with
// its command's lower-case name ("" for a protocol error). last means the
// connection ends after it.
func (c *Conn) Next() (reply []byte, name string, last, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.slots) == 0 || !c.slots[0].ready {
		return nil, "", false, false
	}
	s := c.slots[0]
	c.slots[0] = nil
	c.slots = c.slots[1:]
	c.outSize -= int64(len(s.reply))
	c.ended = c.ended || s.last
	return s.reply, s.name, s.last, true
}

// Output appends every reply that is ready, in command order, up to the
// first that is not, and reports whether the connection has ended.
func (c *Conn) Output(dst []byte) (out []byte, ended bool) {
	start := len(dst)
	var bounds []int
	for {
		reply, _, _, ok := c.Next()
		if !ok {
			break
		}
		bounds = append(bounds, len(dst))
		dst = append(dst, reply...)
	}
	if c.UnsafeReverseReplies && len(bounds) > 1 {
		ready := append([]byte(nil), dst[start:]...)
		dst = dst[:start]
		for i := len(bounds) - 1; i >= 0; i-- {
			end := len(ready)
			if i+1 < len(bounds) {
				end = bounds[i+1] - start
			}
			dst = append(dst, ready[bounds[i]-start:end]...)
		}
	}
	return dst, c.Ended()
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
