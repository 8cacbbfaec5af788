package storage

import (
	"fmt"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/seshat-db/seshat/kv"
)

// TestBatchReadsItsOwnWrites: a batch's Get sees what the batch wrote
// (past the inline hashes too), deleted and cleared, and the store's
// value for the keys it did not touch.
func TestBatchReadsItsOwnWrites(t *testing.T) {
	s := openTest(t, vfs.NewMem(), "db")
	put := func(b *Batch, key, value string) {
		t.Helper()
		old, found, err := b.Get([]byte(key))
		if err != nil {
			t.Fatal(err)
		}
		var prev *kv.Item
		if found {
			prev = &old
		}
		if err := b.Put([]byte(key), kv.Item{Value: []byte(value)}, prev); err != nil {
			t.Fatal(err)
		}
	}
	want := func(b *Batch, key, value string) {
		t.Helper()
		item, found, err := b.Get([]byte(key))
		if err != nil || found != (value != "") || string(item.Value) != value {
			t.Fatalf("%s: got %q found %v err %v, want %q", key, item.Value, found, err, value)
		}
	}
	b := s.NewBatch()
	for i := range 40 {
		put(b, fmt.Sprintf("k%d", i), "old")
	}
	if err := b.Commit(); err != nil {
		t.Fatal(err)
	}

	b = s.NewBatch()
	for i := range 30 {
		put(b, fmt.Sprintf("k%d", i), "new")
	}
	old, _, _ := b.Get([]byte("k29"))
	if err := b.Delete([]byte("k29"), old); err != nil {
		t.Fatal(err)
	}
	want(b, "k0", "new")
	want(b, "k20", "new") // past the inline hashes
	want(b, "k29", "")
	want(b, "k35", "old") // untouched: from the store
	want(b, "nokey", "")
	if err := b.Clear(); err != nil {
		t.Fatal(err)
	}
	want(b, "k35", "")
	b.engine().Close()
}
