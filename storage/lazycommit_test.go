package storage

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/seshat-db/seshat/kv"
)

// a batch committed lazily is made durable by a later
// synced one even when Pebble switched to a new WAL between them (a
// memtable rotation): the old WAL is synced when it is closed.
func TestLazyBatchDurableAcrossWALSwitch(t *testing.T) {
	fs := vfs.NewCrashableMem()
	s, err := Open(fs, dir, testLog{t}, Options{MemTableBytes: 256 << 10})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Bootstrap([]uint64{1, 2, 3}); err != nil {
		t.Fatal(err)
	}
	b := s.NewBatch()
	_ = b.Put([]byte("lazy"), kv.Item{Value: []byte("x")}, nil)
	b.CommitLazily()
	if err := b.Commit(); err != nil {
		t.Fatal(err)
	}
	big := make([]byte, 32<<10)
	for i := range 40 { // 1.25 MB through a 256 KB memtable: several WAL switches
		b := s.NewBatch()
		b.CommitLazily()
		_ = b.Put(fmt.Appendf(nil, "big%d", i), kv.Item{Value: big}, nil)
		if err := b.Commit(); err != nil {
			t.Fatal(err)
		}
	}
	b = s.NewBatch()
	_ = b.Put([]byte("synced"), kv.Item{Value: []byte("y")}, nil)
	if err := b.Commit(); err != nil {
		t.Fatal(err)
	}
	crashed := fs.CrashClone(vfs.CrashCloneCfg{UnsyncedDataPercent: 0, RNG: rand.New(rand.NewPCG(1, 2))})
	_ = s.Close()
	s, err = Open(crashed, dir, testLog{t}, Options{MemTableBytes: 256 << 10})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, k := range []string{"lazy", "big0", "big39", "synced"} {
		if _, found, err := s.Get([]byte(k)); err != nil || !found {
			t.Errorf("after the crash %q is gone (err %v), though a synced batch followed it", k, err)
		}
	}
}
