package sim

import (
	"fmt"
	"strings"
	"time"

	"github.com/seshat-db/seshat/kv"
	"github.com/seshat-db/seshat/node"
	"github.com/seshat-db/seshat/resp"
)

// client is a simulated Redis client. It keeps a connection to one node
// and sends bursts of 1 to PipelineMax commands on it, pipelined, as RESP
// bytes through the connection state machine the server uses
// (resp.Conn): only the socket is simulated. It records each call and
// return, with the command's place in its connection's order, and moves
// to another node when its node fails it.
type client struct {
	w       *World
	id      int
	node    int
	count   int
	conn    *simConn
	burst   []*pendingOp // the burst waiting for replies, in order
	moveOn  bool         // the node failed a command of the burst: connect elsewhere after it
	stopped bool         // a scenario stopped the clients: no command after this one
}

// simConn is one client connection: its order is the one the checker
// holds the node to.
type simConn struct {
	id       int // unique in the run
	node     int
	rc       *resp.Conn
	sent     int    // commands sent on it: the next one's place is sent+1
	replies  []byte // reply bytes the node sent and the client has not parsed yet
	answered int    // commands of the burst answered so far
	inFlight bool   // replies are on the wire: a receive is scheduled
}

type pendingOp struct {
	in    opInput
	call  time.Duration
	node  int
	done  bool
	multi *multiOp // a multi-key command (multikey.go), else nil
	txn   *txnPart // a command of a transaction (txn.go), else nil
}

// opCommands are the single-key commands the workload draws from, with
// their weights. Single-key, so porcupine can check each key on its own.
var opCommands = []struct {
	name   string
	weight int
}{
	{"get", 30}, {"set", 20}, {"incr", 12}, {"del", 8}, {"append", 8},
	{"setnx", 6}, {"getdel", 4}, {"exists", 6}, {"strlen", 6},
}

func (c *client) pick() string {
	total := 0
	for _, oc := range opCommands {
		total += oc.weight
	}
	r := c.w.rng.IntN(total)
	for _, oc := range opCommands {
		if r < oc.weight {
			return oc.name
		}
		r -= oc.weight
	}
	panic("unreachable")
}

// next sends the client's next burst of commands.
func (c *client) next() {
	w := c.w
	if len(c.burst) > 0 || c.stopped {
		return
	}
	s := w.nodes[c.node]
	if !s.up() {
		// Connection refused: try another node a little later.
		c.node = w.rng.IntN(len(w.nodes))
		c.later(10 * time.Millisecond)
		return
	}
	if c.conn == nil || c.conn.node != c.node {
		c.connect(s)
	}
	conn := c.conn
	n := 1 + w.rng.IntN(w.opts.PipelineMax)
	burst := make([]*pendingOp, n)
	args := make([][][]byte, n)
	for i := range burst {
		burst[i], args[i] = c.newOp(conn)
		// The burst is sent at once, but porcupine breaks ties between
		// equal call times in no fixed order, and a search that tries a
		// connection's later command first is refused by the model and
		// backtracks, at great cost. A nanosecond apiece puts the calls in
		// the connection's order; no command can take effect within
		// nanoseconds of being sent (history.add keeps call <= return).
		burst[i].call += time.Duration(i)
	}
	burst, args = w.txns.extend(c, conn, burst, args)
	c.burst = burst
	w.schedule(w.opts.ClientTimeout, evClientTimeout, -1, uint64(c.id), func() {
		if c.conn == conn && len(c.burst) > 0 && c.burst[0] == burst[0] {
			c.giveUp("client timeout")
		}
	})
	var wire []byte
	for _, a := range args {
		wire = resp.AppendCommand(wire, a...)
	}
	conn.answered = 0
	// The socket may hand the node the burst in two reads, split
	// anywhere, even inside a command.
	split := len(wire)
	if w.rng.IntN(2) == 0 {
		split = w.rng.IntN(len(wire) + 1)
	}
	conn.rc.Feed(wire[:split])
	conn.rc.Feed(wire[split:])
}

func (c *client) connect(s *simNode) {
	w := c.w
	w.connections++
	exec := newExecutor(s)
	if !w.opts.UnsafeSkipLogin {
		login(w, s, exec, simUser, simPassword)
	}
	exec.UnsafeUnordered = w.opts.UnsafeUnorderedPipeline
	exec.UnsafeSplitTxn = w.opts.UnsafeSplitTxn
	exec.UnsafeIgnoreWatch = w.opts.UnsafeIgnoreWatch
	conn := &simConn{id: w.connections, node: s.idx}
	conn.rc = resp.NewConn(exec, resp.ConnConfig{OnReply: func() { c.replyReady(conn) }})
	conn.rc.UnsafeReverseReplies = w.opts.UnsafeReverseReplies
	c.conn = conn
}

// replyReady puts the replies conn's node has ready on the simulated
// wire: the client reads them a little later, so replies answered close
// together arrive together, as from a socket.
func (c *client) replyReady(conn *simConn) {
	if conn.inFlight {
		return
	}
	conn.inFlight = true
	w := c.w
	w.schedule(time.Duration(w.rng.Int64N(int64(200*time.Microsecond)))+time.Microsecond, evClientRecv, -1, uint64(c.id), func() {
		conn.inFlight = false
		c.receive(conn)
	})
}

// receive takes the replies conn's node has sent, in the order it sent
// them, and matches each to the burst's next command, as a client
// library does.
func (c *client) receive(conn *simConn) {
	conn.replies, _ = conn.rc.Output(conn.replies)
	for c.conn == conn && len(conn.replies) > 0 {
		_, rest, err := resp.ParseReply(conn.replies)
		if err == resp.ErrIncomplete {
			return
		}
		if err != nil || conn.answered >= len(c.burst) {
			c.w.fail(classSafety, "client %d: conn %d sent %q, which answers no command (%d of %d answered): %v", c.id, conn.id, conn.replies, conn.answered, len(c.burst), err)
			return
		}
		reply := conn.replies[:len(conn.replies)-len(rest)]
		conn.replies = rest
		p := c.burst[conn.answered]
		conn.answered++
		if !p.done {
			c.finish(p, reply)
		}
	}
}

// disconnect closes the connection: commands it has not submitted die with
// it, and a reply still on its way is ignored.
func (c *client) disconnect() {
	if c.conn != nil {
		c.conn.rc.Close()
		c.conn = nil
	}
}

// newOp draws one command and gives it its place in conn's order.
func (c *client) newOp(conn *simConn) (*pendingOp, [][]byte) {
	w := c.w
	c.count++
	conn.sent++
	key := w.hist.keys.name(w.rng.IntN(w.opts.Keys))
	value := fmt.Sprintf("c%d.%d", c.id, c.count)
	in := opInput{Cmd: c.pick(), Key: key, Conn: conn.id, Seq: conn.sent}
	var args [][]byte
	switch in.Cmd {
	case "set", "append", "setnx":
		in.Value = value
		args = byteArgs(in.Cmd, key, value)
	default:
		args = byteArgs(in.Cmd, key)
	}
	var multi *multiOp
	if w.rng.IntN(100) < multiPercent {
		multi = c.pickMulti(value)
		in = opInput{Cmd: multi.cmd, Conn: conn.id, Seq: conn.sent}
		args = multi.args()
	}
	if t, targs, ok := w.ttl.maybeOp(c, in); ok {
		in, args, multi = t, targs, nil
	}
	return &pendingOp{in: in, call: w.now, node: conn.node, multi: multi}, args
}

// byteArgs returns a command's arguments as bytes, in two allocations
// rather than one per argument: newOp makes one for every command sent.
func byteArgs(strs ...string) [][]byte {
	n := 0
	for _, s := range strs {
		n += len(s)
	}
	b := make([]byte, 0, n)
	args := make([][]byte, len(strs))
	for i, s := range strs {
		b = append(b, s...)
		args[i] = b[len(b)-len(s) : len(b) : len(b)]
	}
	return args
}

func (c *client) later(d time.Duration) {
	c.w.schedule(d, evClientOp, -1, uint64(c.id), c.next)
}

// thinkThenNext pauses in proportion to the burst just answered, so a
// client sends about as many commands per second whatever its bursts: the
// history porcupine must search stays as dense as with single commands.
func (c *client) thinkThenNext(burst int) {
	c.later(time.Duration(burst)*time.Duration(c.w.rng.Int64N(int64(c.w.opts.ThinkTimeMax))) + time.Microsecond)
}

// finish records the reply to one command of the burst.
func (c *client) finish(p *pendingOp, reply []byte) {
	w := c.w
	p.done = true
	if refusedAuth(reply) {
		// Every client connection logged in as a user with +@all ~*.
		w.fail(classSafety, "client %d: %s %s on an authenticated connection via n%d was refused: %q", c.id, p.in.Cmd, p.in.Key, p.node+1, reply)
		return
	}
	if p.txn != nil {
		c.finishTxn(p, reply)
		c.burstDone()
		return
	}
	if p.multi != nil {
		c.finishMulti(p, reply)
		c.burstDone()
		return
	}
	out, outcome, err := parseOutput(p.in, reply)
	if err != nil {
		w.fail(classSafety, "client %d: %s %s got a malformed reply %q: %v", c.id, p.in.Cmd, p.in.Key, reply, err)
		return
	}
	switch outcome {
	case outcomeDone:
		w.stats.OpsOK++
		w.hist.add(c.id, p.in, out, p.call, w.now)
		w.ttl.observe(c, p, out)
	case outcomeUnknown:
		c.recordUnknown(p)
		c.moveOn = true
	case outcomeNotDone:
		w.stats.OpsFailed++
		// A node that refuses work may be cut off: try another.
		c.moveOn = true
	}
	if w.keepTrace {
		w.tracef("%s client %d conn %d #%d via n%d: %s %s %s -> %s", w.now, c.id, p.in.Conn, p.in.Seq, p.node+1, p.in.Cmd, p.in.Key, p.in.Value, strings.TrimSpace(string(reply)))
	}
	c.burstDone()
}

// burstDone moves on once every command of the burst is answered.
func (c *client) burstDone() {
	for _, p := range c.burst {
		if !p.done {
			return
		}
	}
	n := len(c.burst)
	c.burst = nil
	if c.moveOn {
		c.moveOn = false
		c.disconnect()
		c.node = c.w.rng.IntN(len(c.w.nodes))
	}
	c.thinkThenNext(n)
}

// giveUp stops waiting for the burst's missing replies and drops the
// connection.
func (c *client) giveUp(why string) {
	for _, p := range c.burst {
		if !p.done {
			p.done = true
			if c.w.keepTrace {
				c.w.tracef("%s client %d conn %d #%d via n%d: %s %s %s -> no reply (%s)", c.w.now, c.id, p.in.Conn, p.in.Seq, p.node+1, p.in.Cmd, p.in.Key, p.in.Value, why)
			}
			c.recordUnknown(p)
		}
	}
	c.moveOn = true
	c.burstDone()
}

// recordUnknown keeps a write whose fate is unknown in the history, open
// until the end of time: porcupine may place it anywhere after its call,
// which covers both "it happened" and "it never did". A read with no
// answer tells nothing and is left out.
func (c *client) recordUnknown(p *pendingOp) {
	c.w.stats.OpsUnknown++
	if p.txn != nil {
		// Only a transfer's or a compare-and-set's EXEC may have changed
		// anything.
		if m := p.txn.model; m != nil && isWrite(m.Cmd) && m.Cmd != "get" {
			c.w.hist.add(c.id, *m, opOutput{Unknown: true}, p.call, -1)
		}
		if p.txn.txn == "transfer" && p.txn.kind == "exec" {
			c.w.txns.transferUnknown(p.txn.group)
		}
		return
	}
	if p.multi != nil && isWrite(p.multi.perKey()) {
		c.recordUnknownMulti(p)
	} else if p.multi == nil && isWrite(p.in.Cmd) {
		c.w.hist.add(c.id, p.in, opOutput{Unknown: true}, p.call, -1)
	}
}

func (c *client) nodeCrashed(idx int) {
	if c.conn != nil && c.conn.node == idx && len(c.burst) > 0 {
		c.giveUp("connection reset by crash")
	}
	if c.conn != nil && c.conn.node == idx {
		c.disconnect()
	}
}

// newExecutor opens a connection to s's current process: the executor's
// backend goes dead with that process, as a TCP connection would.
func newExecutor(s *simNode) *resp.Executor {
	e := resp.NewExecutor(simBackend{s: s, n: s.n}, resp.Limits{KeyBytesMax: 256, ValueBytesMax: 64 << 10}, nil)
	e.UnsafeNoAuth = s.w.opts.UnsafeNoAuth
	return e
}

// executeOne sends one command on a fresh connection to s, as bytes
// through the connection state machine.
func executeOne(s *simNode, args [][]byte, reply func([]byte)) {
	var rc *resp.Conn
	exec := newExecutor(s)
	login(s.w, s, exec, simUser, simPassword)
	rc = resp.NewConn(exec, resp.ConnConfig{OnReply: func() {
		if out, _ := rc.Output(nil); len(out) > 0 {
			reply(out)
		}
	}})
	rc.Feed(resp.AppendCommand(nil, args...))
}

// simBackend submits a connection's groups to the node process it was
// opened to, if that process is still running.
type simBackend struct {
	s *simNode
	n *node.Node
}

func (b simBackend) Submit(ops []kv.Op, done func([]kv.Result)) {
	if b.s.n != b.n || b.n == nil {
		return // the connection died with the process: no answer ever comes
	}
	b.s.post(node.Event{Kind: node.EventOps, Ops: ops, Done: b.s.w.checkedReads(b.s, b.n, ops, done)})
}
