package storage

import (
	"fmt"
	"slices"
	"testing"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/seshat-db/seshat/kv"
)

func dueKeys(t *testing.T, s *Store, now int64) []string {
	t.Helper()
	keys, err := s.DueKeys(now, 100)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, k := range keys {
		out = append(out, string(k))
	}
	return out
}

// TestDeadlineIndex: the index follows every Put and Delete, the clock
// never goes back, and both survive a reopen and a snapshot transfer.
func TestDeadlineIndex(t *testing.T) {
	fs := vfs.NewMem()
	s := bootstrapped(t, fs)
	commit(t, s, func(b *Batch) {
		b.AdvanceClock(1000)
		_ = b.Put([]byte("a"), kv.Item{Value: []byte("1"), Deadline: 2000}, nil)
		_ = b.Put([]byte("b"), kv.Item{Value: []byte("2"), Deadline: 1500}, nil)
		_ = b.Put([]byte("c"), kv.Item{Value: []byte("3")}, nil)
		b.AdvanceClock(900) // ignored: the clock never goes back
	})
	if got := dueKeys(t, s, 1999); !slices.Equal(got, []string{"b"}) {
		t.Fatalf("due at 1999: %q", got)
	}
	commit(t, s, func(b *Batch) {
		_ = b.Put([]byte("b"), kv.Item{Value: []byte("2"), Deadline: 3000}, &kv.Item{Value: []byte("2"), Deadline: 1500})
		_ = b.Put([]byte("a"), kv.Item{Value: []byte("1")}, &kv.Item{Value: []byte("1"), Deadline: 2000})
		_ = b.Put([]byte("c"), kv.Item{Value: []byte("3"), Deadline: 2500}, &kv.Item{Value: []byte("3")})
	})
	if got := dueKeys(t, s, 5000); !slices.Equal(got, []string{"c", "b"}) {
		t.Fatalf("due at 5000: %q", got)
	}
	s = reopen(t, s, fs)
	if s.Clock() != 1000 {
		t.Fatalf("clock %d after reopen, want 1000", s.Clock())
	}
	if next, _ := s.NextDeadline(); next != 2500 {
		t.Fatalf("next deadline %d, want 2500", next)
	}
	item, found, err := s.DataView().Get([]byte("c"))
	if err != nil || !found || string(item.Value) != "3" || item.Deadline != 2500 {
		t.Fatalf("c reads %+v %v %v", item, found, err)
	}
	commit(t, s, func(b *Batch) {
		_ = b.Delete([]byte("c"), kv.Item{Value: []byte("3"), Deadline: 2500})
	})
	if got := dueKeys(t, s, 5000); !slices.Equal(got, []string{"b"}) {
		t.Fatalf("due after delete: %q", got)
	}
	commit(t, s, func(b *Batch) { b.SetApplied(1) })
	dst := bootstrapped(t, vfs.NewMem())
	meta := transfer(t, s, dst, 64)
	if err := dst.InstallSnapshot(meta, nil); err != nil {
		t.Fatal(err)
	}
	if dst.Clock() != 1000 || !slices.Equal(dueKeys(t, dst, 5000), []string{"b"}) {
		t.Fatalf("snapshot carried clock %d, due %q", dst.Clock(), dueKeys(t, dst, 5000))
	}
}

// TestSchema1Migrated: a store of bare values opens as records with no
// deadline, and its values read back unchanged.
func TestSchema1Migrated(t *testing.T) {
	fs := vfs.NewMem()
	s := bootstrapped(t, fs)
	_ = s.Close()
	db, err := pebble.Open(dir, &pebble.Options{FS: fs, Logger: pebbleLogger{log: testLog{t}}})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		_ = db.Set(dataKey(fmt.Appendf(nil, "k%d", i)), fmt.Appendf(nil, "\x01bare%d", i), nil)
	}
	_ = db.Set(keySchema, uint64Value(1), nil)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	s = open(t, fs)
	defer s.Close()
	for i := range 3 {
		v, found, err := s.Get(fmt.Appendf(nil, "k%d", i))
		if err != nil || !found || string(v) != fmt.Sprintf("\x01bare%d", i) {
			t.Fatalf("k%d reads %q %v %v after migration", i, v, found, err)
		}
	}
	if v, _, _ := s.getUint64(keySchema); v != SchemaVersion {
		t.Fatalf("schema %d after migration", v)
	}
}
