package sim

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/seshat-db/seshat/chaos"
	"github.com/seshat-db/seshat/node"
)

// simCluster is the simulator's chaos.Cluster: a scenario's timeline
// drives the World through it, on the World's own goroutine. Time moves
// only inside RunFor and the waits, which run the World's event loop.
type simCluster struct {
	w     *World
	rng   *rand.Rand
	calls []*simCall // scenario commands still waiting for a reply

	downSince []time.Duration // per node, while killed
	cutSince  time.Duration   // when the current cuts began
	cutDesc   []string
	latSince  time.Duration
	latDesc   string
	lossSince time.Duration
	lossDesc  string
	holdSince time.Duration
	linkSince [][]time.Duration // per held link, since when (linkhold.go)
}

var (
	_ chaos.Cluster       = (*simCluster)(nil)
	_ chaos.MessageHolder = (*simCluster)(nil)
	_ chaos.LinkHolder    = (*simCluster)(nil)
)

// stopRun unwinds a timeline when a check of the World failed: the run is
// over, whatever the scenario meant to do next.
type stopRun struct{}

// scenarioClientID is the porcupine client id of scenario commands sent to
// node index i; probeClientID the liveness probe's.
const (
	probeClientID     = 9999
	scenarioClientID0 = 10000
)

// runScenario runs a chaos scenario's timeline, then heals the world and
// runs the liveness phase.
func (w *World) runScenario(s chaos.Scenario) {
	c := &simCluster{
		w:         w,
		rng:       rand.New(rand.NewPCG(w.opts.Seed, 0xc4a05)),
		downSince: make([]time.Duration, len(w.nodes)),
	}
	w.cluster = c
	w.tracef("%s scenario %s begins: %s", w.now, s.Name, s.Doc)
	var err error
	func() {
		defer func() {
			if p := recover(); p != nil {
				if _, ok := p.(stopRun); !ok {
					panic(p)
				}
			}
		}()
		err = chaos.Execute(c, s)
	}()
	if w.failure != nil {
		return
	}
	if err != nil {
		w.fail(classExpectation, "%v", err)
		return
	}
	w.tracef("%s scenario %s done; healing for the liveness phase", w.now, s.Name)
	c.closeFaults()
	w.opts.FaultsEnd = w.now
	w.faultsEnd()
	deadline := w.now + w.opts.LivenessBound + time.Second
	w.runWhile(deadline, func() bool { return w.probe.done })
	// Let the last answers land, so the history ends quietly.
	w.runUntil(w.now + time.Second)
	w.opts.Run = w.now
}

func (c *simCluster) node(id chaos.ID) *simNode {
	if id < 1 || int(id) > len(c.w.nodes) {
		panic(fmt.Sprintf("sim: no node %d", id))
	}
	return c.w.nodes[id-1]
}

// Nodes implements chaos.Cluster.Nodes.
func (c *simCluster) Nodes() []chaos.ID {
	ids := make([]chaos.ID, len(c.w.nodes))
	for i := range ids {
		ids[i] = chaos.ID(i + 1)
	}
	return ids
}

// Rand implements chaos.Cluster.Rand.
func (c *simCluster) Rand() *rand.Rand { return c.rng }

// Logf implements chaos.Cluster.Logf.
func (c *simCluster) Logf(format string, args ...any) {
	c.w.tracef("%s scenario: %s", c.w.now, fmt.Sprintf(format, args...))
}

// Kill implements chaos.Cluster.Kill.
func (c *simCluster) Kill(id chaos.ID) {
	s := c.node(id)
	if !s.up() {
		return
	}
	c.Logf("kill n%d", id)
	if c.w.opts.AimKills <= 0 || !c.w.killAtMoment(s) {
		s.crash()
	}
	c.checkRunning()
	c.w.stats.Crashes++
	c.downSince[s.idx] = c.w.now
}

// Restart implements chaos.Cluster.Restart.
func (c *simCluster) Restart(id chaos.ID) {
	s := c.node(id)
	if s.up() {
		return
	}
	c.Logf("restart n%d", id)
	c.w.addFault(fmt.Sprintf("n%d down", id), c.downSince[s.idx], c.w.now)
	s.start()
}

// Wipe implements chaos.Cluster.Wipe.
func (c *simCluster) Wipe(id chaos.ID) {
	s := c.node(id)
	if s.up() {
		c.w.fail(classSafety, "scenario wiped n%d while it was running", id)
		return
	}
	c.Logf("wipe n%d's disk", id)
	s.wipe()
}

// Up implements chaos.Cluster.Up.
func (c *simCluster) Up(id chaos.ID) bool { return c.node(id).up() }

// Partition implements chaos.Cluster.Partition.
func (c *simCluster) Partition(groups ...[]chaos.ID) {
	c.Heal()
	n := len(c.w.nodes)
	group := make([]int, n)
	for i := range group {
		group[i] = len(groups) // the nodes no group names
	}
	var desc []string
	for g, ids := range groups {
		var names []string
		for _, id := range ids {
			group[c.node(id).idx] = g
			names = append(names, fmt.Sprintf("n%d", id))
		}
		desc = append(desc, "{"+strings.Join(names, " ")+"}")
	}
	for a := range n {
		for b := range n {
			if group[a] != group[b] {
				c.w.cut[a][b] = true
			}
		}
	}
	c.w.stats.Partitions++
	c.noteCut("partition " + strings.Join(desc, " | "))
}

// Cut implements chaos.Cluster.Cut.
func (c *simCluster) Cut(from, to chaos.ID) {
	c.w.cut[c.node(from).idx][c.node(to).idx] = true
	c.noteCut(fmt.Sprintf("n%d -/-> n%d", from, to))
}

// Isolate implements chaos.Cluster.Isolate.
func (c *simCluster) Isolate(id chaos.ID) {
	var rest []chaos.ID
	for _, o := range c.Nodes() {
		if o != id {
			rest = append(rest, o)
		}
	}
	c.Partition([]chaos.ID{id}, rest)
}

func (c *simCluster) noteCut(desc string) {
	c.Logf("%s", desc)
	if len(c.cutDesc) == 0 {
		c.cutSince = c.w.now
	}
	c.cutDesc = append(c.cutDesc, desc)
	c.w.down.recount()
}

// Heal implements chaos.Cluster.Heal.
func (c *simCluster) Heal() {
	if len(c.cutDesc) > 0 {
		c.Logf("heal")
		c.w.addFault(strings.Join(c.cutDesc, "; "), c.cutSince, c.w.now)
		c.cutDesc = nil
	}
	c.w.heal()
}

// SetLatency implements chaos.Cluster.SetLatency. A zero d restores the
// run's normal latency.
func (c *simCluster) SetLatency(from, to chaos.ID, d time.Duration) {
	if d == 0 {
		d = c.w.opts.LatencyMin
	}
	c.Logf("latency n%d -> n%d: %s", from, to, d)
	if c.latDesc != "" {
		c.w.addFault(c.latDesc, c.latSince, c.w.now)
	}
	c.latSince = c.w.now
	c.latDesc = fmt.Sprintf("latency n%d -> n%d %s", from, to, d)
	if d == c.w.opts.LatencyMin {
		c.latDesc = ""
	}
	for a := range c.w.nodes {
		for b := range c.w.nodes {
			if (from == chaos.AllNodes || int(from) == a+1) && (to == chaos.AllNodes || int(to) == b+1) {
				c.w.lat[a][b] = d
			}
		}
	}
}

// SetLoss implements chaos.Cluster.SetLoss: a lossy link loses that share
// of the messages sent on it, on top of the seed's own drops.
func (c *simCluster) SetLoss(from, to chaos.ID, percent float64) {
	c.Logf("loss n%d -> n%d: %.1f%%", from, to, percent)
	if c.lossDesc != "" {
		c.w.addFault(c.lossDesc, c.lossSince, c.w.now)
	}
	c.lossSince, c.lossDesc = c.w.now, ""
	if percent > 0 {
		c.lossDesc = fmt.Sprintf("loss n%d -> n%d %.1f%%", from, to, percent)
	}
	for a := range c.w.nodes {
		for b := range c.w.nodes {
			if (from == chaos.AllNodes || int(from) == a+1) && (to == chaos.AllNodes || int(to) == b+1) {
				c.w.loss[a][b] = percent
			}
		}
	}
}

// HoldMessages implements chaos.MessageHolder.HoldMessages: the network's long
// faults (network.go) act while it is on, sized by the seed.
func (c *simCluster) HoldMessages(on bool) chaos.HeldStats {
	c.Logf("holding messages: %v", on)
	if on && !c.w.net.holdOn {
		c.holdSince = c.w.now
	}
	if !on && c.w.net.holdOn {
		c.w.addFault("messages held", c.holdSince, c.w.now)
	}
	c.w.net.holdOn = on
	st := c.w.stats
	return chaos.HeldStats{Held: st.Held, AfterHeal: st.ReleasedAfterHeal, AfterRestart: st.ReleasedAfterRestart,
		AfterLeaderChange: st.ReleasedAfterLeaderChange, AfterTimeout: st.ReleasedAfterTimeout,
		Redelivered: st.Redelivered, LongDelays: st.LongDelays}
}

// SkewClock implements chaos.Cluster.SkewClock.
func (c *simCluster) SkewClock(id chaos.ID, d time.Duration) {
	c.Logf("n%d clock jumps by %s", id, d)
	c.w.addFault(fmt.Sprintf("n%d clock jumps %s", id, d), c.w.now, c.w.now)
	c.node(id).skewBy(d)
}

// DriftClock implements chaos.Cluster.DriftClock.
func (c *simCluster) DriftClock(id chaos.ID, ppm int) {
	c.Logf("n%d clock drifts %d ppm", id, ppm)
	c.w.addFault(fmt.Sprintf("n%d clock drifts %d ppm", id, ppm), c.w.now, c.w.now)
	c.node(id).setDrift(float64(ppm) / 1e6)
}

// ClockOffset implements chaos.Cluster.ClockOffset.
func (c *simCluster) ClockOffset(id chaos.ID) time.Duration {
	return c.node(id).localTime(c.w.now) - c.w.now
}

// Now implements chaos.Cluster.Now.
func (c *simCluster) Now() time.Duration { return c.w.now }

// RunFor implements chaos.Cluster.RunFor.
func (c *simCluster) RunFor(d time.Duration) {
	c.w.runUntil(c.w.now + d)
	c.checkRunning()
}

func (c *simCluster) checkRunning() {
	if c.w.failure != nil {
		panic(stopRun{})
	}
}

// At implements chaos.Cluster.At.
func (c *simCluster) At(t time.Duration, fn func()) {
	c.w.schedule(max(t-c.w.now, 0), evScenario, -1, 0, fn)
}

// StartClients implements chaos.Cluster.StartClients.
func (c *simCluster) StartClients(n int) {
	c.Logf("start %d clients", n)
	c.w.startClients(n, 50*time.Millisecond)
}

// StopClients implements chaos.Cluster.StopClients.
func (c *simCluster) StopClients() {
	c.Logf("stop clients")
	for _, cl := range c.w.clients {
		cl.stopped = true
	}
	if c.w.scan != nil {
		c.w.scan.stopped = true
	}
}

// ClientStats implements chaos.Cluster.ClientStats.
func (c *simCluster) ClientStats() chaos.ClientStats {
	st := c.w.stats
	return chaos.ClientStats{OK: st.OpsOK, Refused: st.OpsFailed, Unknown: st.OpsUnknown}
}

// Leader implements chaos.Cluster.Leader.
func (c *simCluster) Leader() (chaos.ID, bool) {
	if s := c.w.leader(); s != nil {
		return s.id, true
	}
	return 0, false
}

// Status implements chaos.Cluster.Status.
func (c *simCluster) Status(id chaos.ID) (node.Status, bool) {
	s := c.node(id)
	if !s.up() {
		return node.Status{ID: id}, false
	}
	return s.n.Status(), true
}

// simCall is a scenario command in flight.
type simCall struct {
	call *chaos.Call
	in   opInput
	node int
}

// Send implements chaos.Cluster.Send.
func (c *simCluster) Send(id chaos.ID, args ...string) *chaos.Call {
	w := c.w
	s := c.node(id)
	call := chaos.NewCall(id, args, w.now, c.wait)
	in := callInput(args)
	if !s.up() {
		call.Finish(chaos.Reply{Outcome: chaos.Refused, Text: "connection refused"})
		return call
	}
	sc := &simCall{call: call, in: in, node: s.idx}
	c.calls = append(c.calls, sc)
	w.tracef("%s scenario via n%d: %s", w.now, id, strings.Join(args, " "))
	w.schedule(w.opts.ClientTimeout, evClientTimeout, -1, scenarioClientID0, func() {
		c.giveUp(sc, "client timeout")
	})
	raw := make([][]byte, len(args))
	for i, a := range args {
		raw[i] = []byte(a)
	}
	executeOne(s, raw, func(reply []byte) {
		if call.Done() {
			return
		}
		c.answer(sc, reply)
	})
	return call
}

// callInput reads a scenario command as the model's input: only the
// single-key commands the model knows, so porcupine can judge them.
func callInput(args []string) opInput {
	if len(args) < 2 {
		panic(fmt.Sprintf("sim: scenario command %q needs a key", args))
	}
	in := opInput{Cmd: strings.ToLower(args[0]), Key: args[1]}
	known := false
	for _, oc := range opCommands {
		known = known || oc.name == in.Cmd
	}
	switch {
	case !known:
		panic(fmt.Sprintf("sim: scenario command %q is not one the model checks", args[0]))
	case in.Cmd == "set" || in.Cmd == "append" || in.Cmd == "setnx":
		if len(args) != 3 {
			panic(fmt.Sprintf("sim: scenario command %q takes a key and a value", args))
		}
		in.Value = args[2]
	case len(args) != 2:
		panic(fmt.Sprintf("sim: scenario command %q takes one key", args))
	}
	return in
}

func (c *simCluster) answer(sc *simCall, reply []byte) {
	w := c.w
	c.forget(sc)
	out, oc, err := parseOutput(sc.in, reply)
	if err != nil {
		w.fail(classSafety, "scenario command %s %s got a malformed reply %q: %v", sc.in.Cmd, sc.in.Key, reply, err)
		sc.call.Finish(chaos.Reply{Outcome: chaos.Unknown, Text: "malformed reply"})
		return
	}
	r := chaos.Reply{Text: strings.TrimSpace(string(reply)), Nil: out.Nil, Value: out.Value, Int: out.Int, Took: w.now - sc.call.Sent, Answered: true}
	id := scenarioClientID0 + sc.node
	switch oc {
	case outcomeDone:
		r.Outcome = chaos.OK
		w.hist.add(id, sc.in, out, sc.call.Sent, w.now)
	case outcomeNotDone:
		r.Outcome = chaos.Refused
	case outcomeUnknown:
		r.Outcome = chaos.Unknown
		if isWrite(sc.in.Cmd) {
			w.hist.add(id, sc.in, opOutput{Unknown: true}, sc.call.Sent, -1)
		}
	}
	w.tracef("%s scenario via n%d: %s %s %s -> %s", w.now, sc.node+1, sc.in.Cmd, sc.in.Key, sc.in.Value, r.Text)
	sc.call.Finish(r)
}

// giveUp ends a call that got no reply: a write may have happened.
func (c *simCluster) giveUp(sc *simCall, why string) {
	if sc.call.Done() {
		return
	}
	w := c.w
	c.forget(sc)
	if isWrite(sc.in.Cmd) {
		w.hist.add(scenarioClientID0+sc.node, sc.in, opOutput{Unknown: true}, sc.call.Sent, -1)
	}
	w.tracef("%s scenario via n%d: %s %s %s -> no reply (%s)", w.now, sc.node+1, sc.in.Cmd, sc.in.Key, sc.in.Value, why)
	sc.call.Finish(chaos.Reply{Outcome: chaos.Unknown, Text: why, Took: w.now - sc.call.Sent})
}

func (c *simCluster) forget(sc *simCall) {
	for i, x := range c.calls {
		if x == sc {
			c.calls = append(c.calls[:i], c.calls[i+1:]...)
			return
		}
	}
}

// nodeCrashed drops the connections of calls waiting on a node that died.
func (c *simCluster) nodeCrashed(idx int) {
	if c == nil {
		return
	}
	var lost []*simCall
	for _, sc := range c.calls {
		if sc.node == idx {
			lost = append(lost, sc)
		}
	}
	for _, sc := range lost {
		c.giveUp(sc, "connection lost: the node died")
	}
}

// wait runs the world until call is done.
func (c *simCluster) wait(call *chaos.Call) {
	c.w.runWhile(1<<62, call.Done)
	c.checkRunning()
	if !call.Done() {
		panic("sim: the world ran out of events with a call in flight")
	}
}

// Do implements chaos.Cluster.Do.
func (c *simCluster) Do(id chaos.ID, args ...string) chaos.Reply {
	return c.Send(id, args...).Wait()
}

// closeFaults ends the annotation windows still open when the timeline
// returns.
func (c *simCluster) closeFaults() {
	for i, s := range c.w.nodes {
		if !s.up() {
			c.w.addFault(fmt.Sprintf("n%d down", i+1), c.downSince[i], c.w.now)
		}
	}
	if len(c.cutDesc) > 0 {
		c.w.addFault(strings.Join(c.cutDesc, "; "), c.cutSince, c.w.now)
		c.cutDesc = nil
	}
	if c.latDesc != "" {
		c.w.addFault(c.latDesc, c.latSince, c.w.now)
		c.latDesc = ""
	}
	if c.w.net.holdOn {
		c.w.addFault("messages held", c.holdSince, c.w.now)
		c.w.net.holdOn = false
	}
	c.closeLinks()
}
