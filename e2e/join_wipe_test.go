package e2e

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"
)

// restart starts p again with the flags it was first started with by
// joiner: -join via.
func (c *cluster) restartJoiner(p, via *proc) {
	saved := c.args
	c.args = append(slices.Clone(c.args), "-join", via.client)
	c.start(p)
	c.args = saved
}

// TestWipedJoinedNodeRejoins: a node added with -join and promoted, killed
// with kill -9, its data directory deleted, and started again with the
// same flags, must not come back as the member it was (under identity 0,
// with an empty log: the leader's heartbeat would commit past it). It
// asks the members, rejoins under a new identity, catches up by snapshot
// and is a voter again, serving every write acknowledged before and while
// it was gone (node/joinprobe.go).
func TestWipedJoinedNodeRejoins(t *testing.T) {
	ctx := context.Background()
	c := newCluster(t, buildBinary(t))
	lead := c.nodes[c.startAll()]
	n4 := c.joiner(4, c.nodes[1])
	waitVoter(t, n4)
	// NB: its identity may not be 0 already. The members' transports
	// refuse it until ADDNODE records its address, so its probe is
	// answered only after it is a member, and it rejoins once at its
	// first start too (node/joinprobe.go, the cost of a -join).
	old, err := n4.status()
	if err != nil {
		t.Fatal(err)
	}
	r := client(lead)
	defer r.Close()
	for i := range 100 {
		if err := r.Set(ctx, fmt.Sprintf("jw:%d", i), fmt.Sprintf("before-%d", i), 0).Err(); err != nil {
			t.Fatal(err)
		}
	}
	n4.kill()
	if err := os.RemoveAll(n4.dataDir); err != nil {
		t.Fatal(err)
	}
	for i := 100; i < 200; i++ {
		if err := r.Set(ctx, fmt.Sprintf("jw:%d", i), fmt.Sprintf("while-%d", i), 0).Err(); err != nil {
			t.Fatalf("write with node 4 gone: %v", err)
		}
	}
	c.restartJoiner(n4, c.nodes[1])
	restarted := time.Now()
	waitVoter(t, n4)
	st, err := n4.status()
	if err != nil || st.Identity == old.Identity || st.SnapshotsInstalled < 1 || len(st.Voters) != 4 || len(st.Learners) != 0 {
		t.Fatalf("node 4 after the wipe: %+v (%v), want a new identity, a snapshot, four voters", st, err)
	}
	r4 := client(n4)
	defer r4.Close()
	for i := range 200 {
		want := fmt.Sprintf("before-%d", i)
		if i >= 100 {
			want = fmt.Sprintf("while-%d", i)
		}
		if got, err := r4.Get(ctx, fmt.Sprintf("jw:%d", i)).Result(); err != nil || got != want {
			t.Fatalf("GET jw:%d on node 4 = %q, %v; want %q", i, got, err, want)
		}
	}
	if n, err := r4.Incr(ctx, "jw:counter").Result(); err != nil || n != 1 {
		t.Fatalf("INCR on node 4 = %d, %v", n, err)
	}
	for _, p := range c.nodes[:3] {
		if b, _ := os.ReadFile(p.logPath); strings.Contains(string(b), "past the log's end") {
			t.Errorf("node %d's log: a heartbeat committed past a log's end", p.id)
		}
	}
	logText, _ := os.ReadFile(n4.logPath)
	if !strings.Contains(string(logText), "this node was a member: rejoining under a new identity") {
		t.Errorf("node 4's log does not say it rejoined")
	}
	t.Logf("node 4 rejoined as a voter %s after its restart: identity %s, %d snapshot(s) installed, voters %v",
		time.Since(restarted).Round(time.Millisecond), st.Identity, st.SnapshotsInstalled, st.Voters)
}
