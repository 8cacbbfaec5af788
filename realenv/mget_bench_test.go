package realenv_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os/exec"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/redis/go-redis/v9"

	"github.com/seshat-db/seshat/node"
	"github.com/seshat-db/seshat/realenv"
	"github.com/seshat-db/seshat/resp"
	"github.com/seshat-db/seshat/server"
)

type noTransport struct{}

func (noTransport) Send(uint64, []byte) {}

// seshatNode starts a one-node cluster on loopback, as the binary wires
// it (host goroutine, worker pool, RESP server), and returns its address
// and host.
func seshatNode(b *testing.B) (string, *realenv.Host) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	n, err := node.Open(node.Config{ID: 1, Peers: []uint64{1}, Dir: b.TempDir()}, realenv.New(noTransport{}, log, vfs.Default))
	if err != nil {
		b.Fatal(err)
	}
	h := realenv.NewHost(n, realenv.HostConfig{TickInterval: node.TickInterval, Log: log})
	for !h.Status().IsLeader {
		time.Sleep(10 * time.Millisecond)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	srv := server.NewServer(server.ServerConfig{Log: log}, h, nil)
	go func() { _ = srv.Serve(ln) }()
	b.Cleanup(func() {
		_ = srv.Close()
		_ = h.Close()
	})
	return ln.Addr().String(), h
}

// redisServer starts redis-server on a free loopback port, without
// persistence, or skips the benchmark when it is not installed.
func redisServer(b *testing.B) string {
	path, err := exec.LookPath("redis-server")
	if err != nil {
		b.Skip("redis-server is not installed (apt-get install redis-server): the MGET benchmark needs it as its reference")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	addr := ln.Addr().String()
	_, port, _ := net.SplitHostPort(addr)
	_ = ln.Close()
	cmd := exec.Command(path, "--port", port, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no")
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	c := redis.NewClient(&redis.Options{Addr: addr})
	defer c.Close()
	for i := 0; c.Ping(context.Background()).Err() != nil; i++ {
		if i > 200 {
			b.Fatal("redis-server did not start")
		}
		time.Sleep(10 * time.Millisecond)
	}
	return addr
}

func key(i int) string { return fmt.Sprintf("key:%08d", i) }

// load writes keys 0..n-1 in MSETs within the write bound.
func load(b *testing.B, c *redis.Client, n int) {
	ctx := context.Background()
	for lo := 0; lo < n; lo += resp.KeysPerWriteMaxDefault {
		var kv []any
		for i := lo; i < min(lo+resp.KeysPerWriteMaxDefault, n); i++ {
			kv = append(kv, key(i), "value-of-"+key(i))
		}
		if err := c.MSet(ctx, kv...).Err(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkMGet runs MGETs of 10k, 50k and 100k keys against a one-node
// Seshat cluster and against redis-server, both on loopback, and reports
// each's time per MGET, their ratio (target: within 3x of Redis at 50k)
// and the longest time the node's host goroutine was held while Seshat's
// MGETs ran (target: under 10 ms; no tick can run during it).
func BenchmarkMGet(b *testing.B) {
	redisAddr := redisServer(b)
	seshatAddr, host := seshatNode(b)
	const most = 100_000
	ctx := context.Background()
	clients := map[string]*redis.Client{}
	for name, addr := range map[string]string{"seshat": seshatAddr, "redis": redisAddr} {
		c := redis.NewClient(&redis.Options{Addr: addr, ReadTimeout: time.Minute})
		b.Cleanup(func() { _ = c.Close() })
		load(b, c, most)
		clients[name] = c
	}
	for _, n := range []int{10_000, 50_000, 100_000} {
		keys := make([]string, n)
		for i := range keys {
			keys[i] = key(i * (most / n))
		}
		b.Run(fmt.Sprintf("keys=%d", n), func(b *testing.B) {
			mget := func(c *redis.Client) time.Duration {
				start := time.Now()
				vals, err := c.MGet(ctx, keys...).Result()
				if err != nil || len(vals) != n || vals[n-1] != "value-of-"+keys[n-1] {
					b.Fatalf("MGET of %d keys: %v (%d values)", n, err, len(vals))
				}
				return time.Since(start)
			}
			var seshat, reference time.Duration
			host.TakeLongestBatch()
			b.ResetTimer()
			for range b.N {
				seshat += mget(clients["seshat"])
				reference += mget(clients["redis"])
			}
			b.StopTimer()
			per := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 / float64(b.N) }
			b.ReportMetric(per(seshat), "seshat-ms")
			b.ReportMetric(per(reference), "redis-ms")
			b.ReportMetric(float64(seshat)/float64(reference), "x-redis")
			b.ReportMetric(float64(host.TakeLongestBatch().Microseconds())/1000, "max-batch-ms")
		})
	}
}
