// Command seshat-soak runs a local 3-node cluster of real seshat-node
// processes under mixed load for a set time (make soak DURATION=1h),
// samples throughput, p99 latency, each node's RSS and disk at intervals,
// writes them as a table (soak.tsv, and on stdout) and a plot (soak.png),
// and at the end checks every acknowledged write. It exits 1 if a check
// fails.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/seshat-db/seshat/internal/localcluster"
)

func main() {
	duration := flag.Duration("duration", time.Hour, "how long the load runs")
	out := flag.String("out", "soak-out", "folder for the binary, the data, the logs, soak.tsv and soak.png")
	interval := flag.Duration("interval", 0, "sampling interval (0: duration/60, at least 5s)")
	writers := flag.Int("clients", 16, "concurrent clients")
	keys := flag.Int("keys", 20000, "keys per client")
	flag.Parse()
	if *interval == 0 {
		*interval = max(*duration/60, 5*time.Second)
	}
	if err := run(*duration, *interval, *out, *writers, *keys); err != nil {
		fmt.Fprintln(os.Stderr, "seshat-soak:", err)
		os.Exit(1)
	}
}

func run(duration, interval time.Duration, out string, clients, keys int) error {
	out, _ = filepath.Abs(out)
	_ = os.RemoveAll(filepath.Join(out, "data"))
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	bin := filepath.Join(out, "seshat-node")
	if b, err := exec.Command("go", "build", "-o", bin, "./cmd/seshat-node").CombinedOutput(); err != nil {
		return fmt.Errorf("go build: %v\n%s", err, b)
	}
	dataDir := filepath.Join(out, "data")
	if err := os.MkdirAll(dataDir, 0o755); err != nil {
		return err
	}
	c, err := localcluster.Start(bin, dataDir, "soak")
	defer c.Stop(10 * time.Second)
	if err != nil {
		return err
	}
	if err := c.WaitReady(30 * time.Second); err != nil {
		return err
	}
	fmt.Printf("seshat-soak: 3 nodes up; %d clients of mixed load for %s, sampling every %s; data in %s\n", clients, duration, interval, filepath.Join(out, "data"))

	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()
	ctx, stopLoad := context.WithTimeout(ctx, duration)
	defer stopLoad()
	l := newLoad(c, clients, keys)
	done := l.start(ctx)
	samples := sampleUntil(ctx, interval, l, c)
	<-done

	fmt.Println()
	table := formatTable(samples)
	fmt.Print(table)
	if err := os.WriteFile(filepath.Join(out, "soak.tsv"), []byte(table), 0o644); err != nil {
		return err
	}
	if err := writePlot(filepath.Join(out, "soak.png"), samples); err != nil {
		return err
	}
	fmt.Printf("table: %s  plot: %s\n", filepath.Join(out, "soak.tsv"), filepath.Join(out, "soak.png"))

	checked, err := l.verify(context.Background())
	fmt.Printf("check: %d keys and %d counters read back after the load: %v\n", checked, clients, resultText(err))
	if err != nil {
		return err
	}
	if l.errors.Load() > 0 {
		fmt.Printf("note: %d operations answered an error during the load (their writes counted as maybe-applied)\n", l.errors.Load())
	}
	return nil
}

func resultText(err error) string {
	if err != nil {
		return "FAILED: " + err.Error()
	}
	return "every acknowledged write is there"
}
