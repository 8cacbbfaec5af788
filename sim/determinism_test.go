// Determinism: a seed must replay the same run, event for event. Each seed
// runs twice in this process and the rolling hashes of their events must
// match; on a mismatch the test names the first event where they parted.
package sim

import (
	"testing"
	"time"
)

func TestDeterminism(t *testing.T) {
	if replaying() {
		t.Skip("replaying particular runs")
	}
	seeds := 20
	if testing.Short() {
		seeds = 5
	}
	for seed := uint64(1); seed <= uint64(seeds); seed++ {
		opts := Options{Seed: seed, Run: 20 * time.Second, FaultsEnd: 12 * time.Second}.FromSeed()
		a, b := run(opts, true), run(opts, true)
		if a.Hash == b.Hash && len(a.Events) == len(b.Events) {
			continue
		}
		i := firstDivergence(a.Events, b.Events)
		t.Errorf("seed %d is not deterministic: %d vs %d events, hashes %016x vs %016x", seed, len(a.Events), len(b.Events), a.Hash, b.Hash)
		for j := max(0, i-3); j <= i && j < min(len(a.Events), len(b.Events)); j++ {
			t.Errorf("  event %d: first run  %s", j, a.Events[j])
			t.Errorf("  event %d: second run %s", j, b.Events[j])
		}
		return
	}
}

// firstDivergence returns the index of the first event whose rolling hash
// differs between the two runs.
func firstDivergence(a, b []EventRecord) int {
	for i := range min(len(a), len(b)) {
		if a[i].Hash != b[i].Hash {
			return i
		}
	}
	return min(len(a), len(b))
}

// TestDeterminismCatchesLeaks proves the comparison has teeth: with raft's
// election randomness left unseeded, two runs of one seed must part.
func TestDeterminismCatchesLeaks(t *testing.T) {
	if replaying() {
		t.Skip("replaying particular runs")
	}
	opts := Options{Seed: 7, Run: 5 * time.Second, FaultsEnd: 3 * time.Second}.FromSeed()
	a := run(opts, true)
	unseededCryptoRand = true
	defer func() { unseededCryptoRand = false }()
	b := run(opts, true)
	if a.Hash == b.Hash {
		t.Fatal("a run with unseeded election timeouts hashed the same as a seeded one")
	}
	t.Logf("runs parted at event %d of %d", firstDivergence(a.Events, b.Events), len(a.Events))
}

// TestDeterminismCatchesDiskTimingLeak plants the leaks heldFS and the
// crash's own streams removed (leakWriterTiming): WAL writes reach the
// disk when Pebble's writer goroutine issues them, no crash settles the
// writer, a crash that keeps unsynced data keeps half of it through
// CrashClone's per-block draws (made while ranging over a map), and the
// tear in the WAL's tail is drawn from the stream CrashClone drew from,
// once per block of every file: a count set by where Pebble's memtables
// rotated (its skiplist draws node heights from the unseeded global
// rand) and how far its background flushes got. The run hash covers what
// each restart recovered, so two runs of one seed must part; a seed whose
// crashes all lose their unsynced data cannot show it, so the test tries
// seeds until one parts. Without the plant, each seed it tried must
// replay exactly.
func TestDeterminismCatchesDiskTimingLeak(t *testing.T) {
	if replaying() {
		t.Skip("replaying particular runs")
	}
	crashy := func(seed uint64) Options {
		return Options{Seed: seed, UnsyncedPercent: 100, CrashEvery: 200 * time.Millisecond, Run: 14 * time.Second, FaultsEnd: 10 * time.Second}.FromSeed()
	}
	const seedsMax = 12
	for seed := uint64(1); seed <= seedsMax; seed++ {
		if a, b := run(crashy(seed), true), run(crashy(seed), true); a.Hash != b.Hash {
			t.Fatalf("seed %d without the leak: runs parted at event %d", seed, firstDivergence(a.Events, b.Events))
		}
		leakWriterTiming = true
		a, b := run(crashy(seed), true), run(crashy(seed), true)
		leakWriterTiming = false
		if a.Hash != b.Hash {
			i := firstDivergence(a.Events, b.Events)
			t.Logf("seed %d with the leak: runs parted at event %d of %d: %s vs %s", seed, i, len(a.Events), a.Events[min(i, len(a.Events)-1)], b.Events[min(i, len(b.Events)-1)])
			return
		}
	}
	t.Fatalf("a crash image that depends on goroutine timing went unnoticed in %d seeds", seedsMax)
}
