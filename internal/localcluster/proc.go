// Package localcluster starts and stops the server processes that the
// harnesses outside the simulator drive (the benchmark, the soak): a local
// 3-node seshat-node cluster on loopback and, for the benchmark's
// references, any other server. Each process runs in a process group of
// its own so that a kill reaches everything it started.
package localcluster

import (
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Proc is one server process, its output going to a log file.
type Proc struct {
	name    string
	cmd     *exec.Cmd
	log     *os.File
	logPath string
	exited  chan struct{} // closed once the process has exited and been reaped
	stopOne sync.Once
}

// StartProc runs bin with args, logging to dir/name.log.
func StartProc(dir, name, bin string, args ...string) (*Proc, error) {
	logf, err := os.Create(filepath.Join(dir, name+".log"))
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &Proc{name: name, cmd: cmd, log: logf, logPath: logf.Name(), exited: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		close(p.exited)
	}()
	return p, nil
}

// Kill stops the process at once (SIGKILL to its group) and waits until
// it is reaped. It is safe to call more than once, and on nil.
func (p *Proc) Kill() { p.stop(syscall.SIGKILL, 0) }

// Stop asks the process to shut down (SIGTERM) and waits for it, killing
// its group if it has not exited within grace.
func (p *Proc) Stop(grace time.Duration) { p.stop(syscall.SIGTERM, grace) }

func (p *Proc) stop(sig syscall.Signal, grace time.Duration) {
	if p == nil {
		return
	}
	p.stopOne.Do(func() {
		if sig != syscall.SIGKILL {
			_ = p.cmd.Process.Signal(sig)
			select {
			case <-p.exited:
			case <-time.After(grace):
			}
		}
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		<-p.exited
		p.log.Close()
	})
}

// ExitedEarly returns why p exited by itself (the tail of its log), or ""
// while it runs.
func (p *Proc) ExitedEarly() string {
	select {
	case <-p.exited:
	default:
		return ""
	}
	b, _ := os.ReadFile(p.logPath)
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return fmt.Sprintf("%s exited by itself (%v); the end of its log:\n%s", p.name, p.cmd.ProcessState, b)
}

// RSSBytes reads the process's resident set from /proc (Linux; 0 elsewhere).
func (p *Proc) RSSBytes() int64 {
	if p == nil {
		return 0
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			return kb << 10
		}
	}
	return 0
}

// RSSMB is RSSBytes in MiB.
func (p *Proc) RSSMB() float64 { return float64(p.RSSBytes()) / (1 << 20) }

// DirBytes is the total size of the files under dir.
func DirBytes(dir string) int64 {
	var total int64
	_ = filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if info, err := d.Info(); err == nil {
				total += info.Size()
			}
		}
		return nil
	})
	return total
}

// WaitFor polls ok until it holds or d has passed.
func WaitFor(what string, d time.Duration, ok func() bool) error {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if ok() {
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("%s: not ready after %s", what, d)
}
