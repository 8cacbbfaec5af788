package node

import (
	"testing"

	"github.com/seshat-db/seshat/kv"
)

type wallClock struct{ ms *int64 }

func (w wallClock) UnixMilli() int64 { return *w.ms }

func setPX(k, v string, ms int64) kv.Op {
	return kv.Op{Kind: kv.Set, Keys: [][]byte{[]byte(k)}, Values: [][]byte{[]byte(v)}, Exp: kv.ExpRelative, Expiry: ms}
}

// TestClusterTime: the cluster time is anchored to the first leader's
// wall clock, then moves by ticks only: a wall clock 30 s ahead moves it
// neither at once nor at an election, it never goes back across leader
// changes and restarts, and replicas agree on it.
func TestClusterTime(t *testing.T) {
	const base = 1_700_000_000_000
	c := newCluster(t, 1, testConfig())
	c.walls = []int64{base, base, base}
	for id := uint64(1); id <= 3; id++ {
		c.stop(id)
		c.start(id)
	}
	lead := c.leader()
	c.do(lead, set("a", "1"))
	anchor := c.node(lead).store.Clock()
	if anchor < base || anchor > base+5000 {
		t.Fatalf("first stamp %d, want the leader's wall clock %d", anchor, base)
	}
	c.ticks(50) // 500 ms
	c.do(c.follower(lead), set("b", "1"))
	after := c.node(lead).store.Clock()
	if d := after - anchor; d < 490 || d > 700 {
		t.Fatalf("50 ticks moved the clock %d ms", d)
	}
	// Every wall clock jumps 30 s ahead: the cluster time does not care.
	for i := range c.walls {
		c.walls[i] += 30_000
	}
	c.do(lead, set("c", "1"))
	c.stop(lead)
	newLead := c.leader()
	c.do(newLead, set("d", "1"))
	jumped := c.node(newLead).store.Clock()
	if jumped < after || jumped > after+5000 {
		t.Fatalf("clock %d after a 30 s wall jump and an election; it was %d", jumped, after)
	}
	c.start(lead)
	c.converged()
	// Restarts keep it: it never goes back.
	for id := uint64(1); id <= 3; id++ {
		c.stop(id)
		c.start(id)
	}
	lead = c.leader()
	c.do(lead, set("e", "1"))
	if got := c.node(lead).store.Clock(); got < jumped {
		t.Fatalf("clock went back from %d to %d across restarts", jumped, got)
	}
	c.converged()
}

// TestActiveExpiry: a key set with PX is there for its TTL on every node,
// then the leader deletes it through the log, and it is gone everywhere.
func TestActiveExpiry(t *testing.T) {
	c := newCluster(t, 2, testConfig())
	lead := c.leader()
	for i := range 300 {
		c.do(lead, setPX(string(rune('a'+i%26))+string(rune('a'+i/26)), "v", 1000))
	}
	c.do(lead, set("keep", "v"))
	c.ticks(90)
	for id := uint64(1); id <= 3; id++ {
		if n := c.node(id).store.Len(); n != 301 {
			t.Fatalf("node %d holds %d keys before the TTL ran out", id, n)
		}
	}
	c.mustGet(c.follower(lead), "aa", "v")
	c.ticks(60)
	for id := uint64(1); id <= 3; id++ {
		if n := c.node(id).store.Len(); n != 1 {
			t.Fatalf("node %d holds %d keys after the TTL ran out, want only the one without", id, n)
		}
	}
	if r := c.do(c.follower(lead), get("aa")); !r.Nil {
		t.Fatalf("expired key reads %+v", r)
	}
	c.converged()
}
