package e2e

import (
	"context"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// clusterAddrs is every node's client address.
func (c *cluster) clusterAddrs() []string {
	var out []string
	for _, p := range c.nodes {
		out = append(out, p.client)
	}
	return out
}

// writeThrough writes n keys through rdb, each until it is acknowledged or
// the deadline passes, and returns the keys written and the errors seen.
func writeThrough(ctx context.Context, t *testing.T, rdb redis.Cmdable, prefix string, n int, deadline time.Duration) (acked []string, errs []string) {
	t.Helper()
	end := time.Now().Add(deadline)
	for i := 0; i < n; i++ {
		key := fmt.Sprintf("%s:%d", prefix, i)
		for {
			err := rdb.Set(ctx, key, key, 0).Err()
			if err == nil {
				acked = append(acked, key)
				break
			}
			errs = append(errs, err.Error())
			if time.Now().After(end) {
				t.Fatalf("%s not acknowledged within %v; errors: %q", key, deadline, errs[max(0, len(errs)-3):])
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	return acked, errs
}

// TestClusterClients: go-redis's ClusterClient and UniversalClient (given
// the three addresses) and redis-cli -c work against Seshat unmodified:
// they find every member and the leader through CLUSTER SLOTS and NODES,
// read and write, and carry on once the leader is killed. go-redis leaves
// a dead master only when it reloads its slot map, which it does on MOVED
// or READONLY from a live node or every ClusterStateReloadInterval (60 s
// by default): a killed leader cost the default client 455 failed
// attempts over 60 s (dial errors: nothing ran). The clients here reload
// every second, as an application that wants fast failover sets them
// (UniversalOptions has no such field: its application calls ReloadState
// when a write fails).
func TestClusterClients(t *testing.T) {
	c := newCluster(t, buildBinary(t))
	lead := c.nodes[c.startAll()]
	ctx := context.Background()

	// Every member's client address is told, the leader as master.
	waitFor(t, "every member's client address in CLUSTER NODES", func() bool {
		nodes := redisCLI(t, c.nodes[0], "cluster", "nodes")
		for _, p := range c.nodes {
			if !strings.Contains(nodes, " "+p.client+"@") {
				return false
			}
		}
		return true
	})
	nodes := redisCLI(t, c.nodes[0], "cluster", "nodes")
	for _, line := range strings.Split(nodes, "\n") {
		if strings.Contains(line, " "+lead.client+"@") != strings.Contains(line, "master") {
			t.Fatalf("CLUSTER NODES does not name the leader (%s) alone as master:\n%s", lead.client, nodes)
		}
	}
	if role := redisCLI(t, c.without(lead)[0], "role"); !strings.Contains(role, strings.Replace(lead.client, ":", "\n", 1)) {
		t.Fatalf("ROLE on a follower does not name the leader %s:\n%s", lead.client, role)
	}

	// The leader's ROLE lists the replicas CLUSTER SLOTS lists.
	waitFor(t, "the leader's ROLE lists both followers", func() bool {
		role := redisCLI(t, lead, "role")
		for _, p := range c.without(lead) {
			if !strings.Contains(role, strings.Replace(p.client, ":", "\n", 1)) {
				return false
			}
		}
		return strings.HasPrefix(role, "master\n")
	})

	cc := redis.NewClusterClient(&redis.ClusterOptions{Addrs: c.clusterAddrs(), ClusterStateReloadInterval: time.Second})
	defer cc.Close()
	uc := redis.NewUniversalClient(&redis.UniversalOptions{Addrs: c.clusterAddrs()})
	defer uc.Close()
	if _, ok := uc.(*redis.ClusterClient); !ok {
		t.Fatalf("NewUniversalClient with three addresses made a %T", uc)
	}
	var acked []string
	for name, rdb := range map[string]redis.UniversalClient{"cluster": cc, "universal": uc} {
		keys, errs := writeThrough(ctx, t, rdb, name+"-before", 50, 10*time.Second)
		if len(errs) > 0 {
			t.Fatalf("%s client, healthy cluster: %d errors, first %s", name, len(errs), errs[0])
		}
		acked = append(acked, keys...)
		if got, err := rdb.MGet(ctx, keys[0], keys[1], keys[2]).Result(); err != nil || len(got) != 3 || got[2] != keys[2] {
			t.Fatalf("%s client MGET: %v %v", name, got, err)
		}
	}
	if n, err := cc.ClusterCountKeysInSlot(ctx, slotOf(t, c.nodes[0], acked[0])).Result(); err != nil || n < 1 {
		t.Fatalf("CLUSTER COUNTKEYSINSLOT: %d %v", n, err)
	}

	// redis-cli --cluster, an operator's Redis Cluster tool, checks the
	// cluster healthy through any member: one master with every slot.
	clusterCheck(t, c.without(lead)[0], lead, 2)

	// redis-cli -c through a follower.
	follower := c.without(lead)[0]
	if got := redisCLIc(t, follower, "set", "cli-key", "v1"); got != "OK" {
		t.Fatalf("redis-cli -c SET via a follower: %q", got)
	}

	lead.kill()
	killedAt := time.Now()
	reloadOnError := &reloadHook{cc: uc.(*redis.ClusterClient)}
	uc.AddHook(reloadOnError)
	for name, rdb := range map[string]redis.UniversalClient{"cluster": cc, "universal": uc} {
		keys, errs := writeThrough(ctx, t, rdb, name+"-after", 50, 15*time.Second)
		t.Logf("%s client after the leader kill: %d keys acknowledged, %d errors, %v after the kill; first errors %q", name, len(keys), len(errs), time.Since(killedAt).Round(time.Millisecond), errs[:min(3, len(errs))])
		for _, e := range errs {
			// A write the client saw fail must be one that never ran.
			if !strings.Contains(e, "connection refused") && !strings.HasPrefix(e, "CLUSTERDOWN ") {
				t.Fatalf("%s client: a write failed with %q", name, e)
			}
		}
		acked = append(acked, keys...)
	}
	for _, p := range c.without(lead) {
		if got := redisCLIc(t, p, "get", "cli-key"); got != "v1" {
			t.Fatalf("redis-cli -c GET via node %d after the leader kill: %q", p.id, got)
		}
	}
	newLead := c.nodes[c.waitReady(c.without(lead)...)]
	// Through the new leader, once it flags the killed one fail (as
	// Redis Cluster does, redis-cli then leaves it out): one replica.
	waitFor(t, "the new leader flags the killed node fail", func() bool {
		for _, line := range strings.Split(redisCLI(t, newLead, "cluster", "nodes"), "\n") {
			if strings.HasPrefix(line, fmt.Sprintf("%040x ", lead.id)) {
				return strings.Contains(line, ",fail ")
			}
		}
		return false
	})
	clusterCheck(t, newLead, newLead, 1)
	t.Logf("redis-cli -c -p %s, leader %s killed:\nset cli-key v2 -> %s\nget cli-key -> %s\nrole -> %q\ncluster slots -> %q", follower.client, lead.client,
		redisCLIc(t, follower, "set", "cli-key", "v2"), redisCLIc(t, follower, "get", "cli-key"), redisCLIc(t, follower, "role"), redisCLIc(t, follower, "cluster", "slots"))
	for _, key := range acked {
		if v, err := cc.Get(ctx, key).Result(); err != nil || v != key {
			t.Fatalf("acknowledged write %s reads %q, %v", key, v, err)
		}
	}
}

// clusterCheck runs redis-cli --cluster check through p and demands it
// pass: master the one master, with every slot and replicas replicas,
// and every node agreeing.
func clusterCheck(t *testing.T, p, master *proc, replicas int) {
	t.Helper()
	out, err := exec.Command("redis-cli", "--cluster", "check", p.client).CombinedOutput()
	text := string(out)
	t.Logf("redis-cli --cluster check %s:\n%s", p.client, text)
	for _, want := range []string{
		fmt.Sprintf("%s (%s...) -> ", master.client, fmt.Sprintf("%040x", master.id)[:8]),
		fmt.Sprintf("| 16384 slots | %d slaves.", replicas),
		fmt.Sprintf("M: %040x %s", master.id, master.client),
		"[OK] All nodes agree about slots configuration.",
		"[OK] All 16384 slots covered.",
	} {
		if !strings.Contains(text, want) {
			t.Fatalf("redis-cli --cluster check %s (%v) does not say %q:\n%s", p.client, err, want, text)
		}
	}
	if err != nil {
		t.Fatalf("redis-cli --cluster check %s: %v\n%s", p.client, err, text)
	}
}

// slotOf is CLUSTER KEYSLOT key, asked of p.
func slotOf(t *testing.T, p *proc, key string) int {
	var slot int
	if _, err := fmt.Sscan(redisCLI(t, p, "cluster", "keyslot", key), &slot); err != nil {
		t.Fatal(err)
	}
	return slot
}

// redisCLIc runs redis-cli -c (cluster mode: it follows MOVED and ASK).
func redisCLIc(t *testing.T, p *proc, args ...string) string {
	t.Helper()
	host, port, _ := strings.Cut(p.client, ":")
	out, err := exec.Command("redis-cli", append([]string{"-c", "-h", host, "-p", port}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("redis-cli -c %v: %v\n%s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

// reloadHook reloads a ClusterClient's slot map after a command fails.
type reloadHook struct{ cc *redis.ClusterClient }

func (h *reloadHook) DialHook(next redis.DialHook) redis.DialHook { return next }
func (h *reloadHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}
func (h *reloadHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		err := next(ctx, cmd)
		if err != nil && err != redis.Nil {
			h.cc.ReloadState(ctx)
		}
		return err
	}
}
