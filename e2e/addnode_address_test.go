package e2e

import (
	"strings"
	"testing"
	"time"
)

// TestAddNodeWithAMembersAddressIsRefused (review r8, LOW): CLUSTER
// ADDNODE with addresses a member already has (an operator's typo) was
// taken: the new learner was listed at the member's client address, and
// the member dialled itself as the new peer forever. Refused once the
// members' addresses are recorded (they announce them after the start).
func TestAddNodeWithAMembersAddressIsRefused(t *testing.T) {
	c := newCluster(t, buildBinary(t))
	lead := c.nodes[c.startAll()]
	other := c.without(lead)[0]
	// Once the members have recorded their addresses (announced after
	// the start; before that the leader has no record to compare with).
	waitFor(t, "node addresses in CLUSTER NODES", func() bool {
		return strings.Contains(redisCLI(t, lead, "cluster", "nodes"), other.client)
	})
	var out string
	for range 50 {
		out = redisCLI(t, lead, "cluster", "addnode", "9", other.internal, other.client)
		if !strings.Contains(out, "in progress") {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if !strings.Contains(out, "already has address") {
		t.Fatalf("CLUSTER ADDNODE 9 with node %d's addresses: %s", other.id, out)
	}
}
