package e2e

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// health returns /health's status code and body.
func (p *proc) health() (int, string) {
	resp, err := (&http.Client{Timeout: time.Second}).Get("http://" + p.admin + "/health")
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestFullDiskStopsTheNode puts one node's data directory on a small
// tmpfs and fills it: the node must stop (health false, writes refused
// with NOSPACE or answered UNKNOWN at the deadline, never hang), exit on
// SIGTERM, and after a restart with space hold every acknowledged write.
// It needs root to mount; CI runs as root on the same kind of machine.
func TestFullDiskStopsTheNode(t *testing.T) {
	bin := buildBinary(t)
	c := newCluster(t, bin)
	small := c.nodes[0]
	if err := os.MkdirAll(small.dataDir, 0o755); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=24m", "tmpfs", small.dataDir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a small tmpfs here (not root?): %v %s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("umount", "-l", small.dataDir).Run() })
	c.startAll()
	ctx := context.Background()
	others := c.without(small)
	cs := []*redis.Client{client(others[0]), client(others[1])}
	value := strings.Repeat("v", 60_000)
	acked := 0
	deadline := time.Now().Add(90 * time.Second)
	for {
		if code, _ := small.health(); code != http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the small disk never filled after %d writes", acked)
		}
		if setRetry(ctx, cs, fmt.Sprint("k", acked), value) {
			acked++
		}
	}
	code, body := small.health()
	t.Logf("after %d acknowledged writes, /health: %d %s", acked, code, strings.TrimSpace(body))
	if !strings.Contains(body, "nospace") && !strings.Contains(body, "stalled") {
		t.Errorf("/health does not say the disk is full: %s", body)
	}
	start := time.Now()
	err := client(small).Set(ctx, "after-full", "x", 0).Err()
	t.Logf("a write to the full node: %v after %s", err, time.Since(start).Round(time.Millisecond))
	if err == nil || !(strings.HasPrefix(err.Error(), "NOSPACE") || strings.HasPrefix(err.Error(), "UNKNOWN")) {
		t.Errorf("a write to the full node answered %v, want NOSPACE (or UNKNOWN at the deadline)", err)
	}
	time.Sleep(2 * time.Second) // Pebble retries its failed flush meanwhile
	logged, _ := os.ReadFile(small.logPath)
	lines := strings.Count(string(logged), "no space left on device")
	t.Logf("log lines naming ENOSPC: %d", lines)
	if lines > 50 {
		t.Errorf("%d log lines name ENOSPC: the log is not rate-limited", lines)
	}
	small.stop(t) // fails the test if SIGTERM does not end it within 10 s
	if out, err := exec.Command("mount", "-o", "remount,size=512m", small.dataDir).CombinedOutput(); err != nil {
		t.Fatalf("remount with space: %v %s", err, out)
	}
	c.start(small)
	c.waitReady(c.nodes...)
	sc := client(small)
	for i := 0; i < acked; i++ {
		got, err := sc.Get(ctx, fmt.Sprint("k", i)).Result()
		if err != nil || got != value {
			t.Fatalf("after the restart with space, k%d: %v (len %d)", i, err, len(got))
		}
	}
	t.Logf("restarted with space: all %d acknowledged writes read back from the node that filled up", acked)
}
