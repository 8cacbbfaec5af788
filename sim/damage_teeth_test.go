package sim

import (
	"strings"
	"testing"
)

// TestDamageTeeth plants the bug the flipped-byte check guards against:
// Pebble's default format, whose WAL cannot tell a flipped synced byte
// from a torn tail. The run must fail where a flip was injected, and the
// same seed must pass without the plant.
func TestDamageTeeth(t *testing.T) {
	if replaying() {
		t.Skip("replaying particular runs")
	}
	const seed = 24 // a swarm seed that flips synced WAL bytes (two)
	good := Run(Options{Seed: seed})
	if good.Failure != nil {
		t.Fatalf("seed %d fails without the plant: %v", seed, good.Failure)
	}
	if good.Stats.FlipsInjected == 0 || good.Stats.FlipsRefused != good.Stats.FlipsInjected {
		t.Fatalf("seed %d no longer tests flips: %+v", seed, good.Stats)
	}
	bad := Run(Options{Seed: seed, UnsafeLegacyWAL: true})
	if bad.Failure == nil || !strings.Contains(bad.Failure.Message, "flipped synced byte") {
		t.Fatalf("seed %d with the legacy WAL format: %v, want the flipped byte noticed", seed, bad.Failure)
	}
	t.Logf("planted legacy WAL format: %s", bad.Failure.Message)
}
