package sim

import (
	"strings"
	"testing"
)

// TestStaleUsersCaught: a node that keeps the users it had before a
// snapshot install enforces users the log has since changed (a user
// deleted elsewhere still logs in there); the ACL check must catch it.
// A wiped node that rejoins gets a snapshot that holds the churned users.
func TestStaleUsersCaught(t *testing.T) {
	plantCaught(t, "stale users after a snapshot install", 10,
		func(seed uint64) Options { return Options{Scenario: "disk-wiped", Seed: seed} },
		func(o *Options) { o.UnsafeStaleUsers = true },
		func(f *Failure) bool { return strings.Contains(f.Message, "other users than its store") })
}

// TestACLChurnRuns: the admin's ACL changes happen in a run with faults,
// with every client authenticated.
func TestACLChurnRuns(t *testing.T) {
	if replaying() {
		t.Skip("replaying particular runs")
	}
	res := Run(Options{Seed: 1})
	if res.Failure != nil {
		t.Fatal(res.Failure)
	}
	if res.Stats.ACLChanges == 0 {
		t.Fatal("no ACL change was sent")
	}
	t.Logf("%d ACL changes", res.Stats.ACLChanges)
}
