package main

import (
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Review finding: Ctrl-C during make bench leaves every server it started
// running. start() puts each server in its own process group (Setpgid), so
// the terminal's SIGINT reaches only seshat-bench (and go run), and
// seshat-bench has no signal handler: it dies without running r.stop().
// Here the "seshat-node" is a script that records its pid and sleeps; the
// bench is interrupted while it waits for a leader.
func TestInterruptStopsEveryServer(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the bench binary")
	}
	tmp := t.TempDir()
	bin := filepath.Join(tmp, "seshat-bench")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	pids := filepath.Join(tmp, "pids")
	fake := filepath.Join(tmp, "fake-node")
	if err := os.WriteFile(fake, []byte("#!/bin/sh\necho $$ >> "+pids+"\nexec sleep 300\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-node", fake, "-dir", filepath.Join(tmp, "data"), "-skip=etcd,redis,failover",
		"-kills=0", "-load-keys=0", "-out", filepath.Join(tmp, "report.md"))
	cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
	if err := os.MkdirAll(filepath.Join(tmp, "data"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var started []int
	deadline := time.Now().Add(20 * time.Second)
	for len(started) < 3 && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
		b, _ := os.ReadFile(pids)
		started = started[:0]
		for _, f := range strings.Fields(string(b)) {
			p, _ := strconv.Atoi(f)
			started = append(started, p)
		}
	}
	t.Cleanup(func() {
		for _, p := range started {
			_ = syscall.Kill(p, syscall.SIGKILL)
		}
	})
	if len(started) < 3 {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		t.Fatalf("the bench started %d fake nodes, want 3", len(started))
	}
	_ = cmd.Process.Signal(os.Interrupt) // what Ctrl-C delivers to the bench's process group
	_ = cmd.Wait()
	time.Sleep(200 * time.Millisecond)
	var alive []int
	for _, p := range started {
		if syscall.Kill(p, 0) == nil {
			alive = append(alive, p)
		}
	}
	if len(alive) > 0 {
		t.Errorf("after Ctrl-C the bench exited and left %d of the %d servers it started running (pids %v)", len(alive), len(started), alive)
	}
}

// Review finding: a workload whose operations fail is still judged on the
// successful ones only: a run where most requests time out (5 s each,
// redisEndpoint's ReadTimeout) meets "p99 under 10 ms", because failed
// requests are left out of the latencies, and the verdict ignores errors.
func TestTargetIgnoresErrors(t *testing.T) {
	rw := row{
		w:      workloads[1], // SET, 50 clients: 3x etcd, p99 under 10 ms
		seshat: &result{ops: 30_000, errors: 20_000, wall: time.Second, p99: time.Millisecond},
		etcd:   &result{ops: 10_000, wall: time.Second},
	}
	if got := target(rw); !strings.Contains(got, "missed") {
		t.Errorf("a run with %d failed requests (none of them in its p99) is judged %q", rw.seshat.errors, got)
	}
}

// Review finding: a server that fails to start is reported only as "seshat
// leader: not ready after 30s" (after waiting the 30 s out, though every
// process had exited), and the servers' logs, which say why, are removed
// with the temporary directory. The operator is left with nothing to read.
func TestFailedStartSaysWhy(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the bench binary")
	}
	tmp := t.TempDir()
	bin := filepath.Join(tmp, "seshat-bench")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	fake := filepath.Join(tmp, "fake-node")
	const reason = "cannot bind: the reason an operator needs"
	if err := os.WriteFile(fake, []byte("#!/bin/sh\necho '"+reason+"' >&2\nexit 1\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-node", fake, "-skip=etcd,redis,failover", "-kills=0", "-load-keys=0",
		"-out", filepath.Join(tmp, "report.md"))
	cmd.Env = append(os.Environ(), "TMPDIR="+tmp)
	start := time.Now()
	out, _ := cmd.CombinedOutput()
	took := time.Since(start)
	if !strings.Contains(string(out), reason) {
		t.Errorf("every seshat-node exited at once saying %q; the bench said, after %s:\n%s", reason, took.Round(time.Second), out)
	}
}
