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
// leader is killed. A request refused before it ran (no leader known
// during the election) is answered CLUSTERDOWN, which go-redis retries by
// itself, so the application sees no error at all, except UNKNOWN for a
// write whose outcome the node cannot tell; and every acknowledged write
// is there afterwards.
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
	t.Logf("%d requests, %d acknowledged writes, %d UNKNOWN, %d errors; leader killed %v before the end", requests, len(acked), unknown, len(appErrs), time.Since(killedAt).Round(time.Millisecond))
	if len(appErrs) > 0 {
		t.Fatalf("the application saw %d errors for requests that never ran, first: %s", len(appErrs), appErrs[0])
	}
	for _, key := range acked {
		if v, err := survivors[0].Get(ctx, key).Result(); err != nil || v != key {
			t.Fatalf("acknowledged write %s reads %q, %v", key, v, err)
		}
	}
}
