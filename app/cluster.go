package app

import (
	"context"
	"fmt"
	"net"
	"time"

	"github.com/seshat-db/seshat/node"
	"github.com/seshat-db/seshat/realenv"
	"github.com/seshat-db/seshat/resp"
)

// clusterHost is the server's Backend: the host, and CLUSTER answered
// from its node (resp.ClusterBackend).
type clusterHost struct {
	*realenv.Host
	cfg Config
}

// clusterCallTimeout bounds the wait for the node's goroutine to take a
// CLUSTER call; the call's answer may come later (a change applies).
const clusterCallTimeout = 5 * time.Second

// call runs fn on the node's goroutine without blocking the connection
// (resp.Backend's calls never block); fail answers if it never runs.
func (c clusterHost) call(fn func(*node.Node), fail func(error)) {
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), clusterCallTimeout)
		defer cancel()
		if err := c.Call(ctx, fn); err != nil {
			fail(err)
		}
	}()
}

// ClusterView implements resp.ClusterBackend.
func (c clusterHost) ClusterView(done func(resp.ClusterView, error)) {
	c.call(func(n *node.Node) {
		members, err := n.Members()
		st := n.Status()
		v := resp.ClusterView{Self: st.ID, Leader: st.Lead, Term: st.Term, SelfApplied: st.Applied}
		for _, m := range members {
			if m.ClientAddr == "" && m.ID == c.cfg.Node.ID {
				m.ClientAddr = c.ownClientAddr()
			}
			if m.PeerAddr == "" {
				m.PeerAddr = c.memberAddr(m.ID)
			}
			v.Members = append(v.Members, resp.ClusterMember{ID: m.ID, Voter: m.Voter, ClientAddr: m.ClientAddr, PeerAddr: m.PeerAddr, Failed: m.Failed})
		}
		done(v, err)
	}, func(err error) { done(resp.ClusterView{}, err) })
}

// ownClientAddr is client_addr, with a wildcard host replaced by this
// node's host in initial_members (clients cannot dial 0.0.0.0); "" for
// port 0. The node records it in the replicated membership (node.Config
// AdvertiseClientAddr), so every member tells it.
func (c clusterHost) ownClientAddr() string {
	host, port, err := net.SplitHostPort(c.cfg.Node.ClientAddr)
	if err != nil || port == "0" {
		return ""
	}
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		if h, _, err := net.SplitHostPort(c.memberAddr(c.cfg.Node.ID)); err == nil {
			host = h
		}
	}
	return net.JoinHostPort(host, port)
}

func (c clusterHost) memberAddr(id uint64) string {
	for _, m := range c.cfg.Cluster.InitialMembers {
		if m.ID == id {
			return m.Addr
		}
	}
	return ""
}

// ChangeMembership implements resp.ClusterBackend.
func (c clusterHost) ChangeMembership(ch resp.ClusterChange, done func(error)) {
	kinds := map[string]node.MemberChangeKind{"add-learner": node.AddLearner, "promote": node.Promote, "remove": node.Remove, "replace": node.Replace}
	k, ok := kinds[ch.Kind]
	if !ok {
		done(fmt.Errorf("unknown membership change %q", ch.Kind))
		return
	}
	mc := node.MemberChange{Kind: k, ID: ch.ID, Old: ch.Old, PeerAddr: ch.PeerAddr, ClientAddr: ch.ClientAddr, Force: ch.Force}
	c.call(func(n *node.Node) { n.ChangeMembership(mc, done) }, done)
}

// TransferLeader implements resp.ClusterBackend.
func (c clusterHost) TransferLeader(to uint64, done func(error)) {
	c.call(func(n *node.Node) { n.TransferLeadership(to, done) }, done)
}
