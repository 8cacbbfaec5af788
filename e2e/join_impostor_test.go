package e2e

import (
	"os"
	"strings"
	"testing"
	"time"
)

// TestJoinUnderAMembersIDIsRefused (review r8): a second machine started
// with -join and a live member's id (a copied config) was told its join
// was done, stayed LOADING, and took turns with the real member on every
// peer's link (about 1,700 log lines a second on the real node). The
// cluster now refuses the id (the member is recorded at another peer
// address), and the impostor says why and exits.
func TestJoinUnderAMembersIDIsRefused(t *testing.T) {
	c := newCluster(t, buildBinary(t))
	lead := c.nodes[c.startAll()]
	other := c.without(lead)[0]
	imp := c.extra(other.id, "imp", false, "-join", lead.client)
	exited := make(chan error, 1)
	go func() { exited <- imp.cmd.Wait() }()
	select {
	case err := <-exited:
		if err == nil {
			t.Fatal("the impostor exited 0")
		}
	case <-time.After(30 * time.Second):
		t.Fatal("a second machine with a live member's id still runs after 30 s")
	}
	b, err := os.ReadFile(imp.logPath)
	if err != nil {
		t.Fatal(err)
	}
	if log := string(b); !strings.Contains(log, "another machine is a member under this node's id") || strings.Contains(log, "cluster promote done") {
		t.Fatalf("the impostor's log does not say why it stopped:\n%s", log)
	}
}
