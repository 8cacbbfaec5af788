package resp

import (
	"strings"

	"github.com/seshat-db/seshat/acl"
	"github.com/seshat-db/seshat/kv"
)

// This file holds authentication and the ACL as Redis 7.0 has them: AUTH,
// HELLO's AUTH, the ACL command, and the check every command passes
// before it runs (NOAUTH, then NOPERM for the command, then its keys).

// Users is what a Backend that enforces an ACL implements (node.Node
// does): the users as of what it has applied. A Backend without it has
// Redis's default user alone: no password, every command.
type Users interface {
	Users() *acl.Table
}

// The errors of this file, in Redis 7.0's words.
const (
	errNoAuth          = "NOAUTH Authentication required."
	errHelloNoAuth     = "NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time"
	errAuthNoPassword  = "ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?"
	errNoPermKeys      = "NOPERM this user has no permissions to access one of the keys used as arguments"
	errDeleteDefault   = "ERR The 'default' user cannot be removed"
	errUnknownCategory = "ERR Unknown category '%s'"
	// ErrDenied is what a client from another host gets, and then the
	// connection closes, while the default user has no password and
	// protected mode is on: Redis 7.0's bytes, typo included, so clients
	// that match on it work. Seshat's settings are auth.requirepass and
	// auth.protected_mode; it has no CONFIG SET.
	ErrDenied = "-DENIED Redis is running in protected mode because protected mode is enabled and no password is set for the default user. In this mode connections are only accepted from the loopback interface. If you want to connect from external computers to Redis you may adopt one of the following solutions: 1) Just disable protected mode sending the command 'CONFIG SET protected-mode no' from the loopback interface by connecting to Redis from the same host the server is running, however MAKE SURE Redis is not publicly accessible from internet if you do so. Use CONFIG REWRITE to make this change permanent. 2) Alternatively you can just disable the protected mode by editing the Redis configuration file, and setting the protected mode option to 'no', and then restarting the server. 3) If you started the server manually just for testing, restart it with the '--protected-mode no' option. 4) Setup a an authentication password for the default user. NOTE: You only need to do one of the above things in order for the server to start accepting connections from the outside.\r\n"
)

func noPermCommand(name string) string {
	return "NOPERM this user has no permissions to run the '" + name + "' command"
}

// users returns the table the connection is checked against.
func (e *Executor) users() *acl.Table {
	if u, ok := e.backend.(Users); ok {
		if t := u.Users(); t != nil {
			return t
		}
	}
	return defaultTable
}

var defaultTable = acl.NewTable()

// ProtectedRefusal returns the reply that refuses a client from another
// host while the backend's default user needs no password, or nil when
// it may connect. A server with protected mode on asks it at accept and,
// when refused, writes the reply and closes.
func ProtectedRefusal(b Backend, loopback bool) []byte {
	if loopback {
		return nil
	}
	t := defaultTable
	if u, ok := b.(Users); ok && u.Users() != nil {
		t = u.Users()
	}
	if d := t.User("default"); d != nil && d.NoPass {
		return []byte(ErrDenied)
	}
	return nil
}

// authRequired is Redis's: the default user needs a password (or is
// off) and this connection has not authenticated.
func (e *Executor) authRequired(t *acl.Table) bool {
	if e.authed {
		return false
	}
	d := t.User("default")
	return d == nil || !d.NoPass || !d.On
}

// linkACL finds each command's catalog entry; the command table's init
// calls it once the table is filled.
func linkACL() {
	for _, c := range commands {
		c.acl, c.aclIndex = acl.Lookup(c.name)
		for _, sub := range c.subcommands {
			sub.acl, sub.aclIndex = acl.Lookup(c.name + "|" + sub.name)
		}
	}
}

// permit returns the error that stops cmd with args, or "".
func (e *Executor) permit(cmd *command, args [][]byte) string {
	if e.UnsafeNoAuth {
		return ""
	}
	t := e.users()
	entry, i := cmd.acl, cmd.aclIndex
	if e.authRequired(t) {
		if entry != nil && entry.NoAuth {
			return ""
		}
		return errNoAuth
	}
	if entry == nil || entry.NoAuth {
		return ""
	}
	u := t.User(e.userName())
	if u == nil {
		return errNoAuth // the user was deleted: it must authenticate again
	}
	if !u.CanRun(i) {
		return noPermCommand(entry.Name)
	}
	if !u.AllKeys && entry.FirstKey > 0 {
		for _, k := range entry.Keys(args) {
			if !u.CanAccess(k) {
				return errNoPermKeys
			}
		}
	}
	return ""
}

func (e *Executor) userName() string {
	if e.user == "" {
		return "default"
	}
	return e.user
}

// login checks user and password against the ACL and, if they match,
// makes the connection that user's. A failure is told to OnAuthFailed,
// with the user's name and never the password.
func (e *Executor) login(user, password []byte) bool {
	u := e.users().User(string(user))
	ok := u != nil && u.Authenticate(password)
	if !ok {
		if e.OnAuthFailed != nil {
			e.OnAuthFailed(string(user))
		}
		return false
	}
	e.user, e.authed = string(user), true
	return true
}

func (e *Executor) auth(args [][]byte, reply func([]byte)) {
	if len(args) > 3 {
		replyErr(reply, errSyntax)
		return
	}
	user, password := []byte("default"), args[1]
	if len(args) == 3 {
		user, password = args[1], args[2]
	} else if d := e.users().User("default"); d != nil && d.NoPass {
		replyErr(reply, errAuthNoPassword)
		return
	}
	if !e.login(user, password) {
		replyErr(reply, errWrongPass)
		return
	}
	reply(AppendSimple(nil, "OK"))
}

func (e *Executor) aclWhoAmI(args [][]byte, reply func([]byte)) {
	reply(AppendBulkString(nil, e.userName()))
}

func (e *Executor) aclUsers(args [][]byte, reply func([]byte)) {
	users := e.users().Users()
	out := AppendArray(nil, len(users))
	for _, u := range users {
		out = AppendBulkString(out, u.Name)
	}
	reply(out)
}

func (e *Executor) aclList(args [][]byte, reply func([]byte)) {
	users := e.users().Users()
	out := AppendArray(nil, len(users))
	for _, u := range users {
		out = AppendBulkString(out, "user "+u.Name+" "+u.Describe())
	}
	reply(out)
}

func (e *Executor) aclGetUser(args [][]byte, reply func([]byte)) {
	u := e.users().User(string(args[2]))
	if u == nil {
		reply(AppendNull(nil))
		return
	}
	out := AppendArray(nil, 12)
	out = AppendBulkString(out, "flags")
	flags := u.Flags()
	out = AppendArray(out, len(flags))
	for _, f := range flags {
		out = AppendBulkString(out, f)
	}
	out = AppendBulkString(out, "passwords")
	hashes := u.PasswordHashes()
	out = AppendArray(out, len(hashes))
	for _, h := range hashes {
		out = AppendBulkString(out, h)
	}
	out = AppendBulkString(out, "commands")
	out = AppendBulkString(out, u.CommandRules())
	out = AppendBulkString(out, "keys")
	out = AppendBulkString(out, u.KeyRules())
	out = AppendBulkString(out, "channels")
	out = AppendBulkString(out, u.ChannelRules())
	out = AppendBulkString(out, "selectors")
	out = AppendArray(out, 0)
	reply(out)
}

func (e *Executor) aclCat(args [][]byte, reply func([]byte)) {
	if len(args) == 2 {
		out := AppendArray(nil, len(acl.CategoryNames))
		for _, n := range acl.CategoryNames {
			out = AppendBulkString(out, n)
		}
		reply(out)
		return
	}
	var cat acl.Category
	for i, n := range acl.CategoryNames {
		if strings.EqualFold(n, string(args[2])) {
			cat = 1 << i
		}
	}
	if cat == 0 {
		replyErr(reply, strings.Replace(errUnknownCategory, "%s", string(cString(args[2])), 1))
		return
	}
	var names []string
	for _, c := range acl.Commands() {
		if c.Categories&cat != 0 {
			names = append(names, c.Name)
		}
	}
	out := AppendArray(nil, len(names))
	for _, n := range names {
		out = AppendBulkString(out, n)
	}
	reply(out)
}

// aclSetUser checks the rules here, so a bad one is refused before it
// reaches the log, then replicates them: the state machine applies them
// on every replica (kv.ACLSetUser). The op carries the user this node
// enforces, so that a config user (auth.users, or default with
// requirepass) the store does not hold yet is changed, not replaced, as
// Redis changes an existing user.
func (e *Executor) aclSetUser(args [][]byte, reply func([]byte)) {
	name := string(args[2])
	if err := acl.CheckName(name); err != nil {
		replyErr(reply, err.Error())
		return
	}
	rules := make([]string, len(args)-3)
	for i, r := range args[3:] {
		rules[i] = string(r)
	}
	current := e.users().User(name)
	start := current
	if start == nil {
		start = &acl.User{Name: name}
	}
	if _, err := start.SetRules(rules); err != nil {
		replyErr(reply, err.Error())
		return
	}
	op := kv.Op{Kind: kv.ACLSetUser, Keys: [][]byte{args[2]}, Values: args[3:]}
	if current != nil {
		op.Keys = append(op.Keys, []byte(current.Describe()))
	}
	e.submit(op, reply, formatOK)
}

// aclDelUser replicates the deletion; the op says which users this node
// enforces, so that deleting a config user counts it, as Redis does.
func (e *Executor) aclDelUser(args [][]byte, reply func([]byte)) {
	t := e.users()
	known := make([][]byte, len(args)-2)
	for i, name := range args[2:] {
		if string(name) == "default" {
			replyErr(reply, errDeleteDefault)
			return
		}
		if t.User(string(name)) != nil {
			known[i] = []byte{1}
		} else {
			known[i] = []byte{}
		}
	}
	e.submit(kv.Op{Kind: kv.ACLDelUser, Keys: args[2:], Values: known}, reply, formatInt)
}
