package e2e

// This file's goal: go-redis's transactions (TxPipeline, and Watch in the
// optimistic-locking INCR of go-redis's docs) work against a real
// cluster, through followers too, and stay exact across a leader kill.

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// watchIncr is go-redis's optimistic-locking example: read the counter
// under WATCH, write it plus one in MULTI/EXEC, retry when EXEC aborts.
// It returns nil once an EXEC committed, errUnknownTxn when an EXEC's
// outcome is unknown, or the last error.
func watchIncr(ctx context.Context, rdb *redis.Client, key string) error {
	txf := func(tx *redis.Tx) error {
		n, err := tx.Get(ctx, key).Int()
		if err != nil && err != redis.Nil {
			return err
		}
		_, err = tx.TxPipelined(ctx, func(pipe redis.Pipeliner) error {
			pipe.Set(ctx, key, n+1, 0)
			return nil
		})
		if lostInFlight(err) {
			// The EXEC was sent and its connection died (a leader
			// killed between its apply and its reply): applied or not.
			return errUnknownTxn
		}
		return err
	}
	var err error
	for range 200 {
		err = rdb.Watch(ctx, txf, key)
		switch {
		case err == nil:
			return nil
		case errors.Is(err, errUnknownTxn) || strings.HasPrefix(err.Error(), "UNKNOWN"):
			return errUnknownTxn
		}
		time.Sleep(5 * time.Millisecond) // aborted, or the cluster is electing
	}
	return err
}

var errUnknownTxn = errors.New("EXEC's outcome is unknown")

// lostInFlight: err is neither a reply (an error reply, or EXEC aborted by
// WATCH) nor a dial that failed, so the request may have been sent and
// run before the connection broke.
func lostInFlight(err error) bool {
	var reply redis.Error
	var op *net.OpError
	switch {
	case err == nil || errors.Is(err, redis.TxFailedErr) || errors.As(err, &reply):
		return false
	case errors.As(err, &op) && op.Op == "dial":
		return false
	}
	return true
}

func TestTransactionsAcrossLeaderKill(t *testing.T) {
	ctx := context.Background()
	c := newCluster(t, buildBinary(t))
	lead := c.startAll()
	clients := make([]*redis.Client, 3)
	for i, p := range c.nodes {
		clients[i] = client(p)
		defer clients[i].Close()
	}

	// TxPipeline through a follower: one entry, every result.
	follower := clients[(lead+1)%3]
	pipe := follower.TxPipeline()
	set := pipe.Set(ctx, "tx:a", "1", 0)
	incr := pipe.IncrBy(ctx, "tx:b", 5)
	get := pipe.Get(ctx, "tx:a")
	if _, err := pipe.Exec(ctx); err != nil || set.Val() != "OK" || incr.Val() != 5 || get.Val() != "1" {
		t.Fatalf("TxPipeline: %v; SET %q INCRBY %d GET %q", err, set.Val(), incr.Val(), get.Val())
	}
	// A queued command that fails runs alone: the others commit.
	pipe = follower.TxPipeline()
	bad := pipe.Incr(ctx, "tx:a")
	pipe.Set(ctx, "tx:a", "x", 0)
	bad2 := pipe.Incr(ctx, "tx:a")
	if _, err := pipe.Exec(ctx); err == nil || bad.Val() != 2 || bad2.Err() == nil {
		t.Fatalf("TxPipeline with an error: %v; INCR %d, INCR of a string: %v", err, bad.Val(), bad2.Err())
	}

	// Concurrent WATCH increments from every node while the leader dies.
	const workers, each = 4, 10
	var mu sync.Mutex
	committed, unknown := 0, 0
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range each {
				var err error
				for try := 0; try < 50; try++ {
					// A client of a dead node fails at once: use another.
					if err = watchIncr(ctx, clients[(w+try)%3], "tx:counter"); err == nil || err == errUnknownTxn {
						break
					}
					time.Sleep(20 * time.Millisecond)
				}
				mu.Lock()
				switch err {
				case nil:
					committed++
				case errUnknownTxn:
					unknown++
				default:
					mu.Unlock()
					errs <- fmt.Errorf("worker %d: %w", w, err)
					return
				}
				mu.Unlock()
			}
		}()
	}
	time.Sleep(300 * time.Millisecond)
	c.nodes[lead].kill()
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	var live []*redis.Client
	for i := range clients {
		if i != lead {
			live = append(live, clients[i])
		}
	}
	var got int
	for _, r := range live {
		// The workers may be done before the kill: the survivors may
		// still be electing a leader (CLUSTERDOWN), so wait for one.
		waitFor(t, "a leader to read the counter from", func() bool {
			n, err := r.Get(ctx, "tx:counter").Int()
			got = n
			return err == nil
		})
	}
	t.Logf("%d WATCH increments committed, %d unknown; the counter holds %d", committed, unknown, got)
	if got < committed || got > committed+unknown {
		t.Fatalf("counter %d after %d committed increments and %d of unknown outcome: an increment was lost or doubled", got, committed, unknown)
	}
}
