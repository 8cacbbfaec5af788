package storage

import (
	"bytes"
	"testing"

	pb "go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/proto"
)

// cloneHardState must be proto.Clone: same fields, same presence, same
// encoding, and no memory shared with the original.
func TestCloneHardStateIsProtoClone(t *testing.T) {
	for mask := range 8 {
		hs := &pb.HardState{}
		if mask&1 != 0 {
			hs.Term = proto.Uint64(0)
		}
		if mask&2 != 0 {
			hs.Vote = proto.Uint64(7)
		}
		if mask&4 != 0 {
			hs.Commit = proto.Uint64(1 << 40)
		}
		got, want := cloneHardState(hs), proto.Clone(hs).(*pb.HardState)
		g, _ := proto.Marshal(got)
		w, _ := proto.Marshal(want)
		if !proto.Equal(got, want) || !bytes.Equal(g, w) {
			t.Fatalf("mask %d: clone %v, proto.Clone %v", mask, got, want)
		}
		if got.Term != nil && got.Term == hs.Term || got.Vote != nil && got.Vote == hs.Vote || got.Commit != nil && got.Commit == hs.Commit {
			t.Fatalf("mask %d: the clone shares a field with the original", mask)
		}
	}
	if cloneHardState(nil) != nil {
		t.Fatal("a nil hard state cloned to non-nil")
	}
}
