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

// TestFlushMustBumpAllWatch: a WATCH saw x absent; x is written, then a
// FLUSHALL's range deletion removes it without noting its bucket. EXEC
// must abort: it does once the flush calls kv.BumpAllWatch, and without
// it the watched key looks unchanged (the lost change this guards).
func TestFlushMustBumpAllWatch(t *testing.T) {
	for _, bump := range []bool{false, true} {
		s := filled(t, vfs.NewMem(), 0, 10)
		watched, err := kv.Apply(s.DataView(), kv.Op{Kind: kv.Watch, Keys: [][]byte{[]byte("x")}})
		if err != nil {
			t.Fatal(err)
		}
		commit(t, s, func(b *Batch) {
			if err := b.Put([]byte("x"), kv.Item{Value: []byte("1")}, nil); err != nil {
				t.Fatal(err)
			}
			b.SetApplied(11)
		})
		commit(t, s, func(b *Batch) {
			// What a range deletion of the data does to x: no bucket noted.
			if err := b.engine().Delete(dataKey([]byte("x")), nil); err != nil {
				t.Fatal(err)
			}
			if bump {
				if err := kv.BumpAllWatch(b); err != nil {
					t.Fatal(err)
				}
			}
			b.SetApplied(12)
		})
		exec := kv.Op{Kind: kv.ExecRead, Keys: [][]byte{[]byte("x")}, Values: watched.Values}
		res, err := kv.Apply(s.DataView(), exec)
		if err != nil {
			t.Fatal(err)
		}
		if res.Nil != bump {
			t.Fatalf("bumped %v: EXEC aborted %v", bump, res.Nil)
		}
		if gone, err := s.DataView().Vanished([]byte("any other key")); err != nil || bump && gone != 12 {
			t.Fatalf("bumped %v: another key's bucket vanished at %d, %v", bump, gone, err)
		}
		// A WATCH taken after the flush is not disturbed by it.
		after, err := kv.Apply(s.DataView(), kv.Op{Kind: kv.Watch, Keys: [][]byte{[]byte("x")}})
		if err != nil {
			t.Fatal(err)
		}
		exec.Values = after.Values
		if res, err := kv.Apply(s.DataView(), exec); err != nil || res.Nil {
			t.Fatalf("bumped %v: a WATCH after the flush aborted EXEC: %+v, %v", bump, res, err)
		}
	}
}

// TestFlushAllAbortsWatch: FLUSHALL applied through kv raises every WATCH
// bucket (Batch.Clear), so a WATCH that saw x absent, then x written and
// flushed away, aborts EXEC.
func TestFlushAllAbortsWatch(t *testing.T) {
	s := filled(t, vfs.NewMem(), 0, 10)
	watched, err := kv.Apply(s.DataView(), kv.Op{Kind: kv.Watch, Keys: [][]byte{[]byte("x")}})
	if err != nil {
		t.Fatal(err)
	}
	commit(t, s, func(b *Batch) {
		if _, err := kv.Apply(b, kv.Op{Kind: kv.Set, Keys: [][]byte{[]byte("x")}, Values: [][]byte{[]byte("1")}}); err != nil {
			t.Fatal(err)
		}
		b.SetApplied(11)
	})
	commit(t, s, func(b *Batch) {
		if _, err := kv.Apply(b, kv.Op{Kind: kv.FlushAll}); err != nil {
			t.Fatal(err)
		}
		b.SetApplied(12)
	})
	res, err := kv.Apply(s.DataView(), kv.Op{Kind: kv.ExecRead, Keys: [][]byte{[]byte("x")}, Values: watched.Values})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Nil {
		t.Fatal("EXEC ran though its watched key was written and flushed since the WATCH")
	}
}
