// A damaged WAL: a flipped byte in synced data is refused by name, a torn
// tail (bytes never synced) is accepted.
package storage

import (
	"errors"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
	pb "go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/proto"

	"github.com/seshat-db/seshat/internal/walfault"
)

// syncedLog writes entries 2..last one synced batch each, each entry
// committed by the hard state, as raft's Readies do, and returns the disk
// as a crash leaves it (only synced bytes) with the log's last index.
func syncedLog(t *testing.T, o Options, last uint64) *vfs.MemFS {
	t.Helper()
	mem := vfs.NewCrashableMem()
	s, err := Open(mem, dir, testLog{t}, o)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Bootstrap([]uint64{1, 2, 3}); err != nil {
		t.Fatal(err)
	}
	for i := uint64(2); i <= last; i++ {
		e := ent(i, 2, strings.Repeat("x", 400))
		commit(t, s, func(b *Batch) {
			if err := b.Append([]*pb.Entry{e}); err != nil {
				t.Fatal(err)
			}
			b.SetHardState(&pb.HardState{Term: proto.Uint64(2), Commit: proto.Uint64(i)})
		})
	}
	image := mem.CrashClone(vfs.CrashCloneCfg{UnsyncedDataPercent: 0})
	_ = s.Close()
	return image
}

func flipSynced(t *testing.T, fs vfs.FS) (string, int64) {
	t.Helper()
	name, off, ok, err := walfault.FlipSynced(fs, dir, func(n int64) int64 { return n / 2 })
	if err != nil || !ok {
		t.Fatalf("no vouched WAL chunk to flip (ok=%v): %v", ok, err)
	}
	return name, off
}

func TestFlippedSyncedWALByteIsRefused(t *testing.T) {
	image := syncedLog(t, Options{}, 300)
	name, off := flipSynced(t, image)
	s, err := Open(image, dir, quietLog{}, Options{})
	if err == nil {
		last := s.LastIndexCached()
		_ = s.Close()
		t.Fatalf("a WAL with a flipped synced byte (%s at %d) opened; the log ends at %d of 300", name, off, last)
	}
	for _, want := range []string{name, "move " + dir + " away", "rejoins"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the refusal does not say %q: %v", want, err)
		}
	}
	if !errors.Is(err, ErrDamaged) {
		t.Errorf("the refusal is not ErrDamaged: %v", err)
	}
	t.Logf("refused: %v", err)
}

// TestLegacyWALForgetsSilently is the flip test's teeth: at Pebble's
// default format the same flip opens without a word, and the store has
// rolled back past entries it had synced.
func TestLegacyWALForgetsSilently(t *testing.T) {
	legacy := Options{UnsafeLegacyWAL: true}
	image := syncedLog(t, legacy, 300)
	flipSynced(t, image)
	s, err := Open(image, dir, quietLog{}, legacy)
	if err != nil {
		t.Fatalf("the legacy format noticed the flip after all: %v", err)
	}
	defer s.Close()
	if s.LastIndexCached() >= 300 {
		t.Fatalf("the flip lost nothing: the log ends at %d", s.LastIndexCached())
	}
	t.Logf("legacy format: opened silently with the log at %d of 300 synced entries", s.LastIndexCached())
}

// TestTornWALTailIsAccepted cuts a last write that was never synced at
// every point: the store opens, with every synced entry.
func TestTornWALTailIsAccepted(t *testing.T) {
	mem := vfs.NewCrashableMem()
	s, err := Open(mem, dir, testLog{t}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Bootstrap([]uint64{1, 2, 3}); err != nil {
		t.Fatal(err)
	}
	appendEntries(t, s, ents(2, 200, 2))
	// The write the crash tears: written, never synced.
	b := s.NewBatch()
	if err := b.Append([]*pb.Entry{ent(201, 2, strings.Repeat("y", 100_000))}); err != nil {
		t.Fatal(err)
	}
	if err := pebbleOf(s).Apply(b.engine().(pebbleBatch).Batch, pebble.NoSync); err != nil {
		t.Fatal(err)
	}
	synced, err := walfault.LogSize(mem.CrashClone(vfs.CrashCloneCfg{UnsyncedDataPercent: 0}), dir)
	if err != nil {
		t.Fatal(err)
	}
	// Pebble's WAL writer writes an unsynced batch out in the background.
	for range 1000 {
		if size, _ := walfault.LogSize(mem, dir); size > synced {
			break
		}
		time.Sleep(time.Millisecond)
	}
	full := mem.CrashClone(vfs.CrashCloneCfg{UnsyncedDataPercent: 100, RNG: rand.New(rand.NewPCG(1, 2))})
	written, err := walfault.LogSize(full, dir)
	if err != nil || written <= synced {
		t.Fatalf("no unsynced tail: synced %d, written %d, %v", synced, written, err)
	}
	_ = s.Close()
	for cut := synced; cut <= written; cut += 97 {
		image := full.CrashClone(vfs.CrashCloneCfg{UnsyncedDataPercent: 100, RNG: rand.New(rand.NewPCG(1, 2))})
		if err := walfault.CutTail(image, dir, synced, cut); err != nil {
			t.Fatal(err)
		}
		s, err := Open(image, dir, testLog{t}, Options{})
		if err != nil {
			t.Fatalf("a tail torn at %d (synced %d, written %d) was refused: %v", cut, synced, written, err)
		}
		if s.LastIndexCached() < 200 {
			t.Fatalf("a tail torn at %d lost synced entries: the log ends at %d", cut, s.LastIndexCached())
		}
		_ = s.Close()
	}
}

// TestExistingStoreIsRatcheted: a store made at Pebble's default format
// is moved to the vouching WAL format when it is opened.
func TestExistingStoreIsRatcheted(t *testing.T) {
	fs := vfs.NewMem()
	s, err := Open(fs, dir, testLog{t}, Options{UnsafeLegacyWAL: true})
	if err != nil {
		t.Fatal(err)
	}
	if pebbleOf(s).FormatMajorVersion() >= pebble.FormatWALSyncChunks {
		t.Fatalf("the legacy store is already at %s", pebbleOf(s).FormatMajorVersion())
	}
	s = reopen(t, s, fs)
	defer s.Close()
	if v := pebbleOf(s).FormatMajorVersion(); v < pebble.FormatWALSyncChunks {
		t.Fatalf("reopened at %s, want at least %s", v, pebble.FormatWALSyncChunks)
	}
}
