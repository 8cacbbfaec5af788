package acl

import (
	"testing"
	"time"
)

// TestReviewDescribeRoundTrips (review of issue 16, r6-auth): every rule
// SetUser accepts must give a description that Parse reads back, because
// the node stores Describe() under u/ and parses it at every apply and
// open. `ACL SETUSER x "~foo bar"` (one argument, a space inside; Redis
// 7.0.15 refuses it: Syntax error) was accepted, stored as
// "off ~foo bar ...", and every replica fail-stopped on loading it
// ("stored user x1: ... modifier 'bar': Syntax error") and then refused
// to open again: one command bricks the cluster.
func TestReviewDescribeRoundTrips(t *testing.T) {
	for _, rule := range []string{"~foo bar", "&ch an", "~a\tb", "~a\nb", "%R~a b", "+get +set", "on off", ">pw", "~x", "~*", "resetkeys ~y"} {
		u, err := (&User{Name: "x"}).SetRules([]string{rule})
		if err != nil {
			continue // refused up front: fine
		}
		if _, err := Parse("x", u.Describe()); err != nil {
			t.Errorf("ACL SETUSER x %q is accepted, but its stored description %q does not parse: %v", rule, u.Describe(), err)
		}
	}
}

// TestReviewGlobIsNotExponential: Redis 7.0.9+ (CVE-2022-36021) stops a
// pattern like "*a*a*a*a*a*a*a*a*a*b" from backtracking exponentially;
// acl.Match backtracks over every split, so a user whose key pattern has
// several stars stalls the node with one long key it chooses.
func TestReviewGlobIsNotExponential(t *testing.T) {
	key := make([]byte, 30)
	for i := range key {
		key[i] = 'a'
	}
	start := time.Now()
	Match("*a*a*a*a*a*a*a*a*a*b", key)
	if d := time.Since(start); d > 100*time.Millisecond {
		t.Errorf("matching a 30-byte key took %v", d)
	}
}
