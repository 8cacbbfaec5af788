package e2e

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

func authClient(p *proc, user, pass string) *redis.Client {
	return redis.NewClient(&redis.Options{
		Addr: p.client, Protocol: 2, DisableIdentity: true, Username: user, Password: pass,
		MaxRetries: -1, ReadTimeout: 10 * time.Second,
	})
}

// errPrefix returns the first word of a Redis error, or "" for none.
func errPrefix(err error) string {
	if err == nil {
		return ""
	}
	return strings.SplitN(err.Error(), " ", 2)[0]
}

// TestAuthAcrossTheCluster repeats the client attacks against
// real processes: no AUTH gets NOAUTH and a wrong password WRONGPASS on
// every node; a read-only user can write on none; and a user set with
// ACL SETUSER on the leader logs in on the followers, through the log,
// before and after the leader is killed.
func TestAuthAcrossTheCluster(t *testing.T) {
	c := newCluster(t, buildBinary(t))
	c.args = []string{"-auth.requirepass", "admin-secret", "-auth.users", "ro on >ro-secret ~* +@read"}
	lead := c.startAll()
	ctx := context.Background()

	for _, p := range c.nodes {
		anon := client(p)
		if err := anon.Get(ctx, "k").Err(); errPrefix(err) != "NOAUTH" {
			t.Errorf("node %d: GET without AUTH: %v, want NOAUTH", p.id, err)
		}
		anon.Close()
		wrong := authClient(p, "default", "guess")
		if err := wrong.Get(ctx, "k").Err(); errPrefix(err) != "WRONGPASS" {
			t.Errorf("node %d: a wrong password: %v, want WRONGPASS", p.id, err)
		}
		wrong.Close()
	}

	admin := authClient(c.nodes[lead], "", "admin-secret")
	defer admin.Close()
	if err := admin.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatalf("SET as default with requirepass: %v", err)
	}
	for _, p := range c.nodes {
		ro := authClient(p, "ro", "ro-secret")
		if err := ro.Set(ctx, "k", "x", 0).Err(); errPrefix(err) != "NOPERM" {
			t.Errorf("node %d: SET by the read-only user: %v, want NOPERM", p.id, err)
		}
		if v, err := ro.Get(ctx, "k").Result(); err != nil || v != "v" {
			t.Errorf("node %d: GET by the read-only user: %q %v", p.id, v, err)
		}
		ro.Close()
	}

	if err := admin.Do(ctx, "ACL", "SETUSER", "alice", "on", ">alice-secret", "~alice:*", "+@all").Err(); err != nil {
		t.Fatalf("ACL SETUSER on the leader: %v", err)
	}
	loginEverywhere := func(nodes []*proc, user, pass, key string) {
		t.Helper()
		for _, p := range nodes {
			cl := authClient(p, user, pass)
			waitFor(t, user+" logs in on node "+strconv.Itoa(p.id), func() bool { return cl.Ping(ctx).Err() == nil })
			if err := cl.Set(ctx, key, "1", 0).Err(); err != nil {
				t.Errorf("node %d: %s's SET of %s: %v", p.id, user, key, err)
			}
			if err := cl.Set(ctx, "other", "1", 0).Err(); errPrefix(err) != "NOPERM" {
				t.Errorf("node %d: %s's SET outside its keys: %v, want NOPERM", p.id, user, err)
			}
			cl.Close()
		}
	}
	loginEverywhere(c.without(c.nodes[lead]), "alice", "alice-secret", "alice:1")

	c.nodes[lead].kill()
	rest := c.without(c.nodes[lead])
	newLead := c.waitReady(rest...)
	for deadline := time.Now().Add(15 * time.Second); newLead == lead && time.Now().Before(deadline); {
		time.Sleep(50 * time.Millisecond) // the followers have yet to notice the leader is gone
		newLead = c.waitReady(rest...)
	}
	loginEverywhere(rest, "alice", "alice-secret", "alice:2")
	admin2 := authClient(c.nodes[newLead], "", "admin-secret")
	defer admin2.Close()
	if err := admin2.Do(ctx, "ACL", "SETUSER", "bob", "on", ">bob-secret", "~bob:*", "+@all").Err(); err != nil {
		t.Fatalf("ACL SETUSER on the new leader: %v", err)
	}
	loginEverywhere(rest, "bob", "bob-secret", "bob:1")

	// The killed leader comes back and enforces the users it missed.
	c.start(c.nodes[lead])
	c.waitReady(c.nodes...)
	loginEverywhere(c.nodes[lead:lead+1], "bob", "bob-secret", "bob:2")
	if err := admin2.Do(ctx, "ACL", "DELUSER", "alice").Err(); err != nil {
		t.Fatal(err)
	}
	// A new connection as alice is refused on every node once the
	// deletion applies there (one still open gets NOAUTH: Seshat does
	// not close it as Redis does).
	for _, p := range c.nodes {
		waitFor(t, "alice refused on node "+strconv.Itoa(p.id), func() bool {
			cl := authClient(p, "alice", "alice-secret")
			defer cl.Close()
			return errPrefix(cl.Ping(ctx).Err()) == "WRONGPASS"
		})
	}
}
