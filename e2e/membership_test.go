package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestGrowAndShrink: a fourth node started with bootstrap = false waits,
// empty, until CLUSTER ADDNODE on the leader adds it as a learner; it
// catches up, is promoted, serves; an original member is then removed and
// refuses clients, saying why; and no acknowledged write is lost.
func TestGrowAndShrink(t *testing.T) {
	c := newCluster(t, buildBinary(t))
	lead := c.nodes[c.startAll()]
	ctx := context.Background()
	for i := range 20 {
		if err := client(lead).Set(ctx, fmt.Sprintf("k%d", i), "v", 0).Err(); err != nil {
			t.Fatal(err)
		}
	}
	p4 := c.extra(4, "n4", true, "-cluster.bootstrap=false")
	time.Sleep(300 * time.Millisecond)
	if got := redisCLI(t, p4, "get", "k1"); !strings.HasPrefix(got, "LOADING") {
		t.Fatalf("a node waiting to be added answered %q", got)
	}
	// The first members record their addresses for a moment after the
	// start, one change at a time: an ADDNODE then may be told to retry.
	got := redisCLI(t, lead, "cluster", "addnode", "4", p4.internal, p4.client)
	for i := 0; i < 20 && strings.Contains(got, "in progress"); i++ {
		time.Sleep(100 * time.Millisecond)
		got = redisCLI(t, lead, "cluster", "addnode", "4", p4.internal, p4.client)
	}
	if got != "OK" {
		t.Fatalf("CLUSTER ADDNODE: %q", got)
	}
	waitFor(t, "node 4 to catch up", func() bool { return redisCLI(t, p4, "get", "k19") == "v" })
	if got := redisCLI(t, lead, "cluster", "promote", "4"); got != "OK" {
		t.Fatalf("CLUSTER PROMOTE: %q", got)
	}
	nodes := redisCLI(t, p4, "cluster", "nodes")
	if strings.Count(nodes, "\n") != 3 || !strings.Contains(nodes, "myself,slave") || !strings.Contains(nodes, p4.client+"@") {
		t.Fatalf("CLUSTER NODES on node 4:\n%s", nodes)
	}
	if got := redisCLI(t, p4, "set", "grown", "yes"); got != "OK" {
		t.Fatalf("a write through node 4: %q", got)
	}
	var victim *proc
	for _, p := range c.nodes[:3] {
		if p != lead {
			victim = p
			break
		}
	}
	if got := redisCLI(t, lead, "cluster", "removenode", fmt.Sprint(victim.id)); got != "OK" {
		t.Fatalf("CLUSTER REMOVENODE: %q", got)
	}
	waitFor(t, "the removed node to refuse", func() bool {
		return strings.Contains(redisCLI(t, victim, "get", "k1"), "removed from the cluster")
	})
	for i := range 20 {
		if got := redisCLI(t, p4, "get", fmt.Sprintf("k%d", i)); got != "v" {
			t.Fatalf("k%d via node 4: %q", i, got)
		}
	}
	if got := redisCLI(t, lead, "get", "grown"); got != "yes" {
		t.Fatalf("grown via the leader: %q", got)
	}
}
