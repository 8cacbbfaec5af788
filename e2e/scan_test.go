package e2e

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// retryNoQuorum retries a command refused with CLUSTERDOWN (no leader
// known, as during an election) for longer than go-redis's own retries
// (these clients have them off): the refused command did not run.
type retryNoQuorum struct{}

func (retryNoQuorum) DialHook(next redis.DialHook) redis.DialHook { return next }
func (retryNoQuorum) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}
func (retryNoQuorum) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		deadline := time.Now().Add(15 * time.Second)
		for {
			cmd.SetErr(nil)
			err := next(ctx, cmd)
			if err == nil || !strings.HasPrefix(err.Error(), "CLUSTERDOWN") || time.Now().After(deadline) {
				return err
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
}

// TestScanAcrossLeaderKill: go-redis's Scan, its cursor resumed on
// another node, and its ScanIterator, each across a kill -9 of the
// leader while other clients write, return every key present throughout;
// redis-cli --scan and --bigkeys walk the keyspace, and --stat counts it
// (stdbuf: --stat runs until killed, and a pipe would buffer all it
// printed).
func TestScanAcrossLeaderKill(t *testing.T) {
	ctx := context.Background()
	c := newCluster(t, buildBinary(t))
	lead := c.startAll()
	clients := make([]*redis.Client, 3)
	for i, p := range c.nodes {
		clients[i] = client(p)
		clients[i].AddHook(retryNoQuorum{})
		defer clients[i].Close()
	}
	const stableKeys = 400
	stable := map[string]bool{}
	for i := 0; i < stableKeys; i += 100 {
		var kv []any
		for j := i; j < i+100; j++ {
			k := fmt.Sprintf("stable:%d", j)
			kv = append(kv, k, "v")
			stable[k] = true
		}
		if err := clients[lead].MSet(ctx, kv...).Err(); err != nil {
			t.Fatal(err)
		}
	}
	// Churn: keys that come and go during the scans.
	var stop atomic.Bool
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; !stop.Load(); i++ {
			r := clients[i%3]
			k := fmt.Sprintf("churn:%d", i%300)
			if i%3 == 0 {
				_ = r.Del(ctx, k).Err()
			} else {
				_ = r.Set(ctx, k, "x", 0).Err()
			}
		}
	}()
	defer func() { stop.Store(true); wg.Wait() }()

	missing := func(seen map[string]bool) []string {
		var out []string
		for k := range stable {
			if !seen[k] {
				out = append(out, k)
			}
		}
		return out
	}

	t.Run("Scan resumed on other nodes across a leader kill", func(t *testing.T) {
		seen := map[string]bool{}
		var survivors []*redis.Client
		for i := range c.nodes {
			if i != lead {
				survivors = append(survivors, clients[i])
			}
		}
		var cursor uint64
		for call := 0; ; call++ {
			if call == 3 {
				c.nodes[lead].kill()
			}
			keys, next, err := survivors[call%2].Scan(ctx, cursor, "", 25).Result()
			if err != nil {
				t.Fatalf("SCAN %d (call %d): %v", cursor, call, err)
			}
			for _, k := range keys {
				seen[k] = true
			}
			if cursor = next; cursor == 0 {
				t.Logf("%d calls, %d keys returned", call+1, len(seen))
				break
			}
		}
		if m := missing(seen); len(m) > 0 {
			t.Fatalf("%d keys present throughout were never returned, e.g. %q", len(m), m[0])
		}
		c.start(c.nodes[lead])
	})

	t.Run("ScanIterator across a leader kill", func(t *testing.T) {
		lead := c.waitReady(c.nodes...)
		r := clients[(lead+1)%3]
		seen := map[string]bool{}
		it := r.Scan(ctx, 0, "stable:*", 10).Iterator()
		for n := 0; it.Next(ctx); n++ {
			if n == 20 {
				c.nodes[lead].kill()
			}
			seen[it.Val()] = true
		}
		if err := it.Err(); err != nil {
			t.Fatal(err)
		}
		if m := missing(seen); len(m) > 0 {
			t.Fatalf("%d keys present throughout were never returned, e.g. %q", len(m), m[0])
		}
		for k := range seen {
			if !strings.HasPrefix(k, "stable:") {
				t.Fatalf("MATCH stable:* returned %q", k)
			}
		}
		c.start(c.nodes[lead])
		c.waitReady(c.nodes...)
	})

	t.Run("one role, and INFO keyspace agrees with DBSIZE", func(t *testing.T) {
		stop.Store(true)
		wg.Wait()
		c.waitReady(c.nodes...)
		// A node's INFO reads its applied state, DBSIZE waits for a read
		// index: a follower catching up may be between the two, so the
		// check is retried until they agree.
		var why string
		agree := func() bool {
			masters := 0
			for i, r := range clients {
				info := r.Info(ctx, "replication", "keyspace").Val()
				roleReply, _ := r.Do(ctx, "ROLE").Slice()
				helloReply, _ := r.Do(ctx, "HELLO").Slice()
				if len(roleReply) == 0 || len(helloReply) < 12 {
					why = fmt.Sprintf("node %d: ROLE %v, HELLO %v", i+1, roleReply, helloReply)
					return false
				}
				role, helloRole := fmt.Sprint(roleReply[0]), fmt.Sprint(helloReply[11])
				master := strings.Contains(info, "role:master")
				if master {
					masters++
				}
				if master != (role == "master") || master != (helloRole == "master") || !master && (role != "slave" || helloRole != "replica" || !strings.Contains(info, "role:slave")) {
					why = fmt.Sprintf("node %d: INFO %q, ROLE %s, HELLO role %s disagree", i+1, info, role, helloRole)
					return false
				}
				n := r.DBSize(ctx).Val()
				if want := fmt.Sprintf("db0:keys=%d,expires=0,avg_ttl=0", n); !strings.Contains(info, want) {
					why = fmt.Sprintf("node %d: INFO keyspace %q, want %q (DBSIZE)", i+1, info, want)
					return false
				}
			}
			why = fmt.Sprintf("%d nodes say they are the master", masters)
			return masters == 1
		}
		deadline := time.Now().Add(5 * time.Second)
		for !agree() {
			if time.Now().After(deadline) {
				t.Fatal(why)
			}
			time.Sleep(50 * time.Millisecond)
		}
		for i, r := range clients {
			// TIME answers the node's clock, not the "0 0" of an
			// executor without the server's RoleInfo.
			now, err := r.Time(ctx).Result()
			if err != nil || time.Until(now).Abs() > time.Minute {
				t.Fatalf("node %d: TIME %v, %v", i+1, now, err)
			}
			// CLIENT LIST names this connection; CONFIG GET the node's
			// own port.
			list, err := r.ClientList(ctx).Result()
			if err != nil || !strings.Contains(list, " cmd=client|list ") {
				t.Fatalf("node %d: CLIENT LIST %q, %v", i+1, list, err)
			}
			_, port, _ := net.SplitHostPort(c.nodes[i].client)
			if got, err := r.ConfigGet(ctx, "port").Result(); err != nil || got["port"] != port {
				t.Fatalf("node %d: CONFIG GET port %v, %v; want %s", i+1, got, err, port)
			}
		}
		if err := clients[0].Set(ctx, "with-ttl", "x", time.Hour).Err(); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "INFO keyspace to count the key with a TTL", func() bool {
			return strings.Contains(clients[2].Info(ctx, "keyspace").Val(), "expires=1,")
		})
	})

	t.Run("redis-cli --scan and --bigkeys", func(t *testing.T) {
		if _, err := exec.LookPath("redis-cli"); err != nil {
			if os.Getenv("CI") != "" {
				t.Fatal("redis-cli is required in CI (.ci/run installs redis-tools)")
			}
			t.Skip("redis-cli not installed; apt-get install redis-tools")
		}
		out := redisCLI(t, c.nodes[0], "--scan", "--pattern", "stable:*")
		seen := map[string]bool{}
		for _, k := range strings.Fields(out) {
			seen[k] = true
		}
		if m := missing(seen); len(m) > 0 || len(seen) != stableKeys {
			t.Fatalf("redis-cli --scan returned %d keys, missing %d", len(seen), len(m))
		}
		out = redisCLI(t, c.nodes[1], "--bigkeys")
		if !strings.Contains(out, "Biggest string found") || !strings.Contains(out, "strings with") {
			t.Fatalf("redis-cli --bigkeys:\n%s", out)
		}
		t.Logf("redis-cli --bigkeys:\n%s", out)
		_, port, _ := net.SplitHostPort(c.nodes[0].client)
		cctx, cancel := context.WithTimeout(ctx, 1500*time.Millisecond)
		defer cancel()
		stat, _ := exec.CommandContext(cctx, "stdbuf", "-oL", "redis-cli", "-p", port, "--stat", "-i", "0.2").CombinedOutput()
		lines := strings.Split(strings.TrimSpace(string(stat)), "\n")
		if len(lines) < 3 || !strings.Contains(lines[1], "keys") || strings.Contains(string(stat), "-9223372036854775808") {
			t.Fatalf("redis-cli --stat:\n%s", stat)
		}
		if f := strings.Fields(lines[2]); len(f) == 0 || f[0] != strconv.Itoa(len(stable)+1) && f[0] != strconv.FormatInt(clients[0].DBSize(ctx).Val(), 10) {
			t.Fatalf("redis-cli --stat counts keys %q; DBSIZE is %d:\n%s", f, clients[0].DBSize(ctx).Val(), stat)
		}
		t.Logf("redis-cli --stat:\n%s", stat)
	})
}
