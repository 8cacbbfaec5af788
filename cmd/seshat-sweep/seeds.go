package main

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// dateSeedStride spaces the nights' seed ranges: a night's sweep may use
// up to this many seeds per scenario before it reaches the next night's.
const dateSeedStride = 100_000

// parseSeed0 reads -seed0: a number, or "date", which starts at a range of
// its own for the UTC day of now, so each night sweeps seeds no night
// swept before. The date shows in the seed: 2026-11-30 starts at
// 2026113000001.
func parseSeed0(s string, now time.Time) (int, error) {
	if s == "date" {
		y, m, d := now.UTC().Date()
		return (y*10000+int(m)*100+d)*dateSeedStride + 1, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 {
		return 0, fmt.Errorf("-seed0=%q: want a seed (1 or more) or \"date\"", s)
	}
	return n, nil
}

// oneProcUnlessSet gives each simulator process one P (GOMAXPROCS=1)
// unless the caller chose: a sweep runs a process per core, and a run is
// one goroutine that hands each synced commit to Pebble's WAL goroutine
// and waits. On one P that handoff is a goroutine switch on one thread; on
// more, it wakes another thread each way (about twelve thousand context
// switches a seed), and a seed costs about a fifth more CPU. On a machine
// the sweep keeps busy, CPU per seed is what sets seeds per second.
func oneProcUnlessSet(env []string) []string {
	for _, kv := range env {
		if strings.HasPrefix(kv, "GOMAXPROCS=") {
			return env
		}
	}
	return append(env, "GOMAXPROCS=1")
}
