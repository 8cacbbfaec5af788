// The simulator's entry points. Each test drives whole simulated runs.
//
//	go test ./sim -run TestSim -seed=N       replays seed N (add -sim.v for its trace)
//	go test ./sim -run TestSim -seeds=K      sweeps seeds 1..K (or -seeds=K -seed0=S)
//
// A failing seed prints what broke, the command that replays it, and the
// path of porcupine's HTML view of the history.
package sim

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var (
	flagSeed    = flag.Uint64("seed", 0, "replay this one seed")
	flagSeeds   = flag.Int("seeds", 100, "how many seeds TestSim sweeps when -seed is not given")
	flagSeed0   = flag.Uint64("seed0", 1, "the first seed of a sweep")
	flagVerbose = flag.Bool("sim.v", false, "print the run's event trace")
	flagOutDir  = flag.String("sim.out", "", "where failure artifacts go (default: a temporary directory)")
)

func TestSim(t *testing.T) {
	if *flagSeed != 0 {
		runSeed(t, Options{Seed: *flagSeed, Verbose: *flagVerbose})
		return
	}
	start := time.Now()
	var simulated time.Duration
	for i := range *flagSeeds {
		seed := *flagSeed0 + uint64(i)
		res := runSeed(t, Options{Seed: seed})
		simulated += res.Stats.SimulatedTime
		if t.Failed() {
			return
		}
		if (i+1)%25 == 0 || i+1 == *flagSeeds {
			wall := time.Since(start)
			t.Logf("%d/%d seeds clean; %.1f seeds/s; %.0f simulated s per wall s", i+1, *flagSeeds,
				float64(i+1)/wall.Seconds(), simulated.Seconds()/wall.Seconds())
		}
	}
}

// runSeed runs one seed and, when it fails, reports it with everything
// needed to replay and study it.
func runSeed(t *testing.T, opts Options) Result {
	t.Helper()
	res := Run(opts)
	if opts.Verbose {
		for _, line := range res.Trace {
			fmt.Println(line)
		}
	}
	if res.Failure != nil {
		reportFailure(t, res)
	}
	return res
}

func reportFailure(t *testing.T, res Result) {
	t.Helper()
	dir := *flagOutDir
	if dir == "" {
		dir = t.TempDir()
		if d, err := os.MkdirTemp("", "seshat-sim-"); err == nil {
			dir = d // outlives the test, so the files can be opened after
		}
	}
	dir = filepath.Join(dir, fmt.Sprintf("seed-%d", res.Options.Seed))
	_ = os.MkdirAll(dir, 0o755)
	viz := filepath.Join(dir, "history.html")
	if err := res.WriteVisualization(viz); err != nil {
		viz = "(visualization failed: " + err.Error() + ")"
	}
	// Replay with the trace on, for a readable log of the failure.
	traced := res.Options
	traced.Verbose = true
	again := run(traced, false)
	for key, ops := range res.IllegalKeys() {
		_ = os.WriteFile(filepath.Join(dir, "illegal-"+key+".txt"), []byte(strings.Join(ops, "\n")+"\n"), 0o644)
	}
	tracePath := filepath.Join(dir, "trace.txt")
	_ = os.WriteFile(tracePath, []byte(strings.Join(again.Trace, "\n")+"\n"), 0o644)
	t.Errorf("seed %d: %v\n  options: %s\n  replay:  go test ./sim -run TestSim -seed=%d -sim.v\n  history: %s\n  trace:   %s",
		res.Options.Seed, res.Failure, res.Options, res.Options.Seed, viz, tracePath)
}
