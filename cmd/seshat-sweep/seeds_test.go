package main

import (
	"testing"
	"time"
)

func TestParseSeed0(t *testing.T) {
	night := time.Date(2026, 11, 30, 2, 17, 0, 0, time.UTC)
	got, err := parseSeed0("date", night)
	if err != nil || got != 2026113000001 {
		t.Fatalf("date: got %d, %v; want 2026113000001", got, err)
	}
	next, _ := parseSeed0("date", night.Add(24*time.Hour))
	if next-got < dateSeedStride {
		t.Fatalf("the next night starts at %d, inside this night's range from %d", next, got)
	}
	if n, err := parseSeed0("42", night); err != nil || n != 42 {
		t.Fatalf("42: got %d, %v", n, err)
	}
	for _, bad := range []string{"", "0", "-3", "yesterday"} {
		if _, err := parseSeed0(bad, night); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

func TestSample(t *testing.T) {
	var runs []seedRun
	for i := range 100 {
		runs = append(runs, seedRun{"swarm", i + 1})
	}
	got := sample(runs, 4)
	want := []seedRun{{"swarm", 1}, {"swarm", 26}, {"swarm", 51}, {"swarm", 76}}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("got %v, want %v", got, want)
		}
	}
	if n := len(sample(runs[:3], 20)); n != 3 {
		t.Fatalf("a sample of 20 from 3 runs has %d", n)
	}
}

func TestCompareHashes(t *testing.T) {
	swept := map[seedRun]string{{"swarm", 1}: "aa", {"swarm", 2}: "bb"}
	replays := []map[seedRun]string{
		{{"swarm", 1}: "aa", {"swarm", 2}: "bb"},
		{{"swarm", 1}: "aa", {"swarm", 2}: "bc"},
	}
	bad := compareHashes([]seedRun{{"swarm", 1}, {"swarm", 2}}, swept, replays)
	if len(bad) != 1 || bad[0] != "swarm seed 2: hashes bb, bb, bc" {
		t.Fatalf("got %q", bad)
	}
	missing := compareHashes([]seedRun{{"swarm", 3}}, swept, replays)
	if len(missing) != 1 {
		t.Fatalf("a seed with no hash passed: %q", missing)
	}
}

func TestParseHashLine(t *testing.T) {
	run, hash, ok := parseHashLine("SWEEPHASH scenario=swarm seed=2026113000007 hash=00ab12cd34ef5678")
	if !ok || run != (seedRun{"swarm", 2026113000007}) || hash != "00ab12cd34ef5678" {
		t.Fatalf("got %v %q %v", run, hash, ok)
	}
	if _, _, ok := parseHashLine("SWEEP scenario=swarm seed=1 result=ok"); ok {
		t.Fatal("a SWEEP line read as a hash line")
	}
}
