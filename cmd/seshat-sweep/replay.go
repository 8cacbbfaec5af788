package main

import (
	"fmt"
	"strings"
	"sync"
	"time"
)

// seedRun names one run: a scenario (or the swarm) and a seed.
type seedRun struct {
	scenario string
	seed     int
}

func (r seedRun) String() string { return fmt.Sprintf("%s seed %d", r.scenario, r.seed) }

// sample picks n of runs, evenly spread over them (runs are in the sweep's
// interleaved order, so every scenario gets its share).
func sample(runs []seedRun, n int) []seedRun {
	if n >= len(runs) {
		return runs
	}
	picked := make([]seedRun, 0, n)
	for i := range n {
		picked = append(picked, runs[i*len(runs)/n])
	}
	return picked
}

// replayTwice runs each sampled seed twice more, each time in a process
// of its own, and returns the run hashes each round reported.
func replayTwice(bin, out, logs string, runs []seedRun, jobs int) []map[seedRun]string {
	rounds := make([]map[seedRun]string, 2)
	for r := range rounds {
		rounds[r] = map[seedRun]string{}
		var mu sync.Mutex
		work := make(chan seedRun)
		var wg sync.WaitGroup
		for range jobs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for run := range work {
					j := job{scenario: run.scenario, seed0: run.seed, seeds: 1, log: fmt.Sprintf("replay%d-", r+1)}
					runJob(bin, out, logs, j, func(string, crashPoints) {}, func(string, int, bool, string, time.Duration, faults) {}, func(got seedRun, hash string) {
						mu.Lock()
						defer mu.Unlock()
						rounds[r][got] = hash
					})
				}
			}()
		}
		for _, run := range runs {
			work <- run
		}
		close(work)
		wg.Wait()
	}
	return rounds
}

// compareHashes lists the sampled runs whose hash was missing or differed
// between the sweep and a replay: a seed that does not replay exactly.
func compareHashes(runs []seedRun, swept map[seedRun]string, replays []map[seedRun]string) []string {
	var bad []string
	for _, run := range runs {
		hashes := []string{swept[run]}
		same := swept[run] != ""
		for _, round := range replays {
			hashes = append(hashes, round[run])
			same = same && round[run] == swept[run]
		}
		if !same {
			for i, h := range hashes {
				if h == "" {
					hashes[i] = "(none)"
				}
			}
			bad = append(bad, fmt.Sprintf("%s: hashes %s", run, strings.Join(hashes, ", ")))
		}
	}
	return bad
}

// parseHashLine reads the simulator's SWEEPHASH line.
func parseHashLine(line string) (seedRun, string, bool) {
	var run seedRun
	var hash string
	if !strings.HasPrefix(line, "SWEEPHASH ") {
		return run, "", false
	}
	if _, err := fmt.Sscanf(line, "SWEEPHASH scenario=%s seed=%d hash=%s", &run.scenario, &run.seed, &hash); err != nil {
		return run, "", false
	}
	return run, hash, true
}
