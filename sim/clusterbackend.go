package sim

import (
	"fmt"

	"github.com/seshat-db/seshat/node"
	"github.com/seshat-db/seshat/resp"
)

// simBackend answers CLUSTER (resp.ClusterBackend) as realenv's host does
// for a real node: each call runs with the node in its host loop. A call
// to a process that has died is never answered, like a lost connection.

// ClusterView implements resp.ClusterBackend.
func (b simBackend) ClusterView(done func(resp.ClusterView, error)) {
	b.call(func(n *node.Node) {
		members, err := n.Members()
		st := n.Status()
		v := resp.ClusterView{Self: st.ID, Leader: st.Lead, Term: st.Term, SelfApplied: st.Applied}
		for _, m := range members {
			if m.ClientAddr == "" && b.s.w.opts.InitialVoters == 0 {
				// A first-configuration member of a cluster whose members
				// announce nothing: its address is the simulator's name
				// for it, as a host's config would give.
				m.PeerAddr, m.ClientAddr = simPeerAddr(m.ID), simClientAddr(m.ID)
			}
			v.Members = append(v.Members, resp.ClusterMember{ID: m.ID, Voter: m.Voter, ClientAddr: m.ClientAddr, PeerAddr: m.PeerAddr, Failed: m.Failed})
		}
		done(v, err)
	})
}

// ChangeMembership implements resp.ClusterBackend.
func (b simBackend) ChangeMembership(ch resp.ClusterChange, done func(error)) {
	mc, err := nodeChange(ch)
	if err != nil {
		done(err)
		return
	}
	b.call(func(n *node.Node) { n.ChangeMembership(mc, done) })
}

// TransferLeader implements resp.ClusterBackend.
func (b simBackend) TransferLeader(to uint64, done func(error)) {
	b.call(func(n *node.Node) { n.TransferLeadership(to, done) })
}

func (b simBackend) call(fn func(*node.Node)) {
	if b.s.n != b.n || b.n == nil {
		return
	}
	b.s.post(node.Event{Kind: node.EventCall, Call: fn})
}

// nodeChange reads a CLUSTER change as the node's.
func nodeChange(ch resp.ClusterChange) (node.MemberChange, error) {
	kinds := map[string]node.MemberChangeKind{"add-learner": node.AddLearner, "promote": node.Promote, "remove": node.Remove, "replace": node.Replace}
	k, ok := kinds[ch.Kind]
	if !ok {
		return node.MemberChange{}, fmt.Errorf("unknown membership change %q", ch.Kind)
	}
	return node.MemberChange{Kind: k, ID: ch.ID, Old: ch.Old, PeerAddr: ch.PeerAddr, ClientAddr: ch.ClientAddr, Force: ch.Force}, nil
}

// simPeerAddr and simClientAddr are the simulator's names for node id's
// addresses (the membership scenario adds nodes under them too).
func simPeerAddr(id uint64) string   { return fmt.Sprintf("n%d:7379", id) }
func simClientAddr(id uint64) string { return fmt.Sprintf("n%d:6379", id) }
