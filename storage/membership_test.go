package storage

import (
	"errors"
	"slices"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"
	"go.etcd.io/raft/v3"
	pb "go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/proto"
)

// TestMembershipIsAppliedState: a membership change written with an
// applied index survives a restart, and raft's InitialState reports the
// applied membership, not the log base's.
func TestMembershipIsAppliedState(t *testing.T) {
	fs := vfs.NewMem()
	s := bootstrapped(t, fs)
	appendEntries(t, s, ents(2, 5, 2))
	commit(t, s, func(b *Batch) {
		b.SetConfState(&pb.ConfState{Voters: []uint64{1, 3}, Learners: []uint64{2}})
		b.SetMemberIdentity(2, 0xabc)
		b.SetApplied(5)
	})
	check := func(s *Store, when string) {
		t.Helper()
		_, cs, _ := s.InitialState()
		if !slices.Equal(cs.GetVoters(), []uint64{1, 3}) || !slices.Equal(cs.GetLearners(), []uint64{2}) {
			t.Fatalf("%s: InitialState membership %v", when, cs)
		}
		if got := s.MemberIdentity(2); got != 0xabc {
			t.Fatalf("%s: identity of 2 = %x", when, got)
		}
		if got := s.MemberIdentity(1); got != 0 {
			t.Fatalf("%s: identity of 1 = %x, want 0 (first configuration)", when, got)
		}
	}
	check(s, "before restart")
	s = reopen(t, s, fs)
	check(s, "after restart")
	commit(t, s, func(b *Batch) { b.SetMemberIdentity(2, 0) })
	if got := s.MemberIdentity(2); got != 0 {
		t.Fatalf("a forgotten identity reads %x", got)
	}
	s = reopen(t, s, fs)
	if got := s.MemberIdentity(2); got != 0 {
		t.Fatalf("a forgotten identity reads %x after restart", got)
	}
	_ = s.Close()
}

// TestSnapshotCarriesMembership: a snapshot made after a membership
// change describes the new membership (a learner refuses one that does
// not list it), and an install brings the identities along.
func TestSnapshotCarriesMembership(t *testing.T) {
	src := filled(t, vfs.NewMem(), 50, 20)
	commit(t, src, func(b *Batch) {
		b.SetConfState(&pb.ConfState{Voters: []uint64{1, 2}, Learners: []uint64{3}})
		b.SetMemberIdentity(3, 0x77)
	})
	if err := src.Compact(10); err != nil {
		t.Fatal(err)
	}
	snap, err := src.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	if cs := snap.GetMetadata().GetConfState(); !slices.Equal(cs.GetLearners(), []uint64{3}) {
		t.Fatalf("snapshot after the change carries membership %v", cs)
	}
	fs := vfs.NewMem()
	dst := open(t, fs)
	if err := dst.BecomeJoiner(0x77); err != nil {
		t.Fatal(err)
	}
	if !dst.IsJoining() {
		t.Fatal("a joiner's store does not say it is joining")
	}
	meta := transfer(t, src, dst, 512)
	if err := dst.InstallSnapshot(meta, &pb.HardState{Term: proto.Uint64(2), Commit: proto.Uint64(meta.GetIndex())}); err != nil {
		t.Fatal(err)
	}
	sameData(t, src, dst)
	dst = reopen(t, dst, fs)
	if dst.IsJoining() || dst.Identity() != 0x77 || dst.MemberIdentity(3) != 0x77 {
		t.Fatalf("after install: joining %v, identity %x, member 3 %x", dst.IsJoining(), dst.Identity(), dst.MemberIdentity(3))
	}
	if _, cs, _ := dst.InitialState(); !proto.Equal(cs, snap.GetMetadata().GetConfState()) {
		t.Fatalf("installed membership %v, want %v", cs, snap.GetMetadata().GetConfState())
	}
	_ = src.Close()
	_ = dst.Close()
}

// TestJoinerMark: only an empty store becomes a joiner, with a non-zero
// identity, and the mark survives a restart, so a crash while joining
// never turns into a bootstrap.
func TestJoinerMark(t *testing.T) {
	fs := vfs.NewMem()
	s := open(t, fs)
	if err := s.BecomeJoiner(0); err == nil {
		t.Fatal("identity 0 accepted")
	}
	if err := s.BecomeJoiner(42); err != nil {
		t.Fatal(err)
	}
	s = reopen(t, s, fs)
	if !s.IsEmpty() || !s.IsJoining() || s.Identity() != 42 {
		t.Fatalf("after restart: empty %v joining %v identity %d", s.IsEmpty(), s.IsJoining(), s.Identity())
	}
	_ = s.Close()
	b := bootstrapped(t, vfs.NewMem())
	if err := b.BecomeJoiner(42); err == nil {
		t.Fatal("a bootstrapped store became a joiner")
	}
	_ = b.Close()
}

// TestLastSessionIncarnation finds the newest session of one proposer
// among those of every proposer.
func TestLastSessionIncarnation(t *testing.T) {
	s := bootstrapped(t, vfs.NewMem())
	key := func(origin, inc uint64) []byte {
		return append(uint64Value(origin), uint64Value(inc)...)
	}
	commit(t, s, func(b *Batch) {
		for _, k := range [][]byte{key(1, 9), key(2, 3), key(2, 5), key(2, 300), key(3, 1)} {
			if err := b.PutSession(k, []byte("w")); err != nil {
				t.Fatal(err)
			}
		}
	})
	for origin, want := range map[uint64]uint64{1: 9, 2: 300, 3: 1, 4: 0} {
		if got, err := s.LastSessionIncarnation(origin); err != nil || got != want {
			t.Errorf("origin %d: %d, %v; want %d", origin, got, err, want)
		}
	}
	// A store whose own count is behind the sessions it holds (they came
	// in a snapshot, from a wiped former self) numbers past them.
	if n, err := s.NextIncarnation(2); err != nil || n != 301 {
		t.Fatalf("NextIncarnation(2) = %d, %v; want 301", n, err)
	}
	if n, err := s.NextIncarnation(4); err != nil || n != 302 {
		t.Fatalf("NextIncarnation(4) = %d, %v; want 302 (the store's own count)", n, err)
	}
	_ = s.Close()
}

// TestNoSnapshotWhileMembershipChanges: while a batch that applies a
// membership change is open, Snapshot says "temporarily unavailable"
// (raft then retries later) rather than describe the old membership.
func TestNoSnapshotWhileMembershipChanges(t *testing.T) {
	s := filled(t, vfs.NewMem(), 10, 20)
	b := s.NewBatch()
	b.SetConfState(&pb.ConfState{Voters: []uint64{1, 2, 3}, Learners: []uint64{4}})
	if _, err := s.Snapshot(); !errors.Is(err, raft.ErrSnapshotTemporarilyUnavailable) {
		t.Fatalf("Snapshot during the change: %v, want temporarily unavailable", err)
	}
	if err := b.Commit(); err != nil {
		t.Fatal(err)
	}
	snap, err := s.Snapshot()
	if err != nil || !slices.Equal(snap.GetMetadata().GetConfState().GetLearners(), []uint64{4}) {
		t.Fatalf("Snapshot after the change: %v, %v", snap.GetMetadata(), err)
	}
	_ = s.Close()
}
