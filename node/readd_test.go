package node

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

// TestReAddOfAnUnrecordedMemberIsRetried: an ADDNODE under a member's id
// cannot be told apart from the member's own until the member's address
// is recorded, so it is refused as pending, never answered "already a
// member" (a second machine under the id took that as its join done: e2e
// TestJoinUnderAMembersIDIsRefused flaked so). Once recorded, another
// machine is refused for good and the member itself is told it is in.
func TestReAddOfAnUnrecordedMemberIsRetried(t *testing.T) {
	c := openCluster(t, testConfig()) // members that announce nothing
	lead := c.theLeader()
	other := c.follower(lead)
	own := fmt.Sprintf("p%d", other)
	for _, peer := range []string{"elsewhere:7379", own} {
		err := c.change(lead, MemberChange{Kind: AddLearner, ID: other, PeerAddr: peer, ClientAddr: "c"})
		if !errors.Is(err, ErrNotYet) || !strings.Contains(err.Error(), "not recorded yet") {
			t.Fatalf("ADDNODE %d from %s before the member's address is recorded answered %v, want a pending refusal", other, peer, err)
		}
	}

	c.advertise = true
	for id := uint64(1); id <= 3; id++ {
		c.stop(id)
		c.start(id)
	}
	lead = c.theLeader()
	c.ticks(20 * c.cfg.ElectionTicks)
	if err := c.change(lead, MemberChange{Kind: AddLearner, ID: other, PeerAddr: "elsewhere:7379", ClientAddr: "c"}); !errors.Is(err, ErrBadChange) || !strings.Contains(err.Error(), "cannot take its id") {
		t.Fatalf("ADDNODE %d from another machine answered %v, want 'cannot take its id'", other, err)
	}
	if err := c.change(lead, MemberChange{Kind: AddLearner, ID: other, PeerAddr: own, ClientAddr: "c"}); !errors.Is(err, ErrBadChange) || !strings.Contains(err.Error(), "already a member") {
		t.Fatalf("ADDNODE %d from its own address answered %v, want 'already a member'", other, err)
	}
}
