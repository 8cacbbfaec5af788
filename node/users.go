package node

import (
	"fmt"

	"github.com/seshat-db/seshat/acl"
	"github.com/seshat-db/seshat/kv"
)

// Users returns the ACL this node enforces: the users the log has set
// (ACL SETUSER and DELUSER, applied by the state machine on every
// replica) over the config's baseline. It is safe from any goroutine:
// connections read it while the node applies, and each change publishes
// a new table. A change applies here once this node has applied its
// entry, as any other write.
func (n *Node) Users() *acl.Table { return n.users.Load() }

// loadUsers rebuilds the ACL from the store: at open, after a batch that
// wrote users commits, and after a snapshot install. A stored user that
// does not parse (a version before the check of whitespace in patterns
// could store one) is left out and logged, never a reason to stop: every
// replica leaves it out alike, and ACL SETUSER or DELUSER of it answers
// an error or replaces it.
func (n *Node) loadUsers() error {
	t, bad, err := n.storedUsers()
	if err != nil {
		return err
	}
	for _, b := range bad {
		n.env.Log.Warn("node: a stored user does not parse; it is not enforced", "node", n.cfg.ID, "err", b)
	}
	n.users.Store(t)
	return nil
}

// storedUsers is the ACL the store holds over the config's baseline
// (kv/acl.go has the rules), and the stored users that do not parse.
func (n *Node) storedUsers() (*acl.Table, []error, error) {
	t := n.cfg.ACLBaseline
	if t == nil {
		t = acl.NewTable()
	}
	var users []*acl.User
	var bad []error
	err := n.store.Users(func(name, description []byte) {
		if string(description) == kv.Deleted {
			t = t.Without(string(name))
			return
		}
		u, err := acl.Parse(string(name), string(description))
		if err != nil {
			bad = append(bad, fmt.Errorf("stored user %q: %w", name, err))
			t = t.Without(string(name))
			return
		}
		users = append(users, u)
	})
	return t.WithAll(users), bad, err
}

// UsersAt returns the applied index and the ACL this node enforces,
// described, one "user ..." line per user, with the ACL its store holds
// at that index described the same way. They differ only if the node
// failed to reload its users; the simulator checks both, and compares
// them across replicas at the same index.
func (n *Node) UsersAt() (applied uint64, enforced, stored string, err error) {
	describe := func(t *acl.Table) string {
		var b []byte
		for _, u := range t.Users() {
			b = append(b, "user "+u.Name+" "+u.Describe()+"\n"...)
		}
		return string(b)
	}
	enforced = describe(n.Users())
	held, _, err := n.storedUsers()
	return n.store.Applied(), enforced, describe(held), err
}
