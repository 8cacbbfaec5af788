package storage

import (
	"fmt"
	"slices"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"
	pb "go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/proto"

	"github.com/seshat-db/seshat/kv"
)

// A checkpoint holds the data as of its applied index, nothing written
// after it, and restores into a new store of new voters with the data
// only: no old sessions or members, the log starting after that index.
func TestCheckpointRestoresTheStateAtItsIndex(t *testing.T) {
	fs := vfs.NewMem()
	s := openTest(t, fs, "/a")
	if err := s.Bootstrap([]uint64{1, 2, 3}); err != nil {
		t.Fatal(err)
	}
	index := uint64(1)
	write := func(k, v string) {
		index++
		b := s.NewBatch()
		if err := b.Append([]*pb.Entry{{Index: proto.Uint64(index), Term: proto.Uint64(1)}}); err != nil {
			t.Fatal(err)
		}
		b.SetHardState(&pb.HardState{Term: proto.Uint64(1), Commit: proto.Uint64(index)})
		old, existed, _ := b.Get([]byte(k))
		var was *kv.Item
		if existed {
			was = &old
		}
		if err := b.Put([]byte(k), kv.Item{Value: []byte(v)}, was); err != nil {
			t.Fatal(err)
		}
		b.SetApplied(index)
		if err := b.Commit(); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 100 {
		write(fmt.Sprintf("k%03d", i), "before")
	}
	ub := s.NewBatch()
	if err := ub.PutUser([]byte("alice"), []byte("on nopass ~* resetchannels +@all")); err != nil {
		t.Fatal(err)
	}
	ub.SetApplied(index)
	if err := ub.Commit(); err != nil {
		t.Fatal(err)
	}
	info, err := s.Checkpoint("/backup")
	if err != nil {
		t.Fatal(err)
	}
	write("k000", "after")
	write("late", "after")
	if info.Applied != index-2 || info.Keys != 100 || !slices.Equal(info.Voters, []uint64{1, 2, 3}) {
		t.Fatalf("checkpoint info %+v, want applied %d, 100 keys, voters 1 2 3", info, index-2)
	}

	src := openTest(t, fs, "/backup")
	dst := openTest(t, fs, "/restored")
	keys, err := RestoreInto(dst, src, []uint64{4, 5, 6})
	if err != nil {
		t.Fatal(err)
	}
	if keys != 100 || dst.Len() != 100 {
		t.Fatalf("restored %d keys (Len %d), want 100", keys, dst.Len())
	}
	for i := range 100 {
		v, ok, err := dst.Get([]byte(fmt.Sprintf("k%03d", i)))
		if err != nil || !ok || string(v) != "before" {
			t.Fatalf("k%03d = %q %v %v, want the value before the checkpoint", i, v, ok, err)
		}
	}
	var users []string
	if err := dst.Users(func(name, description []byte) { users = append(users, string(name)+" "+string(description)) }); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(users, []string{"alice on nopass ~* resetchannels +@all"}) {
		t.Fatalf("restored users %q, want the backup's", users)
	}
	if _, ok, _ := dst.Get([]byte("late")); ok {
		t.Fatal("a key written after the checkpoint was restored")
	}
	if got := dst.ConfState().GetVoters(); !slices.Equal(got, []uint64{4, 5, 6}) {
		t.Fatalf("restored voters %v, want the new cluster's 4 5 6", got)
	}
	if dst.Applied() != info.Applied || dst.SnapshotIndex() != info.Applied {
		t.Fatalf("restored applied %d, base %d; want both %d", dst.Applied(), dst.SnapshotIndex(), info.Applied)
	}
	if _, err := RestoreInto(dst, src, []uint64{4, 5, 6}); err == nil {
		t.Fatal("restored twice into the same store")
	}
}

func openTest(t *testing.T, fs vfs.FS, dir string) *Store {
	t.Helper()
	s, err := Open(fs, dir, testLog{t}, Options{})
	if err != nil {
		t.Fatalf("open %s: %v", dir, err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}
