// Package acl is Seshat's access control, as Redis 7's ACL: users with
// passwords (kept as SHA-256 hashes), an on/off switch, key patterns and
// command permissions by command and category. It is pure: the node
// stores each user as its rule line (Describe), replicated through the
// log, and rebuilds it with Parse.
package acl

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"strings"
)

// perms is one bit per catalog command.
type perms [commandCount / 64]uint64

func (p *perms) set(i int, on bool) {
	if on {
		p[i/64] |= 1 << (i % 64)
	} else {
		p[i/64] &^= 1 << (i % 64)
	}
}

func (p *perms) has(i int) bool { return p[i/64]&(1<<(i%64)) != 0 }

// cmdRule is one +/- rule on a command or a category, as kept after
// compaction (see addCommandRule).
type cmdRule struct {
	allow    bool
	category Category // 0 for a command rule
	command  int      // catalog index of a command rule
}

func (r cmdRule) sameTarget(o cmdRule) bool {
	return r.category == o.category && (r.category != 0 || r.command == o.command)
}

func (r cmdRule) String() string {
	sign := "-"
	if r.allow {
		sign = "+"
	}
	if r.category != 0 {
		for i, n := range CategoryNames {
			if r.category == 1<<i {
				return sign + "@" + n
			}
		}
	}
	return sign + commands[r.command].Name
}

// User is one ACL user. The zero User (with a name) is what ACL SETUSER
// starts a new user from: off, no password, no keys, no commands.
type User struct {
	Name        string
	On          bool
	NoPass      bool
	Sanitize    bool       // sanitize-payload: shown, not otherwise used
	Passwords   [][32]byte // SHA-256 of each password, in the order added
	AllKeys     bool
	Patterns    []string // key globs, when not AllKeys
	AllChannels bool
	AllCommands bool      // the rules start from +@all (future commands too), else -@all
	rules       []cmdRule // compacted, in order
	perms       perms
}

// NewDefault returns the default user as Redis starts it.
func NewDefault() *User {
	u := &User{Name: "default", On: true, NoPass: true, AllKeys: true, AllChannels: true, AllCommands: true}
	u.recompute()
	return u
}

// RuleError is a rule ACL SETUSER refuses; Error is Redis's wording.
type RuleError struct {
	Rule   string
	Reason string
}

func (e *RuleError) Error() string {
	return fmt.Sprintf("ERR Error in ACL SETUSER modifier '%s': %s", e.Rule, e.Reason)
}

// The reasons Redis 7.0 gives.
const (
	reasonSyntax       = "Syntax error"
	reasonUnknown      = "Unknown command or category name in ACL"
	reasonNoSuchPass   = "The password you are trying to remove from the user does not exist"
	reasonBadHash      = "The password hash must be exactly 64 characters and contain only lowercase hexadecimal characters"
	reasonAfterAllKeys = "Adding a pattern after the * pattern (or the 'allkeys' flag) is not valid and does not have any effect. Try 'resetkeys' to start with an empty list of patterns"
)

// Clone returns a deep copy of u.
func (u *User) Clone() *User {
	c := *u
	c.Passwords = append([][32]byte(nil), u.Passwords...)
	c.Patterns = append([]string(nil), u.Patterns...)
	c.rules = append([]cmdRule(nil), u.rules...)
	return &c
}

// SetRules applies rules in order to a copy of u and returns it, or the
// first rule's error, leaving u as it was (Redis applies ACL SETUSER all
// or nothing).
func (u *User) SetRules(rules []string) (*User, error) {
	c := u.Clone()
	for _, r := range rules {
		if err := c.apply(r); err != nil {
			return nil, err
		}
	}
	return c, nil
}

func (u *User) apply(rule string) error {
	fail := func(reason string) error { return &RuleError{Rule: rule, Reason: reason} }
	switch strings.ToLower(rule) {
	case "on":
		u.On = true
		return nil
	case "off":
		u.On = false
		return nil
	case "nopass":
		u.NoPass, u.Passwords = true, nil
		return nil
	case "resetpass":
		u.NoPass, u.Passwords = false, nil
		return nil
	case "allkeys":
		u.AllKeys, u.Patterns = true, nil
		return nil
	case "resetkeys":
		u.AllKeys, u.Patterns = false, nil
		return nil
	case "allchannels":
		u.AllChannels = true
		return nil
	case "resetchannels":
		u.AllChannels = false
		return nil
	case "allcommands", "+@all":
		u.AllCommands, u.rules = true, nil
		u.recompute()
		return nil
	case "nocommands", "-@all":
		u.AllCommands, u.rules = false, nil
		u.recompute()
		return nil
	case "sanitize-payload":
		u.Sanitize = true
		return nil
	case "skip-sanitize-payload":
		u.Sanitize = false
		return nil
	case "reset":
		for _, r := range []string{"resetpass", "resetkeys", "resetchannels", "off", "-@all", "sanitize-payload"} {
			_ = u.apply(r)
		}
		return nil
	}
	if rule == "" {
		return fail(reasonSyntax)
	}
	switch rule[0] {
	case '>':
		u.addHash(sha256.Sum256([]byte(rule[1:])))
		return nil
	case '#':
		h, ok := parseHash(rule[1:])
		if !ok {
			return fail(reasonBadHash)
		}
		u.addHash(h)
		return nil
	case '<', '!':
		h := sha256.Sum256([]byte(rule[1:]))
		if rule[0] == '!' {
			var ok bool
			if h, ok = parseHash(rule[1:]); !ok {
				return fail(reasonBadHash)
			}
		}
		for i, p := range u.Passwords {
			if p == h {
				u.Passwords = append(u.Passwords[:i:i], u.Passwords[i+1:]...)
				return nil
			}
		}
		return fail(reasonNoSuchPass)
	case '~':
		if u.AllKeys {
			return fail(reasonAfterAllKeys)
		}
		// Describe joins rules with spaces and Parse splits them there, so
		// a pattern with a space inside would come back as two rules, and
		// every replica loading it would fail; Redis refuses it too.
		if HasSpace(rule[1:]) {
			return fail(reasonSyntax)
		}
		if rule[1:] == "*" {
			u.AllKeys, u.Patterns = true, nil
			return nil
		}
		for _, p := range u.Patterns {
			if p == rule[1:] {
				return nil
			}
		}
		u.Patterns = append(u.Patterns, rule[1:])
		return nil
	case '&':
		if rule == "&*" {
			u.AllChannels = true
			return nil
		}
		return fail(reasonSyntax)
	case '+', '-':
		r := cmdRule{allow: rule[0] == '+'}
		if len(rule) > 1 && rule[1] == '@' {
			cat, ok := categoryByName(rule[2:])
			if !ok {
				return fail(reasonUnknown)
			}
			r.category = cat
		} else {
			_, i := Lookup(rule[1:])
			if i < 0 {
				return fail(reasonUnknown)
			}
			r.command = i
		}
		u.addCommandRule(r)
		return nil
	}
	return fail(reasonSyntax)
}

func parseHash(s string) ([32]byte, bool) {
	var h [32]byte
	if len(s) != 64 || strings.ToLower(s) != s {
		return h, false
	}
	if _, err := hex.Decode(h[:], []byte(s)); err != nil {
		return h, false
	}
	return h, true
}

func (u *User) addHash(h [32]byte) {
	u.NoPass = false
	for _, p := range u.Passwords {
		if p == h {
			return
		}
	}
	u.Passwords = append(u.Passwords, h)
}

// addCommandRule keeps the rules as Redis 7.0 describes them: an earlier
// rule on the same command or category is dropped, and so is any rule
// that no longer changes what the user may run ("-@all +get +@read"
// reads "-@all +@read"; "+@all -get +get" reads "+@all").
func (u *User) addCommandRule(r cmdRule) {
	kept := u.rules[:0:0]
	for _, old := range u.rules {
		if !old.sameTarget(r) {
			kept = append(kept, old)
		}
	}
	kept = append(kept, r)
	want := u.permsOf(kept)
	for i := 0; i < len(kept); {
		without := append(append([]cmdRule(nil), kept[:i]...), kept[i+1:]...)
		if u.permsOf(without) == want {
			kept = without
			continue
		}
		i++
	}
	u.rules = kept
	u.perms = want
}

func (u *User) recompute() { u.perms = u.permsOf(u.rules) }

func (u *User) permsOf(rules []cmdRule) perms {
	var p perms
	for i := range commands {
		p.set(i, u.AllCommands)
	}
	for _, r := range rules {
		for i := range commands {
			if r.category != 0 && commands[i].Categories&r.category != 0 ||
				r.category == 0 && (i == r.command || isSubOf(commands[i].Name, commands[r.command].Name)) {
				p.set(i, r.allow)
			}
		}
	}
	return p
}

func isSubOf(name, parent string) bool {
	return len(name) > len(parent) && name[len(parent)] == '|' && name[:len(parent)] == parent
}

// Authenticate reports whether password opens u: u is on, and it is
// nopass or the password's SHA-256 is one of u's. Every stored hash is
// compared, in constant time, so the time taken tells nothing.
func (u *User) Authenticate(password []byte) bool {
	h := sha256.Sum256(password)
	match := 0
	for i := range u.Passwords {
		match |= subtle.ConstantTimeCompare(u.Passwords[i][:], h[:])
	}
	return u.On && (u.NoPass || match == 1)
}

// CanRun reports whether u may run the catalog command at index i.
func (u *User) CanRun(i int) bool { return i >= 0 && u.perms.has(i) }

// CanAccess reports whether u may touch key.
func (u *User) CanAccess(key []byte) bool {
	if u.AllKeys {
		return true
	}
	for _, p := range u.Patterns {
		if Match(p, key) {
			return true
		}
	}
	return false
}

// CommandRules returns the command part of the user's description:
// "+@all -@write", "-@all +get".
func (u *User) CommandRules() string {
	var b strings.Builder
	if u.AllCommands {
		b.WriteString("+@all")
	} else {
		b.WriteString("-@all")
	}
	for _, r := range u.rules {
		b.WriteByte(' ')
		b.WriteString(r.String())
	}
	return b.String()
}

// Flags returns the user's flags as ACL GETUSER lists them.
func (u *User) Flags() []string {
	flags := []string{"off"}
	if u.On {
		flags[0] = "on"
	}
	if u.NoPass {
		flags = append(flags, "nopass")
	}
	if u.Sanitize {
		flags = append(flags, "sanitize-payload")
	}
	return flags
}

// PasswordHashes returns the hex SHA-256 of each password.
func (u *User) PasswordHashes() []string {
	out := make([]string, len(u.Passwords))
	for i, p := range u.Passwords {
		out[i] = hex.EncodeToString(p[:])
	}
	return out
}

// KeyRules returns the key part of the description: "~*", "~a* ~b*", "".
func (u *User) KeyRules() string {
	if u.AllKeys {
		return "~*"
	}
	var parts []string
	for _, p := range u.Patterns {
		parts = append(parts, "~"+p)
	}
	return strings.Join(parts, " ")
}

// ChannelRules returns the channel part: "&*" or "".
func (u *User) ChannelRules() string {
	if u.AllChannels {
		return "&*"
	}
	return ""
}

// Describe returns the user's rules as ACL LIST shows them after
// "user <name> ". Parse(name, Describe()) rebuilds the same user.
func (u *User) Describe() string {
	parts := u.Flags()
	for _, h := range u.PasswordHashes() {
		parts = append(parts, "#"+h)
	}
	if k := u.KeyRules(); k != "" {
		parts = append(parts, k)
	}
	if u.AllChannels {
		parts = append(parts, "&*")
	} else {
		parts = append(parts, "resetchannels")
	}
	parts = append(parts, u.CommandRules())
	return strings.Join(parts, " ")
}

// Parse rebuilds the user name from its description.
func Parse(name, description string) (*User, error) {
	u := &User{Name: name}
	u.recompute()
	return u.SetRules(strings.FieldsFunc(description, isSpace))
}

// HasSpace reports whether s holds a byte Redis's ACLStringHasSpaces
// refuses in user names and key patterns: C's isspace or a NUL.
func HasSpace(s string) bool { return strings.IndexFunc(s, isSpace) >= 0 }

// isSpace is C's isspace in the C locale, and NUL. ASCII only: a pattern
// with U+00A0 inside is one rule to Redis, so it must be one to Parse.
func isSpace(r rune) bool {
	switch r {
	case ' ', '\t', '\n', '\v', '\f', '\r', 0:
		return true
	}
	return false
}

// ReplyError is an error whose text is the whole error reply, in Redis's
// words.
type ReplyError struct{ Text string }

func (e *ReplyError) Error() string { return e.Text }

// ErrNameSpace is Redis 7.0's refusal of a user name ACL LIST could not
// show as one word.
var ErrNameSpace = &ReplyError{"ERR Usernames can't contain spaces or null characters"}

// CheckName refuses the user names Redis refuses.
func CheckName(name string) error {
	if HasSpace(name) {
		return ErrNameSpace
	}
	return nil
}
