package localcluster

import (
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/seshat-db/seshat/internal/ports"
)

// Node is one seshat-node of a Cluster: its addresses, its data
// directory and its process while it runs.
type Node struct {
	ID                      uint64
	Client, Internal, Admin string
	DataDir                 string
	args                    []string
	proc                    *Proc
}

// Cluster is a local 3-node seshat-node cluster on loopback.
type Cluster struct {
	bin   string
	dir   string
	mu    sync.Mutex // the nodes' procs: a signal's stop races a harness's kills and restarts
	nodes []*Node
}

// Start starts three seshat-node processes (binary bin) with their data
// and logs under dir, as cluster clusterID; extra flags go to every node.
func Start(bin, dir, clusterID string, extra ...string) (*Cluster, error) {
	free, err := ports.Free(9)
	if err != nil {
		return nil, err
	}
	c := &Cluster{bin: bin, dir: dir}
	var members []string
	for i := range 3 {
		members = append(members, fmt.Sprintf("%d=127.0.0.1:%d", i+1, free[3+i]))
	}
	for i := range 3 {
		n := &Node{
			ID:       uint64(i + 1),
			Client:   fmt.Sprintf("127.0.0.1:%d", free[i]),
			Internal: fmt.Sprintf("127.0.0.1:%d", free[3+i]),
			Admin:    fmt.Sprintf("127.0.0.1:%d", free[6+i]),
			DataDir:  filepath.Join(dir, fmt.Sprintf("seshat-n%d", i+1)),
		}
		n.args = append([]string{
			"-node.id", strconv.Itoa(i + 1),
			"-node.client_addr", n.Client,
			"-node.internal_addr", n.Internal,
			"-node.admin_addr", n.Admin,
			"-node.data_dir", n.DataDir,
			"-cluster.initial_members", strings.Join(members, ","),
			"-cluster.cluster_id", clusterID,
		}, extra...)
		c.nodes = append(c.nodes, n)
	}
	for _, n := range c.nodes {
		if err := c.StartNode(n); err != nil {
			return c, err
		}
	}
	return c, nil
}

// Nodes returns the cluster's nodes, running or not, by id.
func (c *Cluster) Nodes() []*Node { return c.nodes }

// StartNode (re)starts n's process over its data.
func (c *Cluster) StartNode(n *Node) error {
	p, err := StartProc(c.dir, fmt.Sprintf("seshat-n%d", n.ID), c.bin, n.args...)
	c.mu.Lock()
	defer c.mu.Unlock()
	n.proc = p
	return err
}

// KillNode kills n's process (SIGKILL) and forgets it.
func (c *Cluster) KillNode(n *Node) {
	c.mu.Lock()
	p := n.proc
	n.proc = nil
	c.mu.Unlock()
	p.Kill()
}

// Proc returns n's running process, or nil.
func (c *Cluster) Proc(n *Node) *Proc {
	c.mu.Lock()
	defer c.mu.Unlock()
	return n.proc
}

// Up reports whether n's process was started and not killed.
func (c *Cluster) Up(n *Node) bool { return c.Proc(n) != nil }

// Kill kills every node at once.
func (c *Cluster) Kill() {
	if c == nil {
		return
	}
	for _, n := range c.nodes {
		c.KillNode(n)
	}
}

// Stop shuts every node down gracefully (SIGTERM), killing what has not
// exited within grace.
func (c *Cluster) Stop(grace time.Duration) {
	if c == nil {
		return
	}
	var wg sync.WaitGroup
	for _, n := range c.nodes {
		c.mu.Lock()
		p := n.proc
		n.proc = nil
		c.mu.Unlock()
		wg.Add(1)
		go func() {
			defer wg.Done()
			p.Stop(grace)
		}()
	}
	wg.Wait()
}

// Status is the part of a node's /status that harnesses read.
type Status struct {
	IsLeader bool   `json:"is_leader"`
	Leader   uint64 `json:"leader"`
	Ready    bool   `json:"ready"`
	Applied  uint64 `json:"applied"`
}

// Short, so that a harness timing a failover is not held up by a node that
// stopped answering.
var adminHTTP = &http.Client{Timeout: 500 * time.Millisecond}

// Status asks n's admin port for its status.
func (n *Node) Status() (Status, error) {
	var st Status
	resp, err := adminHTTP.Get("http://" + n.Admin + "/status")
	if err != nil {
		return st, err
	}
	defer resp.Body.Close()
	return st, json.NewDecoder(resp.Body).Decode(&st)
}

// Leader returns the running node that says it leads and is ready, if any.
func (c *Cluster) Leader() *Node {
	for _, n := range c.nodes {
		if !c.Up(n) {
			continue
		}
		if st, err := n.Status(); err == nil && st.IsLeader && st.Ready {
			return n
		}
	}
	return nil
}

// Follower returns a running node other than the leader, if any.
func (c *Cluster) Follower() *Node {
	lead := c.Leader()
	for _, n := range c.nodes {
		if n != lead && c.Up(n) {
			return n
		}
	}
	return nil
}

// WaitLeader waits until a node leads, failing at once if a node exits.
func (c *Cluster) WaitLeader(within time.Duration) error {
	return c.wait(within, "no leader", func() bool { return c.Leader() != nil })
}

// WaitReady waits until every running node is ready.
func (c *Cluster) WaitReady(within time.Duration) error {
	return c.wait(within, "not every node ready", func() bool {
		for _, n := range c.nodes {
			if p := c.Proc(n); p != nil {
				if st, err := n.Status(); err != nil || !st.Ready {
					return false
				}
			}
		}
		return true
	})
}

func (c *Cluster) wait(within time.Duration, what string, ok func() bool) error {
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		for _, n := range c.nodes {
			if p := c.Proc(n); p != nil {
				if why := p.ExitedEarly(); why != "" {
					return fmt.Errorf("seshat: %s", why)
				}
			}
		}
		if ok() {
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("seshat: %s after %s (see the logs in %s)", what, within, c.dir)
}

// RSSMB is the resident set of each running node, in MiB.
func (c *Cluster) RSSMB() []float64 {
	var out []float64
	for _, n := range c.nodes {
		if p := c.Proc(n); p != nil {
			out = append(out, p.RSSMB())
		}
	}
	return out
}
