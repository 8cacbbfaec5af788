package e2e

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// Review of issue 16 (r6-auth): ACL SETUSER and DELUSER against the
// config's baseline users (requirepass and auth.users), and reading back
// a user right after ACL SETUSER answered OK. Each is what redis-server
// 7.0.15 does, checked by hand against it.
func TestReviewACLAgainstBaseline(t *testing.T) {
	c := newCluster(t, buildBinary(t))
	c.args = []string{"-auth.requirepass", "admin-secret", "-auth.users", "alice on >apw ~cache:* +@read; dave on >dpw ~* +@all"}
	lead := c.startAll()
	ctx := context.Background()
	admin := authClient(c.nodes[lead], "", "admin-secret")
	defer admin.Close()

	// 1. Read your write: Redis answers ACL SETUSER once the user exists,
	// so the same connection can read it back and log in as it at once.
	pipe := admin.Pipeline()
	pipe.Do(ctx, "ACL", "SETUSER", "carol", "on", ">c", "~*", "+@all")
	get := pipe.Do(ctx, "ACL", "GETUSER", "carol")
	auth := pipe.Do(ctx, "AUTH", "carol", "c")
	pipe.Do(ctx, "AUTH", "default", "admin-secret")
	_, _ = pipe.Exec(ctx)
	if v, err := get.Result(); err != nil || v == nil {
		t.Errorf("ACL GETUSER carol right after ACL SETUSER carol answered OK, on the leader: %v %v; redis-server returns the user", v, err)
	}
	if err := auth.Err(); err != nil {
		t.Errorf("AUTH carol right after ACL SETUSER carol answered OK, on the leader: %v; redis-server answers OK", err)
	}

	// 2. ACL SETUSER of a baseline user modifies it, as Redis modifies an
	// existing user: ">newpw" adds a password and keeps on, ~cache:* and +@read.
	if err := admin.Do(ctx, "ACL", "SETUSER", "alice", ">newpw").Err(); err != nil {
		t.Fatal(err)
	}
	for _, pw := range []string{"apw", "newpw"} {
		cl := authClient(c.nodes[lead], "alice", pw)
		var err error
		for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
			// alice has +@read only: redis-server 7.0.15 answers her PING
			// with NOPERM too, which means AUTH succeeded (as in step 3).
			if err = cl.Ping(ctx).Err(); err == nil || errPrefix(err) == "NOPERM" {
				err = nil
				break
			}
		}
		if err != nil {
			t.Errorf("alice cannot log in with %s after ACL SETUSER alice >newpw: %v; redis-server keeps her on, her old password and rules, and adds newpw", pw, err)
		}
		cl.Close()
	}

	// 3. ACL DELUSER of a baseline user deletes it: Redis answers 1 and
	// the user is gone; the old config password must not come back.
	if n, err := admin.Do(ctx, "ACL", "DELUSER", "alice").Int(); err != nil || n != 1 {
		t.Errorf("ACL DELUSER alice: %d %v, want 1 as redis-server", n, err)
	}
	time.Sleep(time.Second)
	for _, p := range c.nodes {
		for _, pw := range []string{"apw", "newpw"} {
			cl := authClient(p, "alice", pw)
			// NOPERM (not WRONGPASS) means AUTH succeeded: the config's
			// alice came back with her old password once the stored copy went.
			if err := cl.Ping(ctx).Err(); errPrefix(err) != "WRONGPASS" {
				t.Errorf("node %d: alice with %s after ACL DELUSER alice answered 1: %v, want WRONGPASS", p.id, pw, err)
			}
			cl.Close()
		}
	}

	// 3b. The same for a baseline user no ACL SETUSER touched.
	if n, err := admin.Do(ctx, "ACL", "DELUSER", "dave").Int(); err != nil || n != 1 {
		t.Errorf("ACL DELUSER dave (a config user): %d %v, want 1 as redis-server", n, err)
	}
	time.Sleep(time.Second)
	for _, p := range c.nodes {
		cl := authClient(p, "dave", "dpw")
		if err := cl.Ping(ctx).Err(); errPrefix(err) != "WRONGPASS" {
			t.Errorf("node %d: dave (a config user) after ACL DELUSER dave: %v, want WRONGPASS", p.id, err)
		}
		cl.Close()
	}

	// 4. ACL SETUSER default <any rule> keeps requirepass: Redis changes
	// only what the rule names. Seshat starts "default" from nopass when
	// the store has no copy, so one "ACL SETUSER default on" opens every
	// node to clients without a password.
	if err := admin.Do(ctx, "ACL", "SETUSER", "default", "on").Err(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Second)
	for _, p := range c.nodes {
		anon := redis.NewClient(&redis.Options{Addr: p.client, Protocol: 2, DisableIdentity: true, MaxRetries: -1})
		if err := anon.Set(ctx, "pwned", "1", 0).Err(); errPrefix(err) != "NOAUTH" {
			t.Errorf("node %d: SET without AUTH after ACL SETUSER default on: %v, want NOAUTH (requirepass was wiped)", p.id, err)
		}
		anon.Close()
	}
}

// TestReviewDeployFilesAreNotWideOpen: issue 16 asks for safe defaults,
// but the shipped compose file and StatefulSet turn protected mode off
// with no password, put the admin port on every interface with no token,
// and set neither a cluster secret nor peer TLS: whoever reaches a pod
// can read and write every key, take backups, and act as a raft peer.
// At least one client credential and one peer credential should be
// wired (a Secret / env file), even if the values are placeholders.
func TestReviewDeployFilesAreNotWideOpen(t *testing.T) {
	for _, f := range []string{"../deploy/docker-compose.yml", "../deploy/kubernetes/seshat.yaml"} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		s := string(b)
		if strings.Contains(s, "SESHAT_AUTH_PROTECTED_MODE") && !strings.Contains(s, "SESHAT_AUTH_REQUIREPASS") {
			t.Errorf("%s: protected mode off and no requirepass: every client is the default user with +@all", f)
		}
		if !strings.Contains(s, "SESHAT_SECURITY_CLUSTER_SECRET") && !strings.Contains(s, "SESHAT_TLS_PEER_CERT_FILE") {
			t.Errorf("%s: no cluster secret and no peer TLS: the peer port authenticates nobody", f)
		}
	}
}
