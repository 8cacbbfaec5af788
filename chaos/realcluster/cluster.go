// Package realcluster runs the chaos scenarios (package chaos) against
// real seshat-node processes on loopback: it implements chaos.Cluster
// over wall time, with every fault done for real.
//
//   - Kill is kill -9 of the node's process group; Restart starts the
//     binary again over the same data directory; Wipe removes it.
//   - Every ordered pair of nodes has its own fault proxy
//     (internal/faultproxy): node i's configuration lists peer j at the
//     proxy that carries i's connection to j. Peers take their addresses
//     from the configuration only (the replicated membership holds ids
//     and identities, never addresses), so each node can have its own
//     list. Partition, Cut, Isolate and Heal block proxies the way a
//     dropping firewall does; SetLatency delays them.
//   - Clock skew and drift go through the node's test-only clock
//     settings (app's [test] section, /test/clock).
//   - Status reads the admin endpoint's /status.
//   - Clients use go-redis against the nodes' client ports, and their
//     history is judged by the simulator's model (chaos/kvmodel).
//
// Everything listens on 127.0.0.1, on ports below the kernel's ephemeral
// range, and everything started is stopped when the run ends, fails or is
// interrupted: each node runs in a process group of its own, which is
// killed, and dies with the runner (Pdeathsig) if the runner is killed.
package realcluster

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/seshat-db/seshat/chaos"
	"github.com/seshat-db/seshat/internal/faultproxy"
	"github.com/seshat-db/seshat/internal/ports"
	"github.com/seshat-db/seshat/node"
)

// proc is one node: its addresses, its data and its process, if running.
type proc struct {
	id                      chaos.ID
	client, internal, admin string
	members                 string // its initial_members: peers at their proxies
	dataDir, logPath        string

	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{} // closed when the running process has exited
	exit   error         // how it exited, once it has
	killed bool          // the runner killed it (an exit otherwise is a crash)
	paused bool          // stopped with SIGSTOP, until Resume
	starts int

	// The clock settings the runner gave it, kept across restarts.
	clockSince  time.Time
	clockOffset time.Duration // at clockSince
	clockPPM    int
}

// Cluster is a chaos.Cluster of real processes.
type Cluster struct {
	opts  Options
	ctx   context.Context
	start time.Time
	rng   *rand.Rand
	procs []*proc
	// proxies[i][j] carries node i+1's connection to node j+1.
	proxies [][]*faultproxy.Proxy
	http    *http.Client

	mu       sync.Mutex
	cut      [][]bool
	lat      [][]time.Duration
	loss     [][]float64
	lossAt   time.Duration
	lossDesc string
	faults   []faultWindow
	downAt   map[chaos.ID]time.Duration
	pausedAt map[chaos.ID]time.Duration
	cutAt    time.Duration
	cutDesc  []string
	latAt    time.Duration
	latDesc  string
	leaders  []leaderChange
	termLead map[uint64]chaos.ID
	failure  *Failure
	trace    []string
	pending  *disruption // a fault that took the leader away, not yet answered by a new one
	elected  []time.Duration
	// faultsEnd and runEnd bound the liveness phase, for the report.
	faultsEnd, runEnd time.Duration

	at           []atFn        // At's callbacks, not yet run
	pendingCalls []pendingCall // the scenario's commands not yet finished
	clients      *clients
	monitor      chan struct{}
	wg           sync.WaitGroup
}

// disruption is a fault that took the leader away, at a time.
type disruption struct {
	at  time.Duration
	old chaos.ID
}

type atFn struct {
	t  time.Duration
	fn func()
}

type faultWindow struct {
	desc       string
	start, end time.Duration
}

type leaderChange struct {
	at     time.Duration
	term   uint64
	leader chaos.ID
}

var _ chaos.Cluster = (*Cluster)(nil)

// go-redis logs failed dials to the standard logger; a killed node makes
// many, and each is already an outcome in the history.
func init() { redis.SetLogger(quietLogger{}) }

type quietLogger struct{}

func (quietLogger) Printf(context.Context, string, ...any) {}

// stopRun unwinds a timeline when the run must end: interrupted, or a
// check of the cluster failed.
type stopRun struct{}

// newCluster picks ports, starts the proxies and every node.
func newCluster(ctx context.Context, opts Options, s chaos.Scenario) (*Cluster, error) {
	n := s.Nodes
	c := &Cluster{
		opts:     opts,
		ctx:      ctx,
		rng:      rand.New(rand.NewPCG(opts.Seed, 0xc4a05)),
		http:     &http.Client{Timeout: time.Second},
		downAt:   map[chaos.ID]time.Duration{},
		pausedAt: map[chaos.ID]time.Duration{},
		termLead: map[uint64]chaos.ID{},
		monitor:  make(chan struct{}),
	}
	ports, err := ports.Free(3*n + n*(n-1))
	if err != nil {
		return nil, err
	}
	next := func() string {
		p := ports[0]
		ports = ports[1:]
		return "127.0.0.1:" + strconv.Itoa(p)
	}
	for i := range n {
		id := chaos.ID(i + 1)
		c.procs = append(c.procs, &proc{
			id: id, client: next(), internal: next(), admin: next(),
			dataDir: filepath.Join(opts.Dir, fmt.Sprintf("n%d", id)),
			logPath: filepath.Join(opts.Dir, fmt.Sprintf("n%d.log", id)),
		})
	}
	c.proxies = make([][]*faultproxy.Proxy, n)
	c.cut = make([][]bool, n)
	c.lat = make([][]time.Duration, n)
	c.loss = make([][]float64, n)
	for i := range n {
		c.proxies[i] = make([]*faultproxy.Proxy, n)
		c.cut[i] = make([]bool, n)
		c.lat[i] = make([]time.Duration, n)
		c.loss[i] = make([]float64, n)
		var members []string
		for j := range n {
			addr := c.procs[j].internal
			if j != i {
				p, err := faultproxy.New(next(), c.procs[j].internal)
				if err != nil {
					c.close()
					return nil, fmt.Errorf("fault proxy n%d -> n%d: %w", i+1, j+1, err)
				}
				c.proxies[i][j] = p
				addr = p.Addr()
			}
			members = append(members, fmt.Sprintf("%d=%s", j+1, addr))
		}
		c.procs[i].members = strings.Join(members, ",")
	}
	c.start = time.Now()
	c.clients = newClients(c)
	for _, p := range c.procs {
		if err := c.startProc(p, s); err != nil {
			c.close()
			return nil, err
		}
	}
	c.wg.Add(1)
	go c.watch()
	return c, nil
}

// startProc starts p's process over its data directory.
func (c *Cluster) startProc(p *proc, s chaos.Scenario) error {
	if err := os.MkdirAll(c.opts.Dir, 0o755); err != nil {
		return err
	}
	logf, err := os.OpenFile(p.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	offset := p.clockOffset
	if !p.clockSince.IsZero() {
		offset += time.Duration(float64(time.Since(p.clockSince)) * float64(p.clockPPM) / 1e6)
	}
	args := []string{
		"-node.id", strconv.FormatUint(p.id, 10),
		"-node.client_addr", p.client,
		"-node.internal_addr", p.internal,
		"-node.admin_addr", p.admin,
		"-node.data_dir", p.dataDir,
		"-cluster.initial_members", p.members,
		"-cluster.cluster_id", "chaos-real",
		"-cluster.replication_factor", strconv.Itoa(len(c.procs)),
		"-log.level", cmp.Or(c.opts.LogLevel, "info"),
		"-test.clock_control", "true",
		"-test.clock_offset_ms", strconv.FormatInt(offset.Milliseconds(), 10),
		"-test.clock_drift_ppm", strconv.Itoa(p.clockPPM),
	}
	if s.SnapshotEntries > 0 {
		args = append(args, "-raft.snapshot_interval_entries", strconv.FormatUint(s.SnapshotEntries, 10))
	}
	fmt.Fprintf(logf, "=== runner: start %d of n%d at %s: %s %s\n", p.starts+1, p.id, c.Now(), c.opts.Bin, strings.Join(args, " "))
	cmd := exec.Command(c.opts.Bin, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = procAttr()
	if err := cmd.Start(); err != nil {
		logf.Close()
		return fmt.Errorf("start n%d: %w", p.id, err)
	}
	p.starts++
	p.cmd, p.killed = cmd, false
	exited := make(chan struct{})
	p.exited = exited
	go func() {
		err := cmd.Wait()
		logf.Close()
		p.mu.Lock()
		p.exit = err
		killed := p.killed
		p.mu.Unlock()
		close(exited)
		if !killed {
			c.fail(classCrash, "n%d exited by itself: %v (see %s)", p.id, err, p.logPath)
		}
	}()
	return nil
}

// killProc kills p's process group and waits for it to exit.
func (c *Cluster) killProc(p *proc) {
	p.mu.Lock()
	cmd, exited := p.cmd, p.exited
	if cmd == nil {
		p.mu.Unlock()
		return
	}
	p.killed = true
	p.cmd = nil
	p.paused = false
	p.mu.Unlock()
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	<-exited
}

// Pause stops a node's processes with SIGSTOP, as a long GC pause or a
// stalled VM would: its sockets stay open and their data waits in the
// kernel. It is not part of chaos.Cluster (the simulator has no such
// fault); scenarios of this package reach it by a type assertion.
func (c *Cluster) Pause(id chaos.ID) {
	c.signal(id, syscall.SIGSTOP, true)
}

// Resume continues a paused node with SIGCONT.
func (c *Cluster) Resume(id chaos.ID) {
	c.signal(id, syscall.SIGCONT, false)
}

func (c *Cluster) signal(id chaos.ID, sig syscall.Signal, pause bool) {
	p := c.node(id)
	p.mu.Lock()
	cmd, was := p.cmd, p.paused
	p.mu.Unlock()
	if cmd == nil || was == pause {
		return
	}
	if pause {
		c.noteDisruption(func(lead chaos.ID) bool { return lead == id })
	}
	p.mu.Lock()
	p.paused = pause
	p.mu.Unlock()
	if pause {
		c.Logf("pause n%d (SIGSTOP)", id)
		c.mu.Lock()
		c.pausedAt[id] = c.Now()
		c.mu.Unlock()
	} else {
		c.Logf("resume n%d (SIGCONT)", id)
		c.mu.Lock()
		c.addFault(fmt.Sprintf("n%d paused", id), c.pausedAt[id], c.Now())
		delete(c.pausedAt, id)
		c.mu.Unlock()
	}
	_ = syscall.Kill(-cmd.Process.Pid, sig)
}

func (p *proc) isPaused() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.paused
}

func (c *Cluster) node(id chaos.ID) *proc {
	if id < 1 || int(id) > len(c.procs) {
		panic(fmt.Sprintf("realcluster: no node %d", id))
	}
	return c.procs[id-1]
}

// Nodes implements chaos.Cluster.Nodes.
func (c *Cluster) Nodes() []chaos.ID {
	ids := make([]chaos.ID, len(c.procs))
	for i := range ids {
		ids[i] = chaos.ID(i + 1)
	}
	return ids
}

// Rand implements chaos.Cluster.Rand.
func (c *Cluster) Rand() *rand.Rand { return c.rng }

// Logf implements chaos.Cluster.Logf.
func (c *Cluster) Logf(format string, args ...any) {
	c.tracef("scenario: %s", fmt.Sprintf(format, args...))
}

func (c *Cluster) tracef(format string, args ...any) {
	line := fmt.Sprintf("%12s %s", c.Now().Round(time.Millisecond), fmt.Sprintf(format, args...))
	c.mu.Lock()
	c.trace = append(c.trace, line)
	c.mu.Unlock()
	if c.opts.Verbose != nil {
		fmt.Fprintln(c.opts.Verbose, line)
	}
}

// fail records the run's first failure; the timeline stops at its next
// wait.
func (c *Cluster) fail(class, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	c.mu.Lock()
	first := c.failure == nil
	if first {
		c.failure = &Failure{Class: class, Message: msg, At: c.Now()}
	}
	c.mu.Unlock()
	if first {
		c.tracef("FAILURE (%s): %s", class, msg)
	}
}

func (c *Cluster) failed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.failure != nil
}

// Kill implements chaos.Cluster.Kill: kill -9.
func (c *Cluster) Kill(id chaos.ID) {
	p := c.node(id)
	if !c.Up(id) {
		return
	}
	c.noteDisruption(func(lead chaos.ID) bool { return lead == id })
	c.Logf("kill -9 n%d", id)
	c.killProc(p)
	c.mu.Lock()
	c.downAt[id] = c.Now()
	c.mu.Unlock()
}

// Restart implements chaos.Cluster.Restart.
func (c *Cluster) Restart(id chaos.ID) {
	p := c.node(id)
	if c.Up(id) {
		return
	}
	c.Logf("restart n%d", id)
	c.mu.Lock()
	c.addFault(fmt.Sprintf("n%d down", id), c.downAt[id], c.Now())
	delete(c.downAt, id)
	c.mu.Unlock()
	if err := c.startProc(p, c.opts.scenario); err != nil {
		c.fail(classRunner, "%v", err)
		panic(stopRun{})
	}
}

// Wipe implements chaos.Cluster.Wipe: the data directory is removed.
func (c *Cluster) Wipe(id chaos.ID) {
	p := c.node(id)
	if c.Up(id) {
		c.fail(classRunner, "scenario wiped n%d while it was running", id)
		panic(stopRun{})
	}
	c.Logf("wipe n%d's data directory", id)
	if err := os.RemoveAll(p.dataDir); err != nil {
		c.fail(classRunner, "wipe n%d: %v", id, err)
		panic(stopRun{})
	}
}

// Up implements chaos.Cluster.Up.
func (c *Cluster) Up(id chaos.ID) bool {
	p := c.node(id)
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil {
		return false
	}
	select {
	case <-p.exited:
		return false
	default:
		return true
	}
}

// Partition implements chaos.Cluster.Partition.
func (c *Cluster) Partition(groups ...[]chaos.ID) {
	c.Heal()
	n := len(c.procs)
	group := make([]int, n)
	for i := range group {
		group[i] = len(groups)
	}
	var desc []string
	for g, ids := range groups {
		var names []string
		for _, id := range ids {
			group[c.node(id).id-1] = g
			names = append(names, fmt.Sprintf("n%d", id))
		}
		desc = append(desc, "{"+strings.Join(names, " ")+"}")
	}
	c.noteDisruption(func(lead chaos.ID) bool {
		size := 0
		for i := range n {
			if group[i] == group[lead-1] {
				size++
			}
		}
		return size < n/2+1
	})
	c.mu.Lock()
	for a := range n {
		for b := range n {
			if group[a] != group[b] {
				c.cut[a][b] = true
			}
		}
	}
	c.mu.Unlock()
	c.applyCuts()
	c.noteCut("partition " + strings.Join(desc, " | "))
	settle()
}

// Cut implements chaos.Cluster.Cut.
func (c *Cluster) Cut(from, to chaos.ID) {
	c.noteDisruption(func(lead chaos.ID) bool { return lead == from || lead == to })
	c.mu.Lock()
	c.cut[c.node(from).id-1][c.node(to).id-1] = true
	c.mu.Unlock()
	c.applyCuts()
	c.noteCut(fmt.Sprintf("n%d -/-> n%d", from, to))
	settle()
}

// cutSettle is how long a new cut is given to take hold: messages that
// had passed the proxy before it still arrive, and a node's /status is
// published after the batch that changed it. A scenario that reads state
// right after a cut (the isolated leader's commit index) must see the
// state the cut left, not a message already on its way a moment later.
const cutSettle = 100 * time.Millisecond

func settle() { time.Sleep(cutSettle) }

// Isolate implements chaos.Cluster.Isolate.
func (c *Cluster) Isolate(id chaos.ID) {
	var rest []chaos.ID
	for _, o := range c.Nodes() {
		if o != id {
			rest = append(rest, o)
		}
	}
	c.Partition([]chaos.ID{id}, rest)
}

func (c *Cluster) noteCut(desc string) {
	c.Logf("%s", desc)
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.cutDesc) == 0 {
		c.cutAt = c.Now()
	}
	c.cutDesc = append(c.cutDesc, desc)
}

// applyCuts sets every proxy to the cut matrix: proxy i->j carries i's
// messages to j forward and j's answers (pongs) to i backward.
func (c *Cluster) applyCuts() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, row := range c.proxies {
		for j, p := range row {
			if p != nil {
				p.Block(c.cut[i][j], c.cut[j][i])
			}
		}
	}
}

// Heal implements chaos.Cluster.Heal.
func (c *Cluster) Heal() {
	c.mu.Lock()
	if len(c.cutDesc) > 0 {
		c.addFault(strings.Join(c.cutDesc, "; "), c.cutAt, c.Now())
		c.cutDesc = nil
		c.mu.Unlock()
		c.Logf("heal")
		c.mu.Lock()
	}
	for _, row := range c.cut {
		clear(row)
	}
	c.mu.Unlock()
	c.applyCuts()
}

// SetLatency implements chaos.Cluster.SetLatency: on top of loopback's own.
func (c *Cluster) SetLatency(from, to chaos.ID, d time.Duration) {
	c.Logf("latency n%d -> n%d: %s", from, to, d)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.latDesc != "" {
		c.addFault(c.latDesc, c.latAt, c.Now())
	}
	c.latAt = c.Now()
	c.latDesc = fmt.Sprintf("latency n%d -> n%d %s", from, to, d)
	if d == 0 {
		c.latDesc = ""
	}
	c.eachLink(from, to, func(a, b int) { c.lat[a][b] = d })
	c.eachProxy(func(p *faultproxy.Proxy, i, j int) { p.SetLatency(c.lat[i][j], c.lat[j][i]) })
}

// eachLink calls fn for every link from -> to names (AllNodes: every node
// at that end), by node index.
func (c *Cluster) eachLink(from, to chaos.ID, fn func(a, b int)) {
	for a := range c.procs {
		for b := range c.procs {
			if (from == chaos.AllNodes || int(from) == a+1) && (to == chaos.AllNodes || int(to) == b+1) {
				fn(a, b)
			}
		}
	}
}

// eachProxy calls fn for the proxy of every ordered pair i -> j, which
// carries i's messages forward and j's pongs back.
func (c *Cluster) eachProxy(fn func(p *faultproxy.Proxy, i, j int)) {
	for i, row := range c.proxies {
		for j, p := range row {
			if p != nil {
				fn(p, i, j)
			}
		}
	}
}

// SetLoss implements chaos.Cluster.SetLoss: the proxies delay a lost
// chunk by TCP's retransmission timeouts (faultproxy.SetLoss).
func (c *Cluster) SetLoss(from, to chaos.ID, percent float64) {
	c.Logf("loss n%d -> n%d: %.1f%%", from, to, percent)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.lossDesc != "" {
		c.addFault(c.lossDesc, c.lossAt, c.Now())
	}
	c.lossAt, c.lossDesc = c.Now(), ""
	if percent > 0 {
		c.lossDesc = fmt.Sprintf("loss n%d -> n%d %.1f%%", from, to, percent)
	}
	c.eachLink(from, to, func(a, b int) { c.loss[a][b] = percent })
	c.eachProxy(func(p *faultproxy.Proxy, i, j int) { p.SetLoss(c.loss[i][j], c.loss[j][i]) })
}

// SkewClock implements chaos.Cluster.SkewClock through the node's
// test-only clock control.
func (c *Cluster) SkewClock(id chaos.ID, d time.Duration) {
	c.Logf("n%d clock jumps by %s", id, d)
	p := c.node(id)
	p.mu.Lock()
	p.clockOffset = p.offsetNow() + d
	p.clockSince = time.Now()
	offset, ppm := p.clockOffset, p.clockPPM
	p.mu.Unlock()
	c.mu.Lock()
	c.addFault(fmt.Sprintf("n%d clock jumps %s", id, d), c.Now(), c.Now())
	c.mu.Unlock()
	c.setClock(p, offset, ppm)
}

// DriftClock implements chaos.Cluster.DriftClock.
func (c *Cluster) DriftClock(id chaos.ID, ppm int) {
	c.Logf("n%d clock drifts %d ppm", id, ppm)
	p := c.node(id)
	p.mu.Lock()
	p.clockOffset = p.offsetNow()
	p.clockSince = time.Now()
	p.clockPPM = ppm
	offset := p.clockOffset
	p.mu.Unlock()
	c.mu.Lock()
	c.addFault(fmt.Sprintf("n%d clock drifts %d ppm", id, ppm), c.Now(), c.Now())
	c.mu.Unlock()
	c.setClock(p, offset, ppm)
}

// offsetNow is the offset the runner gave p's clock, now. p.mu is held.
func (p *proc) offsetNow() time.Duration {
	if p.clockSince.IsZero() {
		return p.clockOffset
	}
	return p.clockOffset + time.Duration(float64(time.Since(p.clockSince))*float64(p.clockPPM)/1e6)
}

func (c *Cluster) setClock(p *proc, offset time.Duration, ppm int) {
	if !c.Up(p.id) {
		return // its next start takes the setting
	}
	form := url.Values{"offset_ms": {strconv.FormatInt(offset.Milliseconds(), 10)}, "drift_ppm": {strconv.Itoa(ppm)}}
	resp, err := c.http.PostForm("http://"+p.admin+"/test/clock", form)
	if err != nil {
		c.fail(classRunner, "set n%d's clock: %v", p.id, err)
		panic(stopRun{})
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		c.fail(classRunner, "set n%d's clock: %s", p.id, resp.Status)
		panic(stopRun{})
	}
}

// ClockOffset implements chaos.Cluster.ClockOffset: the running node's
// own answer, else what the runner set.
func (c *Cluster) ClockOffset(id chaos.ID) time.Duration {
	p := c.node(id)
	if c.Up(id) {
		resp, err := c.http.Get("http://" + p.admin + "/test/clock")
		if err == nil {
			defer resp.Body.Close()
			var st struct {
				OffsetNs int64 `json:"offset_ns"`
			}
			if resp.StatusCode == http.StatusOK && json.NewDecoder(resp.Body).Decode(&st) == nil {
				return time.Duration(st.OffsetNs)
			}
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.offsetNow()
}

// Now implements chaos.Cluster.Now: wall time since the cluster started.
func (c *Cluster) Now() time.Duration {
	if c.start.IsZero() {
		return 0
	}
	return time.Since(c.start)
}

// RunFor implements chaos.Cluster.RunFor: it sleeps, running At's
// callbacks when they are due.
func (c *Cluster) RunFor(d time.Duration) {
	c.runUntil(c.Now()+d, nil)
}

// runUntil sleeps until t or until done is closed, running due callbacks;
// it unwinds the timeline when the run is interrupted or failed.
func (c *Cluster) runUntil(t time.Duration, done <-chan struct{}) {
	for {
		c.finishCalls()
		c.runDue()
		c.checkRunning()
		now := c.Now()
		if now >= t {
			return
		}
		wake := t
		if len(c.at) > 0 && c.at[0].t < wake {
			wake = c.at[0].t
		}
		timer := time.NewTimer(min(wake-now, 100*time.Millisecond))
		select {
		case <-timer.C:
		case <-done:
			timer.Stop()
			c.finishCalls()
			c.runDue()
			return
		case <-c.ctx.Done():
			timer.Stop()
		}
	}
}

func (c *Cluster) runDue() {
	for len(c.at) > 0 && c.at[0].t <= c.Now() {
		fn := c.at[0].fn
		c.at = c.at[1:]
		fn()
	}
}

func (c *Cluster) checkRunning() {
	if c.ctx.Err() != nil {
		c.fail(classRunner, "interrupted")
		panic(stopRun{})
	}
	if c.failed() {
		panic(stopRun{})
	}
}

// At implements chaos.Cluster.At.
func (c *Cluster) At(t time.Duration, fn func()) {
	i := len(c.at)
	for i > 0 && c.at[i-1].t > t {
		i--
	}
	c.at = append(c.at[:i], append([]atFn{{t, fn}}, c.at[i:]...)...)
}

// Leader implements chaos.Cluster.Leader.
func (c *Cluster) Leader() (chaos.ID, bool) {
	var lead chaos.ID
	var term uint64
	for _, id := range c.Nodes() {
		if st, ok := c.Status(id); ok && st.IsLeader && st.Term >= term {
			lead, term = id, st.Term
		}
	}
	return lead, lead != 0
}

// statusJSON is the admin endpoint's /status (app.Status).
type statusJSON struct {
	ID                 uint64   `json:"id"`
	Term               uint64   `json:"term"`
	Leader             uint64   `json:"leader"`
	IsLeader           bool     `json:"is_leader"`
	Commit             uint64   `json:"commit"`
	Applied            uint64   `json:"applied"`
	Stopped            bool     `json:"stopped"`
	Role               string   `json:"role"`
	Identity           string   `json:"identity"`
	Voters             []uint64 `json:"voters"`
	Learners           []uint64 `json:"learners"`
	MembershipChanges  int      `json:"membership_changes"`
	SnapshotIndex      uint64   `json:"snapshot_index"`
	LogEntries         uint64   `json:"log_entries"`
	SnapshotsTaken     int      `json:"snapshots_taken"`
	SnapshotsInstalled int      `json:"snapshots_installed"`
}

// Status implements chaos.Cluster.Status through the admin endpoint. A
// node whose endpoint does not answer (not started yet, paused, or stuck)
// counts as down for the moment.
func (c *Cluster) Status(id chaos.ID) (node.Status, bool) {
	p := c.node(id)
	if !c.Up(id) || p.isPaused() {
		return node.Status{ID: id}, false
	}
	resp, err := c.http.Get("http://" + p.admin + "/status")
	if err != nil {
		return node.Status{ID: id}, false
	}
	defer resp.Body.Close()
	var js statusJSON
	if err := json.NewDecoder(resp.Body).Decode(&js); err != nil {
		return node.Status{ID: id}, false
	}
	identity, _ := strconv.ParseUint(js.Identity, 16, 64)
	return node.Status{
		ID: js.ID, Term: js.Term, Lead: js.Leader, IsLeader: js.IsLeader, Commit: js.Commit, Applied: js.Applied,
		Stopped: js.Stopped, Role: js.Role, Identity: identity, Voters: js.Voters, Learners: js.Learners,
		MembershipChanges: js.MembershipChanges, SnapshotIndex: js.SnapshotIndex, LogEntries: js.LogEntries,
		SnapshotsTaken: js.SnapshotsTaken, SnapshotsInstalled: js.SnapshotsInstalled,
	}, true
}

// noteDisruption remembers that a fault took the leader away, when
// affects says the fault touches the current leader: the monitor then
// times how long until another leader leads a quorum.
func (c *Cluster) noteDisruption(affects func(lead chaos.ID) bool) {
	lead, ok := c.Leader()
	if !ok || !affects(lead) {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.pending == nil {
		c.pending = &disruption{at: c.Now(), old: lead}
	}
}

// watch polls every node's status: it checks that no term has two
// leaders and that no node fail-stops, logs leader changes, and times
// new leaders after a disruption.
func (c *Cluster) watch() {
	defer c.wg.Done()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-c.monitor:
			return
		case <-tick.C:
		}
		sts := map[chaos.ID]node.Status{}
		for _, id := range c.Nodes() {
			if st, ok := c.Status(id); ok {
				sts[id] = st
			}
		}
		now := c.Now()
		c.mu.Lock()
		for id, st := range sts {
			if st.Stopped {
				c.mu.Unlock()
				c.fail(classSafety, "n%d fail-stopped (see its log)", id)
				c.mu.Lock()
			}
			if !st.IsLeader {
				continue
			}
			if other, ok := c.termLead[st.Term]; ok && other != id {
				c.mu.Unlock()
				c.fail(classSafety, "two leaders in term %d: n%d and n%d", st.Term, other, id)
				c.mu.Lock()
				continue
			}
			if _, ok := c.termLead[st.Term]; !ok {
				c.termLead[st.Term] = id
				c.leaders = append(c.leaders, leaderChange{at: now, term: st.Term, leader: id})
			}
		}
		if d := c.pending; d != nil {
			for id, st := range sts {
				if !st.IsLeader || id == d.old {
					continue
				}
				follow := 0
				for _, o := range sts {
					if o.Lead == id {
						follow++
					}
				}
				if follow >= len(c.procs)/2+1 {
					c.elected = append(c.elected, now-d.at)
					c.pending = nil
					break
				}
			}
		}
		c.mu.Unlock()
	}
}

// addFault records a fault window for the report. c.mu is held.
func (c *Cluster) addFault(desc string, start, end time.Duration) {
	c.faults = append(c.faults, faultWindow{desc: desc, start: start, end: end})
}

// closeFaults ends the windows still open when the timeline returns.
func (c *Cluster) closeFaults() {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.Now()
	for id, at := range c.downAt {
		c.addFault(fmt.Sprintf("n%d down", id), at, now)
	}
	clear(c.downAt)
	for id, at := range c.pausedAt {
		c.addFault(fmt.Sprintf("n%d paused", id), at, now)
	}
	clear(c.pausedAt)
	if len(c.cutDesc) > 0 {
		c.addFault(strings.Join(c.cutDesc, "; "), c.cutAt, now)
		c.cutDesc = nil
	}
	if c.latDesc != "" {
		c.addFault(c.latDesc, c.latAt, now)
		c.latDesc = ""
	}
}

// close stops everything the cluster started: clients, processes,
// proxies, the monitor.
func (c *Cluster) close() {
	if c.clients != nil {
		c.clients.stop()
	}
	select {
	case <-c.monitor:
	default:
		close(c.monitor)
	}
	for _, p := range c.procs {
		c.killProc(p)
	}
	for _, row := range c.proxies {
		for _, p := range row {
			if p != nil {
				_ = p.Close()
			}
		}
	}
	c.wg.Wait()
	c.http.CloseIdleConnections()
}
