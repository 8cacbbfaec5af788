package node

// Node behaviour as datadriven scripts (testdata/*.txt), in the style of
// etcd raft's interaction tests: each command drives the deterministic
// cluster harness of cluster_test.go and prints the events it caused, in
// order: messages sent (a run of them folded into one line per sender,
// receiver and type, with a count), leader changes, and client replies.
// Rewrite the expected output after a deliberate change with
//
//	go test ./node -run TestScripts -rewrite
//
// and read the diff: it is the behaviour that changed.
//
// Commands:
//
//	cluster [seed=N] [timeout=TICKS]  a new three-node cluster
//	elect                             tick until one leader is agreed
//	tick [n=N] [msgs]                 tick every live node, settling after each
//	submit node=N id=NAME set=(k,v) | get=k | incr=k
//	process [node=N]                  Process the node(s): persist, send, answer
//	deliver [from=N] [to=N] [type=T] [drop] [dup]
//	                                  step the queued messages that match (in
//	                                  order), drop them, or step them twice
//	settle                            process and deliver until quiet
//	partition node=N | heal           lose every message to and from N
//	crash node=N | restart node=N     close a node / reopen it over its disk
//	status                            each node's role, term, leader, applied
//	applied                           the client ops each node applied, in order
//	queue                             the messages in flight

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/cockroachdb/datadriven"

	"github.com/seshat-db/seshat/kv"
)

func TestScripts(t *testing.T) {
	datadriven.Walk(t, "testdata", func(t *testing.T, path string) {
		if strings.HasPrefix(path, filepath.Join("testdata", "fuzz")) {
			return // the fuzzers' corpus (fuzz_test.go), not scripts
		}
		s := &script{t: t}
		datadriven.RunTest(t, path, s.run)
	})
}

// script is the interpreter of one file: a cluster and the event log of
// the command being run.
type script struct {
	t      *testing.T
	c      *cluster
	events []string
	calls  map[string]*call
}

func (s *script) run(t *testing.T, d *datadriven.TestData) string {
	s.t = t
	s.events = nil
	if d.Cmd == "cluster" {
		s.newCluster(d)
		return s.log(true)
	}
	if s.c == nil {
		d.Fatalf(t, "%s before cluster", d.Cmd)
	}
	msgs := true
	switch d.Cmd {
	case "elect":
		lead := s.c.leader()
		s.events = append(s.events, fmt.Sprintf("leader is n%d", lead))
		msgs = false
	case "tick":
		n := 1
		d.MaybeScanArgs(t, "n", &n)
		s.c.ticks(n)
		msgs = d.HasArg("msgs")
	case "submit":
		s.submit(d)
	case "process":
		s.process(d)
	case "deliver":
		s.deliver(d)
	case "settle":
		s.c.settle()
	case "partition":
		id := s.nodeArg(d)
		s.c.drop = func(m message) bool { return m.From == id || m.To == id }
	case "heal":
		s.c.drop = nil
	case "crash":
		s.c.stop(s.nodeArg(d))
	case "restart":
		s.c.start(s.nodeArg(d))
	case "status":
		return s.status()
	case "applied":
		return s.applied()
	case "queue":
		return s.queue()
	default:
		d.Fatalf(t, "unknown command %q", d.Cmd)
	}
	return s.log(msgs)
}

func (s *script) newCluster(d *datadriven.TestData) {
	seed, timeout := uint64(1), 0
	d.MaybeScanArgs(s.t, "seed", &seed)
	d.MaybeScanArgs(s.t, "timeout", &timeout)
	cfg := testConfig()
	if timeout > 0 {
		cfg.RequestTimeoutTicks = timeout
	}
	s.c = newCluster(s.t, seed, cfg)
	s.calls = map[string]*call{}
	s.c.net.OnSend = func(m message) {
		s.events = append(s.events, fmt.Sprintf("n%d->n%d %s", m.From, m.To, msgName(m.Data)))
	}
	s.c.onLog = func(id uint64, msg string, kv []any) {
		if msg == "leader changed" {
			s.events = append(s.events, fmt.Sprintf("n%d: leader %v -> %v (term %v)", id, kv[3], kv[5], kv[7]))
		}
	}
}

func (s *script) nodeArg(d *datadriven.TestData) uint64 {
	var id uint64
	d.ScanArgs(s.t, "node", &id)
	return id
}

func (s *script) submit(d *datadriven.TestData) {
	id := s.nodeArg(d)
	var name string
	d.ScanArgs(s.t, "id", &name)
	var op kv.Op
	var k, v string
	switch {
	case d.HasArg("set"):
		d.ScanArgs(s.t, "set", &k, &v)
		op = set(k, v)
	case d.HasArg("get"):
		d.ScanArgs(s.t, "get", &k)
		op = get(k)
	case d.HasArg("incr"):
		d.ScanArgs(s.t, "incr", &k)
		op = incr(k)
	default:
		d.Fatalf(s.t, "submit needs set=(k,v), get=k or incr=k")
	}
	cl := &call{}
	s.calls[name] = cl
	s.c.node(id).Submit([]kv.Op{op}, func(r []kv.Result) {
		cl.n++
		cl.res = r[0]
		s.events = append(s.events, fmt.Sprintf("reply %s: %s", name, describe(r[0])))
	})
}

func (s *script) process(d *datadriven.TestData) {
	var only uint64
	d.MaybeScanArgs(s.t, "node", &only)
	for i, n := range s.c.nodes {
		if n == nil || (only != 0 && uint64(i+1) != only) {
			continue
		}
		if err := n.Process(); err != nil {
			s.events = append(s.events, fmt.Sprintf("n%d: process: %v", i+1, err))
		}
	}
}

// deliver takes the queued messages that match the filter out of the
// queue, in order, and steps them (or drops them); the others stay.
func (s *script) deliver(d *datadriven.TestData) {
	var from, to uint64
	var typ string
	d.MaybeScanArgs(s.t, "from", &from)
	d.MaybeScanArgs(s.t, "to", &to)
	d.MaybeScanArgs(s.t, "type", &typ)
	var take, keep []message
	for _, m := range s.c.net.Msgs {
		if (from == 0 || m.From == from) && (to == 0 || m.To == to) && (typ == "" || msgName(m.Data) == typ) {
			take = append(take, m)
		} else {
			keep = append(keep, m)
		}
	}
	s.c.net.Msgs = keep
	times := 1
	switch {
	case d.HasArg("drop"):
		times = 0
	case d.HasArg("dup"):
		times = 2
	}
	for _, m := range take {
		n := s.c.node(m.To)
		for range times {
			if n == nil || (s.c.drop != nil && s.c.drop(m)) {
				break
			}
			if err := n.Step(m.Data); err != nil {
				s.events = append(s.events, fmt.Sprintf("n%d: step: %v", m.To, err))
			}
		}
	}
	verb := map[int]string{0: "dropped", 1: "delivered", 2: "delivered twice"}[times]
	s.events = append(s.events, fmt.Sprintf("%s %d, %d left", verb, len(take), len(keep)))
}

// log renders the events: each run of messages folds into one line per
// sender, receiver and type (with a count when above one), in order of
// first appearance. Without msgs, messages are left out.
func (s *script) log(msgs bool) string {
	var b strings.Builder
	var run []string
	counts := map[string]int{}
	flush := func() {
		for _, k := range run {
			if counts[k] > 1 {
				fmt.Fprintf(&b, "%s x%d\n", k, counts[k])
			} else {
				fmt.Fprintf(&b, "%s\n", k)
			}
		}
		run = run[:0]
		clear(counts)
	}
	for _, e := range s.events {
		if isMsgEvent(e) {
			if !msgs {
				continue
			}
			if counts[e] == 0 {
				run = append(run, e)
			}
			counts[e]++
			continue
		}
		flush()
		fmt.Fprintf(&b, "%s\n", e)
	}
	flush()
	if b.Len() == 0 {
		return "ok\n"
	}
	return b.String()
}

func isMsgEvent(e string) bool { return strings.HasPrefix(e, "n") && strings.Contains(e, "->n") }

func (s *script) status() string {
	var b strings.Builder
	for i, n := range s.c.nodes {
		if n == nil {
			fmt.Fprintf(&b, "n%d: down\n", i+1)
			continue
		}
		st := n.Status()
		role := "follower"
		if st.IsLeader {
			role = "leader"
		}
		fmt.Fprintf(&b, "n%d: %s term=%d lead=%d commit=%d applied=%d inflight=%d\n", i+1, role, st.Term, st.Lead, st.Commit, st.Applied, st.Inflight)
	}
	return b.String()
}

// applied lists, per node, the client ops of the entries it applied.
func (s *script) applied() string {
	var b strings.Builder
	for i, log := range s.c.applied {
		var ops []string
		for _, data := range log {
			ent, err := decodeEntry(data)
			if err != nil {
				continue // an empty entry or a membership change
			}
			for _, op := range ent.ops {
				ops = append(ops, opString(op))
			}
		}
		fmt.Fprintf(&b, "n%d: %s\n", i+1, strings.Join(ops, ", "))
	}
	return b.String()
}

func (s *script) queue() string {
	var b strings.Builder
	for _, m := range s.c.net.Msgs {
		fmt.Fprintf(&b, "n%d->n%d %s\n", m.From, m.To, msgName(m.Data))
	}
	if b.Len() == 0 {
		return "empty\n"
	}
	return b.String()
}

// msgName is a peer message's raft type, or its envelope kind.
func msgName(data []byte) string {
	hdr, _, err := decodeEnvelope(data)
	switch {
	case err != nil:
		return "malformed"
	case hdr.kind == peerRaft:
		return raftType(data).String()
	}
	return map[byte]string{peerProbe: "Probe", peerProbeReply: "ProbeReply", peerJoin: "Join", peerSnapChunk: "SnapChunk", peerSnapAck: "SnapAck"}[hdr.kind]
}

func opString(op kv.Op) string {
	keys := make([]string, len(op.Keys))
	for i, k := range op.Keys {
		keys[i] = string(k)
	}
	parts := append([]string{strings.ToLower(op.Kind.String())}, keys...)
	if len(op.Values) > 0 {
		for _, v := range op.Values {
			parts = append(parts, string(v))
		}
	}
	if op.Kind == kv.IncrBy {
		parts = append(parts, strconv.FormatInt(op.Delta, 10))
	}
	return strings.Join(parts, " ")
}

func describe(r kv.Result) string {
	switch {
	case r.Err != nil:
		return "error: " + r.Err.Error()
	case r.Nil:
		return "nil"
	case r.Value != nil:
		return strconv.Quote(string(r.Value))
	}
	return fmt.Sprintf("ok int=%d", r.Int)
}
