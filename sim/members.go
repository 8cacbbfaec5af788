package sim

import (
	"fmt"
	"time"

	"github.com/seshat-db/seshat/chaos"
	"github.com/seshat-db/seshat/node"
)

// ChangeMembership implements chaos.MemberChanger: the change is posted
// to the node's host loop like a client group, and the World runs until
// the node answers, the node dies, or the request timeout passes.
func (c *simCluster) ChangeMembership(at chaos.ID, ch node.MemberChange) error {
	return c.operatorCall(at, fmt.Sprintf("%s of n%d", ch.Kind, ch.ID), func(n *node.Node, done func(error)) {
		n.ChangeMembership(ch, done)
	})
}

// TransferLeader implements chaos.MemberChanger.TransferLeader.
func (c *simCluster) TransferLeader(at, to chaos.ID) error {
	return c.operatorCall(at, fmt.Sprintf("leadership to n%d", to), func(n *node.Node, done func(error)) {
		n.TransferLeadership(to, done)
	})
}

func (c *simCluster) operatorCall(at chaos.ID, what string, call func(*node.Node, func(error))) error {
	s := c.node(at)
	if !s.up() {
		return fmt.Errorf("n%d is down", at)
	}
	answered := false
	var got error
	n := s.n
	s.post(node.Event{Kind: node.EventCall, Call: func(nn *node.Node) {
		call(nn, func(err error) { answered, got = true, err })
	}})
	c.w.tracef("%s scenario asks n%d: %s", c.w.now, at, what)
	deadline := c.w.now + c.w.opts.RequestTimeout + time.Second
	for !answered && c.w.now < deadline {
		if s.n != n {
			c.w.tracef("%s scenario: n%d died before answering %s", c.w.now, at, what)
			return node.ErrOutcomeUnknown
		}
		c.RunFor(10 * time.Millisecond)
	}
	if !answered {
		return node.ErrOutcomeUnknown
	}
	c.w.tracef("%s scenario: n%d answered %s: %v", c.w.now, at, what, got)
	return got
}
