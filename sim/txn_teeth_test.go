package sim

import (
	"strings"
	"testing"
)

// TestTxnWorkloadRuns: clients' transactions commit and WATCH aborts
// some compare-and-sets, in a swarm with faults.
func TestTxnWorkloadRuns(t *testing.T) {
	if replaying() {
		t.Skip("replaying particular runs")
	}
	var committed, aborted int
	for seed := uint64(1); seed <= 3; seed++ {
		res := Run(Options{Seed: seed})
		if res.Failure != nil {
			t.Fatalf("seed %d: %v", seed, res.Failure)
		}
		committed += res.Stats.TxnsCommitted
		aborted += res.Stats.TxnsAborted
		t.Logf("seed %d: %d transactions committed, %d compare-and-sets aborted by WATCH", seed, res.Stats.TxnsCommitted, res.Stats.TxnsAborted)
	}
	if committed == 0 || aborted == 0 {
		t.Fatalf("%d committed, %d aborted: the transaction workload did not run", committed, aborted)
	}
}

// TestSplitTxnCaught: a transaction applied as separate raft entries
// leaves replicas at indexes where a transfer is half done.
func TestSplitTxnCaught(t *testing.T) {
	plantCaught(t, "a transaction applied as separate entries", 10,
		func(seed uint64) Options { return Options{Seed: seed} },
		func(o *Options) { o.UnsafeSplitTxn = true },
		func(f *Failure) bool {
			return strings.Contains(f.Message, "accounts of group") && strings.Contains(f.Message, "applied in part")
		})
}

// TestIgnoredWatchCaught: an EXEC that ignores WATCH lets two
// compare-and-sets from one value both commit.
func TestIgnoredWatchCaught(t *testing.T) {
	plantCaught(t, "EXEC ignoring WATCH", 10,
		func(seed uint64) Options { return Options{Seed: seed} },
		func(o *Options) { o.UnsafeIgnoreWatch = true },
		func(f *Failure) bool { return strings.Contains(f.Message, "lost update") })
}

// TestModelCatchesSplitTxn: with the workload's own checks off,
// porcupine's model (chaos/kvmodel: transfer, audit, cas) catches a
// transaction applied as separate entries (an audit between its halves)
// and an EXEC that ignores WATCH, by itself.
func TestModelCatchesSplitTxn(t *testing.T) {
	plantCaught(t, "a transaction applied as separate entries (model only)", 10,
		func(seed uint64) Options { return Options{Seed: seed, noTxnChecks: true} },
		func(o *Options) { o.UnsafeSplitTxn = true },
		func(f *Failure) bool { return f.Class == classLinearizability })
}

// TestModelCatchesIgnoredWatch: see TestModelCatchesSplitTxn.
func TestModelCatchesIgnoredWatch(t *testing.T) {
	plantCaught(t, "EXEC ignoring WATCH (model only)", 10,
		func(seed uint64) Options { return Options{Seed: seed, noTxnChecks: true} },
		func(o *Options) { o.UnsafeIgnoreWatch = true },
		func(f *Failure) bool { return f.Class == classLinearizability })
}
