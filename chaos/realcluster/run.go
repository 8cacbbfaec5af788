package realcluster

import (
	"context"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/anishathalye/porcupine"

	"github.com/seshat-db/seshat/chaos"
	"github.com/seshat-db/seshat/chaos/kvmodel"
)

// Failure classes, as the simulator's.
const (
	classSafety          = "safety"          // an invariant broke while running
	classLinearizability = "linearizability" // the history has no legal order
	classLiveness        = "liveness"        // the healed cluster did not serve in time
	classCrash           = "crash"           // a node's process died by itself
	classExpectation     = "expectation"     // the scenario's own expectation failed
	classRunner          = "runner"          // the runner could not do what was asked, or was interrupted
)

// Failure says what broke in a run.
type Failure struct {
	Class   string
	Message string
	At      time.Duration // since the cluster started
}

func (f *Failure) Error() string {
	return fmt.Sprintf("%s failure at %s: %s", f.Class, f.At.Round(time.Millisecond), f.Message)
}

// Options configure a run.
type Options struct {
	// Bin is the seshat-node binary (Build makes one).
	Bin string
	// Dir holds the run's data directories, logs, trace and report. Run
	// removes it after a pass unless Keep is set.
	Dir  string
	Keep bool
	// Seed drives the scenario's choices (chaos.Cluster.Rand) and the
	// clients'. The processes and the network are not seeded: a seed does
	// not replay a run.
	Seed uint64
	// LivenessBound: after the timeline, the healed cluster must serve a
	// write and a read within this.
	LivenessBound time.Duration
	// Verbose, if set, gets the trace as it happens.
	Verbose io.Writer
	// LogLevel is the nodes' log.level; info when empty.
	LogLevel string

	scenario chaos.Scenario
}

// Result is the outcome of a scenario run.
type Result struct {
	Scenario string
	Failure  *Failure // nil when every check passed
	// NewLeader is the longest time from a fault that took the leader away
	// (killed, cut off, on a minority side) to another leader followed by
	// a quorum; Elections lists each. Zero when no fault took the leader.
	NewLeader time.Duration
	Elections []time.Duration
	// Heal is the time from the end of the faults (every cut healed, every
	// node started) to a write and a read served.
	Heal time.Duration
	// The background clients' commands by outcome.
	Clients chaos.ClientStats
	// History is the number of operations porcupine judged.
	History int
	Took    time.Duration
	// Dir is the folder with the logs, data, trace and report, when kept.
	Dir string
}

// Build compiles seshat-node into dir and returns its path. It must run
// inside the module; cancelling ctx stops the build.
func Build(ctx context.Context, dir string) (string, error) {
	bin := filepath.Join(dir, "seshat-node")
	out, err := exec.CommandContext(ctx, "go", "build", "-o", bin, "github.com/seshat-db/seshat/cmd/seshat-node").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build seshat-node: %v\n%s", err, out)
	}
	return bin, nil
}

// Run runs one scenario against a new cluster of real processes: the
// timeline, then the liveness phase with everything healed, then the
// checks. Whatever happens, every process and proxy it started is
// stopped before it returns; cancelling ctx ends the run early (a
// failure of class runner).
func Run(ctx context.Context, opts Options, s chaos.Scenario) (res Result) {
	start := time.Now()
	res.Scenario = s.Name
	opts.scenario = s
	if opts.LivenessBound == 0 {
		opts.LivenessBound = 10 * time.Second
	}
	if err := os.MkdirAll(opts.Dir, 0o755); err != nil {
		res.Failure = &Failure{Class: classRunner, Message: err.Error()}
		return res
	}
	c, err := newCluster(ctx, opts, s)
	if err != nil {
		res.Failure = &Failure{Class: classRunner, Message: err.Error()}
		res.Dir = opts.Dir
		return res
	}
	defer func() {
		if p := recover(); p != nil {
			c.close()
			panic(p)
		}
	}()
	c.tracef("scenario %s begins: %s (%d nodes, seed %d)", s.Name, s.Doc, s.Nodes, opts.Seed)
	var execErr error
	func() {
		defer func() {
			if p := recover(); p != nil {
				if _, ok := p.(stopRun); !ok {
					panic(p)
				}
			}
		}()
		execErr = chaos.Execute(c, s)
	}()
	if execErr != nil {
		c.fail(classExpectation, "%v", execErr)
	}
	if !c.failed() {
		res.Heal = c.liveness()
	}
	res.Clients = c.ClientStats()
	c.close()
	c.mu.Lock()
	res.Elections = append([]time.Duration(nil), c.elected...)
	c.mu.Unlock()
	for _, e := range res.Elections {
		res.NewLeader = max(res.NewLeader, e)
	}
	ops := c.clients.history()
	res.History = len(ops)
	if !c.failed() && ctx.Err() == nil {
		c.tracef("checking %d operations for linearizability", len(ops))
		switch porcupine.CheckOperationsTimeout(kvmodel.Model, ops, checkTimeout) {
		case porcupine.Illegal:
			c.fail(classLinearizability, "the history of %d operations is not linearizable", len(ops))
		case porcupine.Unknown:
			c.fail(classLinearizability, "the linearizability check of %d operations timed out", len(ops))
		}
	}
	res.Failure = c.failure
	res.Took = time.Since(start)
	c.writeTrace(res)
	if res.Failure != nil || opts.Keep {
		res.Dir = opts.Dir
		if res.Failure != nil && ctx.Err() == nil {
			if err := writeReport(filepath.Join(opts.Dir, "report.html"), ops, c.annotations()); err != nil {
				c.tracef("report: %v", err)
			}
			writeIllegal(filepath.Join(opts.Dir, "illegal.txt"), ops)
		}
	} else {
		_ = os.RemoveAll(opts.Dir)
	}
	return res
}

// checkTimeout bounds porcupine's search; a timeout is a failure.
const checkTimeout = 180 * time.Second

// liveness heals every fault, starts every node and demands a write and
// a read through any nodes within the bound; it returns how long that
// took.
func (c *Cluster) liveness() (took time.Duration) {
	defer func() {
		if p := recover(); p != nil {
			if _, ok := p.(stopRun); !ok {
				panic(p)
			}
		}
	}()
	c.tracef("timeline done; healing every fault for the liveness phase")
	for _, id := range c.Nodes() {
		c.Resume(id)
	}
	c.Heal()
	if c.slowed() {
		c.SetLatency(chaos.AllNodes, chaos.AllNodes, 0)
		c.SetLoss(chaos.AllNodes, chaos.AllNodes, 0)
	}
	for _, id := range c.Nodes() {
		if !c.Up(id) {
			c.Restart(id)
		}
	}
	c.closeFaults()
	c.mu.Lock()
	c.faultsEnd = c.Now()
	c.mu.Unlock()
	start := c.Now()
	value := ""
	for attempt := 1; ; attempt++ {
		if c.Now()-start > c.opts.LivenessBound {
			c.fail(classLiveness, "no write and read served within %s after faults ended (leaders: %v)", c.opts.LivenessBound, c.leaderLog())
			return 0
		}
		id := c.Nodes()[c.rng.IntN(len(c.procs))]
		if value == "" {
			v := fmt.Sprintf("probe.%d", attempt)
			if r := c.probe(id, "set", probeKey, v); r.Outcome == chaos.OK {
				value = v
			}
		} else if r := c.probe(id, "get", probeKey); r.Outcome == chaos.OK && r.Value == value {
			took = c.Now() - start
			c.tracef("liveness: a write and a read served %s after the faults ended", took.Round(time.Millisecond))
			c.RunFor(time.Second) // let the last answers land
			c.mu.Lock()
			c.runEnd = c.Now()
			c.mu.Unlock()
			return took
		}
		c.RunFor(100 * time.Millisecond)
	}
}

const probeKey = "liveness-probe"

// slowed says whether any link has latency set.
func (c *Cluster) slowed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, row := range c.lat {
		for j, d := range row {
			if d != 0 || c.loss[i][j] != 0 {
				return true
			}
		}
	}
	return false
}

// probe sends one command as the liveness probe's client.
func (c *Cluster) probe(id chaos.ID, args ...string) chaos.Reply {
	in := callInput(args)
	rc := redisClient(c.node(id).client, 1)
	defer rc.Close()
	var reply chaos.Reply
	c.clients.do(rc, probeClientID, id, in, func(r chaos.Reply) { reply = r })
	return reply
}

func (c *Cluster) leaderLog() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var parts []string
	for _, l := range c.leaders {
		parts = append(parts, fmt.Sprintf("n%d term %d at %s", l.leader, l.term, l.at.Round(time.Millisecond)))
	}
	return strings.Join(parts, ", ")
}

// annotations are the report's fault windows, leader changes and phases.
func (c *Cluster) annotations() []porcupine.Annotation {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []porcupine.Annotation
	for _, f := range c.faults {
		out = append(out, porcupine.Annotation{Tag: "faults", Start: int64(f.start), End: int64(f.end), Description: f.desc, BackgroundColor: "#f4c7c3"})
	}
	for _, l := range c.leaders {
		out = append(out, porcupine.Annotation{Tag: "leaders", Start: int64(l.at), End: int64(l.at), Description: fmt.Sprintf("n%d leads term %d", l.leader, l.term), BackgroundColor: "#c3e6f4"})
	}
	if c.faultsEnd > 0 {
		out = append(out, porcupine.Annotation{Tag: "phases", Start: int64(c.faultsEnd), End: int64(max(c.runEnd, c.faultsEnd)), Description: "faults healed; liveness phase"})
	}
	return out
}

// writeReport writes porcupine's HTML view of the history with the
// run's annotations, as the simulator's failure reports.
func writeReport(path string, ops []porcupine.Operation, annots []porcupine.Annotation) error {
	_, info := porcupine.CheckOperationsVerbose(kvmodel.Model, ops, 60*time.Second)
	info.AddAnnotations(annots)
	return porcupine.VisualizePath(kvmodel.Model, info, path)
}

// writeIllegal lists, for each key whose history has no legal order, its
// operations in call order: the place to start reading.
func writeIllegal(path string, ops []porcupine.Operation) {
	var b strings.Builder
	for _, part := range kvmodel.Model.Partition(ops) {
		if porcupine.CheckOperationsTimeout(kvmodel.Model, part, 30*time.Second) != porcupine.Illegal {
			continue
		}
		part = slices.Clone(part)
		sort.Slice(part, func(i, j int) bool { return part[i].Call < part[j].Call })
		fmt.Fprintf(&b, "key %s:\n", part[0].Input.(kvmodel.Input).Key)
		for _, op := range part {
			ret := "never"
			if op.Return != math.MaxInt64 {
				ret = time.Duration(op.Return).String()
			}
			fmt.Fprintf(&b, "  client %d  [%s, %s]  %s\n", op.ClientId, time.Duration(op.Call), ret, kvmodel.Model.DescribeOperation(op.Input, op.Output))
		}
	}
	if b.Len() > 0 {
		_ = os.WriteFile(path, []byte(b.String()), 0o644)
	}
}

// writeTrace keeps the run's trace next to the logs.
func (c *Cluster) writeTrace(res Result) {
	c.mu.Lock()
	lines := append([]string(nil), c.trace...)
	c.mu.Unlock()
	if res.Failure != nil {
		lines = append(lines, "FAILED: "+res.Failure.Error())
	}
	_ = os.WriteFile(filepath.Join(c.opts.Dir, "trace.txt"), []byte(strings.Join(lines, "\n")+"\n"), 0o644)
}
