package resp

import (
	"os"
	"sort"
	"strings"
	"testing"

	"github.com/seshat-db/seshat/acl"
)

// The ACL's catalog names every command of the table, with the categories
// and key positions of Redis 7.0's COMMAND INFO, so that +@read and key
// patterns mean here what they mean to Redis.
func TestACLCatalogIsRedis(t *testing.T) {
	for _, c := range commands {
		for _, linked := range append([]*command{c}, c.subcommands...) {
			if linked.acl == nil || linked.aclIndex < 0 {
				t.Errorf("%s|%s has no ACL catalog entry linked", c.name, linked.name)
			}
		}
		check := func(full string, info Reply) {
			entry, _ := acl.Lookup(full)
			if entry == nil {
				t.Errorf("%s is not in the ACL catalog", full)
				return
			}
			var want, got []string
			for _, cat := range info.Array[6].Array {
				want = append(want, strings.TrimPrefix(cat.Str, "@"))
			}
			for i, n := range acl.CategoryNames {
				if entry.Categories&(1<<i) != 0 {
					got = append(got, n)
				}
			}
			sort.Strings(want)
			sort.Strings(got)
			if strings.Join(want, " ") != strings.Join(got, " ") {
				t.Errorf("%s: categories %v, Redis has %v", full, got, want)
			}
			if entry.FirstKey != int(info.Array[3].Int) || entry.LastKey != int(info.Array[4].Int) || entry.KeyStep != int(info.Array[5].Int) {
				t.Errorf("%s: keys %d %d %d, Redis has %d %d %d", full, entry.FirstKey, entry.LastKey, entry.KeyStep,
					info.Array[3].Int, info.Array[4].Int, info.Array[5].Int)
			}
			hasNoAuth := false
			for _, f := range info.Array[2].Array {
				hasNoAuth = hasNoAuth || f.Str == "no_auth"
			}
			if hasNoAuth != entry.NoAuth {
				t.Errorf("%s: no_auth %v, Redis has %v", full, entry.NoAuth, hasNoAuth)
			}
		}
		info, _, err := ParseReply([]byte(redisCommandInfo[c.name]))
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		check(c.name, info)
		for _, sub := range info.Array[9].Array {
			check(sub.Array[0].Str, sub)
		}
	}
}

// TestDeniedIsRedis: protected mode's refusal is Redis's, byte for byte
// (testdata/denied.txt, captured by TestCaptureDenied).
func TestDeniedIsRedis(t *testing.T) {
	want, err := os.ReadFile("testdata/denied.txt")
	if err != nil {
		t.Fatal(err)
	}
	if ErrDenied != string(want) {
		t.Errorf("ErrDenied differs from Redis's:\n got %q\nwant %q", ErrDenied, want)
	}
	b := &memBackend{store: memStore{}}
	if got := ProtectedRefusal(b, false); string(got) != string(want) {
		t.Errorf("a remote client with no password set: %q", got)
	}
	if got := ProtectedRefusal(b, true); got != nil {
		t.Errorf("a loopback client was refused: %q", got)
	}
	b.users = map[string][]byte{"default": []byte("on #" + strings.Repeat("ab", 32) + " ~* &* +@all")}
	if got := ProtectedRefusal(b, false); got != nil {
		t.Errorf("a remote client was refused though default has a password: %q", got)
	}
}
