package sim

import (
	"path/filepath"
	"reflect"
	"testing"
	"time"
)

// TestShrinkPlantedStaleReads plants a bug (reads served from local state
// without ReadIndex), shrinks the first seed that catches it, and demands
// a smaller run that still fails the same way and replays exactly from
// its file.
func TestShrinkPlantedStaleReads(t *testing.T) {
	if replaying() {
		t.Skip("replaying particular runs")
	}
	var failing Result
	for seed := uint64(1); seed <= 20 && failing.Failure == nil; seed++ {
		// Without the scanner, whose check catches a stale SCAN first:
		// this test is about shrinking a linearizability failure.
		failing = Run(Options{Seed: seed, UnsafeLocalReads: true, NoScan: true, Run: 20 * time.Second, FaultsEnd: 8 * time.Second})
	}
	if failing.Failure == nil {
		t.Fatal("no seed of 20 caught reads served without ReadIndex")
	}
	sr, err := Shrink(failing.Options, ShrinkBudget{Runs: 25, Wall: 40 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("seed %d: %d events -> %d in %d runs; steps %v", failing.Options.Seed, sr.Before.Events, sr.After.Events, sr.Runs, sr.Steps)
	if sr.After.Failure == nil || sr.After.Failure.Class != classLinearizability {
		t.Fatalf("the shrunk run fails with %v, not a linearizability violation", sr.After.Failure)
	}
	if sr.After.Events >= sr.Before.Events/2 {
		t.Fatalf("the shrunk run has %d events of %d: not smaller by half", sr.After.Events, sr.Before.Events)
	}
	path := filepath.Join(t.TempDir(), "replay.json")
	if err := WriteReplay(path, sr.After); err != nil {
		t.Fatal(err)
	}
	back, err := ReadReplay(path)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back.Options.SkipFaults, sr.After.Options.SkipFaults) || !reflect.DeepEqual(back.Options.SkipKinds, sr.After.Options.SkipKinds) {
		t.Fatalf("the skipped faults did not survive the file: %v %v, wrote %v %v",
			back.Options.SkipFaults, back.Options.SkipKinds, sr.After.Options.SkipFaults, sr.After.Options.SkipKinds)
	}
	again := back.Run(false)
	if failureKind(again.Failure) != failureKind(sr.After.Failure) || again.Stats.Events != sr.After.Events {
		t.Fatalf("the replay file does not replay: %v in %d events, shrunk run %v in %d", again.Failure, again.Stats.Events, sr.After.Failure, sr.After.Events)
	}
}

// TestSkippedFaultsAreSkipped: leaving out every fault of a run leaves a
// run with none applied, and leaving out one numbered fault skips that one
// and keeps the ones drawn before it.
func TestSkippedFaultsAreSkipped(t *testing.T) {
	if replaying() {
		t.Skip("replaying particular runs")
	}
	opts := Options{Seed: 4, Run: 8 * time.Second, FaultsEnd: 5 * time.Second, CrashEvery: time.Second, PartitionEvery: time.Second}.FromSeed()
	opts.recordFaults = true
	base := run(opts, false)
	if len(base.Faults) < 3 {
		t.Fatalf("seed 4 applied %d faults; want a few to skip", len(base.Faults))
	}
	kinds := map[string]bool{}
	for _, f := range base.Faults {
		kinds[f.Kind] = true
	}
	none := opts
	for _, g := range faultGroups {
		none.SkipKinds = append(none.SkipKinds, g...)
	}
	if res := run(none, false); res.Stats.Faults != 0 || res.Stats.FaultsSkipped == 0 {
		t.Fatalf("with every kind skipped: %d faults applied, %d skipped", res.Stats.Faults, res.Stats.FaultsSkipped)
	}
	var victim FaultRecord
	for _, f := range base.Faults {
		if f.Kind == faultCrash || f.Kind == faultPartition {
			victim = f
			break
		}
	}
	if victim.N == 0 {
		t.Fatalf("seed 4 crashed and partitioned nothing: %v", kinds)
	}
	one := opts
	one.SkipFaults = FaultSet{victim.N}
	res := run(one, false)
	if res.Stats.FaultsSkipped != 1 {
		t.Fatalf("skipping fault #%d skipped %d", victim.N, res.Stats.FaultsSkipped)
	}
	for i, f := range res.Faults {
		if f.N >= victim.N {
			break
		}
		if f != base.Faults[i] {
			t.Fatalf("fault %d changed before the skipped #%d: %v, was %v", i, victim.N, f, base.Faults[i])
		}
	}
	if len(res.Faults) > 0 && slicesContainsN(res.Faults, victim.N) {
		t.Fatalf("fault #%d was applied although skipped", victim.N)
	}
	t.Logf("seed 4: %d faults (%v); skipped #%d (%s)", len(base.Faults), kinds, victim.N, victim.Kind)
}

func slicesContainsN(fs []FaultRecord, n int) bool {
	for _, f := range fs {
		if f.N == n {
			return true
		}
	}
	return false
}

func TestFaultSetRanges(t *testing.T) {
	s := FaultSet{9, 3, 4, 5, 7, 11, 12}
	if got := s.String(); got != "3-5,7,9,11-12" {
		t.Fatalf("got %q", got)
	}
	var back FaultSet
	if err := back.UnmarshalJSON([]byte(`"3-5,7,9,11-12"`)); err != nil || !reflect.DeepEqual(back, FaultSet{3, 4, 5, 7, 9, 11, 12}) {
		t.Fatalf("got %v, %v", back, err)
	}
	if err := back.UnmarshalJSON([]byte(`[2, 4]`)); err != nil || !reflect.DeepEqual(back, FaultSet{2, 4}) {
		t.Fatalf("a plain list: got %v, %v", back, err)
	}
	if err := back.UnmarshalJSON([]byte(`"5-3"`)); err == nil {
		t.Fatal("a backward range was accepted")
	}
}
