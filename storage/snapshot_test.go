// Snapshot tests: compaction moves the log base; a snapshot streams out
// of one store in chunks and installs into another; an install cut short
// by a crash finishes at the next open. The benchmarks measure the
// product's snapshot target (1 M keys) against a plain Pebble copy of the
// same data in the same run.
package storage

import (
	"github.com/seshat-db/seshat/kv"

	"fmt"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
	pb "go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/proto"
)

// filled returns a bootstrapped store holding keys k0..k<n-1> and a log of
// entries up to index last, all applied.
func filled(t fataler, fs vfs.FS, n int, last uint64) *Store {
	return fill(t, bootstrapped(t, fs), n, last)
}

func fill(t fataler, s *Store, n int, last uint64) *Store {
	appendEntries(t, s, ents(2, last, 2))
	for lo := 0; lo < n; lo += 10000 {
		commit(t, s, func(b *Batch) {
			for i := lo; i < min(lo+10000, n); i++ {
				if err := b.Put(fmt.Appendf(nil, "k%07d", i), kv.Item{Value: fmt.Appendf(nil, "value-%d-%090d", i, i)}, nil); err != nil {
					t.Fatalf("put: %v", err)
				}
			}
			if lo+10000 >= n {
				b.SetApplied(last)
			}
		})
	}
	if n == 0 {
		commit(t, s, func(b *Batch) { b.SetApplied(last) })
	}
	return s
}

// transfer streams src's snapshot at its applied index into dst's staging,
// chunk by chunk, and installs it there.
func transfer(t fataler, src, dst *Store, chunkBytes int) *pb.SnapshotMetadata {
	snap, err := src.Snapshot()
	if err != nil {
		t.Fatalf("snapshot: %v", err)
	}
	r, err := src.OpenSnapshot(snap.GetMetadata().GetIndex())
	if err != nil {
		t.Fatalf("open snapshot: %v", err)
	}
	defer r.Close()
	if err := dst.ResetStaging(); err != nil {
		t.Fatalf("reset staging: %v", err)
	}
	for done := false; !done; {
		var pairs [][2][]byte
		done, err = r.Next(chunkBytes, func(k, v []byte) {
			pairs = append(pairs, [2][]byte{append([]byte{}, k...), append([]byte{}, v...)})
		})
		if err != nil {
			t.Fatalf("next chunk: %v", err)
		}
		if err := dst.Stage(pairs); err != nil {
			t.Fatalf("stage: %v", err)
		}
	}
	return snap.GetMetadata()
}

func sameData(t *testing.T, a, b *Store) {
	t.Helper()
	var da, db [][2]string
	_ = a.ScanData(func(k, v []byte) { da = append(da, [2]string{string(k), string(v)}) })
	_ = b.ScanData(func(k, v []byte) { db = append(db, [2]string{string(k), string(v)}) })
	if len(da) != len(db) {
		t.Fatalf("%d keys vs %d keys", len(da), len(db))
	}
	for i := range da {
		if da[i] != db[i] {
			t.Fatalf("key %d differs: %q vs %q", i, da[i], db[i])
		}
	}
	if a.Len() != b.Len() {
		t.Fatalf("key counts %d vs %d", a.Len(), b.Len())
	}
}

func TestCompactMovesTheLogBase(t *testing.T) {
	s := filled(t, vfs.NewMem(), 10, 50)
	if err := s.Compact(40); err != nil {
		t.Fatal(err)
	}
	if first, _ := s.FirstIndex(); first != 41 {
		t.Fatalf("first index %d after compacting to 40, want 41", first)
	}
	if term, err := s.Term(40); err != nil || term != 2 {
		t.Fatalf("term of the base = %d, %v; want 2", term, err)
	}
	if _, err := s.Entries(30, 45, 1<<20); err == nil {
		t.Fatal("compacted entries are still readable")
	}
	if es, err := s.Entries(41, 51, 1<<20); err != nil || len(es) != 10 {
		t.Fatalf("entries after the base: %d, %v", len(es), err)
	}
}

func TestSnapshotStreamsAndInstalls(t *testing.T) {
	src := filled(t, vfs.NewMem(), 2000, 300)
	if err := src.Compact(250); err != nil {
		t.Fatal(err)
	}
	fs := vfs.NewMem()
	dst := filled(t, fs, 5, 20) // stale data the install must replace
	meta := transfer(t, src, dst, 4<<10)
	hs := &pb.HardState{Term: proto.Uint64(3), Vote: proto.Uint64(1), Commit: proto.Uint64(300)}
	if err := dst.InstallSnapshot(meta, hs); err != nil {
		t.Fatal(err)
	}
	sameData(t, src, dst)
	if dst.Applied() != 300 || dst.SnapshotIndex() != 300 {
		t.Fatalf("after install: applied %d, base %d; want 300, 300", dst.Applied(), dst.SnapshotIndex())
	}
	dst = reopen(t, dst, fs)
	sameData(t, src, dst)
	if got, _, _ := dst.InitialState(); got.GetCommit() != 300 || got.GetTerm() != 3 {
		t.Fatalf("hard state after reopen: %v", got)
	}
}

// TestInstallFinishesAfterACrash crashes right after the install's marker
// is durable: the next open must complete the swap.
func TestInstallFinishesAfterACrash(t *testing.T) {
	src := filled(t, vfs.NewMem(), 500, 100)
	fs := vfs.NewCrashableMem()
	dst := filled(t, fs, 3, 10)
	meta := transfer(t, src, dst, 1<<10)
	// The first half of InstallSnapshot: the marker, synced.
	b := dst.db.NewBatch()
	data, _ := proto.Marshal(meta)
	_ = b.Set(keyInstalling, data, nil)
	if err := dst.commitRaw(b); err != nil {
		t.Fatal(err)
	}
	crashed := fs.CrashClone(vfs.CrashCloneCfg{})
	_ = dst.Close()
	dst = open(t, crashed)
	sameData(t, src, dst)
	if dst.Applied() != 100 {
		t.Fatalf("applied %d after the resumed install, want 100", dst.Applied())
	}
	if _, found, _ := get(dst.db, keyInstalling); found {
		t.Fatal("the install marker outlived the install")
	}
}

// BenchmarkSnapshot1MKeys streams and installs a snapshot of 1 M keys
// (about 120 MB) between two stores on the real disk, and reports its
// ratio to a plain Pebble copy of the same keys in the same run (iterate
// one DB, write batches into another, sync once): how much the chunking,
// staging and crash-safe swap cost over the least a copy must do.
func BenchmarkSnapshot1MKeys(b *testing.B) {
	const keys = 1_000_000
	dir := b.TempDir()
	fs := vfs.Default
	openAt := func(path string) *Store {
		s, err := Open(fs, path, testLog{b}, Options{})
		if err != nil {
			b.Fatal(err)
		}
		if err := s.Bootstrap([]uint64{1, 2, 3}); err != nil {
			b.Fatal(err)
		}
		return s
	}
	src := fill(b, openAt(dir+"/src"), keys, 10)
	defer src.Close()
	for i := 0; i < b.N; i++ {
		// The reference: a raw copy.
		refDir := fmt.Sprintf("%s/ref%d", dir, i)
		start := time.Now()
		ref, err := pebble.Open(refDir, &pebble.Options{FS: fs})
		if err != nil {
			b.Fatal(err)
		}
		it, _ := src.db.NewIter(&pebble.IterOptions{LowerBound: prefixData, UpperBound: prefixDataEnd})
		batch := ref.NewBatch()
		for valid := it.First(); valid; valid = it.Next() {
			_ = batch.Set(it.Key(), it.Value(), nil)
			if batch.Len() > 4<<20 {
				_ = batch.Commit(pebble.NoSync)
				batch = ref.NewBatch()
			}
		}
		_ = it.Close()
		_ = batch.Commit(pebble.Sync)
		reference := time.Since(start)
		_ = ref.Close()

		dst := openAt(fmt.Sprintf("%s/dst%d", dir, i))
		start = time.Now()
		meta := transfer(b, src, dst, 1<<20)
		streamed := time.Since(start)
		if err := dst.InstallSnapshot(meta, nil); err != nil {
			b.Fatal(err)
		}
		total := time.Since(start)
		if dst.Len() != keys {
			b.Fatalf("installed %d keys, want %d", dst.Len(), keys)
		}
		_ = dst.Close()
		b.ReportMetric(streamed.Seconds(), "stream-s")
		b.ReportMetric(total.Seconds(), "stream+install-s")
		b.ReportMetric(reference.Seconds(), "raw-copy-s")
		b.ReportMetric(total.Seconds()/reference.Seconds(), "x-raw-copy")
	}
}

// BenchmarkRestart1GB opens a store holding about 1 GB of user data (1 M
// keys of 1 KiB) on the real disk, as a node does when it restarts, and
// reports its ratio to a bare pebble.Open of the same directory in the
// same run: what loading the raft state and term cache adds.
func BenchmarkRestart1GB(b *testing.B) {
	const keys = 1_000_000
	path := b.TempDir() + "/node"
	s, err := Open(vfs.Default, path, testLog{b}, Options{})
	if err != nil {
		b.Fatal(err)
	}
	if err := s.Bootstrap([]uint64{1, 2, 3}); err != nil {
		b.Fatal(err)
	}
	value := make([]byte, 1024)
	for lo := 0; lo < keys; lo += 20000 {
		commit(b, s, func(bt *Batch) {
			for i := lo; i < lo+20000; i++ {
				value[0], value[1], value[2] = byte(i), byte(i>>8), byte(i>>16)
				_ = bt.Put(fmt.Appendf(nil, "key-%07d", i), kv.Item{Value: value}, nil)
			}
		})
	}
	appendEntries(b, s, ents(2, 5001, 2)) // a log tail, as a compacted node keeps
	if err := s.Close(); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for range b.N {
		start := time.Now()
		s, err := Open(vfs.Default, path, testLog{b}, Options{})
		if err != nil {
			b.Fatal(err)
		}
		ours := time.Since(start)
		if s.Len() != keys {
			b.Fatalf("reopened with %d keys, want %d", s.Len(), keys)
		}
		_ = s.Close()
		start = time.Now()
		raw, err := pebble.Open(path, &pebble.Options{FS: vfs.Default, Logger: pebbleLogger{log: testLog{b}}})
		if err != nil {
			b.Fatal(err)
		}
		reference := time.Since(start)
		_ = raw.Close()
		b.ReportMetric(ours.Seconds()*1000, "restart-ms")
		b.ReportMetric(reference.Seconds()*1000, "raw-open-ms")
		b.ReportMetric(ours.Seconds()/reference.Seconds(), "x-raw-open")
	}
}
