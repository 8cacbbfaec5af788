package storage

import (
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"
	pb "go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/proto"

	"github.com/seshat-db/seshat/kv"
)

// TestVersionsAreStateMachineState: a Put stamps the index of the entry
// being applied, a deletion marks its bucket, both survive a reopen and
// travel in a snapshot to another store.
func TestVersionsAreStateMachineState(t *testing.T) {
	fs := vfs.NewMem()
	s := filled(t, fs, 0, 10)
	appendEntries(t, s, ents(11, 12, 2))
	commit(t, s, func(b *Batch) {
		if err := b.Put([]byte("a"), kv.Item{Value: []byte("1")}, nil); err != nil {
			t.Fatal(err)
		}
		if err := b.Put([]byte("b"), kv.Item{Value: []byte("2")}, nil); err != nil {
			t.Fatal(err)
		}
		b.SetApplied(11)
	})
	commit(t, s, func(b *Batch) {
		old, _, _ := b.Get([]byte("b"))
		if err := b.Delete([]byte("b"), old); err != nil {
			t.Fatal(err)
		}
		b.SetApplied(12)
	})
	check := func(what string, s *Store) {
		t.Helper()
		v := s.DataView()
		item, found, err := v.Get([]byte("a"))
		if err != nil || !found || item.Version != 11 || string(item.Value) != "1" {
			t.Fatalf("%s: a = %+v, %v, %v; want version 11", what, item, found, err)
		}
		if gone, err := v.Vanished([]byte("b")); err != nil || gone != 12 {
			t.Fatalf("%s: b vanished at %d, %v; want 12", what, gone, err)
		}
	}
	check("committed", s)
	s = reopen(t, s, fs)
	check("reopened", s)
	if err := s.Compact(12); err != nil {
		t.Fatal(err)
	}
	dst := filled(t, vfs.NewMem(), 3, 5)
	meta := transfer(t, s, dst, 1<<10)
	if err := dst.InstallSnapshot(meta, &pb.HardState{Term: proto.Uint64(2), Commit: proto.Uint64(12)}); err != nil {
		t.Fatal(err)
	}
	check("installed from a snapshot", dst)
}

// A deletion of an already expired key marks its bucket with the index
// of the key's last write, not the deletion's (kv/txn.go).
func TestExpiredKeyVanishesAtItsWrite(t *testing.T) {
	s := filled(t, vfs.NewMem(), 0, 10)
	commit(t, s, func(b *Batch) {
		b.AdvanceClock(1000)
		if err := b.Put([]byte("e"), kv.Item{Value: []byte("x"), Deadline: 1500}, nil); err != nil {
			t.Fatal(err)
		}
		b.SetApplied(11)
	})
	commit(t, s, func(b *Batch) {
		b.AdvanceClock(2000)
		old, _, _ := b.Get([]byte("e"))
		if err := b.Delete([]byte("e"), old); err != nil {
			t.Fatal(err)
		}
		b.SetApplied(12)
	})
	if gone, err := s.DataView().Vanished([]byte("e")); err != nil || gone != 11 {
		t.Fatalf("vanished at %d, %v; want 11", gone, err)
	}
}
