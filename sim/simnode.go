package sim

import (
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/seshat-db/seshat/env"
	"github.com/seshat-db/seshat/env/envtest"
	"github.com/seshat-db/seshat/node"
	"github.com/seshat-db/seshat/storage"
)

// simNode is one simulated machine: a disk that outlives crashes, a clock
// of its own, and the node process while it is up.
type simNode struct {
	w   *World
	idx int
	id  uint64
	// The disk: Pebble's files (fs), or the in-memory twin's state (mem,
	// storage.MemDisk); World.engine chose which for the run.
	fs      *vfs.MemFS
	mem     *storage.MemDisk
	disk    machineFaults // the disk as the node sees it: it can break mid-write
	held    *heldFS       // Pebble's: the page cache over the disk: unsynced WAL writes, until a sync or a crash
	applied appliedState  // for the applied-state checks (applied.go)
	sums    txnSumCheck   // which account groups checkSum reads (txnsum.go)
	rng     *rand.Rand    // the node's own env.Rand
	// The node's clock reads clockBase at virtual time clockAt and runs
	// at rate 1+drift from there: +0.001 runs 0.1% fast.
	clockBase time.Duration
	clockAt   time.Duration
	drift     float64
	n         *node.Node
	driver    *node.Driver // the node process's host loop: its inbox and batches
	batchDue  bool         // a batch event is scheduled for the driver
	epoch     int          // bumped at every crash and restart: stale events check it
	// epochEvents are the tick and batch events of epoch (events).
	epochEvents *epochEvents
	downs       int
	wiped       bool // its disk was wiped once: it restarts knowing every machine (config)

	stoppedSeen bool // the node fail-stopped and the world noticed
	// flipped names the synced WAL byte the world flipped on this disk
	// while the node was down: its next open must refuse.
	flipped string
	// aimedCompaction: a crash point armed this disk to crash in the
	// compaction's sync (crashpoints.go).
	aimedCompaction *aimedCrash
	// aimKill: a scenario's Kill waits for this node's next crash point.
	aimKill bool
}

// simDataDir is every simulated node's data directory.
const simDataDir = "/data"

func (s *simNode) up() bool { return s.n != nil }

// localTime is what this node's clock reads at virtual time t.
func (s *simNode) localTime(t time.Duration) time.Duration {
	return s.clockBase + time.Duration(float64(t-s.clockAt)*(1+s.drift))
}

// skewBy moves the node's clock by d, at once.
func (s *simNode) skewBy(d time.Duration) { s.clockBase += d }

// setDrift changes the node's clock rate from now on, without a jump.
func (s *simNode) setDrift(drift float64) {
	s.clockBase = s.localTime(s.w.now)
	s.clockAt = s.w.now
	s.drift = drift
	s.w.ttl.noteDrift(drift)
}

// tickPeriod is how much virtual time one tick of this node's clock takes.
func (s *simNode) tickPeriod() time.Duration {
	return time.Duration(float64(s.w.opts.Tick) / (1 + s.drift))
}

// runWork, the node's env.Worker, runs each job the node hands it as an event of its own, a
// little later, so a long read's chunks interleave with ticks, messages
// and other clients' commands, and a seed replays them exactly. A job of
// a process that has since died is dropped (node.Close released its
// snapshot).
func (s *simNode) runWork(job func()) {
	epoch := s.epoch
	delay := time.Duration(s.w.rng.Int64N(int64(2*time.Millisecond))) + time.Microsecond
	s.w.schedule(delay, evWork, s.idx, 0, func() {
		if s.epoch == epoch && s.up() {
			s.w.stats.WorkerJobs++
			job()
		}
	})
}

// log writes a node's log line into the trace, when it is verbose.
func (s *simNode) log(level, msg string, kv []any) {
	if s.w.opts.Verbose {
		s.w.tracef("%s n%d %s", s.w.now, s.id, envtest.FormatLine(level, msg, kv))
	}
}

// env is the node's env, backed by the world through envtest's adapters.
func (s *simNode) env() env.Env {
	var nodeFS vfs.FS
	if s.mem != nil {
		s.disk = newMemFaults(s.mem)
		s.held = nil
		nodeFS = vfs.NewMem() // unused: the store lives on s.mem
	} else {
		var fs vfs.FS = s.fs
		if s.w.opts.LyingDisk {
			fs = lyingFS{s.fs}
		}
		faults := newDiskFaults(s.fs, fs)
		s.disk = faults
		s.held = newHeldFS(faults.fs())
		nodeFS = s.held
	}
	send := func(to uint64, msg []byte) { s.w.send(s.idx, int(to)-1, msg) }
	return env.Env{Rand: envtest.Rand{R: s.rng}, Transport: envtest.TransportFunc(send), FS: nodeFS, Log: envtest.LevelLogFunc{F: s.log, Verbose: s.w.opts.Verbose}, Work: envtest.WorkerFunc(s.runWork), Clock: simClock{s}}
}

// newDisk is an empty disk of the run's engine.
func (s *simNode) newDisk() {
	if s.w.memEngine {
		s.fs, s.mem = nil, storage.NewMemDisk()
	} else {
		s.fs, s.mem = vfs.NewCrashableMem(), nil
	}
}

// setDisk makes image the machine's disk.
func (s *simNode) setDisk(image *diskImage) { s.fs, s.mem = image.fs, image.mem }

// syncedImage is the disk as a crash now leaves it keeping nothing
// unsynced.
func (s *simNode) syncedImage() *diskImage {
	if s.mem != nil {
		return &diskImage{mem: s.mem.Image(0)}
	}
	return &diskImage{fs: s.fs.CrashClone(vfs.CrashCloneCfg{UnsyncedDataPercent: 0})}
}

// simEpoch is what every node's wall clock reads at virtual time zero,
// before its skew: 2026-01-01T00:00:00Z.
const simEpoch = 1767225600000

// simClock is a node's wall clock: the world's time through the node's
// skew and drift.
type simClock struct{ s *simNode }

// UnixMilli implements env.Clock.UnixMilli.
func (c simClock) UnixMilli() int64 { return simEpoch + c.s.localTime(c.s.w.now).Milliseconds() }

func (s *simNode) config() node.Config {
	o := s.w.opts
	voters := o.Nodes
	if o.InitialVoters > 0 {
		voters = o.InitialVoters
	}
	peers := make([]uint64, voters)
	for i := range peers {
		peers[i] = uint64(i + 1)
	}
	if s.idx >= voters || s.wiped && o.InitialVoters > 0 {
		// A node started to join knows every machine, as -join learns
		// every member from CLUSTER NODES: its probe must reach the
		// leader, which may be a node added after the first three. So
		// does a wiped first member where membership changes, as an
		// operator restarting it lists the current members (README):
		// its join request goes to its peers, and only the leader admits
		// (swarm seed 627: n3, wiped, asked n1 and n2 while n4 led).
		peers = peers[:0]
		for i := range o.Nodes {
			peers = append(peers, uint64(i+1))
		}
	}
	// Where membership changes (InitialVoters), members record their own
	// addresses (node/announce.go) under the simulator's names for them.
	var peerAddr, clientAddr string
	if o.InitialVoters > 0 {
		peerAddr, clientAddr = simPeerAddr(s.id), simClientAddr(s.id)
	}
	return node.Config{
		ID:                          s.id,
		AdvertisePeerAddr:           peerAddr,
		AdvertiseClientAddr:         clientAddr,
		Peers:                       peers,
		Join:                        s.idx >= voters,
		UnsafeRemovedServes:         o.UnsafeRemovedServes,
		UnsafeReplaceKeepsOld:       o.UnsafeReplaceKeepsOld,
		UnsafeRemovedRefusesWrites:  o.UnsafeRemovedRefusesWrites,
		UnsafeConfFromBase:          o.UnsafeConfFromBase,
		Dir:                         simDataDir,
		ElectionTicks:               o.ElectionTicks,
		HeartbeatTicks:              o.HeartbeatTicks,
		RequestTimeoutTicks:         int(o.RequestTimeout / o.Tick),
		UnsafeLocalReads:            o.UnsafeLocalReads,
		UnsafeNoSync:                o.UnsafeNoSync,
		UnsafeLegacyWAL:             o.UnsafeLegacyWAL,
		UnsafeNoDedup:               o.UnsafeNoDedup,
		ACLBaseline:                 simACL,
		UnsafeStaleUsers:            o.UnsafeStaleUsers,
		UnsafeDedupForgetsAtNewTerm: o.UnsafeDedupForgetsAtNewTerm,
		UnsafeBlindBootstrap:        o.UnsafeBlindBootstrap,
		UnsafeNewLearnerVerdict:     o.UnsafeNewLearnerVerdict,
		UnsafeJoinFromRetired:       o.UnsafeJoinFromRetired,
		DisableCheckQuorum:          o.DisableCheckQuorum,
		// The store rotates the memtable itself after at most 240 KiB of
		// writes (counted at their worst case in the arena), so the WAL
		// files a crash finds replay from the seed (storage/rotation.go).
		MemTableBytes:         256 << 10,
		DeterministicFlush:    true,
		DataSum:               true,
		MemDisk:               s.mem,
		SnapshotEntries:       o.SnapshotEntries,
		SnapshotChunkBytes:    4 << 10,
		ReadChunkKeys:         2,
		UnsafeChunksReadLive:  o.UnsafeChunksReadLive,
		UnsafeForgetVote:      o.UnsafeForgetVote,
		UnsafeWallClockStamps: o.UnsafeWallClockStamps,
		ClockTick:             o.Tick,
		UnsafeEarlyReads:      o.UnsafeEarlyReads,
		UnsafeDivergeAt:       s.divergeAt(),
		UnsafeLazyApplied:     o.UnsafeLazyApplied,
		OnApply: func(index, term uint64, data []byte) {
			s.w.checkApplied(s, index, term, data)
			s.sums.noteEntry(data)
		},
		OnMoment: s.onMoment,

		UnsafeStampedOnlyAnchor: o.UnsafeStampedOnlyAnchor,
		OnApplyState:            s.checkSum,
	}
}

// start opens the node over its disk and starts its ticks.
func (s *simNode) start() {
	s.stoppedSeen = false
	s.w.starts++
	s.w.down.started(s)
	n, err := node.Open(s.config(), s.env())
	if s.openDamaged(n, err) {
		return
	}
	if err != nil {
		s.w.fail(classSafety, "node %d failed to open its data after a crash: %v", s.id, err)
		return
	}
	s.w.votes.restarted(s, n.Status())
	s.sums.restarted()
	s.n = n
	s.driver = node.NewDriver(n, simBatchMax)
	s.driver.OnStepError = func(err error) {
		if !s.stoppedSeen {
			s.w.tracef("%s n%d rejected a message: %v", s.w.now, s.id, err)
		}
	}
	s.batchDue = false
	s.epoch++
	s.w.checks.checkReopened(s)
	s.w.noteRecovery(s)
	s.w.tracef("%s n%d up", s.w.now, s.id)
	s.scheduleTick()
	s.w.restarted(s.idx)
}

// crashMidWrite finishes a crash that diskFaults began inside a sync: the
// process dies now, and the disk is what the crash left.
func (s *simNode) crashMidWrite(image *diskImage) {
	if s.disk.torn() {
		s.w.stats.TornTails++
	}
	if c := s.aimedCompaction; c != nil {
		s.diedAt(c, image)
		return
	}
	s.die(image, "crashed in the middle of a write")
	s.w.stats.Crashes++
	s.w.scheduleRestart(s, "crashed mid-write")
}

// die ends the node's process and leaves image as its disk.
func (s *simNode) die(image *diskImage, how string) {
	s.w.noteCrashImage(s, image)
	s.w.countSnapshots(s)
	s.w.closeNode(s)
	s.n = nil
	s.w.down.died(s)
	s.driver = nil // what waited in its inbox dies with the process
	s.batchDue = false
	s.setDisk(image)
	s.aimedCompaction = nil
	s.epoch++
	s.downs++
	s.w.tracef("%s n%d %s", s.w.now, s.id, how)
	s.w.nodeCrashed(s)
}

// wipe replaces the disk of a node that is down with an empty one.
func (s *simNode) wipe() {
	s.newDisk()
	s.wiped = true
	s.w.votes.wiped(s)
	s.applied = appliedState{}
	s.w.stats.Wipes++
	s.w.tracef("%s n%d disk wiped", s.w.now, s.id)
}

func (s *simNode) scheduleTick() {
	s.w.schedule(s.tickPeriod(), evTick, s.idx, 0, s.events().tick)
}

// epochEvents are a node's tick and batch events for one epoch. They are
// made once per epoch, not once per event (a closure apiece was a tenth
// of a run's allocations), and capture the epoch they were scheduled in,
// which a stale event checks.
type epochEvents struct {
	epoch       int
	tick, batch func()
}

// events returns the current epoch's events.
func (s *simNode) events() *epochEvents {
	if e := s.epochEvents; e != nil && e.epoch == s.epoch {
		return e
	}
	epoch := s.epoch
	s.epochEvents = &epochEvents{
		epoch: epoch,
		tick: func() {
			if s.epoch != epoch || !s.up() {
				return
			}
			s.post(node.Event{Kind: node.EventTick})
			s.scheduleTick()
		},
		batch: func() { s.runBatchEvent(epoch) },
	}
	return s.epochEvents
}

// crash kills the node: what it had not synced is lost, or all kept, as
// the seed decides (see keepShare).
func (s *simNode) crash() {
	if !s.up() {
		return
	}
	d := s.w.drawCrash()
	keep := d.keep
	crashRNG := rand.New(rand.NewPCG(d.seedA, d.seedB))
	crashed := s.disk.failedImage() // the disk stopped changing when it failed
	if crashed == nil {
		crashed = s.crashImage(keep, crashRNG)
	}
	// NB: the image is taken before Close, which could sync more.
	s.die(crashed, fmt.Sprintf("crashed (keeping %d%% of unsynced data)", keep))
}

// crashImage is the disk as a crash now leaves it: what was synced, and
// of what was not, what keep and rng decide. The log writer is settled
// first, so the unsynced bytes are all the node committed, whatever the
// goroutine timing (see heldFS).
func (s *simNode) crashImage(keep int, rng *rand.Rand) *diskImage {
	if s.mem != nil {
		image, torn := memCrashLeaves(s.mem, keep, rng)
		if torn {
			s.w.stats.TornTails++
		}
		return &diskImage{mem: image}
	}
	if s.held.leak {
		return &diskImage{fs: leakyCrashImage(s.fs, keep, rng)}
	}
	s.held.settle()
	if err := s.n.SettleWAL(); err != nil {
		s.w.fail(classSafety, "n%d: settle the WAL writer before a crash: %v", s.id, err)
	}
	// NB: the cut is drawn from a stream of its own: CrashClone draws once
	// per block of every file, and how many blocks the files hold depends
	// on how far Pebble's background flushes got.
	cutRNG := rand.New(rand.NewPCG(rng.Uint64(), rng.Uint64()))
	image := s.fs.CrashClone(vfs.CrashCloneCfg{UnsyncedDataPercent: keep, RNG: rng})
	s.w.stats.TornTails += s.held.keepOnCrash(image, keep, cutRNG)
	return &diskImage{fs: image}
}

// divergeAt is the node's UnsafeDivergeAt: node 2 only, so it differs
// from its peers (TEST ONLY).
func (s *simNode) divergeAt() uint64 {
	if s.id != 2 {
		return 0
	}
	return s.w.opts.UnsafeDivergeAt
}

// simBatchMax is the events a batch hands the node: realenv's default
// (one event, then up to HostConfig.BatchEventsMax more).
const simBatchMax = 1 + 1024

// hostWakeMax bounds how long after an event its node's host loop runs
// the batch: events that arrive meanwhile join it, as they do while a
// real host is busy in Process, so group commit happens here too.
const hostWakeMax = 100 * time.Microsecond

// post puts ev in the node process's inbox and schedules the batch that
// will handle it, as realenv's channel and host goroutine do.
func (s *simNode) post(ev node.Event) {
	s.driver.Post(ev)
	s.scheduleBatch()
}

func (s *simNode) scheduleBatch() {
	if s.batchDue {
		return
	}
	s.batchDue = true
	s.w.schedule(time.Duration(s.w.rng.Int64N(int64(hostWakeMax))), evBatch, s.idx, 0, s.events().batch)
}

// runBatchEvent runs the driver's next batch, if the process of epoch
// still runs.
func (s *simNode) runBatchEvent(epoch int) {
	if s.epoch != epoch || !s.up() {
		return
	}
	s.batchDue = false
	handled, crashed, err := s.runBatch()
	s.w.stats.Batches++
	if handled > 1 {
		s.w.stats.BatchesShared++
	}
	if crashed != nil {
		s.diedAt(crashed, crashed.image)
		return
	}
	s.afterProcess(err)
	if s.up() {
		// One Status for both checks: neither changes the node, nor
		// reads Replicas, which BatchStatus spares walking raft for.
		st := s.n.BatchStatus()
		s.w.checks.observe(s, st)
		s.w.checks.checkAppliedAfterBatch(s, st, err)
	}
	if s.up() && s.epoch == epoch && s.driver.Pending() > 0 {
		s.scheduleBatch()
	}
}

// afterProcess reacts to what the batch's Process did to the node: a
// fail-stop, a full disk, a crash in the middle of a write.
func (s *simNode) afterProcess(err error) {
	if err != nil && !s.stoppedSeen {
		s.stoppedSeen = true
		s.w.down.died(s) // a fail-stopped node counts no time either
		s.w.tracef("%s n%d stopped: %v", s.w.now, s.id, err)
		s.checkNoSpace()
		if s.disk.crashImage() == nil {
			// A failed disk: the node fail-stopped; an operator restarts
			// it after a while, on a disk that works again.
			s.w.stats.DiskFailures++
			s.w.scheduleRestart(s, "disk failed; node fail-stopped")
		}
	}
	if image := s.disk.crashImage(); image != nil {
		s.crashMidWrite(image)
	}
}
