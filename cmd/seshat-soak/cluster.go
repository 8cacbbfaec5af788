package main

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/seshat-db/seshat/internal/ports"
)

type nodeProc struct {
	id                      int
	client, internal, admin string
	dataDir                 string
	cmd                     *exec.Cmd
}

type cluster struct{ nodes []*nodeProc }

func startCluster(bin, out string) (*cluster, error) {
	c := &cluster{}
	var members []string
	for i := 1; i <= 3; i++ {
		p := &nodeProc{id: i, dataDir: filepath.Join(out, "data", fmt.Sprintf("n%d", i))}
		for _, a := range []*string{&p.client, &p.internal, &p.admin} {
			addr, err := ports.Addr()
			if err != nil {
				return nil, err
			}
			*a = addr
		}
		members = append(members, fmt.Sprintf("%d=%s", i, p.internal))
		c.nodes = append(c.nodes, p)
	}
	for _, p := range c.nodes {
		logf, err := os.Create(filepath.Join(out, fmt.Sprintf("n%d.log", p.id)))
		if err != nil {
			return nil, err
		}
		p.cmd = exec.Command(bin, "-node.id", strconv.Itoa(p.id), "-node.client_addr", p.client,
			"-node.internal_addr", p.internal, "-node.admin_addr", p.admin, "-node.data_dir", p.dataDir,
			"-cluster.initial_members", strings.Join(members, ","), "-cluster.cluster_id", "soak")
		p.cmd.Stdout, p.cmd.Stderr = logf, logf
		p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		if err := p.cmd.Start(); err != nil {
			return nil, err
		}
	}
	return c, nil
}

func (c *cluster) stop() {
	for _, p := range c.nodes {
		if p.cmd != nil && p.cmd.Process != nil {
			_ = p.cmd.Process.Signal(syscall.SIGTERM)
		}
	}
	for _, p := range c.nodes {
		if p.cmd != nil {
			_ = p.cmd.Wait()
		}
	}
}

type status struct {
	Leader  uint64 `json:"leader"`
	Ready   bool   `json:"ready"`
	Applied uint64 `json:"applied"`
}

func (p *nodeProc) status() (status, error) {
	var st status
	resp, err := (&http.Client{Timeout: time.Second}).Get("http://" + p.admin + "/status")
	if err != nil {
		return st, err
	}
	defer resp.Body.Close()
	return st, json.NewDecoder(resp.Body).Decode(&st)
}

func (c *cluster) waitReady(within time.Duration) error {
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		ready := 0
		for _, p := range c.nodes {
			if st, err := p.status(); err == nil && st.Ready {
				ready++
			}
		}
		if ready == len(c.nodes) {
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("cluster not ready within %s", within)
}

// rssBytes reads a process's resident set from /proc (Linux).
func rssBytes(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}

func dirBytes(dir string) int64 {
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
