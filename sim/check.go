package sim

import (
	"fmt"
	"math"
	"sort"
	"time"

	"github.com/anishathalye/porcupine"

	"github.com/seshat-db/seshat/internal/assert"
	"github.com/seshat-db/seshat/kv"
	"github.com/seshat-db/seshat/node"
)

// Failure classes, as TigerBeetle's simulator sorts them: what broke
// decides who should look first.
const (
	classSafety          = "safety"          // an invariant broke while running
	classLinearizability = "linearizability" // the history has no legal order
	classLiveness        = "liveness"        // the healed cluster did not serve in time
	classCrash           = "crash"           // a panic: an assertion or a bug
	classExpectation     = "expectation"     // a chaos scenario's own expectation failed
)

// Failure says what broke in a run.
type Failure struct {
	Class   string
	Message string
	At      time.Duration // virtual time
}

func (f *Failure) Error() string {
	return fmt.Sprintf("%s failure at %s: %s", f.Class, f.At, f.Message)
}

// fail records the run's first failure; the run stops at the next event.
func (w *World) fail(class, format string, args ...any) {
	if w.failure != nil {
		return
	}
	w.failure = &Failure{Class: class, Message: fmt.Sprintf(format, args...), At: w.now}
	w.tracef("%s FAILURE (%s): %s", w.now, class, w.failure.Message)
}

type committedEntry struct {
	term   uint64
	digest uint64
	node   uint64
}

type appliedDigest struct {
	digest uint64
	node   uint64
}

// checker holds what the running checks have seen so far.
type checker struct {
	w         *World
	leaders   map[uint64]uint64 // term -> the one leader seen in it
	committed map[uint64]committedEntry
	digests   map[uint64]appliedDigest // applied index -> data digest there
	users     map[uint64]appliedUsers  // applied index -> the users enforced there (auth.go)
	// appliedMax is the highest index any replica applied: every read
	// submitted from now on must be served at or past it (readfloor.go).
	appliedMax uint64
	leaderLog  []leaderChange
}

type leaderChange struct {
	at     time.Duration
	term   uint64
	leader uint64
}

func (c *checker) init(w *World) {
	c.w = w
	c.leaders = map[uint64]uint64{}
	c.committed = map[uint64]committedEntry{}
	c.digests = map[uint64]appliedDigest{}
}

// checkApplied is the node's OnApply hook: an index, once committed, holds
// the same entry on every node, forever.
func (w *World) checkApplied(s *simNode, index, term uint64, data []byte) {
	d := digestBytes(data)
	c := &w.checks
	c.noteApplied(index)
	if prev, ok := c.committed[index]; ok {
		if prev.term != term || prev.digest != d {
			w.fail(classSafety, "committed entry %d changed: n%d applied term %d, n%d applied term %d (data differs: %v)",
				index, prev.node, prev.term, s.id, term, prev.digest != d)
		}
		return
	}
	c.committed[index] = committedEntry{term: term, digest: d, node: s.id}
}

// observe checks one node after it processed an event.
func (c *checker) observe(s *simNode, st node.Status) {
	w := c.w
	w.down.leading(s, st.IsLeader && !s.stoppedSeen, st.Voters)
	w.stats.MaxTerm = max(w.stats.MaxTerm, st.Term)
	if honest := st.DroppedForged - st.RefusedAcked; honest > 0 {
		// No one forges in the simulator: every message the peer guard
		// drops was sent by an honest node, and raft needed it (a
		// dropped stale append left an old leader in its term).
		w.fail(classSafety, "n%d's peer guard dropped %d honest raft messages (see its log for the first reason)", s.id, honest)
		return
	}
	if st.IsLeader {
		if other, ok := c.leaders[st.Term]; ok && other != s.id {
			w.fail(classSafety, "two leaders in term %d: n%d and n%d", st.Term, other, s.id)
			return
		}
		if _, ok := c.leaders[st.Term]; !ok {
			c.leaders[st.Term] = s.id
			w.stats.LeaderChanges++
			c.leaderLog = append(c.leaderLog, leaderChange{at: w.now, term: st.Term, leader: s.id})
			w.tracef("%s n%d became leader of term %d", w.now, s.id, st.Term)
			w.leaderChanged(s.idx)
		}
	}
}

// compareData checks that replicas which applied the same index hold the
// same data, for every node that is up, reading each one's whole store;
// that each one's SCAN index names exactly its keys; and that the running digest each store keeps matches what it holds, so
// a write that went around it is caught too. checkAppliedAfterBatch
// compares the running digest each time a batch moved a node's applied
// index. An index inside a batch (a batch may apply many entries) is not
// seen, but a divergence stays in the data until the key is written
// again, so the next applied index the replicas share shows it.
func (c *checker) compareData() {
	for _, s := range c.w.nodes {
		if !s.up() || s.stoppedSeen {
			continue // a fail-stopped node's disk is in doubt; it serves nothing
		}
		applied, digest, err := s.n.DataDigest()
		assert.That(err == nil, "digest of n%d: %v", s.id, err)
		if _, running, ok := s.n.RunningDataDigest(); ok && running != digest {
			c.w.fail(classSafety, "n%d's running data digest %x disagrees with its data's %x at applied index %d", s.id, running, digest, applied)
			return
		}
		if !c.compareDigest(s, applied, digest) || !c.compareUsers(s) {
			return
		}
		if err := s.n.CheckScanIndex(); err != nil {
			c.w.fail(classSafety, "n%d's SCAN index disagrees with its data at applied index %d: %v", s.id, applied, err)
			return
		}
	}
}

// compareOne compares s's running data digest at its applied index with
// another replica's at that index; it reports false on a divergence.
func (c *checker) compareOne(s *simNode) bool {
	applied, digest, ok := s.n.RunningDataDigest()
	if !ok {
		var err error
		applied, digest, err = s.n.DataDigest()
		assert.That(err == nil, "digest of n%d: %v", s.id, err)
	}
	return c.compareDigest(s, applied, digest)
}

// compareDigest records s's data digest at applied and compares it with
// another replica's at that index; it reports false on a divergence.
func (c *checker) compareDigest(s *simNode, applied, digest uint64) bool {
	if prev, ok := c.digests[applied]; ok && prev.digest != digest {
		c.w.fail(classSafety, "replicas diverged: n%d and n%d hold different data at applied index %d", prev.node, s.id, applied)
		return false
	}
	c.digests[applied] = appliedDigest{digest: digest, node: s.id}
	return true
}

func (w *World) scheduleDataCheck() {
	w.schedule(time.Second, evCheck, -1, 0, func() {
		w.checks.compareData()
		w.scheduleDataCheck()
	})
}

// probe is the liveness phase's client: once faults end, it must get a
// write committed and read it back, through any nodes, within the bound.
type probe struct {
	w        *World
	deadline time.Duration
	value    string
	wrote    bool
	done     bool
	pending  *pendingOp
	attempt  int
}

const probeKey = "liveness-probe"

func (w *World) startLivenessProbe() {
	w.probe = &probe{w: w, deadline: w.now + w.opts.LivenessBound}
	w.schedule(w.opts.LivenessBound, evLiveness, -1, 0, func() {
		if !w.probe.done {
			w.fail(classLiveness, "no write and read served within %s after faults ended (leaders by term: %v)", w.opts.LivenessBound, w.checks.leaderLog)
		}
	})
	w.probe.try()
}

func (p *probe) try() {
	w := p.w
	if p.done || w.failure != nil {
		return
	}
	p.attempt++
	s := w.nodes[w.rng.IntN(len(w.nodes))]
	if !s.up() {
		// Connection refused: another node, a moment later.
		w.schedule(100*time.Millisecond, evLiveness, -1, 1, p.try)
		return
	}
	in := opInput{Cmd: "get", Key: probeKey}
	if !p.wrote {
		p.value = fmt.Sprintf("probe.%d", p.attempt)
		in = opInput{Cmd: "set", Key: probeKey, Value: p.value}
	}
	args := [][]byte{[]byte(in.Cmd), []byte(in.Key)}
	if in.Value != "" {
		args = append(args, []byte(in.Value))
	}
	op := &pendingOp{in: in, call: w.now, node: s.idx}
	p.pending = op
	w.schedule(w.opts.ClientTimeout, evLiveness, -1, 2, func() {
		if p.pending == op && !op.done {
			// The node went silent: the write's fate is unknown.
			op.done = true
			p.pending = nil
			if isWrite(in.Cmd) {
				w.hist.add(probeClientID, in, opOutput{Unknown: true}, op.call, -1)
			}
			p.try()
		}
	})
	clientID := probeClientID
	executeOne(s, args, func(reply []byte) {
		if p.pending != op || op.done {
			return
		}
		op.done = true
		p.pending = nil
		out, oc, err := parseOutput(in, reply)
		if err != nil {
			w.fail(classSafety, "liveness probe got a malformed reply %q: %v", reply, err)
			return
		}
		switch oc {
		case outcomeDone:
			w.hist.add(clientID, in, out, op.call, w.now)
			if in.Cmd == "set" {
				p.wrote = true
			} else if !out.Nil && out.Value == p.value {
				p.done = true
				w.stats.LivenessAfter = w.now - (p.deadline - w.opts.LivenessBound)
				return
			}
		case outcomeUnknown:
			w.hist.add(clientID, in, out, op.call, -1)
		}
		w.schedule(100*time.Millisecond, evLiveness, -1, 1, p.try)
	})
}

func (p *probe) nodeCrashed(idx int) {
	if p == nil || p.pending == nil || p.pending.done || p.pending.node != idx {
		return
	}
	op := p.pending
	op.done = true
	p.pending = nil
	if isWrite(op.in.Cmd) {
		p.w.hist.add(probeClientID, op.in, opOutput{Unknown: true}, op.call, -1)
	}
	p.w.schedule(100*time.Millisecond, evLiveness, -1, 1, p.try)
}

// finalChecks run once the run is over: liveness, then linearizability.
func (w *World) finalChecks() {
	if w.probe == nil || !w.probe.done {
		w.fail(classLiveness, "the run ended before the liveness phase completed (run %s, faults end %s)", w.opts.Run, w.opts.FaultsEnd)
		return
	}
	if w.op != nil && !w.op.settle.done {
		w.fail(classLiveness, "the run ended before the membership settled: %s", w.op.settle.why)
		return
	}
	w.checks.compareData()
	if w.failure != nil {
		return
	}
	w.ttl.judgeWindows(w)
	if w.failure != nil {
		return
	}
	w.recordInflight()
	start := time.Now()
	res := porcupine.CheckOperationsTimeout(kvModel, w.hist.ops, checkTimeout)
	w.stats.CheckDuration = time.Since(start)
	switch res {
	case porcupine.Illegal:
		w.fail(classLinearizability, "the history of %d operations is not linearizable", len(w.hist.ops))
	case porcupine.Unknown:
		w.fail(classLinearizability, "the linearizability check of %d operations timed out", len(w.hist.ops))
	}
}

// recordInflight puts the writes still waiting for a reply when the run
// stops into the history, open-ended: they may yet take effect (a write
// applied a moment before the end, whose reply never came, must be
// explained by something in the history).
func (w *World) recordInflight() {
	for _, c := range w.clients {
		for _, p := range c.burst {
			if !p.done {
				c.recordUnknown(p)
				p.done = true
			}
		}
	}
	if p := w.probe; p != nil && p.pending != nil && !p.pending.done && isWrite(p.pending.in.Cmd) {
		w.hist.add(probeClientID, p.pending.in, opOutput{Unknown: true}, p.pending.call, -1)
		p.pending.done = true
	}
	if c := w.cluster; c != nil {
		for len(c.calls) > 0 {
			c.giveUp(c.calls[0], "the run ended")
		}
	}
}

// faultWindow is a stretch of virtual time when a fault was on, for the
// visualization.
type faultWindow struct {
	desc       string
	start, end time.Duration
}

func (w *World) addFault(desc string, start, end time.Duration) {
	w.faults = append(w.faults, faultWindow{desc: desc, start: start, end: end})
	w.tracef("%s fault: %s until %s", w.now, desc, end)
}

type annotation = porcupine.Annotation

func (w *World) annotations() []annotation {
	var out []annotation
	for _, f := range w.faults {
		out = append(out, annotation{Tag: "faults", Start: int64(f.start), End: int64(f.end), Description: f.desc, BackgroundColor: "#f4c7c3"})
	}
	for _, l := range w.checks.leaderLog {
		out = append(out, annotation{Tag: "leaders", Start: int64(l.at), End: int64(l.at), Description: fmt.Sprintf("n%d leads term %d", l.leader, l.term), BackgroundColor: "#c3e6f4"})
	}
	out = append(out, annotation{Tag: "phases", Start: int64(w.opts.FaultsEnd), End: int64(w.opts.Run), Description: "faults healed; liveness phase"})
	return out
}

// WriteVisualization writes porcupine's HTML view of the run's history,
// with fault windows and leader changes as annotations, to path.
func (r Result) WriteVisualization(path string) error {
	_, info := porcupine.CheckOperationsVerbose(kvModel, r.hist.ops, 60*time.Second)
	info.AddAnnotations(r.annots)
	return porcupine.VisualizePath(kvModel, info, path)
}

var _ = kv.Get

// IllegalKeys returns, for a linearizability failure, the keys whose own
// histories have no legal order, each with its operations in call order:
// the place to start reading.
func (r Result) IllegalKeys() map[string][]string {
	out := map[string][]string{}
	for _, part := range kvModel.Partition(r.hist.ops) {
		if porcupine.CheckOperations(kvModel, part) {
			continue
		}
		ops := append([]porcupine.Operation{}, part...)
		sort.Slice(ops, func(i, j int) bool { return ops[i].Call < ops[j].Call })
		key := ops[0].Input.(opInput).Key
		for _, op := range ops {
			ret := "never"
			if op.Return != math.MaxInt64 {
				ret = time.Duration(op.Return).String()
			}
			out[key] = append(out[key], fmt.Sprintf("client %d  [%s, %s]  %s", op.ClientId, time.Duration(op.Call), ret, kvModel.DescribeOperation(op.Input, op.Output)))
		}
	}
	return out
}

// checkTimeout bounds porcupine's search for one run. It is wall time,
// so it is set well above what the slowest seeds of the default sweep take
// on a loaded 2-core machine (about 35 s, for pipelined bursts on three
// keys): a timeout is reported as a failure, never taken as a pass.
const checkTimeout = 180 * time.Second
