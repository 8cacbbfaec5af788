package e2e

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// TestExpiry: go-redis's TTL calls against real processes. A key set with
// a TTL is there until its TTL has passed and gone soon after, on a
// follower too; a lock taken with SET NX PX holds across a leader kill,
// and is free again only once its lease has run out.
func TestExpiry(t *testing.T) {
	ctx := context.Background()
	c := newCluster(t, buildBinary(t))
	lead := c.startAll()
	follower := c.nodes[(lead+1)%3]
	other := c.nodes[(lead+2)%3]
	rl, rf, ro := client(c.nodes[lead]), client(follower), client(other)
	defer rl.Close()
	defer rf.Close()
	defer ro.Close()

	t.Run("Set with a TTL, TTL, Expire, Persist", func(t *testing.T) {
		if err := rl.Set(ctx, "e:plain", "v", 0).Err(); err != nil {
			t.Fatal(err)
		}
		if d, err := rf.TTL(ctx, "e:plain").Result(); err != nil || d != -1 {
			t.Fatalf("TTL of a key without one = %v, %v", d, err)
		}
		if ok, err := rf.Expire(ctx, "e:plain", 100*time.Second).Result(); err != nil || !ok {
			t.Fatalf("Expire = %v, %v", ok, err)
		}
		if d, err := rl.TTL(ctx, "e:plain").Result(); err != nil || d <= 99*time.Second || d > 100*time.Second {
			t.Fatalf("TTL after Expire 100s = %v, %v", d, err)
		}
		if ok, err := rl.Persist(ctx, "e:plain").Result(); err != nil || !ok {
			t.Fatalf("Persist = %v, %v", ok, err)
		}
		if d, err := rf.PTTL(ctx, "e:plain").Result(); err != nil || d != -1 {
			t.Fatalf("PTTL after Persist = %v, %v", d, err)
		}
		if d, err := rf.TTL(ctx, "e:missing").Result(); err != nil || d != -2 {
			t.Fatalf("TTL of a missing key = %v, %v", d, err)
		}
	})

	t.Run("a key is there for its TTL and gone soon after", func(t *testing.T) {
		const ttl = 1500 * time.Millisecond
		sent := time.Now()
		if err := rf.Set(ctx, "e:short", "v", ttl).Err(); err != nil {
			t.Fatal(err)
		}
		acked := time.Now()
		if d, err := rf.PTTL(ctx, "e:short").Result(); err != nil || d <= 0 || d > ttl {
			t.Fatalf("PTTL right after SET PX 1500 = %v, %v", d, err)
		}
		var gone time.Time
		for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
			asked := time.Now()
			_, err := ro.Get(ctx, "e:short").Result()
			if errors.Is(err, redis.Nil) {
				if asked.Before(sent.Add(ttl)) {
					t.Fatalf("the key was gone %s after its SET was sent, before its TTL of %s", asked.Sub(sent), ttl)
				}
				gone = asked
				break
			}
			if err != nil {
				t.Fatal(err)
			}
		}
		if gone.IsZero() {
			t.Fatal("the key was still there 30 s after its TTL")
		}
		t.Logf("expiry: gone at most %s after SET's reply + TTL (early bound: not before send + TTL)", gone.Sub(acked.Add(ttl)).Round(time.Millisecond))
	})

	t.Run("a lock holds across a leader kill", func(t *testing.T) {
		const lease = 3 * time.Second
		sent := time.Now()
		if ok, err := rf.SetNX(ctx, "e:lock", "owner1", lease).Result(); err != nil || !ok {
			t.Fatalf("SetNX = %v, %v", ok, err)
		}
		acked := time.Now()
		c.nodes[lead].kill()
		var taken time.Time
		for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
			asked := time.Now()
			ok, err := ro.SetNX(ctx, "e:lock", "owner2", lease).Result()
			if err != nil {
				continue // no leader yet
			}
			if ok {
				// Never early, up to one tick (10 ms): a leader counts
				// whole ticks from a clock it noted inside a tick
				// (CHASSIS, Key expiry: Bounds).
				if asked.Before(sent.Add(lease - 10*time.Millisecond)) {
					t.Fatalf("owner2 took the lock %s after owner1's was sent, within its lease of %s", asked.Sub(sent), lease)
				}
				taken = asked
				break
			}
		}
		if taken.IsZero() {
			t.Fatal("the lock was never free again")
		}
		if v, err := rf.Get(ctx, "e:lock").Result(); err != nil || v != "owner2" {
			t.Fatalf("the lock holds %q, %v; want owner2", v, err)
		}
		t.Logf("lock: free again %s after owner1's reply + lease, across a leader kill", taken.Sub(acked.Add(lease)).Round(time.Millisecond))
	})
}
