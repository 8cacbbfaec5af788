package resp

import "testing"

// TestReviewACLSetUserAsRedis (review of issue 16, r6-auth): replies
// that differ from redis-server 7.0.15 (captured by hand with redis-cli
// against 7.0.15, then the same bytes expected here).
func TestReviewACLSetUserAsRedis(t *testing.T) {
	do := func(c *execConn, args ...string) string {
		b := make([][]byte, len(args))
		for i, a := range args {
			b[i] = []byte(a)
		}
		return string(c.Do(t, b))
	}
	c := newExecConn(1)
	// Redis refuses a name ACL LIST and the ACL file could not show.
	if got, want := do(c, "ACL", "SETUSER", "a b", "on"), "-ERR Usernames can't contain spaces or null characters\r\n"; got != want {
		t.Errorf("ACL SETUSER \"a b\" on: %q, want %q", got, want)
	}
}
