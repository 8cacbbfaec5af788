//go:build mutants

// The simulator's side of mutation testing (cmd/seshat-mutants, make
// mutants): with -tags mutants, TestMutant runs seeds with one planted bug
// switched on.
//
//	go test -tags mutants ./sim -run TestMutant -mutant=NAME -scenario=S -seed0=A -seeds=K
//	go test -tags mutants ./sim -run TestMutant -mutant=NAME -scenario=S -seed=N -sim.v
package sim

import (
	"flag"
	"testing"

	"github.com/seshat-db/seshat/internal/mutant"
)

var flagMutant = flag.String("mutant", "", "the planted bug to switch on (internal/mutant)")

// unsafeMutants are the planted bugs that existed before internal/mutant,
// as TEST ONLY options of the simulator.
var unsafeMutants = map[string]func(*Options){
	"no-sync":             func(o *Options) { o.UnsafeNoSync = true },
	"local-reads":         func(o *Options) { o.UnsafeLocalReads = true },
	"no-dedup":            func(o *Options) { o.UnsafeNoDedup = true },
	"blind-bootstrap":     func(o *Options) { o.UnsafeBlindBootstrap = true },
	"new-learner-verdict": func(o *Options) { o.UnsafeNewLearnerVerdict = true },
	"join-from-retired":   func(o *Options) { o.UnsafeJoinFromRetired = true },
}

// TestMutant runs -seed, or -seeds seeds from -seed0, of -scenario (the
// swarm by default) with -mutant switched on, printing SWEEP lines with
// -sweep.lines. It stops at the first failing seed: a killed mutant needs
// no second witness.
func TestMutant(t *testing.T) {
	if *flagMutant == "" {
		t.Skip("no -mutant named")
	}
	info, ok := mutant.Lookup(*flagMutant)
	if !ok {
		t.Fatalf("no mutant %q (see internal/mutant.All)", *flagMutant)
	}
	plant := func(*Options) {}
	if info.Unsafe {
		plant = unsafeMutants[*flagMutant]
		if plant == nil {
			t.Fatalf("mutant %q is marked Unsafe but has no option here", *flagMutant)
		}
	} else if err := mutant.Select(info.Name); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = mutant.Select("") }()
	scenario := *flagScenario
	if scenario == "" {
		scenario = "swarm"
	}
	first, count := *flagSeed0, uint64(*flagSeeds)
	if *flagSeed != 0 {
		first, count = *flagSeed, 1
	}
	for seed := first; seed < first+count; seed++ {
		o := Options{Scenario: scenario, Seed: seed, Verbose: *flagSeed != 0 && *flagVerbose}
		plant(&o)
		if res := runSeed(t, o); res.Failure != nil {
			t.Logf("replay with the mutant: go test -tags mutants ./sim -run 'TestMutant$' -mutant=%s -scenario=%s -seed=%d -sim.v", *flagMutant, scenario, seed)
			return
		}
	}
}

// TestMutantsAreListed: every Unsafe entry of mutant.All has its option
// here, and every other one is a mutant.On name Select accepts.
func TestMutantsAreListed(t *testing.T) {
	for _, m := range mutant.All {
		if m.Unsafe != (unsafeMutants[string(m.Name)] != nil) {
			t.Errorf("mutant %q: Unsafe is %v, but unsafeMutants disagrees", m.Name, m.Unsafe)
		}
		if err := mutant.Select(m.Name); err != nil {
			t.Error(err)
		}
	}
	_ = mutant.Select("")
}
