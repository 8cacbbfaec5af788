package realenv_test

import (
	"context"
	"flag"
	"fmt"
	"slices"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

var waveKeys = flag.Int("expiry.keys", 1_000_000, "BenchmarkSetDuringExpiryWave: keys that expire at once")

// BenchmarkSetDuringExpiryWave loads -expiry.keys keys whose TTLs all run
// out at the same moment into a one-node cluster, then times SETs before
// and while the leader deletes them (active expiry, bounded batches
// through the log): p99 SET latency must not stall during the wave.
// Run it alone (make bench-expiry): it reports p99 before the wave, p99
// during it, their ratio, and how long the wave took.
func BenchmarkSetDuringExpiryWave(b *testing.B) {
	addr, _ := seshatNode(b)
	ctx := context.Background()
	c := redis.NewClient(&redis.Options{Addr: addr, Protocol: 2, DisableIdentity: true, MaxRetries: -1, PoolSize: 4})
	defer c.Close()
	load := redis.NewClient(&redis.Options{Addr: addr, Protocol: 2, DisableIdentity: true, MaxRetries: -1})
	defer load.Close()

	// Every key expires at one wall-clock moment: loading must be done
	// by then.
	start := time.Now()
	deadline := start.Add(30*time.Second + time.Duration(*waveKeys/4_000)*time.Second)
	for i := 0; i < *waveKeys; i += 1000 {
		p := load.Pipeline()
		for j := i; j < min(i+1000, *waveKeys); j++ {
			p.Set(ctx, "wave:"+strconv.Itoa(j), "v", time.Until(deadline))
		}
		if _, err := p.Exec(ctx); err != nil {
			b.Fatal(err)
		}
	}
	if time.Now().After(deadline) {
		b.Fatalf("loading %d keys took %s, past their deadline", *waveKeys, time.Since(start))
	}
	b.Logf("loaded %d keys in %s", *waveKeys, time.Since(start).Round(time.Millisecond))

	timeSets := func(n int, until func() bool) []time.Duration {
		var lat []time.Duration
		for i := 0; i < n && until(); i++ {
			t0 := time.Now()
			if err := c.Set(ctx, "probe:"+strconv.Itoa(i%100), "x", 0).Err(); err != nil {
				b.Fatal(err)
			}
			lat = append(lat, time.Since(t0))
		}
		return lat
	}
	b.ResetTimer()
	before := timeSets(max(b.N, 2000), func() bool { return time.Until(deadline) > time.Second })

	// The wave runs from the first deletion until DBSIZE is down to the
	// probe keys.
	var waving, over atomic.Bool
	go func() {
		for {
			n, err := load.DBSize(ctx).Result()
			if err != nil {
				return
			}
			if n < int64(*waveKeys) {
				waving.Store(true)
			}
			if n <= 100 {
				over.Store(true)
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
	}()
	for !waving.Load() {
		time.Sleep(time.Millisecond)
	}
	waveStart := time.Now()
	during := timeSets(1<<30, func() bool { return !over.Load() })
	wave := time.Since(waveStart)
	b.StopTimer()

	p99 := func(l []time.Duration) time.Duration {
		if len(l) == 0 {
			return 0
		}
		slices.Sort(l)
		return l[len(l)*99/100]
	}
	pb, pd := p99(before), p99(during)
	b.ReportMetric(float64(pb.Microseconds()), "p99-before-µs")
	b.ReportMetric(float64(pd.Microseconds()), "p99-wave-µs")
	if pb > 0 {
		b.ReportMetric(float64(pd)/float64(pb), "p99-ratio")
	}
	b.ReportMetric(wave.Seconds(), "wave-s")
	b.ReportMetric(float64(*waveKeys)/wave.Seconds(), "expired-keys/s")
	fmt.Printf("expiry wave: %d keys in %s; %d SETs during it, p99 %s (before: %d SETs, p99 %s)\n",
		*waveKeys, wave.Round(time.Millisecond), len(during), pd, len(before), pb)
}
