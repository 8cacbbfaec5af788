package acl

import (
	"strings"
	"testing"

	"pgregory.net/rapid"
)

// The expected descriptions are what redis-server 7.0.15 lists for the
// same rules (ACL SETUSER t reset <rules>; ACL LIST).
func TestRuleCompactionAsRedis(t *testing.T) {
	for _, c := range []struct{ rules, want string }{
		{"-@all +get +@read", "-@all +@read"},
		{"+@all -get +get", "+@all"},
		{"-@all +@read -get +get", "-@all +@read"},
		{"-@all +@read -get", "-@all +@read -get"},
		{"+@all -@write +set", "+@all -@write +set"},
		{"-@all +get +set -get", "-@all +set"},
		{"+@read", "-@all +@read"},
		{"-@all +@write -@write", "-@all"},
		{"allcommands", "+@all"},
		{"nocommands +get", "-@all +get"},
		{"+@all -@all +get", "-@all +get"},
		{"-@all +GET", "-@all +get"},
		{"+@all +get", "+@all"},
		{"-@all +@read +@write -@read", "-@all +@write"},
	} {
		u, err := (&User{Name: "t"}).SetRules(append([]string{"reset"}, strings.Fields(c.rules)...))
		if err != nil {
			t.Fatalf("%s: %v", c.rules, err)
		}
		if got := u.CommandRules(); got != c.want {
			t.Errorf("%s: %q, want %q", c.rules, got, c.want)
		}
	}
}

func TestDescribeAsRedis(t *testing.T) {
	for _, c := range []struct{ rules, want string }{
		{"reset >a >b <a ~a* ~b*", "off sanitize-payload #3e23e8160039594a33894f6564e1b1348bbd7a0088d42c4acb73eeaed59c009d ~a* ~b* resetchannels -@all"},
		{"reset ~c nopass", "off nopass sanitize-payload ~c resetchannels -@all"},
		{"on >ropass ~* +@read", "on #968687300c3cde836623b2c5105f98150e9526fe76be4df211cadfea78e0b081 ~* resetchannels -@all +@read"},
	} {
		u, err := (&User{Name: "t"}).SetRules(strings.Fields(c.rules))
		if err != nil {
			t.Fatalf("%s: %v", c.rules, err)
		}
		if got := u.Describe(); got != c.want {
			t.Errorf("%s:\n got %q\nwant %q", c.rules, got, c.want)
		}
	}
	if got := NewDefault().Describe(); got != "on nopass ~* &* +@all" {
		t.Errorf("default: %q", got)
	}
}

func TestRuleErrorsAsRedis(t *testing.T) {
	for _, c := range []struct{ rules, want string }{
		{"foo", "ERR Error in ACL SETUSER modifier 'foo': Syntax error"},
		{"+nosuch", "ERR Error in ACL SETUSER modifier '+nosuch': Unknown command or category name in ACL"},
		{"+@nosuch", "ERR Error in ACL SETUSER modifier '+@nosuch': Unknown command or category name in ACL"},
		{"allkeys ~c", "ERR Error in ACL SETUSER modifier '~c': " + reasonAfterAllKeys},
		{"<nope", "ERR Error in ACL SETUSER modifier '<nope': " + reasonNoSuchPass},
		{"#abc", "ERR Error in ACL SETUSER modifier '#abc': " + reasonBadHash},
	} {
		before := &User{Name: "t"}
		_, err := before.SetRules(strings.Fields(c.rules))
		if err == nil || err.Error() != c.want {
			t.Errorf("%s: %v, want %q", c.rules, err, c.want)
		}
		if before.AllKeys {
			t.Errorf("%s: a refused SETUSER changed the user", c.rules)
		}
	}
}

func TestPermissions(t *testing.T) {
	_, get := Lookup("get")
	_, set := Lookup("set")
	_, whoami := Lookup("acl|whoami")
	ro, _ := (&User{Name: "ro"}).SetRules([]string{"on", ">pw", "~*", "+@read"})
	if !ro.CanRun(get) || ro.CanRun(set) || ro.CanRun(whoami) {
		t.Errorf("read-only user: get %v set %v whoami %v", ro.CanRun(get), ro.CanRun(set), ro.CanRun(whoami))
	}
	acl, _ := (&User{Name: "a"}).SetRules([]string{"+acl"})
	if !acl.CanRun(whoami) {
		t.Error("+acl does not allow acl|whoami")
	}
	pat, _ := (&User{Name: "p"}).SetRules([]string{"~cache:*", "+@all"})
	if !pat.CanAccess([]byte("cache:1")) || pat.CanAccess([]byte("other")) {
		t.Error("key pattern not enforced")
	}
	if !ro.Authenticate([]byte("pw")) || ro.Authenticate([]byte("px")) {
		t.Error("password check")
	}
	off, _ := ro.SetRules([]string{"off"})
	if off.Authenticate([]byte("pw")) {
		t.Error("a user that is off authenticated")
	}
}

func TestMatch(t *testing.T) {
	for _, c := range []struct {
		p, s string
		want bool
	}{
		{"*", "", true}, {"a*", "abc", true}, {"a*", "bac", false}, {"a?c", "abc", true},
		{"a?c", "ac", false}, {"[abc]x", "bx", true}, {"[^abc]x", "bx", false}, {"[a-c]x", "cx", true},
		{"\\*", "*", true}, {"\\*", "a", false}, {"cache:*:v", "cache:1:v", true}, {"cache:*:v", "cache:1:w", false},
	} {
		if got := Match(c.p, []byte(c.s)); got != c.want {
			t.Errorf("Match(%q, %q) = %v", c.p, c.s, got)
		}
	}
}

var ruleWords = []string{"on", "off", "nopass", "resetpass", ">a", ">b", "<a", "allkeys", "resetkeys",
	"~k*", "~x?", "+@all", "-@all", "+@read", "-@read", "+@write", "-@write", "+@string", "-@keyspace",
	"+get", "-get", "+set", "-set", "+acl", "-acl|whoami", "+acl|whoami", "allchannels", "resetchannels", "reset"}

func drawUser(t *rapid.T) *User {
	rules := rapid.SliceOfN(rapid.SampledFrom(ruleWords), 0, 12).Draw(t, "rules")
	u := &User{Name: "u"}
	for _, r := range rules {
		if next, err := u.SetRules([]string{r}); err == nil {
			u = next
		}
	}
	return u
}

// A description rebuilds the same user: the store keeps users as
// descriptions, so this is what replication and restarts rely on.
func TestDescribeRoundTrips(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		u := drawUser(t)
		back, err := Parse(u.Name, u.Describe())
		if err != nil {
			t.Fatalf("%q: %v", u.Describe(), err)
		}
		if back.Describe() != u.Describe() || back.perms != u.perms {
			t.Fatalf("%q came back as %q", u.Describe(), back.Describe())
		}
	})
}

// Compaction never changes what a user may run: the compacted rules give
// the same permissions as the rules applied one by one, without it.
func TestCompactionKeepsPermissions(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		words := rapid.SliceOfN(rapid.SampledFrom([]string{"+@all", "-@all", "+@read", "-@read", "+@write",
			"-@write", "+@fast", "-@slow", "+get", "-get", "+set", "-set", "+acl", "-acl|whoami"}), 0, 10).Draw(t, "rules")
		u, err := (&User{Name: "u"}).SetRules(words)
		if err != nil {
			t.Fatal(err)
		}
		var naive perms
		for i := range commands {
			naive.set(i, false)
		}
		for _, w := range words {
			allow := w[0] == '+'
			for i := range commands {
				hit := false
				if w[1] == '@' {
					cat, _ := categoryByName(w[2:])
					hit = w[2:] == "all" || commands[i].Categories&cat != 0
				} else {
					hit = commands[i].Name == w[1:] || isSubOf(commands[i].Name, w[1:])
				}
				if hit {
					naive.set(i, allow)
				}
			}
		}
		if naive != u.perms {
			t.Fatalf("%v compacted to %q changes the permissions", words, u.CommandRules())
		}
	})
}

// Match agrees with a naive matcher on patterns of literals, ? and *.
func TestMatchAgreesWithNaive(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		p := rapid.StringMatching(`[ab?*]{0,6}`).Draw(t, "pattern")
		s := rapid.StringMatching(`[ab]{0,6}`).Draw(t, "s")
		if got, want := Match(p, []byte(s)), naiveMatch(p, s); got != want {
			t.Fatalf("Match(%q, %q) = %v, want %v", p, s, got, want)
		}
	})
}

func naiveMatch(p, s string) bool {
	if p == "" {
		return s == ""
	}
	switch p[0] {
	case '*':
		return naiveMatch(p[1:], s) || s != "" && naiveMatch(p, s[1:])
	case '?':
		return s != "" && naiveMatch(p[1:], s[1:])
	}
	return s != "" && s[0] == p[0] && naiveMatch(p[1:], s[1:])
}

// Match agrees with the recursive matcher it replaced (Redis's
// stringmatchlen before 7.0.9, exponential but plainly right) on patterns
// with classes, ranges and escapes too.
func TestMatchAgreesWithRecursive(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		p := rapid.StringMatching(`[ab?*\[\]^\\-]{0,8}`).Draw(t, "pattern")
		s := rapid.StringMatching(`[ab\]\\-]{0,8}`).Draw(t, "s")
		if got, want := Match(p, []byte(s)), recursiveMatch(p, []byte(s)); got != want {
			t.Fatalf("Match(%q, %q) = %v, want %v", p, s, got, want)
		}
	})
}

func recursiveMatch(pattern string, s []byte) bool {
	for len(pattern) > 0 {
		switch pattern[0] {
		case '*':
			for len(pattern) > 1 && pattern[1] == '*' {
				pattern = pattern[1:]
			}
			if len(pattern) == 1 {
				return true
			}
			for i := 0; i <= len(s); i++ {
				if recursiveMatch(pattern[1:], s[i:]) {
					return true
				}
			}
			return false
		case '?':
			if len(s) == 0 {
				return false
			}
			s, pattern = s[1:], pattern[1:]
		case '[':
			if len(s) == 0 {
				return false
			}
			var ok bool
			if pattern, ok = matchClass(pattern[1:], s[0]); !ok {
				return false
			}
			s = s[1:]
		default:
			if pattern[0] == '\\' && len(pattern) >= 2 {
				pattern = pattern[1:]
			}
			if len(s) == 0 || s[0] != pattern[0] {
				return false
			}
			s, pattern = s[1:], pattern[1:]
		}
	}
	return len(s) == 0
}
