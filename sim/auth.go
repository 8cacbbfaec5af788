package sim

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/seshat-db/seshat/acl"
	"github.com/seshat-db/seshat/resp"
)

// Authentication in the simulator. Every node runs with a password on the
// default user and a config user for the clients; each connection
// authenticates first, as a client library does, and must be let in. An
// admin changes other users now and then (ACL SETUSER through the log),
// and the checker compares the users each node enforces with what its
// store holds and with the other replicas' at the same applied index.

const (
	simDefaultPassword = "sim-default-secret"
	simUser            = "sim"
	simPassword        = "sim-secret"
	// simConfigUser is a config user the admin churns too: ACL SETUSER
	// starts from the config's copy the op carries, DELUSER records its
	// deletion, and every replica must agree on the result.
	simConfigUser = "cfg"
)

// simACL is the config baseline every simulated node is given.
var simACL = func() *acl.Table {
	def, _ := acl.NewDefault().SetRules([]string{"resetpass", ">" + simDefaultPassword})
	u, _ := (&acl.User{Name: simUser}).SetRules([]string{"on", ">" + simPassword, "~*", "+@all"})
	cfg, _ := (&acl.User{Name: simConfigUser}).SetRules([]string{"on", ">cfg", "~*", "+@read"})
	return acl.NewTable(def, u, cfg)
}()

// Users implements resp.Users: the users of the process the connection
// was opened to.
func (b simBackend) Users() *acl.Table {
	if b.s.n != b.n || b.n == nil {
		return nil
	}
	return b.n.Users()
}

// login authenticates a new connection's executor as the simulated
// clients' user. A running node must let it in: the user is in every
// node's config.
func login(w *World, s *simNode, exec *resp.Executor, user, password string) {
	exec.Execute([][]byte{[]byte("AUTH"), []byte(user), []byte(password)}, func(reply []byte) {
		if string(reply) != "+OK\r\n" && s.n != nil {
			w.fail(classSafety, "n%d refused %s's AUTH with the right password: %q", s.id, user, reply)
		}
	})
}

// scheduleACLChurn sets a user's rules on a random node every so often,
// from a random stream of its own, so the seed's other draws stay as
// they were.
func (w *World) scheduleACLChurn(rng *rand.Rand) {
	w.schedule(time.Duration(200+rng.IntN(800))*time.Millisecond, evScenario, -1, 0xac1, func() {
		if w.now < w.opts.FaultsEnd {
			w.churnACL(rng)
			w.scheduleACLChurn(rng)
		}
	})
}

var churnRules = [][]string{
	{"on", ">a", "~*", "+@read"},
	{"off"},
	{"on", "resetpass", ">b", "~k*", "+@all", "-@write"},
	{"reset", "on", "nopass", "allkeys", "+get"},
}

func (w *World) churnACL(rng *rand.Rand) {
	s := w.nodes[rng.IntN(len(w.nodes))]
	if !s.up() {
		return
	}
	user := fmt.Sprintf("churn%d", rng.IntN(4))
	if user == "churn3" {
		user = simConfigUser
	}
	args := [][]byte{[]byte("ACL"), []byte("SETUSER"), []byte(user)}
	for _, r := range churnRules[rng.IntN(len(churnRules))] {
		args = append(args, []byte(r))
	}
	if rng.IntN(4) == 0 {
		args = [][]byte{[]byte("ACL"), []byte("DELUSER"), []byte(user)}
	}
	w.stats.ACLChanges++
	executeOne(s, args, func([]byte) {})
}

// compareUsers checks that s enforces the users its store holds, and the
// same users as any replica seen at the same applied index.
func (c *checker) compareUsers(s *simNode) bool {
	applied, enforced, stored, err := s.n.UsersAt()
	if err != nil {
		c.w.fail(classSafety, "n%d: reading its users: %v", s.id, err)
		return false
	}
	if enforced != stored {
		c.w.fail(classSafety, "n%d enforces other users than its store holds at applied index %d:\nenforced:\n%sstored:\n%s", s.id, applied, enforced, stored)
		return false
	}
	if c.users == nil {
		c.users = map[uint64]appliedUsers{}
	}
	if prev, ok := c.users[applied]; ok && prev.users != enforced {
		c.w.fail(classSafety, "n%d and n%d enforce different users at applied index %d", prev.node, s.id, applied)
		return false
	}
	c.users[applied] = appliedUsers{users: enforced, node: s.id}
	return true
}

type appliedUsers struct {
	users string
	node  uint64
}

var _ resp.Users = simBackend{}

// refusedAuth reports whether reply refuses a command for want of
// authentication or permission.
func refusedAuth(reply []byte) bool {
	return bytes.HasPrefix(reply, []byte("-NOAUTH")) || bytes.HasPrefix(reply, []byte("-NOPERM"))
}

// scheduleStrangers sends, every so often, a command on a connection
// that never authenticated to a random running node, from a random
// stream of its own: every node has a password on the default user, so
// it must answer NOAUTH, and it must never run the command.
func (w *World) scheduleStrangers(rng *rand.Rand) {
	w.schedule(time.Duration(300+rng.IntN(1000))*time.Millisecond, evScenario, -1, 0x57a, func() {
		if w.now >= w.opts.Run {
			return
		}
		s := w.nodes[rng.IntN(len(w.nodes))]
		if s.up() {
			w.stranger(s)
		}
		w.scheduleStrangers(rng)
	})
}

func (w *World) stranger(s *simNode) {
	exec := newExecutor(s)
	var rc *resp.Conn
	rc = resp.NewConn(exec, resp.ConnConfig{OnReply: func() {
		out, _ := rc.Output(nil)
		if len(out) == 0 {
			return
		}
		if !bytes.HasPrefix(out, []byte("-NOAUTH")) {
			w.fail(classSafety, "n%d answered an unauthenticated client's SET %q, want NOAUTH", s.id, out)
			return
		}
		w.stats.Strangers++
	}})
	rc.Feed(resp.AppendCommand(nil, []byte("SET"), []byte("stranger"), []byte("x")))
}
