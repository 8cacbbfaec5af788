// The simulator's entry points. Each test drives whole simulated runs.
//
//	go test ./sim -scenario=NAME -seed=N   replays one chaos scenario's seed (add -sim.v for its trace)
//	go test ./sim -scenario=all -seed=N    every scenario, and the swarm, on seed N
//	go test ./sim -seed=N                  replays swarm seed N
//	go test ./sim -run TestSim -seeds=K    sweeps swarm seeds 1..K (or -seeds=K -seed0=S)
//	go test ./sim -run TestScenarios -scenario=NAME -seeds=K -seed0=S   sweeps one scenario
//	go test ./sim -run TestReplay -replay=FILE [-sim.v] [-shrink]       runs (or shrinks) a replay file
//
// Without -scenario, TestScenarios runs every scenario that is not pending
// on a few seeds, and TestSim sweeps 100 swarm seeds. A failing seed prints
// what broke and the command that replays it, and leaves a folder with the
// seed, the options, porcupine's HTML view of the history (fault windows
// annotated), a readable event trace and that command.
//
// -sweep.lines makes every seed print one machine-readable line, for
// cmd/seshat-sweep.
package sim

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/seshat-db/seshat/chaos"
)

var (
	flagSeed     = flag.Uint64("seed", 0, "replay this one seed")
	flagSeeds    = flag.Int("seeds", 100, "how many seeds TestSim sweeps when -seed is not given")
	flagSeed0    = flag.Uint64("seed0", 1, "the first seed of a sweep")
	flagScenario = flag.String("scenario", "", "the chaos scenario to run: a name, swarm, or all")
	flagFew      = flag.Int("scenario.seeds", 5, "seeds per scenario when TestScenarios runs them all by default")
	flagPending  = flag.Bool("pending", false, "run pending scenarios too in the default run")
	flagVerbose  = flag.Bool("sim.v", false, "print the run's event trace")
	flagEngine   = flag.String("sim.engine", "", "the nodes' storage engine: pebble or mem (default: the seed picks, Options.Engine)")
	flagOutDir   = flag.String("sim.out", "", "where failure artifacts go (default: a temporary directory)")
	flagLines    = flag.Bool("sweep.lines", false, "print one SWEEP line per seed")
	flagReplay   = flag.String("replay", "", "run this replay file (a failure folder's replay.json, or a shrunk one)")
	flagShrink   = flag.Bool("shrink", false, "with -replay: shrink the run and write the smallest failing one next to it")
)

// replaying says whether the command line asked for particular runs, so
// the other tests stand aside.
func replaying() bool { return *flagSeed != 0 || *flagScenario != "" || *flagReplay != "" }

func TestSim(t *testing.T) {
	if *flagReplay != "" {
		t.Skip("a replay file was named")
	}
	if *flagScenario != "" && *flagScenario != "swarm" && *flagScenario != "all" {
		t.Skip("a scenario was named")
	}
	sweep(t, "swarm")
}

func TestScenarios(t *testing.T) {
	switch {
	case *flagReplay != "":
		t.Skip("a replay file was named")
	case *flagScenario == "swarm":
		t.Skip("the swarm runs in TestSim")
	case *flagScenario == "" && *flagSeed != 0:
		t.Skip("-seed without -scenario replays the swarm")
	case *flagScenario == "":
		for _, s := range chaos.Scenarios() {
			t.Run(s.Name, func(t *testing.T) {
				if s.Pending != "" && !*flagPending {
					t.Skipf("pending: waits for %s (run it with -scenario=%s)", s.Pending, s.Name)
				}
				for seed := uint64(1); seed <= uint64(*flagFew); seed++ {
					runSeed(t, Options{Scenario: s.Name, Seed: seed})
				}
			})
		}
	case *flagScenario == "all":
		for _, s := range chaos.Scenarios() {
			t.Run(s.Name, func(t *testing.T) {
				if s.Pending != "" && !*flagPending {
					t.Skipf("pending: waits for %s (run it with -scenario=%s)", s.Pending, s.Name)
				}
				sweep(t, s.Name)
			})
		}
	default:
		if _, ok := chaos.Lookup(*flagScenario); !ok {
			t.Fatalf("no scenario %q; there are: swarm %s", *flagScenario, scenarioNames())
		}
		sweep(t, *flagScenario)
	}
}

func scenarioNames() string {
	var names []string
	for _, s := range chaos.Scenarios() {
		names = append(names, s.Name)
	}
	return strings.Join(names, " ")
}

// sweep runs -seed, or -seeds seeds from -seed0, of one scenario.
func sweep(t *testing.T, scenario string) {
	if *flagSeed != 0 {
		res := runSeed(t, Options{Scenario: scenario, Seed: *flagSeed, Verbose: *flagVerbose})
		t.Logf("%s\n%+v", res.Options, res.Stats)
		return
	}
	start := time.Now()
	var simulated time.Duration
	failures := 0
	operated, commands := 0, 0 // seeds with the operator, and its commands
	for i := range *flagSeeds {
		seed := *flagSeed0 + uint64(i)
		res := runSeed(t, Options{Scenario: scenario, Seed: seed})
		simulated += res.Stats.SimulatedTime
		if res.Options.Operator > 0 {
			operated++
			commands += res.Stats.OperatorCommands
		}
		if res.Failure != nil {
			failures++
			if !*flagLines {
				return // one failure at a time, unless a sweep driver counts them
			}
		}
		if (i+1)%25 == 0 || i+1 == *flagSeeds {
			wall := time.Since(start)
			t.Logf("%s: %d/%d seeds, %d failed; %.1f seeds/s; %.0f simulated s per wall s; %d with the operator (%d membership commands)", scenario, i+1, *flagSeeds, failures,
				float64(i+1)/wall.Seconds(), simulated.Seconds()/wall.Seconds(), operated, commands)
		}
	}
}

// runSeed runs one seed and, when it fails, reports it with everything
// needed to replay and study it.
func runSeed(t *testing.T, opts Options) Result {
	t.Helper()
	if *flagEngine != "" {
		opts.Engine = *flagEngine
	}
	res := Run(opts)
	if opts.Verbose {
		for _, line := range res.Trace {
			fmt.Println(line)
		}
	}
	if *flagLines {
		verdict, class := "ok", "-"
		if res.Failure != nil {
			verdict, class = "fail", res.Failure.Class
		}
		st := res.Stats
		fmt.Printf("SWEEP scenario=%s seed=%d result=%s class=%s wall_ms=%d sim_ms=%d crashes=%d wipes=%d disk_failures=%d installs=%d disk_full=%d torn=%d flips=%d flips_refused=%d held=%d rel_heal=%d rel_restart=%d rel_leader=%d rel_timeout=%d redelivered=%d long_delays=%d echoed=%d crash_loops=%d late_ms=%d locks=%d op_commands=%d op_applied=%d op_refused=%d op_unknown=%d op_handoffs=%d engine=%s\n", res.Options.Scenario, res.Options.Seed,
			verdict, class, st.WallTime.Milliseconds(), st.SimulatedTime.Milliseconds(), st.Crashes, st.Wipes, st.DiskFailures, st.SnapshotsInstalled,
			st.DiskFull, st.TornTails, st.FlipsInjected, st.FlipsRefused,
			st.Held, st.ReleasedAfterHeal, st.ReleasedAfterRestart, st.ReleasedAfterLeaderChange, st.ReleasedAfterTimeout, st.Redelivered, st.LongDelays, st.Echoed, st.CrashLoops,
			st.ExpiryLateMax.Milliseconds(), st.LocksTaken, st.OperatorCommands, st.OperatorApplied, st.OperatorRefused, st.OperatorUnknown, st.OperatorHandoffs, res.Options.Engine)
		// The crash points come last, on a line of their own, so the
		// sweep reads them apart from the fields above.
		cp := st.CrashPoints
		fmt.Printf("SWEEP-CRASHPOINTS scenario=%s seed=%d vote=%d install=%d compaction=%d apply=%d membership=%d\n", res.Options.Scenario, res.Options.Seed,
			cp.AfterVote, cp.AfterInstall, cp.MidCompaction, cp.ApplyUnanswered, cp.AfterMembership)
		// A line of its own, so the SWEEP line's fields can grow freely:
		// seshat-sweep -replay compares it across runs of one seed.
		fmt.Printf("SWEEPHASH scenario=%s seed=%d hash=%016x\n", res.Options.Scenario, res.Options.Seed, res.Hash)
	}
	if res.Failure != nil {
		reportFailure(t, res)
	}
	return res
}

// replayCommand is the command line that replays a run.
func replayCommand(o Options) string {
	cmd := fmt.Sprintf("go test ./sim -scenario=%s -seed=%d -sim.v", o.Scenario, o.Seed)
	if o.UnsafeLocalReads || o.DisableCheckQuorum || o.LyingDisk || o.UnsafeNoDedup || o.ElectionTicks != 0 && o.ElectionTicks != 50 || o.Nodes != 0 && o.Scenario != "swarm" && o.Nodes != 3 {
		cmd += "   # with TEST ONLY switches, from a test: " + o.String()
	}
	return cmd
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
	o := res.Options
	dir = filepath.Join(dir, fmt.Sprintf("%s-seed-%d", o.Scenario, o.Seed))
	_ = os.MkdirAll(dir, 0o755)
	viz := filepath.Join(dir, "history.html")
	if err := res.WriteVisualization(viz); err != nil {
		viz = "(visualization failed: " + err.Error() + ")"
	}
	// Replay with the trace on, for a readable log of the failure.
	traced := o
	traced.Verbose = true
	again := run(traced, false)
	for key, ops := range res.IllegalKeys() {
		_ = os.WriteFile(filepath.Join(dir, "illegal-"+key+".txt"), []byte(strings.Join(ops, "\n")+"\n"), 0o644)
	}
	tracePath := filepath.Join(dir, "trace.txt")
	_ = os.WriteFile(tracePath, []byte(strings.Join(again.Trace, "\n")+"\n"), 0o644)
	replay := replayCommand(o)
	replayFile := filepath.Join(dir, "replay.json")
	summary := fmt.Sprintf("scenario: %s\nseed:     %d\ncommit:   %s\nfailure:  %v\noptions:  %s\nstats:    %+v\nreplay:   %s\n          go test ./sim -run TestReplay -replay=%s -sim.v   (-shrink shrinks it)\nhistory:  %s\ntrace:    %s\n",
		o.Scenario, o.Seed, commit(), res.Failure, o, res.Stats, replay, replayFile, viz, tracePath)
	_ = os.WriteFile(filepath.Join(dir, "failure.txt"), []byte(summary), 0o644)
	rf := NewReplay(res)
	rf.Commit = commit()
	_ = WriteReplay(replayFile, rf)
	_ = os.WriteFile(filepath.Join(dir, "replay.sh"), []byte("#!/bin/sh\n# run from the repository root\n"+replay+"\n"), 0o755)
	t.Errorf("%s seed %d: %v\n  options: %s\n  replay:  %s\n  history: %s\n  trace:   %s\n  folder:  %s",
		o.Scenario, o.Seed, res.Failure, o, replay, viz, tracePath, dir)
}

// commit names the source a failure was found at, when git can tell.
func commit() string {
	out, err := exec.Command("git", "rev-parse", "--short", "HEAD").Output()
	if err != nil {
		return "unknown"
	}
	return strings.TrimSpace(string(out))
}

// TestEngineRefusedWhereAFaultNeedsPebble: asking for the twin where a
// fault needs Pebble's files, or for no engine at all, fails the run at
// once instead of quietly running without the fault.
func TestEngineRefusedWhereAFaultNeedsPebble(t *testing.T) {
	for _, o := range []Options{
		{Seed: 1, Engine: "mem", LyingDisk: true},
		{Seed: 1, Engine: "mem", Scenario: "disk-wiped"},
		{Seed: 1, Engine: "Mem"},
	} {
		res := Run(o)
		if res.Failure == nil || !strings.Contains(res.Failure.Error(), "options:") {
			t.Errorf("%s: got %v, want the options refused", res.Options, res.Failure)
		}
	}
	if res := Run(Options{Seed: 1, Engine: "pebble", LyingDisk: true, Run: 2 * time.Second}); res.Failure != nil && strings.Contains(res.Failure.Error(), "options:") {
		t.Errorf("pebble with a lying disk refused: %v", res.Failure)
	}
}
