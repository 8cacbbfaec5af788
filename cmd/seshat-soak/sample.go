package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/seshat-db/seshat/internal/localcluster"
)

type sample struct {
	at        time.Duration // since the load began
	opsPerSec float64
	p99       time.Duration
	errors    int64
	rss, disk [3]int64 // per node
}

func sampleUntil(ctx context.Context, interval time.Duration, l *load, c *localcluster.Cluster) []sample {
	start := time.Now()
	last := start
	var out []sample
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return out
		case now := <-tick.C:
			s := sample{at: now.Sub(start), opsPerSec: float64(l.ops.Swap(0)) / now.Sub(last).Seconds(), p99: l.lat.takeP99(), errors: l.errors.Load()}
			last = now
			for i, n := range c.Nodes() {
				s.rss[i] = c.Proc(n).RSSBytes()
				s.disk[i] = localcluster.DirBytes(n.DataDir)
			}
			out = append(out, s)
			fmt.Printf("  %s\n", strings.TrimSpace(s.row()))
		}
	}
}

const tableHeader = "elapsed\tops/s\tp99_ms\terrors\trss_mb_n1\trss_mb_n2\trss_mb_n3\tdisk_mb_n1\tdisk_mb_n2\tdisk_mb_n3\n"

func (s sample) row() string {
	mb := func(b int64) string { return fmt.Sprintf("%.1f", float64(b)/(1<<20)) }
	return fmt.Sprintf("%s\t%.0f\t%.2f\t%d\t%s\t%s\t%s\t%s\t%s\t%s\n", s.at.Round(time.Second), s.opsPerSec,
		float64(s.p99)/float64(time.Millisecond), s.errors, mb(s.rss[0]), mb(s.rss[1]), mb(s.rss[2]), mb(s.disk[0]), mb(s.disk[1]), mb(s.disk[2]))
}

func formatTable(samples []sample) string {
	var b strings.Builder
	b.WriteString(tableHeader)
	for _, s := range samples {
		b.WriteString(s.row())
	}
	return b.String()
}
