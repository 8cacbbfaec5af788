package resp

import (
	"strings"
	"testing"

	"github.com/seshat-db/seshat/acl"
	"github.com/seshat-db/seshat/kv"
)

// heldUsersBackend answers each Submit only when released, as the node
// answers a write once raft committed it: what the connection runs
// meanwhile must not overtake it.
type heldUsersBackend struct {
	mem  *memBackend
	held []func()
}

func (b *heldUsersBackend) Submit(ops []kv.Op, done func([]kv.Result)) {
	b.held = append(b.held, func() { b.mem.Submit(ops, done) })
}

func (b *heldUsersBackend) Users() *acl.Table { return b.mem.Users() }

func (b *heldUsersBackend) release() {
	for len(b.held) > 0 {
		f := b.held[0]
		b.held = b.held[1:]
		f()
	}
}

// TestACLReadsWaitForEarlierACLChanges: ACL GETUSER and AUTH pipelined
// after ACL SETUSER see the user it set, and a command after them is
// checked as the user AUTH logged in as, as in Redis, where a
// connection's commands run one after another.
func TestACLReadsWaitForEarlierACLChanges(t *testing.T) {
	b := &heldUsersBackend{mem: &memBackend{store: memStore{}}}
	e := NewExecutor(b, Limits{}, nil)
	var replies []string
	for _, cmd := range []string{
		"ACL SETUSER carol on >c ~k* +@all",
		"ACL GETUSER carol",
		"AUTH carol c",
		"SET x 1", // carol may not touch x
		"SET k 1",
		"ACL SETUSER default resetpass",
		"PING",
	} {
		var args [][]byte
		for _, a := range strings.Fields(cmd) {
			args = append(args, []byte(a))
		}
		i := len(replies)
		replies = append(replies, "")
		e.Execute(args, func(r []byte) { replies[i] = string(r) })
	}
	e.Flush()
	b.release()
	want := []string{"+OK", "*", "+OK", "-NOPERM", "+OK", "+OK", "+PONG"}
	for i, w := range want {
		if !strings.HasPrefix(replies[i], w) {
			t.Errorf("reply %d: %q, want %s...", i, replies[i], w)
		}
	}
}
