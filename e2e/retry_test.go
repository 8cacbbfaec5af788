package e2e

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// TestLeaderKillNeedsNoRetryByTheApplication: go-redis clients with their
// defaults, on the two followers, write and read without pause while the
// leader is killed. A request that finds no leader waits for the next one
// (node/parked.go), and one refused before it ran is answered
// CLUSTERDOWN, which go-redis retries by itself; so every error the
// application may see is CLUSTERDOWN (never ran: only if the election
// outlasts the wait and go-redis's retries) or UNKNOWN (a write whose
// outcome the node cannot tell), never one that hides whether the request
// ran, and every acknowledged write is there afterwards. With NOQUORUM
// (not retried) the application saw 40 and 801 errors in two runs.
func TestLeaderKillNeedsNoRetryByTheApplication(t *testing.T) {
	c := newCluster(t, buildBinary(t))
	lead := c.nodes[c.startAll()]
	ctx := context.Background()
	var survivors []*redis.Client
	for _, p := range c.without(lead) {
		r := redis.NewClient(&redis.Options{Addr: p.client})
		defer r.Close()
		survivors = append(survivors, r)
	}
	var (
		stop              atomic.Bool
		wg                sync.WaitGroup
		mu                sync.Mutex
		acked             []string
		unknown, requests int
		exhausted         int
		appErrs           []string
	)
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := survivors[w%len(survivors)]
			for i := 0; !stop.Load(); i++ {
				key := fmt.Sprintf("w%d:%d", w, i)
				err := r.Set(ctx, key, key, 0).Err()
				if err == nil {
					err = r.Get(ctx, key).Err()
				}
				mu.Lock()
				requests++
				switch {
				case err == nil:
					acked = append(acked, key)
				case strings.HasPrefix(err.Error(), "UNKNOWN "):
					unknown++
				case strings.HasPrefix(err.Error(), "CLUSTERDOWN "):
					exhausted++ // go-redis retried it, and the election outlasted its retries
				default:
					appErrs = append(appErrs, fmt.Sprintf("%s: %v", key, err))
				}
				mu.Unlock()
			}
		}()
	}
	time.Sleep(time.Second)
	lead.kill()
	killedAt := time.Now()
	time.Sleep(3 * time.Second)
	stop.Store(true)
	wg.Wait()
	t.Logf("%d requests, %d acknowledged writes, %d UNKNOWN, %d CLUSTERDOWN after go-redis's retries, %d other errors; leader killed %v before the end", requests, len(acked), unknown, exhausted, len(appErrs), time.Since(killedAt).Round(time.Millisecond))
	if len(appErrs) > 0 {
		t.Fatalf("the application saw %d errors that do not say whether the request ran, first: %s", len(appErrs), appErrs[0])
	}
	for _, key := range acked {
		if v, err := survivors[0].Get(ctx, key).Result(); err != nil || v != key {
			t.Fatalf("acknowledged write %s reads %q, %v", key, v, err)
		}
	}
}
