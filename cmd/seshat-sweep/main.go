// Command seshat-sweep sweeps the chaos scenarios and the swarm over many
// seeds, in parallel processes, and sums up.
//
//	go run ./cmd/seshat-sweep -seeds=100 -jobs=2          (make chaos SEEDS=100)
//	go run ./cmd/seshat-sweep -seeds=2000 -scenarios=swarm
//	go run ./cmd/seshat-sweep -seed0=date -replay=20    (the nightly job)
//
// It builds the simulator's test binary once and runs it in -jobs processes
// at a time, each on a chunk of one scenario's seeds. Raft's election
// randomness is seeded through the process-wide crypto/rand.Reader, so a
// process runs its seeds one after another and parallelism comes from
// processes. It prints a progress line (seeds done, seeds per second,
// failures so far) and a table at the end. Every failure leaves a folder
// under -out with the seed, the options, the history's HTML view, the event
// trace, the replay command and a replay file (replay.json); with -shrink,
// each failure is then shrunk (sim/shrink.go) into replay.shrunk.json
// beside it, with the shrink's report in shrink.log. A scenario marked pending in package chaos
// is swept too, but its failures do not fail the sweep.
//
// -seed0=date starts at a seed range the UTC date picks, so every night
// sweeps fresh seeds. -replay=N then runs N of the swept seeds, spread over
// the sweep, twice more each in fresh processes: a run hash that differs
// from the sweep's fails the sweep, as a seed that does not replay cannot
// be debugged.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/seshat-db/seshat/chaos"
)

type job struct {
	scenario     string
	seed0, seeds int
	log          string // the log file's prefix, for replays
}

type tally struct {
	seeds, failed int
	wall          time.Duration
	faults        faults // what struck, summed over the seeds
	classes       map[string]int
	failedSeeds   []string
	points        crashPoints // aimed crashes that struck, summed over the seeds
}

func main() {
	seeds := flag.Int("seeds", 100, "seeds per scenario")
	seed0Flag := flag.String("seed0", "1", `the first seed, or "date" for a range of the UTC date's own`)
	replay := flag.Int("replay", 0, "replay this many of the swept seeds twice each and fail on a run hash that differs")
	jobs := flag.Int("jobs", 2, "processes at once")
	chunk := flag.Int("chunk", 10, "seeds per process")
	only := flag.String("scenarios", "", "comma-separated scenarios (default: every scenario and swarm)")
	swarmSeeds := flag.Int("swarm-seeds", 0, "seeds for the swarm (default: -seeds)")
	out := flag.String("out", "sim-failures", "where failure folders and logs go")
	shrink := flag.Bool("shrink", false, "shrink each failure once the sweep is done")
	shrinkRuns := flag.Int("shrink.runs", 200, "with -shrink: candidate runs per failure at most")
	flag.Parse()
	seed0, err := parseSeed0(*seed0Flag, time.Now())
	if err != nil {
		fail(err)
	}
	fmt.Printf("seeds from %d\n", seed0)

	pending := map[string]bool{}
	names := []string{}
	for _, s := range chaos.Scenarios() {
		names = append(names, s.Name)
		pending[s.Name] = s.Pending != ""
	}
	names = append(names, "swarm")
	if *only != "" {
		names = strings.Split(*only, ",")
	}
	if *swarmSeeds == 0 {
		*swarmSeeds = *seeds
	}
	logs := filepath.Join(*out, "logs")
	if err := os.MkdirAll(logs, 0o755); err != nil {
		fail(err)
	}
	bin := filepath.Join("bin", "sim.test")
	build := exec.Command("go", "test", "-c", "-o", bin, "./sim")
	build.Stdout, build.Stderr = os.Stdout, os.Stderr
	if err := build.Run(); err != nil {
		fail(fmt.Errorf("building the simulator: %w", err))
	}

	// Interleave the scenarios' chunks, so progress is representative early.
	var queue []job
	total := 0
	for first := 0; ; first += *chunk {
		added := false
		for _, name := range names {
			n := *seeds
			if name == "swarm" {
				n = *swarmSeeds
			}
			if first >= n {
				continue
			}
			c := min(*chunk, n-first)
			queue = append(queue, job{scenario: name, seed0: seed0 + first, seeds: c})
			total += c
			added = true
		}
		if !added {
			break
		}
	}

	var mu sync.Mutex
	tallies := map[string]*tally{}
	for _, name := range names {
		tallies[name] = &tally{classes: map[string]int{}}
	}
	done, failures := 0, 0
	var failedDirs []string
	hashes := map[seedRun]string{}
	var swept []seedRun
	for _, j := range queue {
		for i := range j.seeds {
			swept = append(swept, seedRun{j.scenario, j.seed0 + i})
		}
	}
	start := time.Now()
	progress := func() {
		el := time.Since(start).Seconds()
		fmt.Printf("progress: %d/%d seeds, %.1f seeds/s, %d failures so far, %.0fs\n", done, total, float64(done)/el, failures, el)
	}

	jobsC := make(chan job)
	var wg sync.WaitGroup
	for range *jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobsC {
				countPoints := func(scenario string, p crashPoints) {
					mu.Lock()
					defer mu.Unlock()
					if t := tallies[scenario]; t != nil {
						t.points.add(p)
					}
				}
				runJob(bin, *out, logs, j, countPoints, func(scenario string, seed int, ok bool, class string, wall time.Duration, f faults) {
					mu.Lock()
					defer mu.Unlock()
					t := tallies[scenario]
					if t == nil {
						return
					}
					t.seeds++
					t.wall += wall
					t.faults.add(f)
					done++
					if !ok {
						t.failed++
						t.classes[class]++
						t.failedSeeds = append(t.failedSeeds, fmt.Sprint(seed))
						if !pending[scenario] {
							failures++
						}
						dir := filepath.Join(*out, fmt.Sprintf("%s-seed-%d", scenario, seed))
						if !pending[scenario] { // a pending scenario's failures are known: not worth shrinking
							failedDirs = append(failedDirs, dir)
						}
						fmt.Printf("FAIL %s seed %d (%s): %s\n", scenario, seed, class, dir)
					}
				}, func(run seedRun, hash string) {
					mu.Lock()
					defer mu.Unlock()
					hashes[run] = hash
				})
			}
		}()
	}
	ticker := time.NewTicker(5 * time.Second)
	stop := make(chan struct{})
	go func() {
		for {
			select {
			case <-ticker.C:
				mu.Lock()
				progress()
				mu.Unlock()
			case <-stop:
				return
			}
		}
	}()
	for _, j := range queue {
		jobsC <- j
	}
	close(jobsC)
	wg.Wait()
	ticker.Stop()
	close(stop)

	var nondeterministic []string
	if *replay > 0 {
		replayed := sample(swept, *replay)
		fmt.Printf("replaying %d seeds twice each to check that they replay exactly\n", len(replayed))
		nondeterministic = compareHashes(replayed, hashes, replayTwice(bin, *out, logs, replayed, *jobs))
		for _, line := range nondeterministic {
			fmt.Printf("NONDETERMINISTIC %s\n", line)
		}
		fmt.Printf("determinism: %d of %d replayed seeds gave the sweep's run hash twice\n", len(replayed)-len(nondeterministic), len(replayed))
	}

	mu.Lock()
	defer mu.Unlock()
	progress()
	fmt.Printf("\n%-22s %7s %7s %10s %8s %6s %9s %9s %9s %6s %11s  %s\n", "scenario", "seeds", "failed", "ms/seed", "crashes", "wipes", "disk_fail", "installs", "disk_full", "torn", "flips_ref", "failure classes / seeds")
	for _, name := range names {
		t := tallies[name]
		mean := int64(0)
		if t.seeds > 0 {
			mean = t.wall.Milliseconds() / int64(t.seeds)
		}
		var classes []string
		for c, n := range t.classes {
			classes = append(classes, fmt.Sprintf("%s:%d", c, n))
		}
		sort.Strings(classes)
		note := strings.Join(classes, " ")
		if len(t.failedSeeds) > 0 {
			shown := t.failedSeeds
			if len(shown) > 10 {
				shown = append(shown[:10:10], "...")
			}
			note += " seeds " + strings.Join(shown, ",")
		}
		label := name
		if pending[name] {
			label += " (pending)"
		}
		f := t.faults
		flips := fmt.Sprintf("%d/%d", f.flipsRefused, f.flips)
		fmt.Printf("%-22s %7d %7d %10d %8d %6d %9d %9d %9d %6d %11s  %s\n", label, t.seeds, t.failed, mean, f.crashes, f.wipes, f.diskFailures, f.installs, f.diskFull, f.torn, flips, note)
	}
	fmt.Printf("\n%-22s %8s %23s %11s %10s %7s %11s\n", "network", "held", "released heal/rst/ldr/to", "redelivered", "long_delay", "echoed", "crash_loops")
	for _, name := range names {
		f := tallies[name].faults
		rel := fmt.Sprintf("%d/%d/%d/%d", f.relHeal, f.relRestart, f.relLeader, f.relTimeout)
		fmt.Printf("%-22s %8d %23s %11d %10d %7d %11d\n", name, f.held, rel, f.redelivered, f.longDelays, f.echoed, f.crashLoops)
	}
	fmt.Printf("\n%-22s %12s %8s\n", "expiry", "late_max_ms", "locks")
	for _, name := range names {
		f := tallies[name].faults
		fmt.Printf("%-22s %12d %8d\n", name, f.lateMS, f.locks)
	}
	fmt.Printf("\n%-22s %7s %12s %12s %24s %9s\n", "engine, operator", "pebble", "op_seeds", "op_commands", "applied/refused/unknown", "handoffs")
	for _, name := range names {
		f := tallies[name].faults
		fmt.Printf("%-22s %7s %12d %12d %24s %9d\n", name, fmt.Sprintf("%d/%d", f.onPebble, tallies[name].seeds), f.operated, f.opCommands,
			fmt.Sprintf("%d/%d/%d", f.opApplied, f.opRefused, f.opUnknown), f.opHandoffs)
	}
	printCrashPoints(names, tallies)
	if *shrink {
		sort.Strings(failedDirs)
		for _, dir := range failedDirs {
			shrinkFailure(bin, dir, *shrinkRuns)
		}
	}
	fmt.Printf("\nswept %d seeds in %s with %d processes: ", done, time.Since(start).Round(time.Second), *jobs)
	if len(nondeterministic) > 0 {
		fmt.Printf("%d seeds did not replay exactly (see NONDETERMINISTIC above); ", len(nondeterministic))
	}
	if failures > 0 || done < total || len(nondeterministic) > 0 {
		fmt.Printf("%d FAILURES (pending scenarios not counted), see %s/\n", failures, *out)
		if done < total {
			fmt.Printf("%d seeds did not report: see %s\n", total-done, logs)
		}
		os.Exit(1)
	}
	fmt.Println("clean (pending scenarios not counted)")
}

// runJob runs one chunk of seeds in a process of its own and reports each
// seed's SWEEP line.
func runJob(bin, out, logs string, j job, countPoints func(string, crashPoints), report func(string, int, bool, string, time.Duration, faults), hashed func(seedRun, string)) {
	logPath := filepath.Join(logs, fmt.Sprintf("%s%s-%d.log", j.log, j.scenario, j.seed0))
	logf, err := os.Create(logPath)
	if err != nil {
		fail(err)
	}
	defer logf.Close()
	cmd := exec.Command(bin, "-test.run", "^(TestSim|TestScenarios)$", "-test.v", "-test.timeout", "0",
		"-scenario="+j.scenario, fmt.Sprintf("-seed0=%d", j.seed0), fmt.Sprintf("-seeds=%d", j.seeds),
		"-sweep.lines", "-sim.out="+out)
	pipe, err := cmd.StdoutPipe()
	if err != nil {
		fail(err)
	}
	cmd.Stderr = logf
	if err := cmd.Start(); err != nil {
		fail(err)
	}
	sc := bufio.NewScanner(pipe)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		line := sc.Text()
		fmt.Fprintln(logf, line)
		if p, scenario, ok := parseCrashPoints(line); ok {
			countPoints(scenario, p)
			continue
		}
		if run, hash, ok := parseHashLine(line); ok {
			hashed(run, hash)
			continue
		}
		if !strings.HasPrefix(line, "SWEEP ") {
			continue
		}
		var scenario, result, class string
		var seed int
		var wallMS, simMS int64
		var f faults
		var engine string
		if _, err := fmt.Sscanf(line, "SWEEP scenario=%s seed=%d result=%s class=%s wall_ms=%d sim_ms=%d crashes=%d wipes=%d disk_failures=%d installs=%d disk_full=%d torn=%d flips=%d flips_refused=%d held=%d rel_heal=%d rel_restart=%d rel_leader=%d rel_timeout=%d redelivered=%d long_delays=%d echoed=%d crash_loops=%d late_ms=%d locks=%d op_commands=%d op_applied=%d op_refused=%d op_unknown=%d op_handoffs=%d engine=%s",
			&scenario, &seed, &result, &class, &wallMS, &simMS, &f.crashes, &f.wipes, &f.diskFailures, &f.installs,
			&f.diskFull, &f.torn, &f.flips, &f.flipsRefused,
			&f.held, &f.relHeal, &f.relRestart, &f.relLeader, &f.relTimeout, &f.redelivered, &f.longDelays, &f.echoed, &f.crashLoops, &f.lateMS, &f.locks,
			&f.opCommands, &f.opApplied, &f.opRefused, &f.opUnknown, &f.opHandoffs, &engine); err != nil {
			fmt.Fprintf(os.Stderr, "unreadable line %q: %v\n", line, err)
			continue
		}
		if f.opCommands > 0 {
			f.operated = 1
		}
		if engine == "pebble" {
			f.onPebble = 1
		}
		report(scenario, seed, result == "ok", class, time.Duration(wallMS)*time.Millisecond, f)
	}
	_ = cmd.Wait() // a failing seed fails the process; the lines tell which
}

// shrinkFailure shrinks the failure that dir holds, one process at a time
// (a shrink runs its candidates one after another).
func shrinkFailure(bin, dir string, runs int) {
	replay := filepath.Join(dir, "replay.json")
	logPath := filepath.Join(dir, "shrink.log")
	fmt.Printf("shrinking %s (at most %d runs) ...\n", replay, runs)
	cmd := exec.Command(bin, "-test.run", "^TestReplay$", "-test.v", "-test.timeout", "0",
		"-replay="+replay, "-shrink", fmt.Sprintf("-shrink.runs=%d", runs))
	outText, err := cmd.CombinedOutput()
	_ = os.WriteFile(logPath, outText, 0o644)
	if err != nil {
		fmt.Printf("  shrink failed (%v): see %s\n", err, logPath)
		return
	}
	for _, line := range strings.Split(string(outText), "\n") {
		if t := strings.TrimSpace(line); strings.HasPrefix(t, "before:") || strings.HasPrefix(t, "after:") {
			fmt.Println("  " + t)
		}
	}
	fmt.Printf("  shrunk replay: %s\n", filepath.Join(dir, "replay.shrunk.json"))
}

// faults counts what a seed's run went through, so a clean sweep also
// shows that its faults really happened.
type faults struct {
	crashes, wipes, diskFailures, installs int
	diskFull, torn, flips, flipsRefused    int
	// The network's long faults: messages held, then released by each
	// cause; old copies delivered again; delays of election timeouts;
	// a previous process's read confirmations sent to the next (echoed),
	// restarted nodes crashed again soon (crashLoops).
	held, relHeal, relRestart, relLeader, relTimeout, redelivered, longDelays, echoed, crashLoops int
	// Expiry: the latest a read saw a key past its TTL, less the
	// downtime and leaderless time since its set (the most of any seed),
	// and the leases taken.
	lateMS, locks int
	// The operator's membership commands (swarm seeds with it), and the
	// seeds that ran on Pebble rather than its in-memory twin.
	operated, opCommands, opApplied, opRefused, opUnknown, opHandoffs int
	onPebble                                                          int
}

func (f *faults) add(g faults) {
	f.lateMS = max(f.lateMS, g.lateMS)
	f.locks += g.locks
	f.diskFull += g.diskFull
	f.torn += g.torn
	f.flips += g.flips
	f.flipsRefused += g.flipsRefused
	f.crashes += g.crashes
	f.wipes += g.wipes
	f.diskFailures += g.diskFailures
	f.installs += g.installs
	f.held += g.held
	f.relHeal += g.relHeal
	f.relRestart += g.relRestart
	f.relLeader += g.relLeader
	f.relTimeout += g.relTimeout
	f.redelivered += g.redelivered
	f.longDelays += g.longDelays
	f.echoed += g.echoed
	f.crashLoops += g.crashLoops
	f.operated += g.operated
	f.opCommands += g.opCommands
	f.opApplied += g.opApplied
	f.opHandoffs += g.opHandoffs
	f.opRefused += g.opRefused
	f.opUnknown += g.opUnknown
	f.onPebble += g.onPebble
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "seshat-sweep:", err)
	os.Exit(2)
}
