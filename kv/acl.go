package kv

import (
	"errors"
	"fmt"

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

// Users in the store and in the config: the config's users (auth.users,
// auth.requirepass) are each node's baseline, and the store holds what
// ACL SETUSER and DELUSER did to them, so every replica enforces the
// same users whatever its config said:
//
//   - a stored description replaces the config's user of its name;
//   - a Deleted record hides it (ACL DELUSER of a config user: Redis
//     answers 1, and the user must stay gone across restarts);
//   - ACL SETUSER of a user the store does not hold starts from the
//     user the proposing node enforced, which the op carries (Keys[1]):
//     "ACL SETUSER default on" keeps requirepass, as in Redis.

// Deleted is the description that records a deleted user.
const Deleted = ""

// ErrBadStoredUser: a stored description does not parse. A version
// before the check of whitespace in patterns could store one; ACL
// SETUSER answers this error instead of stopping the replica.
var ErrBadStoredUser error = &acl.ReplyError{Text: "ERR the stored user does not parse; ACL DELUSER it and set it again"}

// LoadUser returns the stored user of that name, or nil when none is
// stored or it was deleted.
func LoadUser(s UserStore, name []byte) (*acl.User, error) {
	u, _, err := loadUser(s, name)
	return u, err
}

// loadUser returns the stored user and whether the store holds a record
// of that name at all (a user or Deleted).
func loadUser(s UserStore, name []byte) (*acl.User, bool, error) {
	desc, found, err := s.User(name)
	if err != nil || !found || string(desc) == Deleted {
		return nil, found, err
	}
	u, err := acl.Parse(string(name), string(desc))
	if err != nil {
		return nil, true, fmt.Errorf("%w: %v", ErrBadStoredUser, err)
	}
	return u, true, nil
}

// setUser applies ACL SETUSER's rules to the stored user, or when the
// store has no record of it to the user the op carries (Keys[1], the
// proposer's config user), or else to a new user (off, nothing allowed;
// "default" starts as Redis's default). Rules are checked before the op
// is proposed, but a rule's effect can depend on the stored user ("<pw"
// of a password it lacks), so a refusal here is the client's error
// (Result.Err), and changes nothing. So is a name Redis refuses, which
// only a forged entry can carry.
func setUser(s Store, op Op) (Result, error) {
	us, ok := s.(UserStore)
	if !ok {
		return Result{}, ErrNoUserStore
	}
	name := op.Keys[0]
	if err := acl.CheckName(string(name)); err != nil {
		return Result{Err: err}, nil
	}
	u, found, err := loadUser(us, name)
	if errors.Is(err, ErrBadStoredUser) {
		return Result{Err: err}, nil
	}
	if err != nil {
		return Result{}, err
	}
	switch {
	case u != nil:
	case !found && len(op.Keys) > 1:
		if u, err = acl.Parse(string(name), string(op.Keys[1])); err != nil {
			return Result{Err: fmt.Errorf("%w: %v", ErrBadStoredUser, err)}, nil
		}
	case string(name) == "default":
		u = acl.NewDefault()
	default:
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

// delUsers records each user named as deleted and counts those that
// existed: stored, or (with no record) in the proposer's config, which
// the op says with a non-empty Values[i]. "default" is never deleted
// (ACL DELUSER refuses it before proposing).
func delUsers(s Store, op Op) (Result, error) {
	us, ok := s.(UserStore)
	if !ok {
		return Result{}, ErrNoUserStore
	}
	var n int64
	for i, name := range op.Keys {
		if string(name) == "default" {
			continue
		}
		desc, found, err := us.User(name)
		if err != nil {
			return Result{}, err
		}
		if found && string(desc) == Deleted {
			continue
		}
		if found || i < len(op.Values) && len(op.Values[i]) > 0 {
			n++
		}
		if err := us.PutUser(name, []byte(Deleted)); err != nil {
			return Result{}, err
		}
	}
	return Result{Int: n}, nil
}
