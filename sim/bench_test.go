package sim

import (
	"os"
	"runtime/debug"
	"testing"
	"time"
)

// BenchmarkSimSeed runs the reference run, 60 simulated seconds of
// 3 nodes and 8 clients with every fault on, and reports how many
// simulated seconds pass per wall second.
func BenchmarkSimSeed(b *testing.B) {
	var simulated time.Duration
	start := time.Now()
	for i := range b.N {
		res := Run(Options{Seed: uint64(1000 + i), Nodes: 3, Clients: 8, Run: 60 * time.Second})
		if res.Failure != nil {
			b.Fatal(res.Failure)
		}
		simulated += res.Stats.SimulatedTime
	}
	b.ReportMetric(simulated.Seconds()/time.Since(start).Seconds(), "sim-s/wall-s")
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
