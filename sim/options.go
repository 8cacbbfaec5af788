package sim

import (
	"fmt"
	"math/rand/v2"
	"time"
)

// Options describe one simulated run. A seed and the options replay it
// exactly; FromSeed derives everything that is not set from the seed.
type Options struct {
	Seed    uint64
	Nodes   int           // 3 or 5
	Clients int           // concurrent simulated Redis clients
	Keys    int           // how many distinct keys the clients touch
	Run     time.Duration // total simulated time
	// Faults are injected in [0, FaultsEnd); after it the network heals,
	// every node is restarted and the liveness phase begins.
	FaultsEnd     time.Duration
	LivenessBound time.Duration // the cluster must serve a write and a read within this after FaultsEnd

	Tick             time.Duration // one raft tick of a node's own clock
	ElectionTicks    int
	RequestTimeout   time.Duration // the node's own deadline for a client request
	ClientTimeout    time.Duration // when a client gives up waiting on a node that went silent
	ThinkTimeMax     time.Duration // a client's pause between requests
	LatencyMin       time.Duration // one-way network delay ...
	LatencyJitterMax time.Duration // ... plus up to this much more, so messages reorder
	DropPercent      float64       // share of messages lost
	DupPercent       float64       // share of messages delivered twice
	CrashEvery       time.Duration // mean time between crashes (0: never)
	DowntimeMax      time.Duration // a crashed node restarts within this
	UnsyncedPercent  int           // upper bound of the share of unsynced writes a crash keeps
	SnapshotEntries  uint64        // nodes compact their log every this many entries
	NoDiskFaults     bool          // never make a disk fail (crashes still happen)
	PartitionEvery   time.Duration // mean time between partitions (0: never)
	PartitionMax     time.Duration // a partition heals within this
	SkewMax          time.Duration // each node's clock is off by up to this
	DriftMaxPPM      int           // and runs fast or slow by up to this many parts per million

	// UnsafeLocalReads makes nodes answer reads from local state without
	// ReadIndex. TEST ONLY: it exists to prove the checker finds stale reads.
	UnsafeLocalReads bool
	// UnsafeNoSync makes nodes skip fsync. TEST ONLY: it exists to prove
	// the checks catch what crashes then lose.
	UnsafeNoSync bool
	// DiskFailuresOnly makes every node failure a failing disk. TEST ONLY.
	DiskFailuresOnly bool
	// Verbose sends node and raft logs to the trace.
	Verbose bool
}

// FromSeed fills every zero field of o from the seed: the seed chooses the
// cluster size and how hard each fault hits. A negative fault setting
// (rate, interval, skew) turns that fault off.
func (o Options) FromSeed() Options {
	r := rand.New(rand.NewPCG(o.Seed, 0x5e5a7))
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
		o.Tick = 100 * time.Millisecond
	}
	if o.ElectionTicks == 0 {
		o.ElectionTicks = 5
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
	// A negative setting asks for none of that fault.
	for _, d := range []*time.Duration{&o.LatencyJitterMax, &o.CrashEvery, &o.PartitionEvery, &o.SkewMax} {
		*d = max(*d, 0)
	}
	o.DropPercent, o.DupPercent = max(o.DropPercent, 0), max(o.DupPercent, 0)
	o.DriftMaxPPM, o.UnsyncedPercent = max(o.DriftMaxPPM, 0), max(o.UnsyncedPercent, 0)
	return o
}

func (o Options) String() string {
	return fmt.Sprintf("seed=%d nodes=%d clients=%d keys=%d run=%s faults_end=%s latency=%s+%s drop=%.0f%% dup=%.0f%% crash_every=%s downtime_max=%s partition_every=%s partition_max=%s skew_max=%s drift_max=%dppm unsafe_local_reads=%v",
		o.Seed, o.Nodes, o.Clients, o.Keys, o.Run, o.FaultsEnd, o.LatencyMin, o.LatencyJitterMax,
		o.DropPercent, o.DupPercent, o.CrashEvery, o.DowntimeMax, o.PartitionEvery, o.PartitionMax,
		o.SkewMax, o.DriftMaxPPM, o.UnsafeLocalReads)
}
