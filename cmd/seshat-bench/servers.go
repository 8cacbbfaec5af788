package main

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/seshat-db/seshat/internal/ports"
)

// server is one process the benchmark started.
type server struct {
	name    string
	cmd     *exec.Cmd
	log     *os.File
	logPath string
	exited  chan struct{} // closed once the process has exited and been reaped
	killOne sync.Once
}

func start(dir, name, bin string, args ...string) (*server, error) {
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
	s := &server{name: name, cmd: cmd, log: logf, logPath: logf.Name(), exited: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		close(s.exited)
	}()
	return s, nil
}

// kill stops the process at once (SIGKILL to its group) and waits until
// it is reaped. It is safe to call more than once, and on nil.
func (s *server) kill() {
	if s == nil {
		return
	}
	s.killOne.Do(func() {
		_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
		<-s.exited
		s.log.Close()
	})
}

// exitedEarly returns why s exited by itself (the tail of its log), or ""
// while it runs.
func (s *server) exitedEarly() string {
	select {
	case <-s.exited:
	default:
		return ""
	}
	b, _ := os.ReadFile(s.logPath)
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return fmt.Sprintf("%s exited by itself (%v); the end of its log:\n%s", s.name, s.cmd.ProcessState, b)
}

// rssMB reads the process's resident set from /proc.
func (s *server) rssMB() float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", s.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, _ := strconv.ParseFloat(f[1], 64)
			return kb / 1024
		}
	}
	return 0
}

func waitFor(what string, d time.Duration, ok func() bool) error {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if ok() {
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("%s: not ready after %s", what, d)
}

// seshatNode is one seshat-node process and its addresses.
type seshatNode struct {
	id     uint64
	client string
	admin  string
	args   []string
	dir    string
	proc   *server
}

type seshatCluster struct {
	bin   string
	dir   string
	mu    sync.Mutex // the nodes' procs: a signal's stop races the failover's kills and restarts
	nodes []*seshatNode
}

func startSeshat(bin, dir string) (*seshatCluster, error) {
	ports, err := ports.Free(9)
	if err != nil {
		return nil, err
	}
	c := &seshatCluster{bin: bin, dir: dir}
	var members []string
	for i := range 3 {
		members = append(members, fmt.Sprintf("%d=127.0.0.1:%d", i+1, ports[3+i]))
	}
	for i := range 3 {
		n := &seshatNode{
			id:     uint64(i + 1),
			client: fmt.Sprintf("127.0.0.1:%d", ports[i]),
			admin:  fmt.Sprintf("127.0.0.1:%d", ports[6+i]),
			dir:    filepath.Join(dir, fmt.Sprintf("seshat-n%d", i+1)),
		}
		n.args = []string{
			"-node.id", strconv.Itoa(i + 1),
			"-node.client_addr", n.client,
			"-node.internal_addr", fmt.Sprintf("127.0.0.1:%d", ports[3+i]),
			"-node.admin_addr", n.admin,
			"-node.data_dir", n.dir,
			"-cluster.initial_members", strings.Join(members, ","),
			"-cluster.cluster_id", "bench",
			"-log.level", "warn",
		}
		c.nodes = append(c.nodes, n)
	}
	for _, n := range c.nodes {
		if err := c.startNode(n); err != nil {
			return c, err
		}
	}
	return c, nil
}

// waitLeader waits until a node leads, failing at once if a node exits.
func (c *seshatCluster) waitLeader() error {
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		for _, p := range c.procs() {
			if why := p.exitedEarly(); why != "" {
				return fmt.Errorf("seshat: %s", why)
			}
		}
		if c.leader() != nil {
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("seshat: no leader after 30 s (see the logs in %s)", c.dir)
}

func (c *seshatCluster) startNode(n *seshatNode) error {
	p, err := start(c.dir, fmt.Sprintf("seshat-n%d", n.id), c.bin, n.args...)
	c.mu.Lock()
	defer c.mu.Unlock()
	n.proc = p
	return err
}

// killNode kills n's process and forgets it.
func (c *seshatCluster) killNode(n *seshatNode) {
	c.mu.Lock()
	p := n.proc
	n.proc = nil
	c.mu.Unlock()
	p.kill()
}

func (c *seshatCluster) procs() []*server {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []*server
	for _, n := range c.nodes {
		if n.proc != nil {
			out = append(out, n.proc)
		}
	}
	return out
}

func (c *seshatCluster) up(n *seshatNode) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return n.proc != nil
}

// status is the part of a node's /status the benchmark reads.
type status struct {
	IsLeader bool   `json:"is_leader"`
	Leader   uint64 `json:"leader"`
	Ready    bool   `json:"ready"`
}

var adminHTTP = &http.Client{Timeout: 200 * time.Millisecond}

func (n *seshatNode) status() (status, bool) {
	var st status
	resp, err := adminHTTP.Get("http://" + n.admin + "/status")
	if err != nil {
		return st, false
	}
	defer resp.Body.Close()
	return st, json.NewDecoder(resp.Body).Decode(&st) == nil
}

// leader returns the node that says it leads and is ready, if any.
func (c *seshatCluster) leader() *seshatNode {
	for _, n := range c.nodes {
		if !c.up(n) {
			continue
		}
		if st, ok := n.status(); ok && st.IsLeader && st.Ready {
			return n
		}
	}
	return nil
}

func (c *seshatCluster) follower() *seshatNode {
	lead := c.leader()
	for _, n := range c.nodes {
		if n != lead && c.up(n) {
			return n
		}
	}
	return nil
}

func (c *seshatCluster) stop() {
	for _, n := range c.nodes {
		c.killNode(n)
	}
}

func (c *seshatCluster) rssMB() []float64 {
	var out []float64
	for _, p := range c.procs() {
		out = append(out, p.rssMB())
	}
	return out
}

// startRedis runs redis-server as a durable reference: an append-only file
// synced on every write, no RDB snapshots.
func startRedis(dir string) (*server, string, error) {
	ports, err := ports.Free(1)
	if err != nil {
		return nil, "", err
	}
	rdir := filepath.Join(dir, "redis")
	if err := os.MkdirAll(rdir, 0o755); err != nil {
		return nil, "", err
	}
	addr := fmt.Sprintf("127.0.0.1:%d", ports[0])
	s, err := start(dir, "redis", "redis-server", "--port", strconv.Itoa(ports[0]), "--bind", "127.0.0.1",
		"--dir", rdir, "--appendonly", "yes", "--appendfsync", "always", "--save", "")
	if err != nil {
		return nil, "", err
	}
	if err := waitFor("redis-server", 10*time.Second, func() bool { return dialable(addr) }); err != nil {
		s.kill()
		return nil, "", err
	}
	return s, addr, nil
}

func dialable(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, 100*time.Millisecond)
	if err == nil {
		c.Close()
	}
	return err == nil
}

// etcdCluster is a 3-member etcd on loopback.
type etcdCluster struct {
	procs   []*server
	clients []string // client URLs, member i at i
}

func startEtcd(dir string) (*etcdCluster, error) {
	ports, err := ports.Free(6)
	if err != nil {
		return nil, err
	}
	var initial []string
	for i := range 3 {
		initial = append(initial, fmt.Sprintf("e%d=http://127.0.0.1:%d", i+1, ports[3+i]))
	}
	c := &etcdCluster{}
	for i := range 3 {
		clientURL := fmt.Sprintf("http://127.0.0.1:%d", ports[i])
		peerURL := fmt.Sprintf("http://127.0.0.1:%d", ports[3+i])
		s, err := start(dir, fmt.Sprintf("etcd-e%d", i+1), "etcd",
			"--name", fmt.Sprintf("e%d", i+1),
			"--data-dir", filepath.Join(dir, fmt.Sprintf("etcd-e%d", i+1)),
			"--listen-client-urls", clientURL, "--advertise-client-urls", clientURL,
			"--listen-peer-urls", peerURL, "--initial-advertise-peer-urls", peerURL,
			"--initial-cluster", strings.Join(initial, ","),
			"--initial-cluster-state", "new", "--initial-cluster-token", "seshat-bench",
			"--log-level", "warn")
		if err != nil {
			c.stop()
			return nil, err
		}
		c.procs = append(c.procs, s)
		c.clients = append(c.clients, clientURL)
	}
	return c, nil
}

func (c *etcdCluster) stop() {
	for _, p := range c.procs {
		p.kill()
	}
}

func (c *etcdCluster) rssMB() []float64 {
	var out []float64
	for _, p := range c.procs {
		out = append(out, p.rssMB())
	}
	return out
}
