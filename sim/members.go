package sim

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/seshat-db/seshat/chaos"
	"github.com/seshat-db/seshat/node"
	"github.com/seshat-db/seshat/resp"
)

// ChangeMembership implements chaos.MemberChanger as an operator would:
// CLUSTER ADDNODE, PROMOTE, REMOVENODE or REPLACENODE sent to the node on a fresh
// connection, the World running until the reply comes, the node dies, or
// the request timeout passes.
func (c *simCluster) ChangeMembership(at chaos.ID, ch node.MemberChange) error {
	id := strconv.FormatUint(ch.ID, 10)
	var args []string
	switch ch.Kind {
	case node.AddLearner:
		args = []string{"CLUSTER", "ADDNODE", id, ch.PeerAddr, ch.ClientAddr}
	case node.Promote:
		args = []string{"CLUSTER", "PROMOTE", id}
	case node.Remove:
		args = []string{"CLUSTER", "REMOVENODE", id}
	case node.Replace:
		args = []string{"CLUSTER", "REPLACENODE", strconv.FormatUint(ch.Old, 10), id}
	default:
		return fmt.Errorf("sim: no CLUSTER command for %s", ch.Kind)
	}
	if ch.Force {
		args = append(args, "FORCE")
	}
	return c.admin(at, args...)
}

// TransferLeader implements chaos.MemberChanger.TransferLeader.
func (c *simCluster) TransferLeader(at, to chaos.ID) error {
	return c.admin(at, "CLUSTER", "TRANSFER-LEADER", strconv.FormatUint(to, 10))
}

// admin sends one CLUSTER command and runs the World until its reply:
// nil for +OK, node.ErrOutcomeUnknown for UNKNOWN or no reply, else the
// error's text.
func (c *simCluster) admin(at chaos.ID, args ...string) error {
	reply, err := c.adminReply(at, args...)
	if err != nil {
		return err
	}
	what := strings.Join(args, " ")
	r, _, err := resp.ParseReply(reply)
	switch {
	case err != nil:
		c.w.fail(classSafety, "n%d answered %s with a malformed reply %q: %v", at, what, reply, err)
		return err
	case r.Kind == resp.KindSimple && r.Str == "OK":
		return nil
	case r.Kind == resp.KindError && strings.HasPrefix(r.Str, "UNKNOWN"):
		return fmt.Errorf("%w (%s)", node.ErrOutcomeUnknown, r.Str)
	case r.Kind == resp.KindError:
		return errors.New(r.Str)
	}
	return fmt.Errorf("sim: %s answered %q", what, reply)
}

// ClusterNodes implements chaos.MemberChanger.ClusterNodes.
func (c *simCluster) ClusterNodes(at chaos.ID) (string, error) {
	reply, err := c.adminReply(at, "CLUSTER", "NODES")
	if err != nil {
		return "", err
	}
	r, _, err := resp.ParseReply(reply)
	if err != nil || r.Kind == resp.KindError {
		return "", fmt.Errorf("CLUSTER NODES: %q", reply)
	}
	return r.Str, nil
}

// adminReply sends one command and runs the World until its reply, or
// returns node.ErrOutcomeUnknown.
func (c *simCluster) adminReply(at chaos.ID, args ...string) ([]byte, error) {
	s := c.node(at)
	what := strings.Join(args, " ")
	if !s.up() {
		return nil, fmt.Errorf("n%d is down", at)
	}
	var reply []byte
	answered := false
	bargs := make([][]byte, len(args))
	for i, a := range args {
		bargs[i] = []byte(a)
	}
	n := s.n
	executeOne(s, bargs, func(b []byte) { reply, answered = b, true })
	c.w.tracef("%s scenario asks n%d: %s", c.w.now, at, what)
	deadline := c.w.now + c.w.opts.RequestTimeout + time.Second
	for !answered && c.w.now < deadline {
		if s.n != n {
			c.w.tracef("%s scenario: n%d died before answering %s", c.w.now, at, what)
			return nil, node.ErrOutcomeUnknown
		}
		c.RunFor(10 * time.Millisecond)
	}
	if !answered {
		return nil, node.ErrOutcomeUnknown
	}
	c.w.tracef("%s scenario: n%d answered %s: %q", c.w.now, at, what, reply)
	return reply, nil
}
