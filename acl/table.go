package acl

import "sort"

// Table is a set of users, sorted by name. It is immutable once built:
// a node publishes a new Table on each change, and connections read the
// one they find.
type Table struct {
	users []*User
}

// NewTable returns a table of users; a later user of a name replaces an
// earlier one. Without a "default" user it has Redis's default.
func NewTable(users ...*User) *Table {
	t := &Table{}
	for _, u := range users {
		t = t.With(u)
	}
	if t.User("default") == nil {
		t = t.With(NewDefault())
	}
	return t
}

func (t *Table) find(name string) (int, bool) {
	i := sort.Search(len(t.users), func(i int) bool { return t.users[i].Name >= name })
	return i, i < len(t.users) && t.users[i].Name == name
}

// User returns the user of that name, or nil. It must not be changed.
func (t *Table) User(name string) *User {
	if t == nil {
		return nil
	}
	if i, ok := t.find(name); ok {
		return t.users[i]
	}
	return nil
}

// With returns a table with u in place of any user of its name.
func (t *Table) With(u *User) *Table {
	i, ok := t.find(u.Name)
	users := append([]*User(nil), t.users[:i]...)
	users = append(users, u)
	if ok {
		i++
	}
	users = append(users, t.users[i:]...)
	return &Table{users: users}
}

// Users returns the users in name order.
func (t *Table) Users() []*User { return t.users }

// WithAll returns t with each of users in place of any user of its name.
func (t *Table) WithAll(users []*User) *Table {
	for _, u := range users {
		t = t.With(u)
	}
	return t
}

// Without returns t without the user of that name.
func (t *Table) Without(name string) *Table {
	i, ok := t.find(name)
	if !ok {
		return t
	}
	users := append([]*User(nil), t.users[:i]...)
	return &Table{users: append(users, t.users[i+1:]...)}
}
