package storage

import (
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"
)

// TestClaim: an unclaimed member takes the first claim, once; the marks
// survive a restart, and a record with none reads as before them.
func TestClaim(t *testing.T) {
	fs := vfs.NewMem()
	s := bootstrapped(t, fs)
	commit(t, s, func(b *Batch) {
		b.MarkUnclaimed(4)
		b.MarkUnclaimed(2) // a first-configuration member's, then a rejoin's
		b.SetMemberIdentity(2, 0xabc)
		b.MarkUnclaimed(2) // it has run: left as it is
	})
	if !s.IsUnclaimed(4) || s.IsUnclaimed(2) || s.IsUnclaimed(1) {
		t.Fatalf("unclaimed: 4 %v, 2 %v, 1 %v; want only 4", s.IsUnclaimed(4), s.IsUnclaimed(2), s.IsUnclaimed(1))
	}
	s = reopen(t, s, fs)
	if !s.IsUnclaimed(4) || s.MemberIdentity(2) != 0xabc {
		t.Fatalf("after restart: 4 unclaimed %v, identity of 2 %x", s.IsUnclaimed(4), s.MemberIdentity(2))
	}
	var first, second bool
	commit(t, s, func(b *Batch) {
		first, second = b.Claim(4, 0x11), b.Claim(4, 0x22)
		b.SetRejoinAsVoter(2, true)
	})
	if !first || second || s.MemberIdentity(4) != 0x11 || s.IsUnclaimed(4) || !s.IsRetired(4, 0) {
		t.Fatalf("claims: first %v second %v, identity %x, unclaimed %v, 0 retired %v", first, second, s.MemberIdentity(4), s.IsUnclaimed(4), s.IsRetired(4, 0))
	}
	s = reopen(t, s, fs)
	if !s.RejoinsAsVoter(2) || s.RejoinsAsVoter(4) || s.MemberIdentity(2) != 0xabc || s.MemberIdentity(4) != 0x11 {
		t.Fatalf("after restart: rejoin as voter 2 %v 4 %v, identities %x %x", s.RejoinsAsVoter(2), s.RejoinsAsVoter(4), s.MemberIdentity(2), s.MemberIdentity(4))
	}
	commit(t, s, func(b *Batch) { b.SetRejoinAsVoter(2, false) })
	s = reopen(t, s, fs)
	if s.RejoinsAsVoter(2) || s.MemberIdentity(2) != 0xabc || !s.IsRetired(2, 0) {
		t.Fatalf("after the promotion: rejoin as voter %v, identity %x", s.RejoinsAsVoter(2), s.MemberIdentity(2))
	}
	_ = s.Close()
}
