package sim

import (
	"fmt"
	"strings"

	"github.com/seshat-db/seshat/resp"
)

// Multi-key commands. porcupine's model is one register per key, so a
// multi-key command enters the history as one observation per key, each
// with the command's own call and return times. That is sound: if the
// command took effect at one instant inside its interval, so did its
// effect on every key. It is not complete: each key may be explained by a
// different instant. Atomicity across keys (one instant for all) is
// checked on its own, over groups of keys that only multi-key commands
// touch and that therefore always agree: MSET writes one value to every
// key of a group, DEL deletes them all, so a group's MGET must return one
// value (or none) for all its keys, and its EXISTS and DEL count none or
// all of them. A read served across writes (chunks of a long read that
// do not share one snapshot) breaks that.
//
// The node serves reads of more than ReadChunkKeys (2 here) keys in
// chunks off the event loop, so these commands take that path.

// multiOp is a multi-key command in flight.
type multiOp struct {
	cmd   string // mget, exists, del, mset
	keys  []string
	value string // mset's, for every key
	group bool   // the keys are one group: atomicity is checked
}

const (
	keyGroups    = 2 // groups of keys only multi-key commands touch
	keyGroupSize = 3 // more than the simulator's ReadChunkKeys
	multiPercent = 15
)

// pickMulti draws a multi-key command: an MGET of distinct keys of the
// single-key workload, or a command on a whole group.
func (c *client) pickMulti(value string) *multiOp {
	w := c.w
	if w.rng.IntN(4) == 0 && w.opts.Keys >= 3 {
		m := &multiOp{cmd: "mget"}
		for _, i := range w.rng.Perm(w.opts.Keys)[:3] {
			m.keys = append(m.keys, w.hist.keys.name(i))
		}
		return m
	}
	g := w.rng.IntN(keyGroups)
	m := &multiOp{group: true, cmd: [...]string{"mget", "mget", "exists", "mset", "mset", "del"}[w.rng.IntN(6)]}
	for i := range keyGroupSize {
		m.keys = append(m.keys, fmt.Sprintf("g%d.%d", g, i))
	}
	if m.cmd == "mset" {
		m.value = value
	}
	return m
}

func (m *multiOp) args() [][]byte {
	args := [][]byte{[]byte(m.cmd)}
	for _, k := range m.keys {
		args = append(args, []byte(k))
		if m.cmd == "mset" {
			args = append(args, []byte(m.value))
		}
	}
	return args
}

// perKey is the single-key command each key's observation stands for.
func (m *multiOp) perKey() string {
	switch m.cmd {
	case "mget":
		return "get"
	case "mset":
		return "set"
	}
	return m.cmd
}

func (m *multiOp) String() string {
	if m.cmd == "mset" {
		return "mset " + strings.Join(m.keys, " ") + " = " + m.value
	}
	return m.cmd + " " + strings.Join(m.keys, " ")
}

// finishMulti records the reply to a multi-key command, one observation
// per key, after checking the group's atomicity.
func (c *client) finishMulti(p *pendingOp, reply []byte) {
	w, m := c.w, p.multi
	r, rest, err := resp.ParseReply(reply)
	if err == nil && len(rest) != 0 {
		err = fmt.Errorf("%d bytes after the reply", len(rest))
	}
	if err != nil {
		w.fail(classSafety, "client %d: %s got a malformed reply %q: %v", c.id, m, reply, err)
		return
	}
	if w.keepTrace {
		w.tracef("%s client %d conn %d #%d via n%d: %s -> %s", w.now, c.id, p.in.Conn, p.in.Seq, p.node+1, m, strings.TrimSpace(string(reply)))
	}
	if r.Kind == resp.KindError {
		_, outcome, err := parseOutput(opInput{Cmd: m.perKey()}, reply)
		switch {
		case err != nil:
			w.fail(classSafety, "client %d: %s: %v", c.id, m, err)
		case outcome == outcomeUnknown:
			c.recordUnknown(p)
			c.moveOn = true
		default:
			w.stats.OpsFailed++
			c.moveOn = true // a node that refuses work may be cut off
		}
		return
	}
	outs, err := m.outputs(r)
	if err != nil {
		w.fail(classSafety, "client %d: %s got %q: %v", c.id, m, reply, err)
		return
	}
	w.stats.OpsOK++
	for i, k := range m.keys {
		w.hist.add(c.id, opInput{Cmd: m.perKey(), Key: k, Value: m.value, Conn: p.in.Conn, Seq: p.in.Seq}, outs[i], p.call, w.now)
	}
}

// outputs splits a multi-key reply into what each key's single-key
// command would have returned, failing when a group's keys disagree.
func (m *multiOp) outputs(r resp.Reply) ([]opOutput, error) {
	outs := make([]opOutput, len(m.keys))
	switch m.cmd {
	case "mset":
		if r.Kind != resp.KindSimple || r.Str != "OK" {
			return nil, fmt.Errorf("want OK")
		}
	case "mget":
		if r.Kind != resp.KindArray || len(r.Array) != len(m.keys) {
			return nil, fmt.Errorf("want an array of %d", len(m.keys))
		}
		for i, e := range r.Array {
			if e.Kind != resp.KindBulk {
				return nil, fmt.Errorf("element %d is not a bulk string", i)
			}
			outs[i] = opOutput{Nil: e.Null, Value: e.Str}
			if m.group && outs[i] != outs[0] {
				return nil, fmt.Errorf("not atomic: the keys of one group, only ever written together, read %+v and %+v", outs[0], outs[i])
			}
		}
	case "exists", "del":
		n := int64(len(m.keys))
		if r.Kind != resp.KindInt || (r.Int != 0 && r.Int != n) {
			return nil, fmt.Errorf("not atomic (or not an integer): a group's keys, only ever written together, counted %d of %d", r.Int, n)
		}
		for i := range outs {
			outs[i] = opOutput{Int: r.Int / n}
		}
	}
	return outs, nil
}

// recordUnknownMulti keeps a multi-key write whose fate is unknown, one
// open-ended observation per key.
func (c *client) recordUnknownMulti(p *pendingOp) {
	for _, k := range p.multi.keys {
		c.w.hist.add(c.id, opInput{Cmd: p.multi.perKey(), Key: k, Value: p.multi.value, Conn: p.in.Conn, Seq: p.in.Seq}, opOutput{Unknown: true}, p.call, -1)
	}
}
