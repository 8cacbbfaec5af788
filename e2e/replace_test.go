package e2e

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestReplaceDeadNode: while clients write, a follower of three voters is
// killed; a new machine, node 4, is started empty, added as a learner
// (CLUSTER ADDNODE) and, once caught up, takes the dead node's place in
// one joint change (CLUSTER REPLACENODE, through redis-cli). No
// acknowledged write is lost, node 4 is a voter, and the dead node is
// gone from CLUSTER NODES.
func TestReplaceDeadNode(t *testing.T) {
	c := newCluster(t, buildBinary(t))
	lead := c.nodes[c.startAll()]
	ctx := context.Background()

	var writers ackedWriters
	for w := range 2 {
		writers.start(ctx, lead, fmt.Sprintf("w%d", w))
	}

	dead, other := c.without(lead)[0], c.without(lead)[1]
	time.Sleep(300 * time.Millisecond)
	dead.kill()
	n4 := c.extra(4, "n4", true, "-cluster.bootstrap=false")
	waitFor(t, "node 4 added as a learner", func() bool {
		return redisCLI(t, lead, "cluster", "addnode", "4", n4.internal, n4.client) == "OK"
	})
	// Refused until node 4 has caught up (by snapshot, then the log).
	waitFor(t, fmt.Sprintf("node %d replaced by node 4", dead.id), func() bool {
		return redisCLI(t, lead, "cluster", "replacenode", fmt.Sprint(dead.id), "4") == "OK"
	})
	time.Sleep(300 * time.Millisecond)
	acked := writers.finish()

	live := []*proc{lead, other, n4}
	for _, p := range live {
		st, err := p.status()
		if err != nil || len(st.Voters) != 3 || !slices.Contains(st.Voters, 4) || slices.Contains(st.Voters, uint64(dead.id)) || len(st.Learners) != 0 {
			t.Fatalf("node %d: voters %v learners %v (%v), want node 4 in node %d's place", p.id, st.Voters, st.Learners, err, dead.id)
		}
		nodes := redisCLI(t, p, "cluster", "nodes")
		if strings.Contains(nodes, fmt.Sprintf("%040x", dead.id)) || !strings.Contains(nodes, fmt.Sprintf("%040x", 4)) {
			t.Fatalf("CLUSTER NODES on node %d still names node %d or lacks node 4:\n%s", p.id, dead.id, nodes)
		}
	}
	t.Logf("%d writes acknowledged while node %d died and node 4 replaced it", len(acked), dead.id)
	for _, p := range live {
		r := client(p)
		for _, key := range acked {
			if v, err := r.Get(ctx, key).Result(); err != nil || v != key {
				t.Fatalf("acknowledged write %s reads %q, %v on node %d", key, v, err, p.id)
			}
		}
		r.Close()
	}
}
