package resp

import (
	"sort"
	"testing"

	"github.com/seshat-db/seshat/acl"
	"github.com/seshat-db/seshat/kv"
)

// reconnecter is a goldenConn that can start a new connection to the same
// server, for the scripts that authenticate.
type reconnecter interface {
	Reconnect(t testing.TB)
}

func (c *execConn) Reconnect(testing.TB) {
	id := c.exec.ClientID + 1
	c.exec = NewExecutor(c.backend, Limits{}, nil)
	c.exec.ClientID = id
}

// memUserStore is a memStore that also holds users, as the node's store
// does.
type memUserStore struct {
	versionedMem
	users map[string][]byte
}

func (s memUserStore) User(name []byte) ([]byte, bool, error) {
	d, ok := s.users[string(name)]
	return d, ok, nil
}

func (s memUserStore) PutUser(name, description []byte) error {
	s.users[string(name)] = append([]byte{}, description...)
	return nil
}

func (s memUserStore) DeleteUser(name []byte) error {
	delete(s.users, string(name))
	return nil
}

func (b *memBackend) kvStore() kv.Store {
	if b.users == nil {
		b.users = map[string][]byte{}
	}
	return memUserStore{versionedMem{b.store, b}, b.users}
}

// Users implements resp.Users, as the node does: the stored users over
// the default user.
func (b *memBackend) Users() *acl.Table {
	names := make([]string, 0, len(b.users))
	for n := range b.users {
		names = append(names, n)
	}
	sort.Strings(names)
	var users []*acl.User
	for _, n := range names {
		if string(b.users[n]) == kv.Deleted {
			continue
		}
		u, err := acl.Parse(n, string(b.users[n]))
		if err != nil {
			panic(err)
		}
		users = append(users, u)
	}
	return acl.NewTable(users...)
}

var _ Users = (*memBackend)(nil)
