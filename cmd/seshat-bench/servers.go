package main

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/seshat-db/seshat/internal/localcluster"
	"github.com/seshat-db/seshat/internal/ports"
)

// The seshat-node flags every benchmark node gets on top of the cluster's.
var seshatFlags = []string{"-log.level", "warn"}

// startRedis runs redis-server as a durable reference: an append-only file
// synced on every write, no RDB snapshots.
func startRedis(dir string) (*localcluster.Proc, string, error) {
	ports, err := ports.Free(1)
	if err != nil {
		return nil, "", err
	}
	rdir := filepath.Join(dir, "redis")
	if err := os.MkdirAll(rdir, 0o755); err != nil {
		return nil, "", err
	}
	addr := fmt.Sprintf("127.0.0.1:%d", ports[0])
	s, err := localcluster.StartProc(dir, "redis", "redis-server", "--port", strconv.Itoa(ports[0]), "--bind", "127.0.0.1",
		"--dir", rdir, "--appendonly", "yes", "--appendfsync", "always", "--save", "")
	if err != nil {
		return nil, "", err
	}
	if err := localcluster.WaitFor("redis-server", 10*time.Second, func() bool { return dialable(addr) }); err != nil {
		s.Kill()
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
	procs   []*localcluster.Proc
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
		s, err := localcluster.StartProc(dir, fmt.Sprintf("etcd-e%d", i+1), "etcd",
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
		p.Kill()
	}
}

func (c *etcdCluster) rssMB() []float64 {
	var out []float64
	for _, p := range c.procs {
		out = append(out, p.RSSMB())
	}
	return out
}
