package sim

import (
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/seshat-db/seshat/chaos"
	"github.com/seshat-db/seshat/node"
)

// Options describe one simulated run. A seed and the options replay it
// exactly; FromSeed derives everything that is not set from the seed.
type Options struct {
	Seed uint64
	// Scenario names the chaos scenario to run (package chaos); empty or
	// "swarm" runs the swarm, where the seed picks the faults.
	Scenario string
	Nodes    int // 3 or 5
	// InitialVoters, if not 0, bootstraps the cluster from the first this
	// many nodes; the others start empty and wait to be added
	// (node.Config.Join). Scenarios of membership changes set it.
	InitialVoters int
	Clients       int           // concurrent simulated Redis clients
	Keys          int           // how many distinct keys the clients touch
	Run           time.Duration // total simulated time
	// Faults are injected in [0, FaultsEnd); after it the network heals,
	// every node is restarted and the liveness phase begins.
	FaultsEnd     time.Duration
	LivenessBound time.Duration // the cluster must serve a write and a read within this after FaultsEnd

	Tick             time.Duration // one raft tick of a node's own clock
	ElectionTicks    int
	HeartbeatTicks   int
	RequestTimeout   time.Duration // the node's own deadline for a client request
	ClientTimeout    time.Duration // when a client gives up waiting on a node that went silent
	ThinkTimeMax     time.Duration // a client's pause between requests
	PipelineMax      int           // a client sends bursts of 1 to this many commands on one connection
	LatencyMin       time.Duration // one-way network delay ...
	LatencyJitterMax time.Duration // ... plus up to this much more, so messages reorder
	DropPercent      float64       // share of messages lost
	DupPercent       float64       // share of messages delivered twice
	CrashEvery       time.Duration // mean time between crashes (0: never)
	DowntimeMax      time.Duration // a crashed node restarts within this
	UnsyncedPercent  int           // the chance, in percent, that a crash keeps the writes not yet synced
	SnapshotEntries  uint64        // nodes compact their log every this many entries (0: seed-drawn, or the scenario's)
	NoDiskFaults     bool          // never make a disk fail (crashes still happen)
	PartitionEvery   time.Duration // mean time between partitions (0: never)
	PartitionMax     time.Duration // a partition heals within this
	SkewMax          time.Duration // each node's clock is off by up to this
	DriftMaxPPM      int           // and runs fast or slow by up to this many parts per million
	// CrashPointEvery is the mean time after which each kind of crash
	// point is armed again (crashpoints.go): the next node to reach that
	// moment crashes there (0: seed-drawn in the swarm; negative: never).
	CrashPointEvery time.Duration
	// AimKills, in a chaos scenario, makes each Kill wait for the node's
	// next crash point (a little while at most) and kill it there (0: the
	// seed decides; negative: never).
	AimKills int
	// The network's long faults (network.go), in the swarm's fault phase
	// and in a scenario's holding windows (chaos.MessageHolder.HoldMessages).
	HoldPercent      float64 // share of messages parked until a leader change, the receiver's restart or a long time
	HoldCutPercent   float64 // share of messages a partition or a down receiver would lose that are parked instead
	RedeliverPercent float64 // share of sends that also deliver again a copy of a message delivered long ago
	LongDelayPercent float64 // share of messages delayed by one to five election timeouts
	// EchoPercent is the share of a restarted process's first ReadIndex
	// requests that its previous process's confirmations race (echo.go).
	EchoPercent float64

	// Operator, in the swarm, sends membership commands during the fault
	// phase (operator.go) to a cluster of five machines that starts with
	// three voters (unless Nodes or InitialVoters say otherwise): 0, the
	// seed decides (on in about a third of the seeds); negative, never.
	Operator int

	// UnsafeLocalReads makes nodes answer reads from local state without
	// ReadIndex. TEST ONLY: it exists to prove the checker finds stale reads.
	UnsafeLocalReads bool
	// UnsafeNoSync makes nodes skip fsync. TEST ONLY: it exists to prove
	// the checks catch what crashes then lose.
	UnsafeNoSync bool
	// UnsafeNoDedup applies duplicated proposals twice. TEST ONLY: it
	// proves scenario 7's INCR counts notice.
	UnsafeNoDedup bool
	// UnsafeStaleUsers makes nodes keep their users across a snapshot
	// install (TEST ONLY): the ACL check must catch it (auth.go).
	UnsafeStaleUsers bool
	// UnsafeNoAuth makes nodes serve connections that never
	// authenticated (TEST ONLY): the strangers' probe must catch it.
	UnsafeNoAuth bool
	// UnsafeSkipLogin makes clients skip AUTH (TEST ONLY): their
	// commands are refused, and the client check must catch it.
	UnsafeSkipLogin bool
	// UnsafeDedupForgetsAtNewTerm keeps a dedup window per term. TEST
	// ONLY: it proves held messages outlive a leader change (a forwarded
	// proposal's old copy is applied again in the new term).
	UnsafeDedupForgetsAtNewTerm bool
	// DiskFailuresOnly makes every node failure a failing disk. TEST ONLY.
	DiskFailuresOnly bool
	// DisableCheckQuorum lets a leader that hears from no quorum go on
	// believing it leads. TEST ONLY: it proves scenarios 3 to 6 notice.
	DisableCheckQuorum bool
	// LyingDisk makes the nodes' write-ahead logs ignore Sync, and crashes
	// lose every unsynced write. TEST ONLY: it proves the durability
	// scenarios notice acknowledged writes that were not on disk.
	LyingDisk bool
	// Engine is what the nodes keep their data in: "pebble", or "mem"
	// for the in-memory twin (storage.MemDisk), which runs many times
	// faster; empty: the seed decides (engineFromSeed).
	Engine string
	// UnsafeBlindBootstrap makes a node with an empty disk bootstrap
	// without asking its peers. TEST ONLY: it proves the disk-wiped
	// scenario notices a wiped node that forgot it was a member.
	UnsafeBlindBootstrap bool
	// UnsafeNewLearnerVerdict brings back the join verdict that started
	// an added learner under identity 0 (node.Config's). TEST ONLY: it
	// proves learner-wiped-held-acks notices the old self's held
	// acknowledgements counting for the new one.
	UnsafeNewLearnerVerdict bool
	// UnsafeJoinFromRetired makes a leader take a join request of a
	// retired identity (node.Config's). TEST ONLY: it proves
	// retired-join-held notices a held join request of a wiped node's
	// earlier start removing its current self.
	UnsafeJoinFromRetired bool
	// UnsafeChunksReadLive makes long reads read their chunks from the
	// live data rather than one snapshot. TEST ONLY: it proves the
	// atomicity check of multi-key reads (multikey.go) notices.
	UnsafeChunksReadLive bool
	// UnsafeUnorderedPipeline makes each client connection submit its
	// commands at once, each on its own, as Seshat did before it kept a
	// connection's order. TEST ONLY: it proves the checker sees pipelined
	// commands run out of order.
	UnsafeUnorderedPipeline bool
	// UnsafeReverseReplies makes each connection state machine send the
	// replies that are ready together in reverse order. TEST ONLY: it
	// proves the simulator's clients speak through resp.Conn and that the
	// checker sees replies out of order under pipelining.
	UnsafeReverseReplies bool
	// UnsafeForgetVote makes a restarted node forget the vote it had
	// persisted. TEST ONLY: it proves the simulator notices a forgotten
	// vote (crashpoints.go) and what a double vote leads to.
	UnsafeForgetVote bool
	// UnsafeRemovedServes makes a node removed from the cluster serve
	// reads from its local state (node.Config.UnsafeRemovedServes).
	UnsafeRemovedServes bool
	// UnsafeReplaceKeepsOld makes CLUSTER REPLACENODE promote without
	// removing (node.Config.UnsafeReplaceKeepsOld).
	UnsafeReplaceKeepsOld bool
	// UnsafeRemovedRefusesWrites: node.Config.UnsafeRemovedRefusesWrites.
	UnsafeRemovedRefusesWrites bool
	// UnsafeConfFromBase: node.Config.UnsafeConfFromBase.
	UnsafeConfFromBase bool
	// TTLPercent is the share of client commands that use expiry: SET
	// PX on keys of their own, reads of them, and locks taken with SET
	// NX PX (ttl.go). 0: the default, 10; negative: none.
	TTLPercent int
	// TxnPercent is the share of client bursts that end with a
	// transaction: a transfer, an audit or a WATCH compare-and-set
	// (txn.go). 0: the default, 10; negative: none.
	TxnPercent int
	// NoScan leaves the SCAN workload out (scan.go). Its check catches a
	// stale read within a second, before porcupine sees one: a test that
	// must show porcupine's teeth switches it off.
	NoScan bool
	// UnsafeSplitTxn makes EXEC submit a transaction's commands as
	// separate raft entries. TEST ONLY: it proves the simulator catches a
	// transaction that is not applied atomically.
	UnsafeSplitTxn bool
	// UnsafeIgnoreWatch makes EXEC ignore WATCH. TEST ONLY: it proves the
	// compare-and-set check catches a lost update.
	UnsafeIgnoreWatch bool
	// noTxnChecks turns off the transaction workload's own checks (the
	// accounts' sum, lost updates), to show porcupine's model catches
	// the same defects. TEST ONLY.
	noTxnChecks bool
	// UnsafeWallClockStamps makes leaders stamp their wall clock as the
	// cluster time (TEST ONLY): keys expire early when it jumps ahead.
	UnsafeWallClockStamps bool
	// UnsafeStampedOnlyAnchor: node.Config.UnsafeStampedOnlyAnchor.
	UnsafeStampedOnlyAnchor bool
	// noVoteCheck turns the forgotten-vote check off, to measure what
	// else notices a forgotten vote. TEST ONLY.
	noVoteCheck bool
	// noRestartVoteCheck leaves only the check at each sync, so a
	// forgotten vote shows when it is cast again. TEST ONLY.
	noRestartVoteCheck bool
	// UnsafeLegacyWAL keeps Pebble's default WAL format. TEST ONLY: it
	// proves the simulator notices a flipped synced WAL byte that the
	// node opens without complaint.
	UnsafeLegacyWAL bool
	// UnsafeEarlyReads makes nodes serve a confirmed read without waiting
	// until its read index is applied. TEST ONLY: node's assertion at the
	// serving point must catch it.
	UnsafeEarlyReads bool
	// UnsafeDivergeAt makes node 2 apply one write at or past this index
	// differently from its peers. TEST ONLY: the data digests per applied
	// index must catch it.
	UnsafeDivergeAt uint64
	// UnsafeLazyApplied makes nodes persist their applied index only at
	// every eighth entry, so a restart reopens behind what it durably
	// applied. TEST ONLY: the restart check must catch it.
	UnsafeLazyApplied bool
	// Verbose sends node and raft logs to the trace.
	Verbose bool

	// SkipFaults leaves out the faults with these numbers (1 is the first
	// fault decision of the run; see allowFault in faults.go), and
	// SkipKinds every fault of these kinds: what a shrunk replay file
	// (shrink.go) keeps of the original run's faults.
	SkipFaults FaultSet `json:",omitempty"`
	SkipKinds  []string `json:",omitempty"`
	// recordFaults lists the faults a run applied in its Result, for the
	// shrinker.
	recordFaults bool
}

// FromSeed fills every zero field of o from the seed: the seed chooses the
// cluster size and how hard each fault hits. A negative fault setting
// (rate, interval, skew) turns that fault off.
//
// A chaos scenario brings its own faults: FromSeed turns the random ones
// off, gives the nodes the product's 30 s request timeout (so a quick error
// can only come from the node noticing it has no quorum), and sizes the
// cluster as the scenario asks. The swarm instead lets the seed switch each
// fault on or off (each is off in about a quarter of the seeds) and pick
// how hard it hits.
func (o Options) FromSeed() Options {
	r := rand.New(rand.NewPCG(o.Seed, 0x5e5a7))
	if o.Scenario == "" {
		o.Scenario = "swarm"
	}
	if s, ok := o.scenario(); ok {
		o = o.scenarioDefaults(s, r)
	}
	given := o
	pick := func(d *time.Duration, lo, hi time.Duration) {
		if *d == 0 {
			*d = lo + time.Duration(r.Int64N(int64(hi-lo)+1))
		}
	}
	if o.Nodes == 0 {
		o.Nodes = []int{3, 3, 5}[r.IntN(3)]
	}
	if o.Clients == 0 {
		o.Clients = 8
	}
	if o.TxnPercent == 0 {
		o.TxnPercent = 10
	}
	if o.TTLPercent == 0 {
		o.TTLPercent = 10
	}
	if o.Keys == 0 {
		o.Keys = 3 + r.IntN(6)
	}
	if o.Run == 0 {
		o.Run = 60 * time.Second
	}
	if o.FaultsEnd == 0 {
		o.FaultsEnd = o.Run * 2 / 3
	}
	if o.LivenessBound == 0 {
		o.LivenessBound = 10 * time.Second
	}
	if o.Tick == 0 {
		o.Tick = node.TickInterval
	}
	if o.ElectionTicks == 0 {
		o.ElectionTicks = 50
	}
	if o.HeartbeatTicks == 0 {
		o.HeartbeatTicks = 10
	}
	if o.RequestTimeout == 0 {
		o.RequestTimeout = 5 * time.Second
	}
	if o.ClientTimeout == 0 {
		o.ClientTimeout = 2 * o.RequestTimeout
	}
	pick(&o.ThinkTimeMax, 5*time.Millisecond, 100*time.Millisecond)
	pick(&o.LatencyMin, 100*time.Microsecond, 5*time.Millisecond)
	pick(&o.LatencyJitterMax, 0, 30*time.Millisecond)
	if o.DropPercent == 0 {
		o.DropPercent = float64(r.IntN(11))
	}
	if o.DupPercent == 0 {
		o.DupPercent = float64(r.IntN(6))
	}
	pick(&o.CrashEvery, 3*time.Second, 20*time.Second)
	pick(&o.DowntimeMax, 500*time.Millisecond, 5*time.Second)
	if o.SnapshotEntries == 0 {
		// Small, so runs compact often and followers catch up by snapshot.
		o.SnapshotEntries = uint64(50 + r.IntN(500))
	}
	if o.UnsyncedPercent == 0 {
		o.UnsyncedPercent = r.IntN(101)
	}
	pick(&o.PartitionEvery, 3*time.Second, 20*time.Second)
	pick(&o.PartitionMax, 500*time.Millisecond, 5*time.Second)
	pick(&o.SkewMax, 0, 30*time.Second)
	if o.DriftMaxPPM == 0 {
		o.DriftMaxPPM = r.IntN(1001)
	}
	if o.Scenario == "swarm" {
		// The seed decides which faults are on at all.
		off := func(given bool) bool { return r.IntN(4) == 0 && given }
		if off(given.CrashEvery == 0) {
			o.CrashEvery = -1
		}
		if off(given.PartitionEvery == 0) {
			o.PartitionEvery = -1
		}
		if off(given.DropPercent == 0) {
			o.DropPercent = -1
		}
		if off(given.DupPercent == 0) {
			o.DupPercent = -1
		}
		if off(given.LatencyJitterMax == 0) {
			o.LatencyJitterMax = -1
		}
		if off(given.SkewMax == 0) {
			o.SkewMax = -1
		}
		if off(given.DriftMaxPPM == 0) {
			o.DriftMaxPPM = -1
		}
	}
	// A negative setting asks for none of that fault.
	for _, d := range []*time.Duration{&o.LatencyJitterMax, &o.CrashEvery, &o.PartitionEvery, &o.SkewMax} {
		*d = max(*d, 0)
	}
	o.DropPercent, o.DupPercent = max(o.DropPercent, 0), max(o.DupPercent, 0)
	o.DriftMaxPPM, o.UnsyncedPercent = max(o.DriftMaxPPM, 0), max(o.UnsyncedPercent, 0)
	if o.PipelineMax == 0 {
		// Drawn last, so the draws above stay what they were before
		// clients pipelined.
		o.PipelineMax = 1 + r.IntN(8)
	}
	o = o.crashPointsFromSeed()
	o = o.longFaultsFromSeed(given).operatorFromSeed(given)
	o.Engine = o.engineFromSeed()
	return o
}

// engineFromSeed picks the in-memory twin for three seeds in four, from
// a stream of its own, and Pebble for the rest and wherever a fault needs
// Pebble's files: a lying disk, the legacy WAL format, the disk-timing
// leak, and the scenarios about wiped disks and compaction.
func (o Options) engineFromSeed() string {
	if o.Engine != "" {
		return o.Engine
	}
	if o.needsPebble() != "" || rand.New(rand.NewPCG(o.Seed, 0xe791e)).IntN(4) == 0 {
		return enginePebble
	}
	return engineMem
}

const (
	enginePebble = "pebble"
	engineMem    = "mem"
)

// needsPebble names what in these options needs Pebble's files, or is
// empty: the twin has none to flip, lie about or compact.
func (o Options) needsPebble() string {
	switch {
	case o.Scenario == "compaction" || o.Scenario == "disk-wiped" || o.Scenario == "disk-wiped-lagging":
		return "the " + o.Scenario + " scenario"
	case o.LyingDisk:
		return "a lying disk"
	case o.UnsafeLegacyWAL:
		return "the legacy WAL"
	case leakWriterTiming:
		return "the disk-timing leak"
	}
	return ""
}

// engineProblem says why Engine cannot run these options: a name that is
// no engine, or the twin asked for where a fault needs Pebble's files (it
// would silently run without that fault: a replay that tests something
// else).
func (o Options) engineProblem() error {
	switch o.Engine {
	case enginePebble, "": // "": a replay file from before the twin, which ran Pebble
		return nil
	case engineMem:
		if need := o.needsPebble(); need != "" {
			return fmt.Errorf("%s needs Pebble's files: run it with engine pebble", need)
		}
		return nil
	}
	return fmt.Errorf("no storage engine %q: pebble or mem", o.Engine)
}

// operatorFromSeed switches the swarm's operator on in about a third of
// the seeds, from a stream of its own, so that a seed without it runs as
// it did before the operator existed.
func (o Options) operatorFromSeed(given Options) Options {
	r := rand.New(rand.NewPCG(o.Seed, 0x0be7a7))
	if o.Scenario != "swarm" {
		o.Operator = 0
		return o
	}
	if o.Operator == 0 && r.IntN(3) == 0 {
		o.Operator = 1
	}
	o.Operator = max(o.Operator, 0)
	if o.Operator > 0 && given.Nodes == 0 && given.InitialVoters == 0 {
		// Two spare machines for the operator to add.
		o.Nodes, o.InitialVoters = 5, 3
	}
	return o
}

// longFaultsFromSeed sizes the network's long faults from a stream of the
// seed's own, so the draws above stay what they were before these faults
// existed. In the swarm each is off in about a quarter of the seeds; a
// scenario's are inert until it opens a holding window.
func (o Options) longFaultsFromSeed(given Options) Options {
	r := rand.New(rand.NewPCG(o.Seed, 0x4e7f4a17))
	draw := func(p *float64, given float64, lo, hi float64) {
		v := lo + r.Float64()*(hi-lo)
		off := r.IntN(4) == 0 && o.Scenario == "swarm"
		if given == 0 {
			*p = v
			if off {
				*p = 0
			}
		}
		*p = max(*p, 0)
	}
	if o.Scenario == "swarm" {
		draw(&o.HoldPercent, given.HoldPercent, 0.2, 2)
	} else {
		// A scenario holds for a short window and must see each kind of
		// release in it.
		draw(&o.HoldPercent, given.HoldPercent, 1, 3)
	}
	draw(&o.HoldCutPercent, given.HoldCutPercent, 10, 60)
	draw(&o.RedeliverPercent, given.RedeliverPercent, 0.1, 1)
	draw(&o.LongDelayPercent, given.LongDelayPercent, 0.1, 1)
	draw(&o.EchoPercent, given.EchoPercent, 25, 100)
	return o
}

// scenarioDefaults sets what a chaos scenario's run needs.
func (o Options) scenarioDefaults(s chaos.Scenario, r *rand.Rand) Options {
	if o.Nodes == 0 {
		o.Nodes = s.Nodes
	}
	if o.InitialVoters == 0 {
		o.InitialVoters = s.InitialVoters
	}
	if o.SnapshotEntries == 0 {
		o.SnapshotEntries = s.SnapshotEntries
	}
	if o.Keys == 0 {
		o.Keys = 5
	}
	if o.RequestTimeout == 0 {
		o.RequestTimeout = 30 * time.Second // the product's default
	}
	if o.LatencyMin == 0 {
		o.LatencyMin = 500*time.Microsecond + time.Duration(r.Int64N(int64(1500*time.Microsecond)))
	}
	if o.LatencyJitterMax == 0 {
		o.LatencyJitterMax = time.Duration(r.Int64N(int64(3 * time.Millisecond)))
	}
	for _, d := range []*time.Duration{&o.CrashEvery, &o.PartitionEvery, &o.SkewMax} {
		if *d == 0 {
			*d = -1
		}
	}
	for _, p := range []*float64{&o.DropPercent, &o.DupPercent} {
		if *p == 0 {
			*p = -1
		}
	}
	if o.DriftMaxPPM == 0 {
		o.DriftMaxPPM = -1
	}
	// The scenario decides when its faults end; FaultsEnd and Run are set
	// when its timeline returns.
	if o.FaultsEnd == 0 {
		o.FaultsEnd = 1 << 62
	}
	if o.Run == 0 {
		o.Run = 1 << 62
	}
	return o
}

// scenario returns the chaos scenario o names, if it names one.
func (o Options) scenario() (chaos.Scenario, bool) {
	if o.Scenario == "" || o.Scenario == "swarm" {
		return chaos.Scenario{}, false
	}
	s, ok := chaos.Lookup(o.Scenario)
	if !ok {
		panic(fmt.Sprintf("sim: no chaos scenario %q", o.Scenario))
	}
	return s, true
}

func (o Options) String() string {
	return fmt.Sprintf("scenario=%s seed=%d nodes=%d clients=%d keys=%d run=%s faults_end=%s latency=%s+%s drop=%.0f%% dup=%.0f%% crash_every=%s downtime_max=%s partition_every=%s partition_max=%s skew_max=%s drift_max=%dppm pipeline_max=%d unsynced_kept_max=%d%% snapshot_entries=%d request_timeout=%s unsafe_local_reads=%v disable_check_quorum=%v lying_disk=%v crash_point_every=%s aim_kills=%d unsafe_forget_vote=%v engine=%s hold=%.2f%% hold_cut=%.0f%% redeliver=%.2f%% long_delay=%.2f%% echo=%.0f%% operator=%d initial_voters=%d",
		o.Scenario, o.Seed, o.Nodes, o.Clients, o.Keys, o.Run, o.FaultsEnd, o.LatencyMin, o.LatencyJitterMax,
		o.DropPercent, o.DupPercent, o.CrashEvery, o.DowntimeMax, o.PartitionEvery, o.PartitionMax,
		o.SkewMax, o.DriftMaxPPM, o.PipelineMax, o.UnsyncedPercent, o.SnapshotEntries, o.RequestTimeout, o.UnsafeLocalReads, o.DisableCheckQuorum, o.LyingDisk, o.CrashPointEvery, o.AimKills, o.UnsafeForgetVote, o.Engine,
		o.HoldPercent, o.HoldCutPercent, o.RedeliverPercent, o.LongDelayPercent, o.EchoPercent, o.Operator, o.InitialVoters)
}

// crashPointsFromSeed switches the aimed crashes on or off, each in about
// three seeds of four, from a stream of their own so that the draws above
// stay what they were.
func (o Options) crashPointsFromSeed() Options {
	r := rand.New(rand.NewPCG(o.Seed, 0xa1ed0))
	on := r.IntN(4) != 0
	if _, ok := o.scenario(); ok {
		o.CrashPointEvery = -1 // the scenario crashes nodes itself
		if o.AimKills == 0 && on {
			o.AimKills = 1
		}
	} else if o.CrashPointEvery == 0 {
		o.CrashPointEvery = -1
		if on {
			o.CrashPointEvery = 5*time.Second + time.Duration(r.Int64N(int64(25*time.Second)))
		}
	}
	o.CrashPointEvery, o.AimKills = max(o.CrashPointEvery, 0), max(o.AimKills, 0)
	return o
}
