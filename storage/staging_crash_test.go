package storage

import (
	"testing"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
	pb "go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/proto"
)

// TestCrashKeepsPartialStaging: snapshot chunks are staged without a
// sync, so a background flush can make part of an interrupted transfer
// durable while the rest is lost, and the process that comes back does
// not know what was staged. That is safe because a transfer always starts
// by clearing the staging area (node.onSnapChunk calls ResetStaging on a
// transfer's first chunk, synced): the next install holds exactly the
// next snapshot, none of the leftovers.
func TestCrashKeepsPartialStaging(t *testing.T) {
	old := filled(t, vfs.NewMem(), 500, 60) // keys k0..k499
	next := filled(t, vfs.NewMem(), 100, 50)
	fs := vfs.NewCrashableMem()
	dst := filled(t, fs, 3, 10)

	// Half of a transfer of old, flushed into a table as a background
	// flush would, then a few chunks more that only the WAL holds.
	snap, err := old.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	r, err := old.OpenSnapshot(snap.GetMetadata().GetIndex())
	if err != nil {
		t.Fatal(err)
	}
	if err := dst.ResetStaging(); err != nil {
		t.Fatal(err)
	}
	for chunk := 0; chunk < 30; chunk++ {
		var pairs [][2][]byte
		if _, err := r.Next(1<<10, func(k, v []byte) {
			pairs = append(pairs, [2][]byte{append([]byte{}, k...), append([]byte{}, v...)})
		}); err != nil {
			t.Fatal(err)
		}
		if err := dst.Stage(pairs); err != nil {
			t.Fatal(err)
		}
		if chunk == 20 { // past the keys next holds
			if err := pebbleOf(dst).Flush(); err != nil {
				t.Fatal(err)
			}
		}
	}
	_ = r.Close()
	crashed := fs.CrashClone(vfs.CrashCloneCfg{})
	_ = dst.Close()
	dst = open(t, crashed)
	if n := countStaged(t, dst); n == 0 {
		t.Fatal("no staged pair survived the crash: the test no longer sets up what it is about")
	}

	meta := transfer(t, next, dst, 1<<10)
	hs := &pb.HardState{Term: proto.Uint64(3), Commit: proto.Uint64(meta.GetIndex())}
	if err := dst.InstallSnapshot(meta, hs); err != nil {
		t.Fatal(err)
	}
	sameData(t, next, dst)
	if n := countStaged(t, dst); n != 0 {
		t.Fatalf("%d staged pairs outlived the install", n)
	}
}

func countStaged(t *testing.T, s *Store) int {
	t.Helper()
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: prefixStaging, UpperBound: prefixStagingEnd})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for valid := it.First(); valid; valid = it.Next() {
		n++
	}
	if err := it.Close(); err != nil {
		t.Fatal(err)
	}
	return n
}
