// Command seshat-bench measures Seshat against its references in one run
// on one machine: a fresh local 3-node Seshat cluster (separate
// seshat-node processes), a 3-member etcd and a redis-server with an
// append-only file synced on every write, all on loopback. It runs the
// same workloads against each, prints one table of ops/s, p50, p99 and
// the ratios with the product's targets, then a failover benchmark and
// resident memory, saves the report, and stops every server it started.
//
//	make bench                      (builds seshat-node, installs the references if missing)
//	go run ./cmd/seshat-bench -node bin/seshat-node -d 5s -runs 3
//
// Ratios, not absolute figures, are what carry from one machine to
// another: every server here shares the same cores and disk.
package main

import (
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/seshat-db/seshat/internal/localcluster"
)

type options struct {
	node     string
	dir      string
	duration time.Duration
	warm     time.Duration
	runs     int
	keys     int
	value    int
	kills    int
	loadKeys int
	skip     map[string]bool
	out      string
	profile  string
}

func main() {
	var o options
	var skip string
	flag.StringVar(&o.node, "node", "bin/seshat-node", "the seshat-node binary")
	flag.StringVar(&o.dir, "dir", "", "where the servers keep their data and logs (default: a new temporary directory, removed after)")
	flag.DurationVar(&o.duration, "d", 5*time.Second, "measured time of each workload run")
	flag.DurationVar(&o.warm, "warm", time.Second, "warm-up before each run, not measured")
	flag.IntVar(&o.runs, "runs", 3, "runs of each workload; the table shows the median by ops/s")
	flag.IntVar(&o.keys, "keys", 100_000, "keys the workloads pick from at random")
	flag.IntVar(&o.value, "value", 64, "value size in bytes")
	flag.IntVar(&o.kills, "kills", 10, "leader kills in the failover benchmark (0: none)")
	flag.IntVar(&o.loadKeys, "load-keys", 1_000_000, "keys loaded before the last memory reading (0: none)")
	flag.StringVar(&skip, "skip", "", "comma-separated parts to leave out: etcd, redis, failover")
	flag.StringVar(&o.profile, "profile", "", "take CPU profiles of the three Seshat nodes during each workload into this directory")
	flag.StringVar(&o.out, "out", "", "also write the report to this file (default: bench-results/bench-DATE.md)")
	flag.Parse()
	o.skip = map[string]bool{}
	for _, s := range strings.Split(skip, ",") {
		if s != "" {
			o.skip[s] = true
		}
	}
	if err := bench(o); err != nil {
		log.Fatalf("seshat-bench: %v", err)
	}
}

func bench(o options) error {
	if _, err := os.Stat(o.node); err != nil {
		return fmt.Errorf("%w (build it with make build)", err)
	}
	node, err := filepath.Abs(o.node)
	if err != nil {
		return err
	}
	dir := o.dir
	if dir == "" {
		if dir, err = os.MkdirTemp("", "seshat-bench-"); err != nil {
			return err
		}
		defer os.RemoveAll(dir)
	}
	out := o.out
	if out == "" {
		out = filepath.Join("bench-results", "bench-"+time.Now().UTC().Format("2006-01-02T15-04-05")+".md")
	}
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return err
	}
	if o.profile != "" {
		if err := os.MkdirAll(o.profile, 0o755); err != nil {
			return err
		}
	}
	report, err := os.Create(out)
	if err != nil {
		return err
	}
	defer report.Close()
	w := io.MultiWriter(os.Stdout, report)

	r := &runner{o: o, w: w}
	defer r.stop()
	// Each server runs in its own process group, out of reach of the
	// terminal's Ctrl-C: stop them before going.
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	go func() {
		sig := <-sigs
		r.stop()
		fmt.Fprintf(os.Stderr, "seshat-bench: %v: every server stopped\n", sig)
		os.Exit(130)
	}()
	if err := r.start(node, dir); err != nil {
		if o.dir == "" {
			keep := dir + ".failed"
			if os.Rename(dir, keep) == nil {
				err = fmt.Errorf("%w\n(the servers' logs are kept in %s)", err, keep)
			}
		}
		return err
	}
	fmt.Fprintf(w, "# seshat-bench, %s\n\n", time.Now().UTC().Format(time.RFC3339))
	fmt.Fprintf(w, "%d keys, %d-byte values, %s per run after %s of warm-up, median of %d runs; every server on this machine's loopback; data in %s (%s).\n\n",
		o.keys, o.value, o.duration, o.warm, o.runs, dir, fsKind(dir))
	r.memory("idle")
	if err := r.workloads(); err != nil {
		return err
	}
	r.memory("after the workloads")
	if o.loadKeys > 0 {
		if err := r.load(); err != nil {
			return err
		}
		r.memory(fmt.Sprintf("after a %d-key load", o.loadKeys))
	}
	r.printMemory()
	if o.kills > 0 && !o.skip["failover"] {
		if err := r.failover(); err != nil {
			return err
		}
	}
	fmt.Fprintf(os.Stderr, "report saved to %s\n", out)
	return nil
}

// fsKind names the file system under dir: on tmpfs every fsync is free,
// and the table would not measure what the targets are about.
func fsKind(dir string) string {
	var st syscall.Statfs_t
	if syscall.Statfs(dir, &st) != nil {
		return "file system unknown"
	}
	switch st.Type {
	case 0x01021994:
		return "tmpfs: fsync costs nothing here, use -dir on a disk"
	case 0xEF53:
		return "ext4"
	case 0x58465342:
		return "xfs"
	case 0x9123683E:
		return "btrfs"
	case 0x794c7630:
		return "overlayfs"
	}
	return fmt.Sprintf("file system 0x%x", st.Type)
}

// runner holds the servers and what was measured.
type runner struct {
	stopOnce sync.Once
	mu       sync.Mutex // the servers, set while a signal may stop them
	o        options
	w        io.Writer
	seshat   *localcluster.Cluster
	etcd     *etcdCluster
	redis    *localcluster.Proc
	redisA   string
	rss      []rssRow
}

type rssRow struct {
	when                string
	seshat, etcd, redis []float64
}

func (r *runner) start(node, dir string) error {
	c, err := localcluster.Start(node, dir, "bench", append(slices.Clone(seshatFlags), profileFlags(r.o)...)...)
	r.mu.Lock()
	r.seshat = c
	r.mu.Unlock()
	if err != nil {
		return fmt.Errorf("seshat: %w", err)
	}
	if err := c.WaitLeader(30 * time.Second); err != nil {
		return err
	}
	if !r.o.skip["etcd"] {
		e, err := startEtcd(dir)
		r.mu.Lock()
		r.etcd = e
		r.mu.Unlock()
		if err != nil {
			return fmt.Errorf("etcd (install Debian's etcd-server, or -skip=etcd): %w", err)
		}
		if err := localcluster.WaitFor("etcd leader", 30*time.Second, func() bool {
			l, _, err := etcdLeader(r.etcd.clients)
			return err == nil && l != ""
		}); err != nil {
			return err
		}
	}
	if !r.o.skip["redis"] {
		rs, addr, err := startRedis(dir)
		r.mu.Lock()
		r.redis, r.redisA = rs, addr
		r.mu.Unlock()
		if err != nil {
			return fmt.Errorf("redis (install Debian's redis-server, or -skip=redis): %w", err)
		}
	}
	time.Sleep(2 * time.Second) // let start-up work (elections, first compactions) settle
	return nil
}

// stop stops every server, once, whoever asks first (the end of the run
// or a signal).
func (r *runner) stop() {
	r.stopOnce.Do(func() {
		r.mu.Lock()
		defer r.mu.Unlock()
		if r.seshat != nil {
			r.seshat.Kill()
		}
		if r.etcd != nil {
			r.etcd.stop()
		}
		r.redis.Kill()
	})
}

func (r *runner) memory(when string) {
	row := rssRow{when: when, seshat: r.seshat.RSSMB()}
	if r.etcd != nil {
		row.etcd = r.etcd.rssMB()
	}
	if r.redis != nil {
		row.redis = []float64{r.redis.RSSMB()}
	}
	r.rss = append(r.rss, row)
}

func (r *runner) printMemory() {
	fmt.Fprintf(r.w, "\n## Resident memory (MB, per process)\n\n")
	fmt.Fprintf(r.w, "| when | Seshat | etcd | Redis | target (Seshat) |\n|---|---|---|---|---|\n")
	for _, row := range r.rss {
		target := ""
		switch {
		case row.when == "idle":
			target = verdict(slices.Max(row.seshat) < 50, "under 50 MB")
		case strings.HasSuffix(row.when, "-key load") && r.o.loadKeys >= 1_000_000:
			target = verdict(slices.Max(row.seshat) < 150, "under 150 MB")
		}
		fmt.Fprintf(r.w, "| %s | %s | %s | %s | %s |\n", row.when, mbs(row.seshat), mbs(row.etcd), mbs(row.redis), target)
	}
}

func mbs(v []float64) string {
	if len(v) == 0 {
		return "-"
	}
	var s []string
	for _, x := range v {
		s = append(s, fmt.Sprintf("%.0f", x))
	}
	return strings.Join(s, " / ")
}

func verdict(ok bool, target string) string {
	if ok {
		return target + ": met"
	}
	return target + ": **missed**"
}
