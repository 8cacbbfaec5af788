// Tests that the simulator's checks have teeth: each one is shown failing
// on a real defect. A checker that cannot fail is worse than none.
package sim

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
)

// TestCheckerFindsStaleReads switches on a node defect, answering reads
// from local state without ReadIndex, and demands that the simulator catch
// a stale read within a bounded number of seeds.
func TestCheckerFindsStaleReads(t *testing.T) {
	if replaying() {
		t.Skip("replaying particular runs")
	}
	const seedsMax = 20
	for seed := uint64(1); seed <= seedsMax; seed++ {
		res := Run(Options{Seed: seed, UnsafeLocalReads: true, NoScan: true, Run: 20 * time.Second, FaultsEnd: 8 * time.Second})
		if res.Failure != nil {
			if res.Failure.Class != classLinearizability {
				t.Fatalf("seed %d failed, but not with a linearizability violation: %v", seed, res.Failure)
			}
			t.Logf("stale read found at seed %d: %v", seed, res.Failure)
			return
		}
	}
	t.Fatalf("reads served without ReadIndex went unnoticed for %d seeds", seedsMax)
}

// TestModelRejectsStaleRead hands porcupine a history no register could
// produce: a read that returns a value overwritten before the read began.
func TestModelRejectsStaleRead(t *testing.T) {
	ms := func(n int) int64 { return int64(time.Duration(n) * time.Millisecond) }
	ops := []porcupine.Operation{
		{ClientId: 0, Input: opInput{Cmd: "set", Key: "k", Value: "a"}, Output: opOutput{}, Call: ms(0), Return: ms(1)},
		{ClientId: 0, Input: opInput{Cmd: "set", Key: "k", Value: "b"}, Output: opOutput{}, Call: ms(2), Return: ms(3)},
		{ClientId: 1, Input: opInput{Cmd: "get", Key: "k"}, Output: opOutput{Value: "a"}, Call: ms(4), Return: ms(5)},
	}
	if porcupine.CheckOperations(kvModel, ops) {
		t.Fatal("a stale read was judged linearizable")
	}
	// The same read overlapping the second write is legal.
	ops[2].Call = ms(2)
	if !porcupine.CheckOperations(kvModel, ops) {
		t.Fatal("a read concurrent with a write was judged not linearizable")
	}
}

// TestModelCountsIncrements: an increment applied twice shows up as a
// count no single application explains.
func TestModelCountsIncrements(t *testing.T) {
	ops := []porcupine.Operation{
		{ClientId: 0, Input: opInput{Cmd: "incr", Key: "n"}, Output: opOutput{Int: 1}, Call: 0, Return: 1},
		{ClientId: 1, Input: opInput{Cmd: "get", Key: "n"}, Output: opOutput{Value: "2"}, Call: 2, Return: 3},
	}
	if porcupine.CheckOperations(kvModel, ops) {
		t.Fatal("one increment read back as 2 was judged linearizable")
	}
	// An increment whose outcome is unknown may explain the 2.
	ops = append(ops, porcupine.Operation{ClientId: 2, Input: opInput{Cmd: "incr", Key: "n"}, Output: opOutput{Unknown: true}, Call: 0, Return: math.MaxInt64})
	if !porcupine.CheckOperations(kvModel, ops) {
		t.Fatal("an unknown increment could not explain the count")
	}
}

// TestCheckerFindsLostWrites turns fsync off: crashes then lose raft
// state and data that nodes already acknowledged, and the checks must say
// so within a bounded number of seeds.
func TestCheckerFindsLostWrites(t *testing.T) {
	if replaying() {
		t.Skip("replaying particular runs")
	}
	const seedsMax = 30
	for seed := uint64(1); seed <= seedsMax; seed++ {
		// The forgotten hard state check would catch it at the first
		// restart; this test is for the checks of the data.
		res := Run(Options{Seed: seed, UnsafeNoSync: true, UnsyncedPercent: -1, NoDiskFaults: true, CrashEvery: 2 * time.Second, Run: 30 * time.Second, FaultsEnd: 15 * time.Second, noVoteCheck: true})
		if res.Failure != nil {
			t.Logf("lost writes found at seed %d: %v", seed, res.Failure)
			return
		}
	}
	t.Fatalf("nodes that never fsync went unnoticed for %d seeds", seedsMax)
}

// TestFsyncFailureNeverLosesAcknowledgedWrites breaks disks only: every
// node failure is an fsync that fails. The node must stop at once and
// acknowledge nothing it had not made durable; the cluster must stay
// linearizable and live.
func TestFsyncFailureNeverLosesAcknowledgedWrites(t *testing.T) {
	if replaying() {
		t.Skip("replaying particular runs")
	}
	failures := 0
	for seed := uint64(1); seed <= 10; seed++ {
		res := Run(Options{Seed: seed, DiskFailuresOnly: true, CrashEvery: 3 * time.Second, Run: 30 * time.Second, FaultsEnd: 15 * time.Second})
		if res.Failure != nil {
			t.Fatalf("seed %d: %v", seed, res.Failure)
		}
		failures += res.Stats.DiskFailures
	}
	if failures < 10 {
		t.Fatalf("only %d disk failures were injected over 10 seeds: the test did not test", failures)
	}
	t.Logf("%d injected fsync failures, no acknowledged write lost", failures)
}

// TestCheckerFindsTornMultiKeyReads switches on a node defect, long reads
// whose chunks read the live data instead of one snapshot, and demands
// that the atomicity check of multi-key commands catch it. Per-key
// linearizability alone cannot: each key's value is still one it held
// during the read.
func TestCheckerFindsTornMultiKeyReads(t *testing.T) {
	plantCaught(t, "long reads not served from one snapshot", 20,
		func(seed uint64) Options {
			return Options{Seed: seed, Run: 20 * time.Second, FaultsEnd: 8 * time.Second}
		},
		func(o *Options) { o.UnsafeChunksReadLive = true },
		func(f *Failure) bool { return f.Class == classSafety && strings.Contains(f.Message, "not atomic") })
}

// TestCheckerFindsPipelineReordering switches off the per-connection
// order (each pipelined command submitted at once, on its own, as Seshat
// did before) and demands that the checker catch a command that overtook
// an earlier one of its connection within a few seeds; with the order
// kept, the same seeds pass.
func TestCheckerFindsPipelineReordering(t *testing.T) {
	plantCaught(t, "pipelines run out of order", 10, pipelined,
		func(o *Options) { o.UnsafeUnorderedPipeline = true },
		func(f *Failure) bool { return f.Class == classLinearizability })
}

// TestModelKeepsConnectionOrder hands porcupine a pipeline whose read saw
// the state before an earlier write of its own connection: overlapping in
// time, so only the connection's order rules it out.
func TestModelKeepsConnectionOrder(t *testing.T) {
	ops := []porcupine.Operation{
		{ClientId: 0, Input: opInput{Cmd: "set", Key: "k", Value: "1", Conn: 1, Seq: 1}, Output: opOutput{}, Call: 0, Return: 10},
		{ClientId: 0, Input: opInput{Cmd: "get", Key: "k", Conn: 1, Seq: 2}, Output: opOutput{Nil: true}, Call: 0, Return: 5},
	}
	if porcupine.CheckOperations(kvModel, ops) {
		t.Fatal("a read that overtook its connection's earlier write was judged linearizable")
	}
	// From two connections, the same history is legal.
	ops[1].Input = opInput{Cmd: "get", Key: "k", Conn: 2, Seq: 1}
	if !porcupine.CheckOperations(kvModel, ops) {
		t.Fatal("concurrent commands of two connections were judged not linearizable")
	}
	// A write whose outcome is unknown may take effect after its
	// connection's later commands: its node may have given up on it.
	ops[0].Output, ops[0].Return = opOutput{Unknown: true}, math.MaxInt64
	ops[1].Input = opInput{Cmd: "get", Key: "k", Conn: 1, Seq: 2}
	ops = append(ops, porcupine.Operation{ClientId: 1, Input: opInput{Cmd: "get", Key: "k", Conn: 3, Seq: 1}, Output: opOutput{Value: "1"}, Call: 20, Return: 21})
	if !porcupine.CheckOperations(kvModel, ops) {
		t.Fatal("an unknown write taking effect late was judged not linearizable")
	}
}

// TestCheckerFindsRepliesOutOfOrder plants a bug in the connection state
// machine the clients speak through (resp.Conn sends the replies that are
// ready together in reverse): a seed must fail, and the same seed must
// pass with the bug removed.
func TestCheckerFindsRepliesOutOfOrder(t *testing.T) {
	plantCaught(t, "replies sent out of order", 10, pipelined,
		func(o *Options) { o.UnsafeReverseReplies = true },
		func(*Failure) bool { return true })
}

// pipelined is a short run whose clients pipeline deeply.
func pipelined(seed uint64) Options {
	return Options{Seed: seed, PipelineMax: 8, Run: 10 * time.Second, FaultsEnd: 4 * time.Second}
}

// plantCaught runs seeds 1..seedsMax of opts with a defect planted until
// one fails, demands that the failure be the one the check is for, and
// that the same seed pass without the defect.
func plantCaught(t *testing.T, defect string, seedsMax uint64, opts func(seed uint64) Options, plant func(*Options), caught func(*Failure) bool) {
	t.Helper()
	if replaying() {
		t.Skip("replaying particular runs")
	}
	for seed := uint64(1); seed <= seedsMax; seed++ {
		o := opts(seed)
		plant(&o)
		res := Run(o)
		if res.Failure == nil {
			continue
		}
		if !caught(res.Failure) {
			t.Fatalf("seed %d failed with %s planted, but not for it: %v", seed, defect, res.Failure)
		}
		t.Logf("%s found at seed %d: %v", defect, seed, res.Failure)
		if res := Run(opts(seed)); res.Failure != nil {
			t.Fatalf("seed %d without the defect: %v", seed, res.Failure)
		}
		return
	}
	t.Fatalf("%s went unnoticed for %d seeds", defect, seedsMax)
}

// TestEventsShareBatches: the simulator drives each node through
// node.Driver, so events that arrive while a batch is due share one
// Process (group commit), as under realenv's host.
func TestEventsShareBatches(t *testing.T) {
	res := Run(Options{Seed: 1, Run: 5 * time.Second, FaultsEnd: 2 * time.Second})
	if res.Failure != nil {
		t.Fatal(res.Failure)
	}
	if res.Stats.BatchesShared == 0 || res.Stats.Batches >= res.Stats.Events {
		t.Fatalf("%d batches for %d events, %d of them shared: every event ran its own Process", res.Stats.Batches, res.Stats.Events, res.Stats.BatchesShared)
	}
	t.Logf("%d batches for %d events, %d of them of more than one event", res.Stats.Batches, res.Stats.Events, res.Stats.BatchesShared)
}
