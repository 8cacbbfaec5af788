package kv

import (
	"errors"
	"testing"

	"github.com/seshat-db/seshat/acl"
)

type userMap struct {
	Store
	users map[string][]byte
}

func (s userMap) User(name []byte) ([]byte, bool, error) {
	d, ok := s.users[string(name)]
	return d, ok, nil
}
func (s userMap) PutUser(name, d []byte) error { s.users[string(name)] = d; return nil }
func (s userMap) DeleteUser(name []byte) error { delete(s.users, string(name)); return nil }

func TestACLOpsApply(t *testing.T) {
	s := userMap{users: map[string][]byte{}}
	set := func(name string, rules ...string) Result {
		t.Helper()
		op := Op{Kind: ACLSetUser, Keys: [][]byte{[]byte(name)}}
		for _, r := range rules {
			op.Values = append(op.Values, []byte(r))
		}
		back, err := Decode(op.Encode(nil))
		if err != nil {
			t.Fatalf("the op does not survive the log: %v", err)
		}
		res, err := Apply(s, back)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	set("ro", "on", ">pw", "~*", "+@read")
	if got := string(s.users["ro"]); got != "on #30c952fab122c3f9759f02a6d95c3758b246b4fee239957b2d4fee46e26170c4 ~* resetchannels -@all +@read" {
		t.Fatalf("stored %q", got)
	}
	// A rule refused at apply changes nothing, and says why in Redis's words.
	res := set("ro", "off", "<nope")
	var rule *acl.RuleError
	if !errors.As(res.Err, &rule) {
		t.Fatalf("removing a password ro lacks: %v", res.Err)
	}
	if u, _ := LoadUser(s, []byte("ro")); !u.On {
		t.Fatal("a refused SETUSER turned the user off")
	}
	set("default", ">secret")
	if u, _ := LoadUser(s, []byte("default")); u.NoPass || !u.AllKeys {
		t.Fatalf("default's first SETUSER must start from Redis's default: %q", s.users["default"])
	}
	del, err := Apply(s, Op{Kind: ACLDelUser, Keys: [][]byte{[]byte("ro"), []byte("nobody")}})
	if u, _ := LoadUser(s, []byte("ro")); err != nil || del.Int != 1 || u != nil {
		t.Fatalf("DELUSER ro nobody: %+v %v", del, err)
	}
	if _, err := Apply(memNoUsers{}, Op{Kind: ACLDelUser, Keys: [][]byte{[]byte("x")}}); !errors.Is(err, ErrNoUserStore) {
		t.Fatalf("a store without users: %v", err)
	}
}

type memNoUsers struct{ Store }

// The config's users are each node's baseline: SETUSER of one the store
// lacks starts from the user the proposer carried, DELUSER of one counts
// it and records the deletion, and a deleted user comes back only as a
// new one. A stored description that does not parse is the client's
// error, never the replica's.
func TestACLOpsOverConfigUsers(t *testing.T) {
	s := userMap{users: map[string][]byte{}}
	apply := func(op Op) Result {
		t.Helper()
		back, err := Decode(op.Encode(nil))
		if err != nil {
			t.Fatalf("the op does not survive the log: %v", err)
		}
		res, err := Apply(s, back)
		if err != nil {
			t.Fatalf("%v fail-stops the replica: %v", op.Kind, err)
		}
		return res
	}
	b := func(s ...string) [][]byte {
		out := make([][]byte, len(s))
		for i := range s {
			out[i] = []byte(s[i])
		}
		return out
	}
	base, _ := acl.NewDefault().SetRules([]string{"resetpass", ">secret"})
	apply(Op{Kind: ACLSetUser, Keys: b("default", base.Describe()), Values: b("on")})
	if u, _ := LoadUser(s, []byte("default")); u == nil || u.NoPass || !u.Authenticate([]byte("secret")) {
		t.Fatalf("ACL SETUSER default on over requirepass: %q", s.users["default"])
	}
	if res := apply(Op{Kind: ACLDelUser, Keys: b("alice", "nobody"), Values: b("1", "")}); res.Int != 1 {
		t.Fatalf("DELUSER of a config user: %d, want 1", res.Int)
	}
	if res := apply(Op{Kind: ACLDelUser, Keys: b("alice"), Values: b("1")}); res.Int != 0 {
		t.Fatalf("DELUSER of a deleted config user: %d, want 0", res.Int)
	}
	alice, _ := (&acl.User{Name: "alice"}).SetRules([]string{"on", ">apw", "~*", "+@all"})
	apply(Op{Kind: ACLSetUser, Keys: b("alice", alice.Describe()), Values: b(">new")})
	if u, _ := LoadUser(s, []byte("alice")); u == nil || u.On || u.Authenticate([]byte("apw")) {
		t.Fatalf("a deleted config user set again must start as a new user: %q", s.users["alice"])
	}
	s.users["bad"] = []byte("on ~a b")
	if res := apply(Op{Kind: ACLSetUser, Keys: b("bad"), Values: b("on")}); res.Err == nil {
		t.Fatal("SETUSER of a stored user that does not parse: no error")
	}
	if res := apply(Op{Kind: ACLSetUser, Keys: b("a b"), Values: b("on")}); res.Err == nil {
		t.Fatal("SETUSER of a name with a space (a forged entry): no error")
	}
}
