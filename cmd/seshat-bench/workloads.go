package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/seshat-db/seshat/internal/localcluster"
)

// row is one workload's medians against each system; a nil result is a
// system that cannot run the workload (or was skipped).
type row struct {
	w                   workload
	seshat, etcd, redis *result
}

func (r *runner) workloads() error {
	sLead, sFollow := r.seshat.Leader(), r.seshat.Follower()
	if sLead == nil || sFollow == nil {
		return fmt.Errorf("seshat has no leader and follower to drive")
	}
	var eLead, eFollow string
	if r.etcd != nil {
		var err error
		if eLead, eFollow, err = etcdLeader(r.etcd.clients); err != nil {
			return fmt.Errorf("etcd leader: %w", err)
		}
	}
	val := value(r.o.value)
	var rows []row
	for i, w := range workloads {
		fmt.Fprintf(r.w, "running %s...\n", w.name)
		rw := row{w: w}
		addr := sLead.Client
		if w.follower {
			addr = sFollow.Client
		}
		profiled := r.profiling(w)
		rw.seshat = r.median(w, uint64(i), func() (endpoint, error) { return redisEndpoint(addr, w.clients), nil }, val)
		profiled()
		if r.etcd != nil {
			url := eLead
			if w.follower {
				url = eFollow
			}
			rw.etcd = r.median(w, uint64(i), func() (endpoint, error) { return etcdEndpoint(url, w.clients) }, val)
		}
		if r.redis != nil && !w.follower {
			rw.redis = r.median(w, uint64(i), func() (endpoint, error) { return redisEndpoint(r.redisA, w.clients), nil }, val)
		}
		rows = append(rows, rw)
	}
	r.printTable(rows)
	return nil
}

// median runs w o.runs times against a fresh endpoint and returns the run
// with the median throughput, or nil if the endpoint cannot run w.
func (r *runner) median(w workload, seed uint64, connect func() (endpoint, error), val string) *result {
	e, err := connect()
	if err != nil {
		return &result{firstErr: err}
	}
	defer e.close()
	do := w.do(e, r.o.keys, val)
	if do == nil {
		return nil
	}
	var runs []result
	for i := range r.o.runs {
		runs = append(runs, run(w.clients, r.o.warm, r.o.duration, seed*100+uint64(i), do))
	}
	sort.Slice(runs, func(i, j int) bool { return runs[i].perSecond() < runs[j].perSecond() })
	m := runs[len(runs)/2]
	return &m
}

func (r *runner) printTable(rows []row) {
	fmt.Fprintf(r.w, "\n## Throughput and latency\n\n")
	fmt.Fprintf(r.w, "| workload | Seshat ops/s | p50 | p99 | etcd ops/s | p50 | p99 | Redis ops/s | p50 | p99 | Seshat/etcd | Seshat/Redis | target |\n")
	fmt.Fprintf(r.w, "|---|---|---|---|---|---|---|---|---|---|---|---|---|\n")
	for _, rw := range rows {
		fmt.Fprintf(r.w, "| %s | %s | %s | %s | %s | %s |\n", rw.w.name,
			figures(rw.seshat), figures(rw.etcd), figures(rw.redis),
			ratio(rw.seshat, rw.etcd)+" | "+ratio(rw.seshat, rw.redis), target(rw))
	}
	for _, rw := range rows {
		for i, res := range []*result{rw.seshat, rw.etcd, rw.redis} {
			if res != nil && res.errors > 0 {
				fmt.Fprintf(r.w, "\n%s, %s: %d errors, the first: %v", rw.w.name, []string{"Seshat", "etcd", "Redis"}[i], res.errors, res.firstErr)
			}
		}
	}
	fmt.Fprintln(r.w)
}

func figures(res *result) string {
	if res == nil {
		return "- | - | -"
	}
	if res.ops == 0 {
		return fmt.Sprintf("failed: %v | - | -", res.firstErr)
	}
	return fmt.Sprintf("%.0f | %s | %s", res.perSecond(), ms(res.p50), ms(res.p99))
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond)) }

func ratio(a, b *result) string {
	if a == nil || b == nil || b.perSecond() == 0 {
		return "-"
	}
	return fmt.Sprintf("%.2fx", a.perSecond()/b.perSecond())
}

// target words the product's target for a row and whether this run met
// it (../shared/product.md; issue 18's table).
func target(rw row) string {
	s := rw.seshat
	if s == nil || s.ops == 0 {
		return "-"
	}
	atLeast := func(of *result, x float64) (bool, bool) {
		if of == nil || of.perSecond() == 0 {
			return false, false
		}
		return s.perSecond() >= x*of.perSecond(), true
	}
	var parts []string
	add := func(ok, known bool, text string) {
		if !known {
			parts = append(parts, text+": no reference")
			return
		}
		parts = append(parts, verdict(ok, text))
	}
	if s.errors > 0 {
		// A failed request is left out of the latencies: a row whose
		// requests time out must not meet its p99 on the others.
		parts = append(parts, verdict(false, fmt.Sprintf("no failed requests (%d failed)", s.errors)))
	}
	w := rw.w
	switch {
	case w.write && w.pipeline > 0:
		add(s.perSecond() >= 100_000, true, "100,000/s")
		ok, known := atLeast(rw.redis, 0.3)
		add(ok, known, "0.3x Redis")
	case w.write && w.clients == 1:
		ok, known := atLeast(rw.etcd, 3)
		add(ok, known, "3x etcd")
		ok, known = atLeast(rw.redis, 0.6)
		add(ok, known, "0.6x Redis")
	case w.write:
		ok, known := atLeast(rw.etcd, 3)
		add(ok, known, "3x etcd")
		add(s.p99 < 10*time.Millisecond, true, "p99 under 10 ms")
	default:
		ok, known := atLeast(rw.etcd, 2.5)
		add(ok, known, "2.5x etcd")
		add(s.p99 < 5*time.Millisecond, true, "p99 under 5 ms")
	}
	return strings.Join(parts, "; ")
}

// load writes o.loadKeys keys to Seshat and Redis (etcd is left out: the
// memory target is Seshat's, and Redis is the reference for it), with
// MSETs of 100 keys, 8 connections, 16 MSETs per pipeline.
func (r *runner) load() error {
	fmt.Fprintf(r.w, "\nloading %d keys...\n", r.o.loadKeys)
	lead := r.seshat.Leader()
	if lead == nil {
		return fmt.Errorf("load: seshat has no leader")
	}
	addrs := []string{lead.Client}
	if r.redis != nil {
		addrs = append(addrs, r.redisA)
	}
	val := value(r.o.value)
	for _, addr := range addrs {
		rc := redis.NewClient(&redis.Options{Addr: addr, PoolSize: 8, ReadTimeout: 30 * time.Second})
		start := time.Now()
		var wg sync.WaitGroup
		errs := make(chan error, 8)
		const perMSet, perPipe, conns = 100, 16, 8
		for c := range conns {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ctx := context.Background()
				for base := c * perMSet * perPipe; base < r.o.loadKeys; base += conns * perMSet * perPipe {
					p := rc.Pipeline()
					for m := range perPipe {
						var kv []any
						for k := base + m*perMSet; k < min(base+(m+1)*perMSet, r.o.loadKeys); k++ {
							kv = append(kv, fmt.Sprintf("load:%08d", k), val)
						}
						if len(kv) > 0 {
							p.MSet(ctx, kv...)
						}
					}
					if _, err := p.Exec(ctx); err != nil {
						errs <- err
						return
					}
				}
			}()
		}
		wg.Wait()
		rc.Close()
		close(errs)
		if err := <-errs; err != nil {
			return fmt.Errorf("load into %s: %w", addr, err)
		}
		fmt.Fprintf(r.w, "  %s: %d keys in %s\n", addr, r.o.loadKeys, time.Since(start).Round(time.Millisecond))
	}
	time.Sleep(2 * time.Second) // let flushes and compactions triggered by the load run
	return nil
}

// failover kills Seshat's leader o.kills times and measures, from the
// kill, the time until another node says it leads and until the first
// write succeeds through a surviving node; the killed node is restarted
// and the cluster left to settle before the next kill.
func (r *runner) failover() error {
	fmt.Fprintf(r.w, "\n## Failover: %d kills of the leader (SIGKILL)\n\n", r.o.kills)
	var toLeader, toWrite []time.Duration
	for i := range r.o.kills {
		lead := r.seshat.Leader()
		if lead == nil {
			return fmt.Errorf("failover %d: no leader before the kill", i+1)
		}
		var survivor *localcluster.Node
		for _, n := range r.seshat.Nodes() {
			if n != lead {
				survivor = n
				break
			}
		}
		rc := redis.NewClient(&redis.Options{Addr: survivor.Client, MaxRetries: -1, DialTimeout: 250 * time.Millisecond,
			ReadTimeout: 250 * time.Millisecond, WriteTimeout: 250 * time.Millisecond, PoolSize: 1})
		_ = rc.Set(context.Background(), "failover", -1, 0).Err() // a warm connection
		// Light load through a node that survives: a write every 10 ms,
		// from a second before the kill until the first write after it.
		stopLoad := make(chan struct{})
		loadDone := make(chan struct{})
		go func() {
			defer close(loadDone)
			lc := redis.NewClient(&redis.Options{Addr: survivor.Client, MaxRetries: -1, ReadTimeout: 250 * time.Millisecond, PoolSize: 1})
			defer lc.Close()
			for n := 0; ; n++ {
				select {
				case <-stopLoad:
					return
				case <-time.After(10 * time.Millisecond):
				}
				_ = lc.Set(context.Background(), fmt.Sprintf("light:%d", n%1000), n, 0).Err()
			}
		}()
		time.Sleep(time.Second)
		t0 := time.Now()
		r.seshat.KillNode(lead)
		var newLeader, firstWrite time.Duration
		var wg sync.WaitGroup
		wg.Add(2)
		go func() {
			defer wg.Done()
			for time.Since(t0) < 30*time.Second {
				if l := r.seshat.Leader(); l != nil && l != lead {
					newLeader = time.Since(t0)
					return
				}
				time.Sleep(5 * time.Millisecond)
			}
		}()
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(i), 1))
			for time.Since(t0) < 30*time.Second {
				if rc.Set(context.Background(), "failover", rng.Int64(), 0).Err() == nil {
					firstWrite = time.Since(t0)
					return
				}
			}
		}()
		wg.Wait()
		close(stopLoad)
		<-loadDone
		rc.Close()
		if newLeader == 0 || firstWrite == 0 {
			return fmt.Errorf("failover %d: no new leader or no write within 30 s", i+1)
		}
		toLeader, toWrite = append(toLeader, newLeader), append(toWrite, firstWrite)
		fmt.Fprintf(r.w, "kill %d: new leader after %s, first write after %s\n", i+1, ms(newLeader), ms(firstWrite))
		if err := r.seshat.StartNode(lead); err != nil {
			return err
		}
		if err := localcluster.WaitFor("restarted node", 30*time.Second, func() bool { st, err := lead.Status(); return err == nil && st.Ready }); err != nil {
			return err
		}
		time.Sleep(2 * time.Second)
	}
	fmt.Fprintf(r.w, "\n| | min | median | max | target |\n|---|---|---|---|---|\n")
	fmt.Fprintf(r.w, "| to a new leader | %s | %s | %s | |\n", ms(slices.Min(toLeader)), ms(med(toLeader)), ms(slices.Max(toLeader)))
	fmt.Fprintf(r.w, "| to the first write | %s | %s | %s | %s |\n", ms(slices.Min(toWrite)), ms(med(toWrite)), ms(slices.Max(toWrite)),
		verdict(med(toWrite) < time.Second && slices.Max(toWrite) <= 2*time.Second, "median under 1 s, never over 2 s"))
	return nil
}

func med(d []time.Duration) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)/2]
}
