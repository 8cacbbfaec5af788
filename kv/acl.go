package kv

import (
	"errors"

	"github.com/seshat-db/seshat/acl"
)

// UserStore holds the ACL's users, apart from the data: each user's
// description (acl.User.Describe) under its name. A Store that applies
// ACL ops implements it; the node's does.
type UserStore interface {
	User(name []byte) (description []byte, found bool, err error)
	PutUser(name, description []byte) error
	DeleteUser(name []byte) error
}

// ErrNoUserStore: an ACL op met a Store without users.
var ErrNoUserStore = errors.New("kv: this store holds no users")

// LoadUser returns the stored user of that name, or nil.
func LoadUser(s UserStore, name []byte) (*acl.User, error) {
	desc, found, err := s.User(name)
	if err != nil || !found {
		return nil, err
	}
	return acl.Parse(string(name), string(desc))
}

// setUser applies ACL SETUSER's rules to the stored user (a new user
// starts off, with nothing allowed; "default" starts as Redis's default).
// Rules are checked before the op is proposed, but a rule's effect can
// depend on the stored user ("<pw" of a password it lacks), so a refusal
// here is the client's error (Result.Err, an *acl.RuleError), and
// changes nothing.
func setUser(s Store, op Op) (Result, error) {
	us, ok := s.(UserStore)
	if !ok {
		return Result{}, ErrNoUserStore
	}
	name := op.Keys[0]
	u, err := LoadUser(us, name)
	if err != nil {
		return Result{}, err
	}
	if u == nil && string(name) == "default" {
		u = acl.NewDefault()
	} else if u == nil {
		u = &acl.User{Name: string(name)}
	}
	rules := make([]string, len(op.Values))
	for i, v := range op.Values {
		rules[i] = string(v)
	}
	next, ruleErr := u.SetRules(rules)
	if ruleErr != nil {
		return Result{Err: ruleErr}, nil
	}
	return Result{}, us.PutUser(name, []byte(next.Describe()))
}

// delUsers deletes the stored users named and counts those it found.
func delUsers(s Store, names [][]byte) (Result, error) {
	us, ok := s.(UserStore)
	if !ok {
		return Result{}, ErrNoUserStore
	}
	var n int64
	for _, name := range names {
		_, found, err := us.User(name)
		if err == nil && found {
			n++
			err = us.DeleteUser(name)
		}
		if err != nil {
			return Result{}, err
		}
	}
	return Result{Int: n}, nil
}
