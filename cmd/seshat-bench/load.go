package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"time"
)

// op performs one request (or one pipeline of them) for client c and
// reports how many operations it carried. rng is the client's own.
type op func(ctx context.Context, c int, rng *rand.Rand) (int, error)

// result is one workload's figures against one target.
type result struct {
	ops    int
	errors int
	wall   time.Duration
	p50    time.Duration
	p99    time.Duration
	// firstErr is the first error seen, for the report: a workload that
	// only fails must say why rather than print a throughput of zero.
	firstErr error
}

func (r result) perSecond() float64 {
	if r.wall <= 0 {
		return 0
	}
	return float64(r.ops) / r.wall.Seconds()
}

// run drives clients concurrent loops of do for d, after a warm-up of
// warm, and measures each call's latency (a pipeline's latency is the
// whole pipeline's).
func run(clients int, warm, d time.Duration, seed uint64, do op) result {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var (
		mu        sync.Mutex
		latencies []time.Duration
		res       result
		wg        sync.WaitGroup
	)
	start := time.Now()
	measureFrom, stopAt := start.Add(warm), start.Add(warm+d)
	for c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(seed, uint64(c)))
			var mine []time.Duration
			ops, errs := 0, 0
			var firstErr error
			for {
				t0 := time.Now()
				if t0.After(stopAt) {
					break
				}
				n, err := do(ctx, c, rng)
				t1 := time.Now()
				if t0.Before(measureFrom) {
					continue
				}
				if err != nil {
					errs++
					if firstErr == nil {
						firstErr = err
					}
					continue
				}
				ops += n
				mine = append(mine, t1.Sub(t0))
			}
			mu.Lock()
			latencies = append(latencies, mine...)
			res.ops += ops
			res.errors += errs
			if res.firstErr == nil {
				res.firstErr = firstErr
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	res.wall = d
	slices.Sort(latencies)
	res.p50, res.p99 = quantile(latencies, 0.50), quantile(latencies, 0.99)
	return res
}

func quantile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[min(len(sorted)-1, int(q*float64(len(sorted))))]
}

func key(rng *rand.Rand, keys int) string {
	return fmt.Sprintf("key:%08d", rng.IntN(keys))
}
