package main

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/seshat-db/seshat/internal/localcluster"
)

// keyState is what a key may hold: the last acknowledged value, or one
// of the values written after it whose writes answered an error (they
// may or may not have been applied).
type keyState struct {
	acked string // "" : none acknowledged yet
	maybe []string
}

func (k *keyState) allows(v string, missing bool) bool {
	if missing {
		return k.acked == ""
	}
	return v == k.acked || slices.Contains(k.maybe, v)
}

// worker is one client: it writes only its own keys, in sequence, so
// what each key may hold is known exactly.
type worker struct {
	id      int
	r       *redis.Client
	keys    map[int]*keyState
	counter struct{ acked, maybe int64 }
}

type load struct {
	c        *localcluster.Cluster
	workers  []*worker
	keySpace int
	ops      atomic.Int64
	errors   atomic.Int64
	lat      latencyHist
	mu       sync.Mutex
	bad      []string // violations seen during the load
}

func newLoad(c *localcluster.Cluster, clients, keys int) *load {
	l := &load{c: c, keySpace: keys}
	for i := range clients {
		p := c.Nodes()[i%len(c.Nodes())]
		l.workers = append(l.workers, &worker{id: i, keys: map[int]*keyState{},
			r: redis.NewClient(&redis.Options{Addr: p.Client, Protocol: 2, DisableIdentity: true, MaxRetries: -1,
				ReadTimeout: 10 * time.Second, WriteTimeout: 10 * time.Second})})
	}
	return l
}

func (l *load) start(ctx context.Context) <-chan struct{} {
	done := make(chan struct{})
	var wg sync.WaitGroup
	for _, w := range l.workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			l.drive(ctx, w)
		}()
	}
	go func() { wg.Wait(); close(done) }()
	return done
}

func (l *load) violation(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.bad) < 20 {
		l.bad = append(l.bad, fmt.Sprintf(format, args...))
	}
}

func (w *worker) key(k int) string { return fmt.Sprintf("soak:%d:%d", w.id, k) }

// drive runs the mix: 50% SET, 10% INCR, 30% GET, 10% MGET of 10 keys.
func (l *load) drive(ctx context.Context, w *worker) {
	rng := rand.New(rand.NewPCG(uint64(w.id), 1))
	for seq := 0; ctx.Err() == nil; seq++ {
		k := rng.IntN(l.keySpace)
		op := rng.IntN(10)
		start := time.Now()
		var err error
		switch {
		case op < 5:
			v := strconv.Itoa(seq)
			err = w.r.Set(context.Background(), w.key(k), v, 0).Err()
			st := w.keys[k]
			if st == nil {
				st = &keyState{}
				w.keys[k] = st
			}
			if err == nil {
				st.acked, st.maybe = v, nil
			} else {
				st.maybe = append(st.maybe, v)
			}
		case op < 6:
			var n int64
			n, err = w.r.Incr(context.Background(), fmt.Sprintf("soak:%d:counter", w.id)).Result()
			if err == nil {
				// n counts every INCR applied: earlier unknown ones are settled.
				w.counter.acked, w.counter.maybe = n, 0
			} else {
				w.counter.maybe++
			}
		case op < 9:
			var v string
			v, err = w.r.Get(context.Background(), w.key(k)).Result()
			missing := errors.Is(err, redis.Nil)
			if missing {
				err = nil
			}
			if st := w.keys[k]; err == nil && st != nil && !st.allows(v, missing) {
				l.violation("client %d: GET %s = %q (missing %v), last acknowledged %q", w.id, w.key(k), v, missing, st.acked)
			}
		default:
			names := make([]string, 10)
			idx := make([]int, 10)
			for i := range names {
				idx[i] = (k + i) % l.keySpace
				names[i] = w.key(idx[i])
			}
			var vals []any
			vals, err = w.r.MGet(context.Background(), names...).Result()
			for i, v := range vals {
				s, _ := v.(string)
				if st := w.keys[idx[i]]; err == nil && st != nil && !st.allows(s, v == nil) {
					l.violation("client %d: MGET %s = %v, last acknowledged %q", w.id, names[i], v, st.acked)
				}
			}
		}
		l.lat.observe(time.Since(start))
		l.ops.Add(1)
		if err != nil {
			l.errors.Add(1)
		}
	}
}

// verify reads back every key and counter each client wrote.
func (l *load) verify(ctx context.Context) (int, error) {
	r := redis.NewClient(&redis.Options{Addr: l.c.Nodes()[0].Client, Protocol: 2, DisableIdentity: true, ReadTimeout: 10 * time.Second})
	defer r.Close()
	checked := 0
	for _, w := range l.workers {
		ks := make([]int, 0, len(w.keys))
		for k := range w.keys {
			ks = append(ks, k)
		}
		slices.Sort(ks)
		// MGET in chunks: one round trip per 500 keys, not per key.
		for len(ks) > 0 {
			chunk := ks[:min(500, len(ks))]
			ks = ks[len(chunk):]
			names := make([]string, len(chunk))
			for i, k := range chunk {
				names[i] = w.key(k)
			}
			vals, err := r.MGet(ctx, names...).Result()
			if err != nil {
				return checked, fmt.Errorf("MGET: %w", err)
			}
			for i, v := range vals {
				s, _ := v.(string)
				if st := w.keys[chunk[i]]; !st.allows(s, v == nil) {
					return checked, fmt.Errorf("%s = %v, but the last acknowledged write set %q", names[i], v, st.acked)
				}
				checked++
			}
		}
		n, err := r.Get(ctx, fmt.Sprintf("soak:%d:counter", w.id)).Int64()
		if err != nil && !errors.Is(err, redis.Nil) {
			return checked, err
		}
		if n < w.counter.acked || n > w.counter.acked+w.counter.maybe {
			return checked, fmt.Errorf("client %d's counter is %d, want %d acknowledged (+%d maybe)", w.id, n, w.counter.acked, w.counter.maybe)
		}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.bad) > 0 {
		return checked, fmt.Errorf("%d reads during the load saw what no acknowledged write left, first: %s", len(l.bad), l.bad[0])
	}
	return checked, nil
}

// latencyHist buckets latencies 10% apart from 10µs, for p99 per
// interval without keeping every sample.
type latencyHist struct {
	mu     sync.Mutex
	counts [200]int64
}

func bucketOf(d time.Duration) int {
	if d <= 10*time.Microsecond {
		return 0
	}
	return min(int(math.Log(float64(d)/float64(10*time.Microsecond))/math.Log(1.1))+1, 199)
}

func (h *latencyHist) observe(d time.Duration) {
	h.mu.Lock()
	h.counts[bucketOf(d)]++
	h.mu.Unlock()
}

// takeP99 returns the interval's 99th percentile (a bucket's upper
// bound) and starts a new interval.
func (h *latencyHist) takeP99() time.Duration {
	h.mu.Lock()
	counts := h.counts
	h.counts = [200]int64{}
	h.mu.Unlock()
	var total int64
	for _, c := range counts {
		total += c
	}
	if total == 0 {
		return 0
	}
	target, seen := int64(math.Ceil(float64(total)*0.99)), int64(0)
	for i, c := range counts {
		seen += c
		if seen >= target {
			return time.Duration(float64(10*time.Microsecond) * math.Pow(1.1, float64(i)))
		}
	}
	return 0
}
