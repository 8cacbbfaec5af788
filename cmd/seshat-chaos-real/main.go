// Command seshat-chaos-real runs the chaos scenarios against real
// seshat-node processes on loopback (package chaos/realcluster) and
// prints a table: scenario, verdict, time to a new leader, time to heal,
// and the background clients' commands done, failed and unknown.
//
//	go run ./cmd/seshat-chaos-real                      # the thirteen scenarios
//	go run ./cmd/seshat-chaos-real -scenario=leader-killed,cascading -runs=3
//	go run ./cmd/seshat-chaos-real -scenario=failover -kills=10
//	go run ./cmd/seshat-chaos-real -scenario=heal -heal=5s,30s,120s
//
// It builds seshat-node first. A failed run leaves its folder (each
// node's log and data directory, the trace, porcupine's HTML report with
// the fault windows, the illegal key's operations) under -dir. Ctrl-C or
// SIGTERM stops the run in progress and every process it started; the
// exit code is 1 when any run failed.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/seshat-db/seshat/chaos"
	"github.com/seshat-db/seshat/chaos/realcluster"
)

func main() { os.Exit(run()) }

func run() int {
	names := flag.String("scenario", "all", "comma-separated scenarios: all (the eleven and the two disk-wipe ones), a name, smoke, leader-paused, heal or failover")
	runs := flag.Int("runs", 1, "run the scenarios this many times, in turn")
	seed := flag.Uint64("seed", 0, "seed of the first run (0: from the clock); run i uses seed+i")
	dir := flag.String("dir", "chaos-real-failures", "where failed runs leave their folders")
	keep := flag.Bool("keep", false, "keep the folders of runs that pass too")
	kills := flag.Int("kills", 10, "failover: how many times the leader is killed")
	heal := flag.String("heal", "5s,30s,120s", "heal: partition lengths, in turn")
	verbose := flag.Bool("v", false, "print each run's trace as it happens")
	logLevel := flag.String("log-level", "info", "the nodes' log level: debug, info, warn or error")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	var healLengths []time.Duration
	for _, s := range strings.Split(*heal, ",") {
		d, err := time.ParseDuration(strings.TrimSpace(s))
		if err != nil {
			fail("-heal: %v", err)
		}
		healLengths = append(healLengths, d)
	}
	var failover, healTimes []time.Duration
	var scenarios []chaos.Scenario
	for _, name := range strings.Split(*names, ",") {
		switch name = strings.TrimSpace(name); name {
		case "all":
			for _, s := range chaos.Scenarios() {
				if !s.SimulatorOnly {
					scenarios = append(scenarios, s)
				}
			}
		case "smoke":
			scenarios = append(scenarios, realcluster.Smoke)
		case "leader-paused":
			scenarios = append(scenarios, realcluster.LeaderPaused)
		case "failover":
			scenarios = append(scenarios, realcluster.Failover(*kills, &failover))
		case "heal":
			scenarios = append(scenarios, realcluster.HealAfter(healLengths, &healTimes))
		default:
			s, ok := chaos.Lookup(name)
			if !ok {
				fail("no scenario %q", name)
			}
			scenarios = append(scenarios, s)
		}
	}
	if *seed == 0 {
		*seed = uint64(time.Now().UnixNano() % 1e6)
	}

	bindir, err := os.MkdirTemp("", "seshat-chaos-real-bin-")
	if err != nil {
		fail("%v", err)
	}
	defer os.RemoveAll(bindir)
	fmt.Println("building seshat-node ...")
	bin, err := realcluster.Build(ctx, bindir)
	if err != nil {
		os.RemoveAll(bindir)
		fail("%v", err)
	}

	out := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(out, "scenario\tverdict\tnew leader\theal\tops done\tfailed\tunknown\ttook\t")
	var failed []realcluster.Result
	start := time.Now()
	n := 0
	for round := range *runs {
		for _, s := range scenarios {
			if ctx.Err() != nil {
				break
			}
			runSeed := *seed + uint64(n)
			n++
			opts := realcluster.Options{
				Bin: bin, Seed: runSeed, Keep: *keep, LogLevel: *logLevel,
				Dir: filepath.Join(*dir, fmt.Sprintf("%s-seed%d", s.Name, runSeed)),
			}
			if *verbose {
				opts.Verbose = os.Stdout
			}
			fmt.Printf("run %d: %s (seed %d) ...\n", round+1, s.Name, runSeed)
			res := realcluster.Run(ctx, opts, s)
			verdict := "pass"
			if res.Failure != nil {
				verdict = "FAIL (" + res.Failure.Class + ")"
				failed = append(failed, res)
				fmt.Printf("  %v\n  folder: %s\n", res.Failure, res.Dir)
			}
			fmt.Fprintf(out, "%s\t%s\t%s\t%s\t%d\t%d\t%d\t%s\t\n", s.Name, verdict, dur(res.NewLeader), dur(res.Heal),
				res.Clients.OK, res.Clients.Refused, res.Clients.Unknown, res.Took.Round(time.Second))
		}
	}
	fmt.Println()
	out.Flush()
	fmt.Printf("\n%d runs in %s, %d failed\n", n, time.Since(start).Round(time.Second), len(failed))
	if len(failover) > 0 {
		fmt.Printf("failover (leader killed to the first acknowledged write), %d kills: %s\n", len(failover), summary(failover))
	}
	if len(healTimes) > 0 {
		for i, d := range healTimes {
			fmt.Printf("heal: cut off for %s, served a read %s after the heal (target %s)\n", healLengths[i%len(healLengths)], dur(d), realcluster.HealBound)
		}
	}
	if ctx.Err() != nil {
		fmt.Println("interrupted")
		return 130
	}
	if len(failed) > 0 {
		return 1
	}
	return 0
}

func dur(d time.Duration) string {
	if d == 0 {
		return "-"
	}
	return d.Round(time.Millisecond).String()
}

// summary is min, median and max.
func summary(ds []time.Duration) string {
	s := slices.Clone(ds)
	slices.Sort(s)
	return fmt.Sprintf("min %s, median %s, max %s", dur(s[0]), dur(s[len(s)/2]), dur(s[len(s)-1]))
}

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "seshat-chaos-real: "+format+"\n", args...)
	os.Exit(2)
}
