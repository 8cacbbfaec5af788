package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// joiner starts node id with -join via (a member's client address) and
// no member list.
func (c *cluster) joiner(id int, via *proc) *proc {
	return c.extra(id, fmt.Sprintf("n%d", id), false, "-join", via.client)
}

// extra starts one more node, id, on ports of its own, its data in a
// directory called name beside the others', with args after the
// cluster's; withMembers gives it the first members and itself as
// initial_members.
func (c *cluster) extra(id int, name string, withMembers bool, args ...string) *proc {
	dir := filepath.Dir(c.nodes[0].dataDir)
	p := &proc{id: id, client: freePort(c.t), internal: freePort(c.t), admin: freePort(c.t),
		dataDir: filepath.Join(dir, name), logPath: filepath.Join(dir, name+".log")}
	if withMembers {
		p.configArg = c.nodes[0].configArg + fmt.Sprintf(",%d=%s", id, p.internal)
	}
	c.nodes = append(c.nodes, p)
	saved := c.args
	c.args = append(slices.Clone(c.args), args...)
	c.start(p)
	c.args = saved
	return p
}

// waitVoter waits until p's own status lists it as a voter.
func waitVoter(t *testing.T, p *proc) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if st, err := p.status(); err == nil && slices.Contains(st.Voters, uint64(p.id)) && st.Ready {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	b, _ := os.ReadFile(p.logPath)
	var notes []string
	for _, l := range strings.Split(string(b), "\n") {
		if !strings.Contains(l, "joining: not yet") && (strings.Contains(l, "level=WARN") || strings.Contains(l, "level=ERROR") || strings.Contains(l, "snapshot")) {
			notes = append(notes, l)
		}
	}
	t.Fatalf("node %d did not become a voter within 30s; its warnings:\n%s", p.id, strings.Join(notes[max(0, len(notes)-40):], "\n"))
}

// TestJoinGrowShrinkReplace: while clients write, two nodes started with
// only -join <a member> are added as learners and promoted by the
// cluster (3 voters to 5); two original members are removed (back to 3);
// a killed member is replaced by a new machine under a new id, started
// with -join and -replace. No
// acknowledged write is lost, and every voter holds every one.
func TestJoinGrowShrinkReplace(t *testing.T) {
	c := newCluster(t, buildBinary(t))
	lead := c.nodes[c.startAll()]
	ctx := context.Background()

	var writers ackedWriters
	writers.start(ctx, lead, fmt.Sprintf("w%d-0", lead.id))

	// Grow: 3 -> 5, each new node told only one member's address.
	n4 := c.joiner(4, c.nodes[1])
	waitVoter(t, n4)
	n5 := c.joiner(5, n4)
	waitVoter(t, n5)
	if got := redisCLI(t, n5, "cluster", "info"); !strings.Contains(got, "cluster_known_nodes:5") {
		t.Fatalf("CLUSTER INFO on node 5: %s", got)
	}

	// Shrink: 5 -> 3, the two originals that do not lead removed.
	for _, p := range c.nodes[:3] {
		if p == lead {
			continue
		}
		waitFor(t, fmt.Sprintf("node %d removed", p.id), func() bool {
			return redisCLI(t, lead, "cluster", "removenode", fmt.Sprint(p.id)) == "OK"
		})
		p.kill()
	}

	// Replace: node 4 dies; node 6 joins with -replace 4 and, once caught
	// up as a learner, takes its place in one joint change.
	n4.kill()
	n6 := c.extra(6, "n6", false, "-join", n5.client, "-replace", "4")
	waitVoter(t, n6)
	acked := writers.finish()

	live := []*proc{lead, n5, n6}
	for _, p := range live {
		st, err := p.status()
		if err != nil || len(st.Voters) != 3 || len(st.Learners) != 0 {
			t.Fatalf("node %d: voters %v learners %v (%v), want the three live nodes", p.id, st.Voters, st.Learners, err)
		}
	}
	t.Logf("%d writes acknowledged while the cluster grew to 5, shrank to 3 and replaced a dead node", len(acked))
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

// TestJoinReplacesTheLeader: a new machine started with -replace naming
// the current leader takes its place. The leader hands leadership to
// another voter first and the joiner asks the new leader again; refusing
// outright left the joiner asking forever.
func TestJoinReplacesTheLeader(t *testing.T) {
	c := newCluster(t, buildBinary(t))
	lead := c.nodes[c.startAll()]
	rest := c.without(lead)
	n4 := c.extra(4, "n4", false, "-join", rest[0].client, "-replace", fmt.Sprint(lead.id))
	waitVoter(t, n4)
	for _, p := range append(rest, n4) {
		waitFor(t, fmt.Sprintf("node %d to see node %d replaced", p.id, lead.id), func() bool {
			st, err := p.status()
			return err == nil && len(st.Voters) == 3 && slices.Contains(st.Voters, 4) && !slices.Contains(st.Voters, uint64(lead.id))
		})
	}
	b, err := os.ReadFile(lead.logPath)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), "leadership transfer started") {
		t.Fatalf("the replaced leader's log does not show the hand-off:\n%s", b)
	}
}
