// Package sim is Seshat's deterministic simulator: a whole cluster, its
// network, disks, clocks and clients, run on one goroutine in virtual
// time from a seed. The same seed replays the same run, event for event.
//
// A run has two phases. Until FaultsEnd the world misbehaves: messages are
// delayed, reordered, dropped and duplicated, nodes crash and lose what they
// had not synced, the network partitions (one way too), clocks are skewed
// and drift. Then the world heals and the liveness phase demands a leader,
// a committed write and a read within a bound. Throughout, the checks in
// check.go run: one leader per term, committed entries never change,
// replicas at one applied index hold the same data; at the end porcupine
// judges the clients' whole history for linearizability.
//
// What misbehaves, and when, comes from one of two places. The swarm
// (Options.Scenario "swarm", the default) lets the seed switch each fault
// on or off and pick how hard it hits, and schedules them at random. A chaos
// scenario (package chaos) instead drives the world through simCluster
// (cluster.go): its timeline kills, cuts, slows and skews at chosen moments
// and checks its own expectations; when it returns, the world heals and the
// same liveness phase and checks as the swarm's follow.
package sim

import (
	"fmt"
	"math/rand/v2"
	"runtime/debug"
	"strings"
	"time"
)

// World is one simulated run.
type World struct {
	opts Options
	rng  *rand.Rand // the world's own choices: faults, delays, workload
	// memEngine: the nodes keep their data in the in-memory twin of
	// Pebble (Options.Engine).
	memEngine bool
	now       time.Duration
	seq       uint64
	queue     eventQueue
	hash      uint64
	events    int

	nodes   []*simNode
	clients []*client
	// connections counts the clients' connections, which name each
	// command's place in its connection's order.
	connections int
	cut         [][]bool          // cut[a][b]: messages from a to b are lost
	lat         [][]time.Duration // lat[a][b]: the one-way delay from a to b, before jitter
	loss        [][]float64       // loss[a][b]: the percent of messages from a to b a scenario's lossy link loses
	cutGen      int               // which partition the cuts belong to: only its own heal lifts them
	probe       *probe
	cluster     *simCluster // the scenario's view, in scenario runs
	net         *netFaults  // held, re-delivered and long-delayed messages (network.go)
	links       linkHolds   // links a scenario holds (linkhold.go)
	wires       []*onWire   // spent message deliveries, for the next messages (deliverAfter)
	op          *operator   // the swarm's operator, when the seed has one (operator.go)

	hist    history
	starts  int      // node processes started so far (kvmodel.Input.Epoch)
	down    downtime // the nodes' time spent down (kvmodel.Input.Down)
	ttl     ttlWorld // the TTL workload and its checks (ttl.go)
	scan    *scanner // the SCAN workload and its check (scan.go)
	txns    txnWorld // the transaction workload and its checks (txn.go)
	checks  checker
	points  crashPoints // aimed crashes (crashpoints.go)
	votes   voteRecords // the hard states each node synced, for "a vote is never forgotten"
	failure *Failure
	faults  []faultWindow
	stats   Stats

	faultSched faultSchedule // numbers the fault decisions, skips some (faults.go)

	traceLines []string
	keepTrace  bool
	eventLog   []EventRecord // every event with the rolling hash after it, when kept
}

// Stats counts what happened in a run.
type Stats struct {
	ACLChanges    int // ACL SETUSER and DELUSER sent (auth.go)
	Strangers     int // unauthenticated connections refused (auth.go)
	Events        int
	MessagesSent  int
	MessagesLost  int
	Crashes       int
	Wipes         int // disks replaced by empty ones
	Partitions    int
	LeaderChanges int
	OpsOK         int
	OpsFailed     int
	OpsUnknown    int
	Scans         int // SCANs run to their end and checked (scan.go)
	// ExpiryLateMax is the latest a client saw a key after its TTL ran
	// out, counted from the set's return (ttl.go), with no node restarted
	// in between: the measured late bound.
	ExpiryLateMax      time.Duration
	LocksTaken         int // SET NX PX that took a lock
	TxnsCommitted      int // transactions (txn.go) whose EXEC ran them: transfers, audits, compare-and-sets
	TxnsAborted        int // compare-and-sets whose EXEC found the watched key changed
	MaxTerm            uint64
	LivenessAfter      time.Duration
	CheckDuration      time.Duration
	SimulatedTime      time.Duration
	WallTime           time.Duration
	HistoryEntries     int
	SnapshotsTaken     int
	SnapshotsInstalled int
	DiskFailures       int
	WorkerJobs         int // chunks of long reads run as events of their own
	Batches            int // node.Driver batches run: one Process each
	BatchesShared      int // of those, batches of more than one event (group commit)
	DiskFull           int // disks that filled up (ENOSPC); the node stopped with NOSPACE
	TornTails          int // crashes that cut the newest WAL inside its unsynced tail
	FlipsInjected      int // synced WAL bytes flipped while a node was down
	FlipsRefused       int // of those, refused at open as damage (then wiped, rejoined)
	Faults             int // fault decisions applied (see allowFault)
	FaultsSkipped      int // fault decisions the schedule left out

	// CrashPoints counts the aimed crashes that struck, by crash point.
	CrashPoints CrashPointCounts

	// The network's long faults (network.go).
	Held                      int // messages parked instead of delivered or lost
	ReleasedAfterHeal         int // of those, delivered once their partition healed
	ReleasedAfterRestart      int // ... once their receiver had restarted
	ReleasedAfterLeaderChange int // ... once the cluster had a new leader
	ReleasedAfterTimeout      int // ... after a long seed-drawn time
	HeldDropped               int // ... lost when the fault phase ended
	Redelivered               int // copies of messages delivered long ago, delivered again
	LongDelays                int // messages delayed by one to five election timeouts
	Echoed                    int // ReadIndex confirmations of a previous process delivered to the next (echo.go)
	CrashLoops                int // restarted nodes crashed again soon, while following (echo.go)

	// The swarm's operator (operator.go).
	OperatorCommands int // membership commands sent
	OperatorApplied  int // of those, answered +OK (and checked applied)
	OperatorRefused  int // ... answered with an error that says nothing happened
	OperatorUnknown  int // ... answered UNKNOWN, or not at all
	OperatorHandoffs int // replaces of the leader it answered by handing leadership off (asked again later)
}

// EventRecord describes one event of a run, for finding where two runs of
// one seed parted.
type EventRecord struct {
	At    time.Duration
	Kind  string
	Node  int
	Extra uint64
	Hash  uint64
}

func (e EventRecord) String() string {
	return fmt.Sprintf("%s %s node=%d payload=%016x hash=%016x", e.At, e.Kind, e.Node, e.Extra, e.Hash)
}

// Result is the outcome of a run.
type Result struct {
	Options Options
	Hash    uint64 // of every event, in order: equal runs have equal hashes
	Stats   Stats
	Failure *Failure // nil when every check passed
	// Trace holds the run's readable event log, when Options.Verbose or a
	// failure asked for it.
	Trace []string
	// Events holds every event with the rolling hash after it, when asked
	// for by the determinism test.
	Events []EventRecord
	// Faults lists every fault the run applied, when Options.recordFaults
	// asked for it: what the shrinker may try to leave out.
	Faults []FaultRecord
	// History and annotations, for the visualization of a failure.
	hist   history
	annots []annotation
}

// Run simulates one seed: of the swarm (the seed picks the faults) when
// opts.Scenario is empty or "swarm", else of the named chaos scenario.
func Run(opts Options) Result {
	return run(opts.FromSeed(), false)
}

// newWorld is the world of one run, before its nodes start: every part
// that draws from the seed is set up here, so that a run built another
// way (a test's own scenario) has the same world.
func newWorld(opts Options) *World {
	w := &World{
		opts:      opts,
		rng:       rand.New(rand.NewPCG(opts.Seed, 0x5e5a7)),
		hash:      hashSeed,
		keepTrace: opts.Verbose,
		net:       newNetFaults(opts.Seed),
		memEngine: opts.Engine == engineMem,
	}
	w.faultSched = newFaultSchedule(opts)
	w.hist.epoch = &w.starts
	w.ttl.init(opts.Seed)
	w.txns.init(opts.Seed)
	w.checks.init(w)
	w.points.init(opts.Seed)
	w.votes.init(w, opts.Nodes)
	return w
}

func run(opts Options, keepEventHashes bool) (res Result) {
	start := time.Now()
	w := newWorld(opts)
	withSeededCryptoRand(opts.Seed, func() {
		defer func() {
			if p := recover(); p != nil {
				w.fail(classCrash, "panic at %s: %v\n%s", w.now, p, debug.Stack())
			}
			w.closeAll()
		}()
		w.keepHashes(keepEventHashes)
		if err := opts.engineProblem(); err != nil {
			w.fail(classCrash, "options: %v", err)
			return
		}
		w.setup()
		if scen, ok := opts.scenario(); ok {
			w.runScenario(scen)
		} else {
			w.runUntil(w.opts.Run)
		}
		if w.failure == nil {
			w.finalChecks()
		}
	})
	w.stats.Events = w.events
	w.stats.SimulatedTime = w.now
	w.stats.WallTime = time.Since(start)
	w.stats.HistoryEntries = len(w.hist.ops)
	return Result{
		Options: opts, Hash: w.hash, Stats: w.stats, Failure: w.failure,
		Trace: w.traceLines, Events: w.eventLog, Faults: w.faultSched.applied, hist: w.hist, annots: w.annotations(),
	}
}

func (w *World) keepHashes(keep bool) {
	if keep {
		w.eventLog = make([]EventRecord, 0, 1<<16)
	}
}

func (w *World) setup() {
	o := w.opts
	w.cut = make([][]bool, o.Nodes)
	w.lat = make([][]time.Duration, o.Nodes)
	w.loss = make([][]float64, o.Nodes)
	for i := range o.Nodes {
		w.cut[i] = make([]bool, o.Nodes)
		w.lat[i] = make([]time.Duration, o.Nodes)
		w.loss[i] = make([]float64, o.Nodes)
		for j := range w.lat[i] {
			w.lat[i][j] = o.LatencyMin
		}
		s := &simNode{
			w:   w,
			idx: i,
			id:  uint64(i + 1),
			rng: rand.New(rand.NewPCG(w.rng.Uint64(), w.rng.Uint64())),
		}
		s.newDisk()
		if o.SkewMax > 0 {
			skew := time.Duration(w.rng.Int64N(2*int64(o.SkewMax)+1)) - o.SkewMax
			if w.allowFault(faultSkew) {
				s.clockBase = skew
			}
		}
		if o.DriftMaxPPM > 0 {
			drift := float64(w.rng.IntN(2*o.DriftMaxPPM+1)-o.DriftMaxPPM) / 1e6
			if w.allowFault(faultDrift) {
				s.drift = drift
				w.ttl.noteDrift(drift)
			}
		}
		w.nodes = append(w.nodes, s)
	}
	w.down.init(w)
	w.hist.down = &w.down
	for _, s := range w.nodes {
		// Nodes boot a little apart, as real processes do.
		s := s
		w.schedule(time.Duration(w.rng.Int64N(int64(o.Tick))), evRestart, s.idx, 0, s.start)
	}
	w.scheduleDataCheck()
	w.scheduleACLChurn(rand.New(rand.NewPCG(o.Seed, 0xac1)))
	w.scheduleStrangers(rand.New(rand.NewPCG(o.Seed, 0x57a)))
	if _, ok := o.scenario(); ok {
		return // the scenario starts clients and faults itself
	}
	w.startClients(o.Clients, time.Second)
	if o.CrashEvery > 0 {
		w.scheduleCrash()
	}
	if o.PartitionEvery > 0 {
		w.schedulePartition()
	}
	if o.CrashPointEvery > 0 {
		w.scheduleCrashPoints()
	}
	if o.Operator > 0 {
		w.startOperator()
	}
	w.schedule(o.FaultsEnd, evFaultsEnd, -1, 0, w.faultsEnd)
}

// startClients starts n more clients, each within [after, 2*after).
func (w *World) startClients(n int, after time.Duration) {
	w.startScanner(after)
	for range n {
		i := len(w.clients)
		c := &client{w: w, id: i, node: w.rng.IntN(len(w.nodes))}
		w.clients = append(w.clients, c)
		w.schedule(after+time.Duration(w.rng.Int64N(int64(after))), evClientOp, -1, uint64(i), c.next)
	}
}

// runUntil runs every event up to virtual time t, or until stop (if not
// nil) holds after an event, or until a check fails.
func (w *World) runUntil(t time.Duration) { w.runWhile(t, nil) }

func (w *World) runWhile(t time.Duration, stop func() bool) {
	for w.queue.Len() > 0 && w.failure == nil {
		if w.queue[0].at > t {
			break
		}
		ev := w.queue.pop()
		w.now = ev.at
		w.events++
		w.hash = mixHash(w.hash, uint64(ev.at), ev.seq, uint64(ev.kind), uint64(int64(ev.node)), ev.extra)
		if w.eventLog != nil {
			w.eventLog = append(w.eventLog, EventRecord{At: ev.at, Kind: ev.kind.String(), Node: ev.node, Extra: ev.extra, Hash: w.hash})
		}
		ev.fn()
		if stop != nil && stop() {
			return
		}
	}
	if w.failure == nil && t > w.now {
		w.now = t
	}
}

// schedule runs fn after delay. kind, node and extra describe the event
// for the run's hash.
func (w *World) schedule(delay time.Duration, kind eventKind, node int, extra uint64, fn func()) {
	w.seq++
	w.queue.push(event{at: w.now + delay, seq: w.seq, kind: kind, node: node, extra: extra, fn: fn})
}

// tracef adds a line to the trace, when it is kept. A caller on a path
// taken per command checks keepTrace first: boxing the arguments costs an
// allocation apiece even when the line is not kept.
func (w *World) tracef(format string, args ...any) {
	if w.keepTrace {
		w.traceLines = append(w.traceLines, fmt.Sprintf(format, args...))
	}
}

// leader returns the up node that believes it leads the highest term, or nil.
func (w *World) leader() *simNode {
	var best *simNode
	var bestTerm uint64
	for _, s := range w.nodes {
		if !s.up() {
			continue
		}
		if st := s.n.Status(); st.IsLeader && st.Term > bestTerm {
			best, bestTerm = s, st.Term
		}
	}
	return best
}

func (w *World) upCount() int {
	n := 0
	for _, s := range w.nodes {
		if s.up() {
			n++
		}
	}
	return n
}

func (w *World) scheduleCrash() {
	delay := time.Duration(w.rng.Int64N(2*int64(w.opts.CrashEvery))) + 1
	w.schedule(delay, evCrash, -1, 0, func() {
		if w.now >= w.opts.FaultsEnd {
			return
		}
		// Keep a majority up most of the time, so there is work to judge;
		// a quorum loss still happens when a crash meets a partition.
		down := len(w.nodes) - w.upCount()
		if down < (len(w.nodes)-1)/2 || (down == (len(w.nodes)-1)/2 && w.rng.IntN(10) == 0) {
			// Half the crashes go for the leader: its failure is the
			// interesting one.
			s := w.nodes[w.rng.IntN(len(w.nodes))]
			if leader := w.leader(); leader != nil && w.rng.IntN(2) == 0 {
				s = leader
			}
			if s.up() {
				w.breakNode(s)
			}
		}
		w.scheduleCrash()
	})
}

// breakNode crashes s now, or arms its disk to crash or fail at one of
// its next few WAL syncs: in the middle of a Ready, a compaction or a
// snapshot install.
func (w *World) breakNode(s *simNode) {
	mode := w.rng.IntN(4)
	if w.opts.DiskFailuresOnly {
		mode = 0
	}
	if w.rng.IntN(6) == 0 && !w.opts.DiskFailuresOnly && w.wipeSafe(s) {
		// A damaged disk is refused and then wiped: as unsafe as a wipe.
		kind := faultWipe
		if w.rng.IntN(2) == 0 {
			kind = faultFlip
		}
		if !w.allowFault(kind) {
			w.skipCrash()
			return
		}
		if kind == faultFlip && w.flipSyncedByte(s) {
			w.stats.Crashes++
			w.scheduleRestart(s, "crashed; a synced WAL byte flipped")
			return
		}
		s.crash()
		s.wipe()
		w.stats.Crashes++
		w.scheduleRestart(s, "disk wiped")
		return
	}
	switch {
	case mode == 0 && !w.opts.NoDiskFaults:
		full := w.rng.IntN(2) == 0
		syncs, keep, seed := 1+w.rng.IntN(8), w.keepShare(), w.rng.Uint64()
		if w.allowFault(faultDiskFail) {
			s.disk.armFailure(syncs, keep, seed, full)
			w.tracef("%s n%d: disk will fail soon (full: %v)", w.now, s.id, full)
		}
	case mode == 1:
		syncs, keep, seed := 1+w.rng.IntN(8), w.keepShare(), w.rng.Uint64()
		if w.allowFault(faultDiskCrash) {
			s.disk.armCrash(syncs, keep, seed)
			w.tracef("%s n%d: will crash in the middle of a write soon", w.now, s.id)
		}
	default:
		if !w.allowFault(faultCrash) {
			w.skipCrash()
			return
		}
		s.crash()
		w.stats.Crashes++
		w.scheduleRestart(s, "crashed")
	}
}

// wipeSafe reports whether a disk may be wiped now: every node is up and
// a voter under its own identity, so the wiped node will be the only
// member rejoining. Two members rejoining at once in a cluster of three
// would leave no quorum that still holds the data, and the cluster would
// rightly wait forever.
func (w *World) wipeSafe(s *simNode) bool {
	if w.op != nil {
		return w.wipeSafeWithOperator()
	}
	for _, s := range w.nodes {
		if !s.up() {
			return false
		}
		st := s.n.Status()
		if st.Stopped || st.Role != "voter" || len(st.Voters) != len(w.nodes) || len(st.Learners) > 0 {
			return false
		}
	}
	return true
}

// keepShare draws whether a crash keeps the writes that were not yet
// synced (100) or loses them (0). NB: all or nothing, because Pebble's
// CrashClone draws its per-block choices while ranging over a map, so a
// share in between would differ from replay to replay.
func (w *World) keepShare() int {
	if w.opts.UnsyncedPercent <= 0 || w.opts.LyingDisk {
		return 0
	}
	if w.rng.IntN(100) < w.opts.UnsyncedPercent {
		if leakWriterTiming {
			return 50 // TEST ONLY: CrashClone's per-block draws, in map order
		}
		return 100
	}
	return 0
}

func (w *World) drawDowntime() time.Duration {
	return time.Duration(w.rng.Int64N(int64(w.opts.DowntimeMax))) + time.Millisecond
}

// scheduleRestart brings s back after a random downtime.
func (w *World) scheduleRestart(s *simNode, why string) {
	downFor := w.drawDowntime()
	if !w.allowFault(faultDowntime) {
		downFor = time.Millisecond // straight back
	}
	w.scheduleRestartIn(s, why, downFor)
}

// scheduleRestartIn brings s back after downFor.
func (w *World) scheduleRestartIn(s *simNode, why string, downFor time.Duration) {
	w.addFault(fmt.Sprintf("n%d down: %s", s.id, why), w.now, w.now+downFor)
	epoch := s.epoch
	w.schedule(downFor, evRestart, s.idx, 0, func() {
		if s.epoch != epoch {
			return
		}
		if s.up() {
			s.crash() // a fail-stopped process is killed before the restart
		}
		s.start()
	})
}

func (w *World) schedulePartition() {
	delay := time.Duration(w.rng.Int64N(2*int64(w.opts.PartitionEvery))) + 1
	w.schedule(delay, evPartition, -1, 0, func() {
		if w.now >= w.opts.FaultsEnd {
			return
		}
		n := len(w.nodes)
		side := make([]bool, n)
		for i := range side {
			side[i] = w.rng.IntN(2) == 0
		}
		oneWay := w.rng.IntN(3) == 0
		heal := time.Duration(w.rng.Int64N(int64(w.opts.PartitionMax))) + time.Millisecond
		if !w.allowFault(faultPartition) {
			w.schedulePartition()
			return
		}
		var desc strings.Builder
		w.heal()
		for a := range n {
			for b := range n {
				if side[a] && !side[b] {
					w.cut[a][b] = true
					if !oneWay {
						w.cut[b][a] = true
					}
				}
			}
			if side[a] {
				fmt.Fprintf(&desc, "n%d ", a+1)
			}
		}
		how := "cut off from"
		if oneWay {
			how = "cannot send to"
		}
		w.stats.Partitions++
		w.down.recount()
		w.addFault(fmt.Sprintf("{%s} %s the rest", strings.TrimSpace(desc.String()), how), w.now, w.now+heal)
		w.cutGen++
		gen := w.cutGen
		w.schedule(heal, evHeal, -1, 0, func() {
			if gen == w.cutGen {
				w.heal()
			}
		})
		w.schedulePartition()
	})
}

func (w *World) heal() {
	for _, row := range w.cut {
		clear(row)
	}
	w.down.recount()
	w.healed()
}

// faultsEnd heals everything and starts the liveness phase.
func (w *World) faultsEnd() {
	w.dropHeld()
	w.heal()
	for _, row := range w.lat {
		for j := range row {
			row[j] = w.opts.LatencyMin
		}
	}
	for _, row := range w.loss {
		clear(row)
	}
	for _, s := range w.nodes {
		if s.disk != nil {
			s.disk.disarm() // no fault may strike in the liveness phase
			s.aimedCompaction = nil
		}
		if s.up() && s.stoppedSeen {
			s.crash() // a fail-stopped node is restarted, as an operator would
		}
		if !s.up() {
			s.start()
		}
	}
	w.startLivenessProbe()
	if w.op != nil {
		w.op.checkMembersSettle()
	}
}

func (w *World) nodeCrashed(s *simNode) {
	for _, c := range w.clients {
		c.nodeCrashed(s.idx)
	}
	w.probe.nodeCrashed(s.idx)
	w.cluster.nodeCrashed(s.idx)
}

// countSnapshots adds a node process's snapshot counters to the stats,
// before the process goes away.
func (w *World) countSnapshots(s *simNode) {
	st := s.n.Status()
	w.stats.SnapshotsTaken += st.SnapshotsTaken
	w.stats.SnapshotsInstalled += st.SnapshotsInstalled
}

// closeAll closes the nodes still up at the end of a run.
func (w *World) closeAll() {
	for _, s := range w.nodes {
		if s.up() {
			w.countSnapshots(s)
			w.closeNode(s)
			s.n = nil
		}
	}
}

// closeNode closes s's node as a host does at shutdown; a crash closes
// it too, after its disk image was taken. A node that did not fail-stop,
// on a disk no armed fault has struck, must close cleanly: a leader
// sending a snapshot once reported its storage snapshot leaked. The
// disk is asked after Close, which syncs: an armed failure may strike
// then (swarm seed 747, a full disk).
func (w *World) closeNode(s *simNode) {
	stopped := s.n.Status().Stopped
	if err := s.n.Close(); err != nil && !stopped && !s.disk.struck() {
		w.fail(classCrash, "n%d: close: %v", s.id, err)
	}
}
