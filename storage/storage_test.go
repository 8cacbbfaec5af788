// This file tests the store over Pebble's in-memory filesystems: the
// raft.Storage contract (checked case by case, and with rapid against
// raft's own MemoryStorage as the reference, across reopens), atomic and
// durable batches, crash recovery from synced state, the schema guard, and
// fail-stop after an injected disk error.
package storage

import (
	"github.com/seshat-db/seshat/kv"

	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/cockroachdb/pebble/v2/vfs/errorfs"
	"go.etcd.io/raft/v3"
	pb "go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/proto"
	"pgregory.net/rapid"
)

const dir = "/data"

// testLog fails the test on an error line, which the store only writes
// when something is wrong.
type testLog struct{ t fataler }

type fataler interface {
	Fatalf(format string, args ...any)
}

func (testLog) Debug(string, ...any) {}
func (testLog) Info(string, ...any)  {}
func (testLog) Warn(string, ...any)  {}
func (l testLog) Error(msg string, kv ...any) {
	l.t.Fatalf("store logged an error: %s %v", msg, kv)
}

func open(t fataler, fs vfs.FS) *Store {
	s, err := Open(fs, dir, testLog{t}, Options{})
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	return s
}

func reopen(t fataler, s *Store, fs vfs.FS) *Store {
	if err := s.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	return open(t, fs)
}

func bootstrapped(t fataler, fs vfs.FS) *Store {
	s := open(t, fs)
	if err := s.Bootstrap([]uint64{1, 2, 3}); err != nil {
		t.Fatalf("bootstrap: %v", err)
	}
	return s
}

func ent(index, term uint64, data string) *pb.Entry {
	return &pb.Entry{Index: proto.Uint64(index), Term: proto.Uint64(term), Data: []byte(data)}
}

// ents makes entries lo..hi inclusive, all in one term.
func ents(lo, hi, term uint64) []*pb.Entry {
	var out []*pb.Entry
	for i := lo; i <= hi; i++ {
		out = append(out, ent(i, term, fmt.Sprintf("e%d.%d", i, term)))
	}
	return out
}

func commit(t fataler, s *Store, fn func(b *Batch)) {
	b := s.NewBatch()
	fn(b)
	if err := b.Commit(); err != nil {
		t.Fatalf("commit: %v", err)
	}
}

func appendEntries(t fataler, s *Store, es []*pb.Entry) {
	commit(t, s, func(b *Batch) {
		if err := b.Append(es); err != nil {
			t.Fatalf("append: %v", err)
		}
	})
}

func TestBootstrap(t *testing.T) {
	s := open(t, vfs.NewMem())
	defer s.Close()
	if !s.IsEmpty() {
		t.Fatal("a new store is not empty")
	}
	if err := s.Bootstrap([]uint64{1, 2, 3}); err != nil {
		t.Fatal(err)
	}
	if s.IsEmpty() {
		t.Fatal("a bootstrapped store is empty")
	}
	hs, cs, err := s.InitialState()
	if err != nil {
		t.Fatal(err)
	}
	if hs.GetTerm() != 1 || hs.GetCommit() != 1 || hs.GetVote() != 0 {
		t.Errorf("hard state %v, want term 1 commit 1", hs)
	}
	if !slices.Equal(cs.GetVoters(), []uint64{1, 2, 3}) {
		t.Errorf("voters %v", cs.GetVoters())
	}
	first, _ := s.FirstIndex()
	last, _ := s.LastIndex()
	if first != 2 || last != 1 {
		t.Errorf("first, last = %d, %d; want 2, 1 (an empty log after the base)", first, last)
	}
	if term, err := s.Term(1); term != 1 || err != nil {
		t.Errorf("Term(1) = %d, %v; want the base's term 1", term, err)
	}
	if _, err := s.Term(0); !errors.Is(err, raft.ErrCompacted) {
		t.Errorf("Term(0): %v, want ErrCompacted", err)
	}
	if _, err := s.Term(2); !errors.Is(err, raft.ErrUnavailable) {
		t.Errorf("Term(2): %v, want ErrUnavailable", err)
	}
	if _, err := s.Entries(1, 2, 1<<20); !errors.Is(err, raft.ErrCompacted) {
		t.Errorf("Entries(1, 2): %v, want ErrCompacted", err)
	}
	if _, err := s.Entries(2, 3, 1<<20); !errors.Is(err, raft.ErrUnavailable) {
		t.Errorf("Entries(2, 3): %v, want ErrUnavailable", err)
	}
	snap, err := s.Snapshot()
	if err != nil || snap.GetMetadata().GetIndex() != 1 || snap.GetMetadata().GetTerm() != 1 {
		t.Errorf("Snapshot() = %v, %v", snap, err)
	}
	if s.Applied() != 1 || s.Len() != 0 {
		t.Errorf("applied %d, keys %d; want 1, 0", s.Applied(), s.Len())
	}
	// The caller's slice is not kept.
	voters := []uint64{4, 5, 6}
	s2 := open(t, vfs.NewMem())
	defer s2.Close()
	if err := s2.Bootstrap(voters); err != nil {
		t.Fatal(err)
	}
	voters[0] = 99
	if got := s2.ConfState().GetVoters(); !slices.Equal(got, []uint64{4, 5, 6}) {
		t.Errorf("voters changed with the caller's slice: %v", got)
	}
}

func TestEntriesAndTerm(t *testing.T) {
	s := bootstrapped(t, vfs.NewMem())
	defer s.Close()
	appendEntries(t, s, append(ents(2, 4, 1), ents(5, 8, 2)...))

	for i, want := range map[uint64]uint64{1: 1, 2: 1, 4: 1, 5: 2, 8: 2} {
		if got, err := s.Term(i); got != want || err != nil {
			t.Errorf("Term(%d) = %d, %v; want %d", i, got, err, want)
		}
	}
	if _, err := s.Term(9); !errors.Is(err, raft.ErrUnavailable) {
		t.Errorf("Term(9): %v", err)
	}
	size := uint64(proto.Size(ent(2, 1, "e2.1")))
	cases := []struct {
		lo, hi, maxSize uint64
		want            []uint64 // indexes
		err             error
	}{
		{2, 9, 1 << 20, []uint64{2, 3, 4, 5, 6, 7, 8}, nil},
		{3, 5, 1 << 20, []uint64{3, 4}, nil},
		{8, 9, 1 << 20, []uint64{8}, nil},
		{2, 9, 0, []uint64{2}, nil},                // at least one entry
		{2, 9, 1, []uint64{2}, nil},                // at least one entry
		{2, 9, size, []uint64{2}, nil},             // exactly one fits
		{2, 9, 2*size - 1, []uint64{2}, nil},       // the second does not
		{2, 9, 2 * size, []uint64{2, 3}, nil},      // exactly two fit
		{2, 4, 3 * size, []uint64{2, 3}, nil},      // hi bounds before maxSize
		{1, 3, 1 << 20, nil, raft.ErrCompacted},    // the base
		{0, 3, 1 << 20, nil, raft.ErrCompacted},    // below it
		{2, 10, 1 << 20, nil, raft.ErrUnavailable}, // beyond last+1
		{9, 10, 1 << 20, nil, raft.ErrUnavailable},
	}
	for _, c := range cases {
		got, err := s.Entries(c.lo, c.hi, c.maxSize)
		var idx []uint64
		for _, e := range got {
			idx = append(idx, e.GetIndex())
		}
		if !errors.Is(err, c.err) || (err == nil) != (c.err == nil) || !slices.Equal(idx, c.want) {
			t.Errorf("Entries(%d, %d, %d) = %v, %v; want %v, %v", c.lo, c.hi, c.maxSize, idx, err, c.want, c.err)
		}
		for _, e := range got {
			if want := fmt.Sprintf("e%d.%d", e.GetIndex(), e.GetTerm()); string(e.GetData()) != want {
				t.Errorf("entry %d holds %q, want %q", e.GetIndex(), e.GetData(), want)
			}
		}
	}
}

func TestAppendTruncatesConflictingSuffix(t *testing.T) {
	fs := vfs.NewMem()
	s := bootstrapped(t, fs)
	appendEntries(t, s, ents(2, 10, 1))
	// A new leader overwrites 6.. with a shorter suffix of term 2.
	appendEntries(t, s, ents(6, 7, 2))
	check := func(s *Store) {
		t.Helper()
		if last, _ := s.LastIndex(); last != 7 {
			t.Fatalf("last index %d, want 7", last)
		}
		for i := uint64(2); i <= 7; i++ {
			want := uint64(1)
			if i >= 6 {
				want = 2
			}
			if got, err := s.Term(i); got != want || err != nil {
				t.Errorf("Term(%d) = %d, %v; want %d", i, got, err, want)
			}
		}
		if _, err := s.Term(8); !errors.Is(err, raft.ErrUnavailable) {
			t.Errorf("Term(8) after truncation: %v", err)
		}
		if _, err := s.Entries(2, 9, 1<<20); !errors.Is(err, raft.ErrUnavailable) {
			t.Errorf("Entries(2, 9) after truncation: %v", err)
		}
		es, err := s.Entries(5, 8, 1<<20)
		if err != nil || len(es) != 3 || es[1].GetTerm() != 2 || string(es[2].GetData()) != "e7.2" {
			t.Errorf("Entries(5, 8) = %v, %v", es, err)
		}
	}
	check(s)
	s = reopen(t, s, fs)
	check(s)
	// Appending right after the new end extends it again.
	appendEntries(t, s, ents(8, 8, 3))
	if got, _ := s.Term(8); got != 3 {
		t.Errorf("Term(8) = %d, want 3", got)
	}
	s = reopen(t, s, fs)
	if got, _ := s.Term(8); got != 3 {
		t.Errorf("after reopen: Term(8) = %d, want 3", got)
	}
	s.Close()
}

// TestStorageMatchesMemoryStorage drives the store and raft's
// MemoryStorage with the same appends (raft's way: any suffix may be
// overwritten) and reopens, and compares everything raft can ask.
func TestStorageMatchesMemoryStorage(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		fs := vfs.NewMem()
		s := bootstrapped(t, fs)
		defer func() { s.Close() }()
		ms := raft.NewMemoryStorage()
		if err := ms.ApplySnapshot(&pb.Snapshot{Metadata: &pb.SnapshotMetadata{Index: proto.Uint64(1), Term: proto.Uint64(1), ConfState: &pb.ConfState{Voters: []uint64{1, 2, 3}}}}); err != nil {
			t.Fatal(err)
		}
		term := uint64(1)
		t.Repeat(map[string]func(*rapid.T){
			"append": func(t *rapid.T) {
				last, _ := ms.LastIndex()
				lo := rapid.Uint64Range(2, last+1).Draw(t, "lo")
				n := rapid.Uint64Range(1, 5).Draw(t, "n")
				if rapid.Bool().Draw(t, "newTerm") {
					term++
				}
				var es []*pb.Entry
				for i := lo; i < lo+n; i++ {
					data := rapid.StringN(0, 20, -1).Draw(t, "data")
					es = append(es, ent(i, term, data))
				}
				if err := ms.Append(es); err != nil {
					t.Fatal(err)
				}
				appendEntries(t, s, es)
			},
			"reopen": func(t *rapid.T) {
				s = reopen(t, s, fs)
			},
			"": func(t *rapid.T) {
				sf, _ := s.FirstIndex()
				mf, _ := ms.FirstIndex()
				sl, _ := s.LastIndex()
				ml, _ := ms.LastIndex()
				if sf != mf || sl != ml {
					t.Fatalf("first, last = %d, %d; MemoryStorage has %d, %d", sf, sl, mf, ml)
				}
				for i := uint64(0); i <= ml+1; i++ {
					st, serr := s.Term(i)
					mt, merr := ms.Term(i)
					if st != mt || !errors.Is(serr, merr) {
						t.Fatalf("Term(%d) = %d, %v; MemoryStorage says %d, %v", i, st, serr, mt, merr)
					}
				}
				lo := rapid.Uint64Range(1, ml+1).Draw(t, "lo")
				hi := rapid.Uint64Range(lo, ml+1).Draw(t, "hi")
				maxSize := rapid.SampledFrom([]uint64{0, 10, 30, 60, 1 << 20}).Draw(t, "maxSize")
				if lo == hi {
					return // raft never asks for an empty range
				}
				se, serr := s.Entries(lo, hi, maxSize)
				me, merr := ms.Entries(lo, hi, maxSize)
				if !errors.Is(serr, merr) || len(se) != len(me) {
					t.Fatalf("Entries(%d, %d, %d) = %d entries, %v; MemoryStorage gives %d, %v", lo, hi, maxSize, len(se), serr, len(me), merr)
				}
				for i := range se {
					if !proto.Equal(se[i], me[i]) {
						t.Fatalf("Entries(%d, %d)[%d] = %v; MemoryStorage gives %v", lo, hi, i, se[i], me[i])
					}
				}
			},
		})
	})
}

// TestUncommittedBatchLeavesNothing: a batch that is never committed
// changes neither what raft reads nor the disk, though it reads its own
// writes while it lives.
func TestUncommittedBatchLeavesNothing(t *testing.T) {
	fs := vfs.NewMem()
	s := bootstrapped(t, fs)
	b := s.NewBatch()
	if err := b.Append(ents(2, 3, 2)); err != nil {
		t.Fatal(err)
	}
	b.SetHardState(&pb.HardState{Term: proto.Uint64(2), Vote: proto.Uint64(1), Commit: proto.Uint64(3)})
	if err := b.Put([]byte("k"), kv.Item{Value: []byte("v")}, nil); err != nil {
		t.Fatal(err)
	}
	b.SetApplied(3)
	if v, found, err := b.Get([]byte("k")); string(v.Value) != "v" || !found || err != nil {
		t.Errorf("batch does not read its own write: %q, %v, %v", v.Value, found, err)
	}
	if n, _ := b.Len(); n != 1 {
		t.Errorf("batch Len %d, want 1", n)
	}
	check := func(s *Store) {
		t.Helper()
		if last, _ := s.LastIndex(); last != 1 {
			t.Errorf("last index %d, want 1", last)
		}
		if _, err := s.Term(2); !errors.Is(err, raft.ErrUnavailable) {
			t.Errorf("Term(2): %v", err)
		}
		if hs, _, _ := s.InitialState(); hs.GetTerm() != 1 || hs.GetVote() != 0 {
			t.Errorf("hard state %v", hs)
		}
		if _, found, _ := s.Get([]byte("k")); found || s.Len() != 0 || s.Applied() != 1 {
			t.Errorf("uncommitted data visible: found %v, len %d, applied %d", found, s.Len(), s.Applied())
		}
	}
	check(s)
	s = reopen(t, s, fs)
	check(s)
	s.Close()
}

// TestReopenKeepsEverything: hard state, log, data, key count, applied
// index and sessions all survive Close and Open.
func TestReopenKeepsEverything(t *testing.T) {
	fs := vfs.NewMem()
	s := bootstrapped(t, fs)
	writeState(t, s)
	s = reopen(t, s, fs)
	checkState(t, s)
	s.Close()
}

// TestCrashKeepsCommitted: a crash that keeps none of the unsynced bytes
// loses nothing that Commit returned for.
func TestCrashKeepsCommitted(t *testing.T) {
	fs := vfs.NewCrashableMem()
	s := bootstrapped(t, fs)
	writeState(t, s)
	// Left uncommitted at the crash: must not appear.
	b := s.NewBatch()
	_ = b.Append(ents(4, 5, 4))
	_ = b.Put([]byte("lost"), kv.Item{Value: []byte("x")}, nil)
	crashed := fs.CrashClone(vfs.CrashCloneCfg{UnsyncedDataPercent: 0, RNG: rand.New(rand.NewPCG(1, 2))})
	_ = s.Close()
	s = open(t, crashed)
	checkState(t, s)
	s.Close()
}

// writeState commits a log, a hard state, data and a session in three
// batches; checkState checks that all of it is there.
func writeState(t *testing.T, s *Store) {
	appendEntries(t, s, ents(2, 3, 2))
	commit(t, s, func(b *Batch) {
		_ = b.Append(ents(4, 4, 3))
		b.SetHardState(&pb.HardState{Term: proto.Uint64(3), Vote: proto.Uint64(2), Commit: proto.Uint64(4)})
		_ = b.Put([]byte("a"), kv.Item{Value: []byte("1")}, nil)
		_ = b.Put([]byte("b"), kv.Item{Value: []byte("2")}, nil)
		_ = b.PutSession([]byte("sess"), []byte("state"))
		b.SetApplied(3)
	})
	commit(t, s, func(b *Batch) {
		_ = b.Put([]byte("a"), kv.Item{Value: []byte("3")}, &kv.Item{})
		_ = b.Delete([]byte("b"), kv.Item{})
		_ = b.Put([]byte("c"), kv.Item{Value: []byte("4")}, nil)
		b.SetApplied(4)
	})
}

func checkState(t *testing.T, s *Store) {
	t.Helper()
	hs, cs, _ := s.InitialState()
	if hs.GetTerm() != 3 || hs.GetVote() != 2 || hs.GetCommit() != 4 {
		t.Errorf("hard state %v", hs)
	}
	if !slices.Equal(cs.GetVoters(), []uint64{1, 2, 3}) {
		t.Errorf("voters %v", cs.GetVoters())
	}
	if last, _ := s.LastIndex(); last != 4 {
		t.Errorf("last index %d, want 4", last)
	}
	for i, want := range map[uint64]uint64{1: 1, 2: 2, 3: 2, 4: 3} {
		if got, err := s.Term(i); got != want || err != nil {
			t.Errorf("Term(%d) = %d, %v; want %d", i, got, err, want)
		}
	}
	if es, err := s.Entries(2, 5, 1<<20); err != nil || len(es) != 3 || string(es[2].GetData()) != "e4.3" {
		t.Errorf("Entries(2, 5) = %v, %v", es, err)
	}
	if s.Applied() != 4 || s.Len() != 2 {
		t.Errorf("applied %d, keys %d; want 4, 2", s.Applied(), s.Len())
	}
	var data []string
	if err := s.ScanData(func(k, v []byte) { data = append(data, string(k)+"="+string(v)) }); err != nil {
		t.Fatal(err)
	}
	if want := []string{"a=3", "c=4"}; !slices.Equal(data, want) {
		t.Errorf("data %v, want %v", data, want)
	}
	b := s.NewBatch()
	if v, found, err := b.Session([]byte("sess")); string(v) != "state" || !found || err != nil {
		t.Errorf("session %q, %v, %v", v, found, err)
	}
	if n, _ := s.DataView().Len(); n != 2 {
		t.Errorf("read view Len %d, want 2", n)
	}
}

func TestNewerSchemaRefused(t *testing.T) {
	fs := vfs.NewMem()
	s := bootstrapped(t, fs)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	setSchema := func(v uint64) {
		t.Helper()
		db, err := pebble.Open(dir, &pebble.Options{FS: fs, Logger: pebbleLogger{log: testLog{t}}})
		if err != nil {
			t.Fatal(err)
		}
		if err := db.Set(keySchema, uint64Value(v), pebble.Sync); err != nil {
			t.Fatal(err)
		}
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
	}
	setSchema(SchemaVersion + 1)
	_, err := Open(fs, dir, testLog{t}, Options{})
	if err == nil {
		t.Fatal("a store with a newer schema opened")
	}
	for _, want := range []string{fmt.Sprintf("schema version %d", SchemaVersion+1), "newer", "refusing"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	// The refused open released the database: it can be fixed and opened.
	setSchema(SchemaVersion)
	s = open(t, fs)
	if s.Applied() != 1 {
		t.Errorf("applied %d after the schema was put back", s.Applied())
	}
	s.Close()
}

// TestAppliedAndDataAreAtomic: the applied index, the key count and the
// data they describe become durable in one batch, so after a reopen they
// always agree with each other, whichever batches made it.
func TestAppliedAndDataAreAtomic(t *testing.T) {
	fs := vfs.NewCrashableMem()
	s := bootstrapped(t, fs)
	appendEntries(t, s, ents(2, 21, 2))
	rng := rand.New(rand.NewPCG(3, 4))
	for i := uint64(2); i <= 21; i++ {
		commit(t, s, func(b *Batch) {
			// Entry i puts key i and deletes key i-2: the store holds
			// keys applied-1 and applied.
			_ = b.Put(fmt.Appendf(nil, "k%d", i), kv.Item{Value: []byte("v")}, nil)
			if i >= 4 {
				_ = b.Delete(fmt.Appendf(nil, "k%d", i-2), kv.Item{})
			}
			b.SetApplied(i)
		})
		crashed := fs.CrashClone(vfs.CrashCloneCfg{UnsyncedDataPercent: rng.IntN(101), RNG: rng})
		c := open(t, crashed)
		var keys []string
		if err := c.ScanData(func(k, _ []byte) { keys = append(keys, string(k)) }); err != nil {
			t.Fatal(err)
		}
		want := []string{fmt.Sprintf("k%d", i)}
		if i >= 3 {
			want = []string{fmt.Sprintf("k%d", i-1), fmt.Sprintf("k%d", i)}
		}
		slices.Sort(want)
		if c.Applied() != i || c.Len() != int64(len(keys)) || !slices.Equal(keys, want) {
			t.Fatalf("after applying %d and a crash: applied %d, Len %d, keys %v; want %d, %d, %v", i, c.Applied(), c.Len(), keys, i, len(want), want)
		}
		c.Close()
	}
	s.Close()
}

// failingFS wraps a MemFS and fails every write or sync of the WAL while
// it is on.
type failingFS struct {
	*errorfs.FS
	on atomic.Bool
}

func newFailingFS(kinds ...errorfs.OpKind) *failingFS {
	f := &failingFS{}
	f.FS = errorfs.Wrap(vfs.NewMem(), errorfs.InjectorFunc(func(op errorfs.Op) error {
		if f.on.Load() && strings.HasSuffix(op.Path, ".log") && slices.Contains(kinds, op.Kind) {
			return errorfs.ErrInjected
		}
		return nil
	}))
	return f
}

// TestFailedWriteStopsTheStore: once a commit's write or sync fails, that
// commit and every later one return ErrFailed, even after the disk
// recovers, and raft's view is left as it was before the failed batch.
func TestFailedWriteStopsTheStore(t *testing.T) {
	for name, kinds := range map[string][]errorfs.OpKind{
		"write": {errorfs.OpFileWrite, errorfs.OpFileWriteAt},
		"sync":  {errorfs.OpFileSync, errorfs.OpFileSyncData, errorfs.OpFileSyncTo},
	} {
		t.Run(name, func(t *testing.T) {
			fs := newFailingFS(kinds...)
			s, err := Open(fs, dir, testLog{nopFatal{}}, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if err := s.Bootstrap([]uint64{1}); err != nil {
				t.Fatal(err)
			}
			appendEntries(t, s, ents(2, 2, 1))
			fs.on.Store(true)
			b := s.NewBatch()
			_ = b.Append(ents(3, 4, 1))
			_ = b.Put([]byte("k"), kv.Item{Value: []byte("v")}, nil)
			b.SetApplied(2)
			if err := b.Commit(); !errors.Is(err, ErrFailed) {
				t.Fatalf("commit under a failing disk: %v, want ErrFailed", err)
			}
			fs.on.Store(false)
			b = s.NewBatch()
			_ = b.Put([]byte("k2"), kv.Item{Value: []byte("v")}, nil)
			if err := b.Commit(); !errors.Is(err, ErrFailed) {
				t.Fatalf("commit after a failure: %v, want ErrFailed", err)
			}
			// Even a batch with nothing to write refuses.
			if err := s.NewBatch().Commit(); !errors.Is(err, ErrFailed) {
				t.Fatalf("empty commit after a failure: %v, want ErrFailed", err)
			}
			if last, _ := s.LastIndex(); last != 2 || s.Applied() != 1 || s.Len() != 0 {
				t.Errorf("failed batch reached raft's view: last %d, applied %d, keys %d", last, s.Applied(), s.Len())
			}
			_ = s.Close() // may report the failure again
		})
	}
}

// nopFatal ignores the error lines Pebble logs about the injected failure.
type nopFatal struct{}

func (nopFatal) Fatalf(string, ...any) {}

// oldIf is what Put is told was stored: item if found, else nothing.
func oldIf(found bool, item kv.Item) *kv.Item {
	if !found {
		return nil
	}
	return &item
}

// pebbleOf is the Pebble database under s, for tests that reach past
// the store to damage or inspect it.
func pebbleOf(s *Store) *pebble.DB { return s.db.(pebbleEngine).DB }
