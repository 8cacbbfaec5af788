package storage

import (
	"github.com/cockroachdb/pebble/v2"
	"github.com/seshat-db/seshat/kv"
)

// The ACL's users (state machine): u/<name> holds the user's description
// (acl.User.Describe). Snapshots carry them (snapshotSpans), so a replica
// that installs one enforces the same users.
var (
	prefixUser    = []byte("u/")
	prefixUserEnd = []byte("u0")
)

func userKey(name []byte) []byte {
	return append(append(make([]byte, 0, len(prefixUser)+len(name)), prefixUser...), name...)
}

var _ kv.UserStore = (*Batch)(nil)

// User implements kv.UserStore.User.
func (b *Batch) User(name []byte) ([]byte, bool, error) { return get(b.engine(), userKey(name)) }

// PutUser implements kv.UserStore.PutUser.
func (b *Batch) PutUser(name, description []byte) error {
	b.usersChanged = true
	return b.engine().Set(userKey(name), description, nil)
}

// DeleteUser implements kv.UserStore.DeleteUser.
func (b *Batch) DeleteUser(name []byte) error {
	b.usersChanged = true
	return b.engine().Delete(userKey(name), nil)
}

// UsersChanged reports whether the batch wrote users: the node then
// reloads them once the batch commits.
func (b *Batch) UsersChanged() bool { return b.usersChanged }

// Users calls fn with every stored user's name and description, in name
// order, as of the last commit.
func (s *Store) Users(fn func(name, description []byte)) error {
	return s.scan(&pebble.IterOptions{LowerBound: prefixUser, UpperBound: prefixUserEnd}, func(k, v []byte) {
		fn(k[len(prefixUser):], v)
	})
}
