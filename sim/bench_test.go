package sim

import (
	"os"
	"runtime/debug"
	"syscall"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
)

// BenchmarkSimSeed runs the reference run, 60 simulated seconds of
// 3 nodes and 8 clients with every fault on, and reports how many
// simulated seconds and events pass per wall second. The machine is often
// shared, so it also reports simulated seconds per second of this
// process's CPU time, which another process's load disturbs far less.
// scripts/bench-sim.sh runs it from two revisions back to back.
func BenchmarkSimSeed(b *testing.B) {
	b.ReportAllocs() // bytes and allocations per seed: the one figure load does not disturb
	var simulated time.Duration
	events := 0
	start, cpuStart := time.Now(), processCPU()
	for i := range b.N {
		res := Run(Options{Seed: uint64(1000 + i), Nodes: 3, Clients: 8, Run: 60 * time.Second})
		if res.Failure != nil {
			b.Fatal(res.Failure)
		}
		simulated += res.Stats.SimulatedTime
		events += res.Stats.Events
	}
	wall, cpu := time.Since(start).Seconds(), (processCPU() - cpuStart).Seconds()
	b.ReportMetric(simulated.Seconds()/wall, "sim-s/wall-s")
	b.ReportMetric(float64(events)/wall, "events/s")
	b.ReportMetric(simulated.Seconds()/cpu, "sim-s/cpu-s")
}

// processCPU is the user and system time this process has used so far,
// on every thread: Pebble's background work counts too.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// TestMain trades memory for speed: a simulation allocates briskly and
// keeps little, so collecting garbage less often (GOGC=400 unless GOGC is
// set) makes seeds about a fifth faster.
func TestMain(m *testing.M) {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(400)
	}
	os.Exit(m.Run())
}

// BenchmarkCheckHistory judges the histories of BenchmarkSimSeed's four
// seeds with porcupine, alone: the part of a run the model's cost decides.
func BenchmarkCheckHistory(b *testing.B) {
	var histories [][]porcupine.Operation
	for seed := range uint64(4) {
		res := Run(Options{Seed: 1000 + seed, Nodes: 3, Clients: 8, Run: 60 * time.Second})
		if res.Failure != nil {
			b.Fatal(res.Failure)
		}
		histories = append(histories, res.hist.ops)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		for _, ops := range histories {
			if !porcupine.CheckOperations(kvModel, ops) {
				b.Fatal("the history is not linearizable")
			}
		}
	}
}
