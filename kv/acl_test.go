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
	if err != nil || del.Int != 1 || s.users["ro"] != nil {
		t.Fatalf("DELUSER ro nobody: %+v %v", del, err)
	}
	if _, err := Apply(memNoUsers{}, Op{Kind: ACLDelUser, Keys: [][]byte{[]byte("x")}}); !errors.Is(err, ErrNoUserStore) {
		t.Fatalf("a store without users: %v", err)
	}
}

type memNoUsers struct{ Store }
