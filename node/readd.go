package node

import (
	"fmt"

	"github.com/seshat-db/seshat/internal/mutant"
)

// checkReAdd answers an ADDNODE under the id of a member. The same
// machine asking again (a join retried, a restart) is told it is in;
// another one under a member's id (a copied config) would take turns
// with it on every peer's link (review r8), so it is refused for good.
// Which of the two asks is known only from the member's recorded peer
// address, and a member of the first configuration records its own only
// by announcing it (announce.go), about an election timeout after it runs
// under a leader, and never while it is down. Until then the answer is a
// refusal to ask again: "already a member" would let a second machine
// believe it joined (e2e TestJoinUnderAMembersIDIsRefused flaked so).
func (n *Node) checkReAdd(ch MemberChange) error {
	info, found, err := n.store.MemberInfo(ch.ID)
	if err != nil {
		return err
	}
	switch {
	case (!found || info.PeerAddr == "") && !mutant.On(mutant.UnrecordedMemberAlreadyIn):
		return fmt.Errorf("%w: node %d is a member whose address is not recorded yet (a member records its own once it runs under a leader); ask again", ErrNotYet, ch.ID)
	case found && info.PeerAddr != "" && info.PeerAddr != ch.PeerAddr:
		return fmt.Errorf("%w: node %d is a member at %s, not %s: another machine cannot take its id; give the new node a new id", ErrBadChange, ch.ID, info.PeerAddr, ch.PeerAddr)
	}
	return fmt.Errorf("%w: node %d is already a member", ErrBadChange, ch.ID)
}
