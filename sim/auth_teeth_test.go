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
	if res.Stats.Strangers == 0 {
		t.Fatal("no unauthenticated connection was refused")
	}
	t.Logf("%d ACL changes, %d strangers refused", res.Stats.ACLChanges, res.Stats.Strangers)
}

// TestNoAuthCaught: a node that serves connections that never
// authenticated must be caught by the strangers' probe.
func TestNoAuthCaught(t *testing.T) {
	plantCaught(t, "a node serving unauthenticated clients", 5,
		func(seed uint64) Options { return Options{Seed: seed} },
		func(o *Options) { o.UnsafeNoAuth = true },
		func(f *Failure) bool { return strings.Contains(f.Message, "unauthenticated client") })
}

// TestSkippedLoginCaught: clients that skip AUTH are refused, and the
// client check must say so rather than count the refusals as failed ops.
func TestSkippedLoginCaught(t *testing.T) {
	plantCaught(t, "clients skipping AUTH", 5,
		func(seed uint64) Options { return Options{Seed: seed} },
		func(o *Options) { o.UnsafeSkipLogin = true },
		func(f *Failure) bool { return strings.Contains(f.Message, "authenticated connection") })
}
