package sim

import (
	"fmt"
	"strings"
	"time"

	"github.com/seshat-db/seshat/kv"
	"github.com/seshat-db/seshat/resp"
)

// client is a simulated Redis client. It sends one command at a time
// through the resp command layer of the node it is connected to, records
// each call and return, and moves to another node when its node fails it.
type client struct {
	w       *World
	id      int
	node    int
	count   int
	pending *pendingOp
	stopped bool // a scenario stopped the clients: no command after this one
}

type pendingOp struct {
	in    opInput
	call  time.Duration
	node  int
	done  bool
	args  [][]byte
	token int
	multi *multiOp // a multi-key command (multikey.go), else nil
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

// next sends the client's next command.
func (c *client) next() {
	w := c.w
	if c.pending != nil || c.stopped {
		return
	}
	s := w.nodes[c.node]
	if !s.up() {
		// Connection refused: try another node a little later.
		c.node = w.rng.IntN(len(w.nodes))
		c.later(10 * time.Millisecond)
		return
	}
	c.count++
	key := fmt.Sprintf("k%d", w.rng.IntN(w.opts.Keys))
	value := fmt.Sprintf("c%d.%d", c.id, c.count)
	in := opInput{Cmd: c.pick(), Key: key}
	args := [][]byte{[]byte(in.Cmd), []byte(key)}
	switch in.Cmd {
	case "set", "append", "setnx":
		in.Value = value
		args = append(args, []byte(value))
	}
	var multi *multiOp
	if w.rng.IntN(100) < multiPercent {
		multi = c.pickMulti(value)
		in = opInput{Cmd: multi.cmd}
		args = multi.args()
	}
	p := &pendingOp{in: in, call: w.now, node: c.node, args: args, token: c.count, multi: multi}
	c.pending = p
	token := c.count
	w.schedule(w.opts.ClientTimeout, evClientTimeout, -1, uint64(c.id), func() {
		if c.pending == p && !p.done {
			c.finishUnknown("client timeout")
		}
	})
	exec := resp.NewExecutor(simBackend{s}, resp.Limits{KeyBytesMax: 256, ValueBytesMax: 64 << 10}, nil)
	exec.Execute(args, func(reply []byte) {
		if c.pending != p || p.done || p.token != token {
			return
		}
		c.finish(reply)
	})
	w.afterNodeEvent(s)
}

func (c *client) later(d time.Duration) {
	c.w.schedule(d, evClientOp, -1, uint64(c.id), c.next)
}

func (c *client) thinkThenNext() {
	c.later(time.Duration(c.w.rng.Int64N(int64(c.w.opts.ThinkTimeMax))) + time.Microsecond)
}

// finish records the reply to the pending command.
func (c *client) finish(reply []byte) {
	w, p := c.w, c.pending
	p.done = true
	c.pending = nil
	if p.multi != nil {
		c.finishMulti(p, reply)
		c.thinkThenNext()
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
	case outcomeUnknown:
		c.recordUnknown(p)
	case outcomeNotDone:
		w.stats.OpsFailed++
		// A node that refuses work may be cut off: try another.
		c.node = w.rng.IntN(len(w.nodes))
	}
	w.tracef("%s client %d via n%d: %s %s %s -> %s", w.now, c.id, p.node+1, p.in.Cmd, p.in.Key, p.in.Value, strings.TrimSpace(string(reply)))
	c.thinkThenNext()
}

// finishUnknown gives up on the pending command without an answer.
func (c *client) finishUnknown(why string) {
	p := c.pending
	p.done = true
	c.pending = nil
	c.w.tracef("%s client %d via n%d: %s %s %s -> no reply (%s)", c.w.now, c.id, p.node+1, p.in.Cmd, p.in.Key, p.in.Value, why)
	c.recordUnknown(p)
	c.node = c.w.rng.IntN(len(c.w.nodes))
	c.thinkThenNext()
}

// recordUnknown keeps a write whose fate is unknown in the history, open
// until the end of time: porcupine may place it anywhere after its call,
// which covers both "it happened" and "it never did". A read with no
// answer tells nothing and is left out.
func (c *client) recordUnknown(p *pendingOp) {
	c.w.stats.OpsUnknown++
	if p.multi != nil && isWrite(p.multi.perKey()) {
		c.recordUnknownMulti(p)
	} else if p.multi == nil && isWrite(p.in.Cmd) {
		c.w.hist.add(c.id, p.in, opOutput{Unknown: true}, p.call, -1)
	}
}

func (c *client) nodeCrashed(idx int) {
	if c.pending != nil && !c.pending.done && c.pending.node == idx {
		c.finishUnknown("connection reset by crash")
	}
}

// simBackend submits a command's operations to the node it is connected
// to, if that node is still the same process.
type simBackend struct{ s *simNode }

func (b simBackend) Submit(op kv.Op, done func(kv.Result)) {
	if !b.s.up() {
		return // the connection died with the node: no answer ever comes
	}
	b.s.n.Submit(op, done)
}
