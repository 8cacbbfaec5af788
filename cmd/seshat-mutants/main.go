// Command seshat-mutants is mutation testing as a standing check (make
// mutants): for each planted bug of internal/mutant, it runs the
// simulator with that bug switched on over a bounded budget and says
// whether some seed killed it.
//
//	go run ./cmd/seshat-mutants                     (make mutants)
//	go run ./cmd/seshat-mutants -only=vote-not-persisted -budget=10m
//
// It builds the simulator's test binary once with -tags mutants, then runs
// -jobs mutants at a time. Each mutant walks a plan of (scenario, seeds)
// chunks, one process per chunk, until a seed fails or its -budget of wall
// time is spent: first its area's scenarios, then rounds that interleave
// swarm seeds with every chaos scenario. The seed that killed a mutant is
// run once more without it, to show the failure is the mutant's. A table
// closes the run; a surviving mutant, or a killing seed that also fails
// clean, makes the command exit 1.
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/seshat-db/seshat/chaos"
	"github.com/seshat-db/seshat/internal/mutant"
)

// areaScenarios are tried first for a mutant of the area: the scenarios
// whose faults reach that code soonest. The rounds after them try
// everything.
var areaScenarios = map[string][]string{
	"durability": {"kill-mid-burst", "full-restart", "leader-killed"},
	"votes":      {"leader-killed", "full-restart", "cascading"},
	"reads":      {"swarm", "leader-isolated", "partition-2-1", "asymmetric"}, // the swarm echoes confirmations past restarts
	"dedup":      {"swarm", "swarm", "kill-mid-burst"},                        // the swarm duplicates messages
	"snapshots":  {"compaction", "disk-wiped-lagging", "disk-wiped"},
	"compaction": {"compaction", "disk-wiped-lagging", "follower-killed"},
	"membership": {"change-crash-reads", "membership", "disk-wiped", "disk-wiped-lagging", "learner-wiped-held-acks", "retired-join-held"},
	"apply":      {"slow-network", "kill-mid-burst"},
}

type step struct {
	scenario     string
	seed0, seeds uint64
}

type outcome struct {
	info     mutant.Info
	killed   bool
	scenario string
	seed     uint64
	class    string
	seeds    int
	wall     time.Duration
	clean    string // the killing seed without the mutant: "ok", "FAILS", or why it could not tell
}

func main() {
	budget := flag.Duration("budget", 4*time.Minute, "wall time per mutant")
	jobs := flag.Int("jobs", 2, "mutants at once, one process each")
	only := flag.String("only", "", "comma-separated mutants (default: all)")
	swarmChunk := flag.Int("swarm-chunk", 4, "swarm seeds per round")
	rounds := flag.Int("rounds", 200, "rounds at most, each new seeds of every scenario")
	out := flag.String("out", "sim-failures/mutants", "where failure folders and logs go")
	flag.Parse()

	var todo []mutant.Info
	for _, m := range mutant.All {
		if *only == "" || contains(strings.Split(*only, ","), string(m.Name)) {
			todo = append(todo, m)
		}
	}
	if len(todo) == 0 {
		fail(fmt.Errorf("no mutant matches -only=%s", *only))
	}
	logs := filepath.Join(*out, "logs")
	if err := os.MkdirAll(logs, 0o755); err != nil {
		fail(err)
	}
	bin := filepath.Join("bin", "sim-mutants.test")
	build := exec.Command("go", "test", "-c", "-tags", "mutants", "-o", bin, "./sim")
	build.Stdout, build.Stderr = os.Stdout, os.Stderr
	if err := build.Run(); err != nil {
		fail(fmt.Errorf("building the simulator with -tags mutants: %w", err))
	}
	var scenarios []string
	for _, s := range chaos.Scenarios() {
		if s.Pending == "" {
			scenarios = append(scenarios, s.Name)
		}
	}

	start := time.Now()
	results := make([]outcome, len(todo))
	next := make(chan int)
	var wg sync.WaitGroup
	var mu sync.Mutex
	for range *jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				r := runMutant(bin, *out, logs, todo[i], plan(todo[i].Area, scenarios, *swarmChunk, *rounds), *budget)
				mu.Lock()
				results[i] = r
				fmt.Printf("%-28s %s\n", r.info.Name, r.verdict())
				mu.Unlock()
			}
		}()
	}
	for i := range todo {
		next <- i
	}
	close(next)
	wg.Wait()

	fmt.Printf("\n%-28s %-11s %-8s %-32s %-16s %6s %8s  %s\n", "mutant", "area", "result", "killed by (scenario seed)", "class", "seeds", "wall", "same seed clean")
	bad := 0
	for _, r := range results {
		verdict, by, class, clean := "SURVIVED", "-", "-", "-"
		if r.killed {
			verdict, by, class, clean = "killed", fmt.Sprintf("%s %d", r.scenario, r.seed), r.class, r.clean
		}
		if !r.killed || r.clean != "ok" {
			bad++
		}
		name := string(r.info.Name)
		if r.info.Unsafe {
			name += " (U)"
		}
		fmt.Printf("%-28s %-11s %-8s %-32s %-16s %6d %8s  %s\n", name, r.info.Area, verdict, by, class, r.seeds, r.wall.Round(time.Second), clean)
	}
	fmt.Printf("\n%d mutants in %s with %d jobs and %s per mutant; (U): an existing sim.Options.Unsafe switch. Replay a kill with\n  go test -tags mutants ./sim -run 'TestMutant$' -mutant=NAME -scenario=SCENARIO -seed=SEED -sim.v\n",
		len(results), time.Since(start).Round(time.Second), *jobs, *budget)
	if bad > 0 {
		fmt.Printf("%d mutants survived or were killed by a seed that fails without them too\n", bad)
		os.Exit(1)
	}
	fmt.Println("every mutant killed")
}

func (r outcome) verdict() string {
	if !r.killed {
		return fmt.Sprintf("SURVIVED %d seeds in %s", r.seeds, r.wall.Round(time.Second))
	}
	return fmt.Sprintf("killed by %s seed %d (%s) after %d seeds in %s; clean: %s", r.scenario, r.seed, r.class, r.seeds, r.wall.Round(time.Second), r.clean)
}

// plan lists what a mutant of area tries, in order: its area's scenarios,
// then rounds of swarm seeds and one new seed of every scenario.
func plan(area string, scenarios []string, swarmChunk, rounds int) []step {
	var steps []step
	used := map[string]uint64{} // the next seed of each scenario
	take := func(s string, n uint64) {
		steps = append(steps, step{scenario: s, seed0: used[s] + 1, seeds: n})
		used[s] += n
	}
	for _, s := range areaScenarios[area] {
		take(s, 2)
	}
	for range rounds {
		take("swarm", uint64(swarmChunk))
		for _, s := range scenarios {
			take(s, 1)
		}
	}
	return steps
}

// runMutant walks steps with m switched on until a seed fails or budget
// is spent.
func runMutant(bin, out, logs string, m mutant.Info, steps []step, budget time.Duration) outcome {
	r := outcome{info: m}
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), budget)
	defer cancel()
	logf, err := os.Create(filepath.Join(logs, string(m.Name)+".log"))
	if err != nil {
		fail(err)
	}
	defer logf.Close()
	for _, st := range steps {
		if ctx.Err() != nil {
			break
		}
		lines, _ := runSeeds(ctx, bin, out, logf, []string{"-test.run", "^TestMutant$", "-mutant=" + string(m.Name)}, st)
		for _, l := range lines {
			r.seeds++
			if !l.ok {
				r.killed, r.scenario, r.seed, r.class = true, l.scenario, l.seed, l.class
				break
			}
		}
		if r.killed {
			break
		}
	}
	r.wall = time.Since(start)
	if r.killed {
		r.clean = cleanRun(bin, out, logf, r.scenario, r.seed)
	}
	return r
}

// cleanRun runs the killing seed without the mutant.
func cleanRun(bin, out string, logf *os.File, scenario string, seed uint64) string {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	lines, err := runSeeds(ctx, bin, out, logf, []string{"-test.run", "^(TestSim|TestScenarios)$"}, step{scenario: scenario, seed0: seed, seeds: 1})
	switch {
	case len(lines) != 1:
		return fmt.Sprintf("no verdict (%v)", err)
	case lines[0].ok:
		return "ok"
	}
	return "FAILS (" + lines[0].class + "): a bug without the mutant"
}

type sweepLine struct {
	scenario string
	seed     uint64
	ok       bool
	class    string
}

// runSeeds runs one step's seeds in a process of its own and returns its
// SWEEP lines up to the first failure, which ends the process: the
// failure's report (a traced replay) is not needed here.
func runSeeds(ctx context.Context, bin, out string, logf *os.File, args []string, st step) ([]sweepLine, error) {
	args = append(args, "-test.v", "-test.timeout", "0", "-scenario="+st.scenario,
		fmt.Sprintf("-seed0=%d", st.seed0), fmt.Sprintf("-seeds=%d", st.seeds), "-sweep.lines", "-sim.out="+out)
	cmd := exec.CommandContext(ctx, bin, args...)
	pipe, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	cmd.Stderr = logf
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	var lines []sweepLine
	sc := bufio.NewScanner(pipe)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		text := sc.Text()
		fmt.Fprintln(logf, text)
		if !strings.HasPrefix(text, "SWEEP ") {
			continue
		}
		var l sweepLine
		var result string
		if _, err := fmt.Sscanf(text, "SWEEP scenario=%s seed=%d result=%s class=%s", &l.scenario, &l.seed, &result, &l.class); err != nil {
			fmt.Fprintf(logf, "unreadable line %q: %v\n", text, err)
			continue
		}
		l.ok = result == "ok"
		lines = append(lines, l)
		if !l.ok {
			_ = cmd.Process.Kill() // the process this call started, by its handle
			break
		}
	}
	_ = cmd.Wait()
	return lines, ctx.Err()
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "seshat-mutants:", err)
	os.Exit(2)
}
