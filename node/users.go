package node

import (
	"fmt"

	"github.com/seshat-db/seshat/acl"
)

// Users returns the ACL this node enforces: the users the log has set
// (ACL SETUSER and DELUSER, applied by the state machine on every
// replica) over the config's baseline. It is safe from any goroutine:
// connections read it while the node applies, and each change publishes
// a new table. A change applies here once this node has applied its
// entry, as any other write.
func (n *Node) Users() *acl.Table { return n.users.Load() }

// loadUsers rebuilds the ACL from the store: at open, after a batch that
// wrote users commits, and after a snapshot install.
func (n *Node) loadUsers() error {
	var users []*acl.User
	var bad error
	err := n.store.Users(func(name, description []byte) {
		u, err := acl.Parse(string(name), string(description))
		if err != nil && bad == nil {
			bad = fmt.Errorf("node: stored user %q: %w", name, err)
		}
		if err == nil {
			users = append(users, u)
		}
	})
	if err == nil {
		err = bad
	}
	if err != nil {
		return err
	}
	base := n.cfg.ACLBaseline
	if base == nil {
		base = acl.NewTable()
	}
	n.users.Store((&acl.Table{}).WithAll(users).Overlay(base))
	return nil
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
	var users []*acl.User
	err = n.store.Users(func(name, description []byte) {
		if u, perr := acl.Parse(string(name), string(description)); perr == nil {
			users = append(users, u)
		}
	})
	base := n.cfg.ACLBaseline
	if base == nil {
		base = acl.NewTable()
	}
	return n.store.Applied(), enforced, describe((&acl.Table{}).WithAll(users).Overlay(base)), err
}
