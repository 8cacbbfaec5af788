package storage

import (
	"fmt"
	"testing"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/seshat-db/seshat/kv"
)

func checkSum(t *testing.T, s *Store, when string) {
	t.Helper()
	running, ok := s.DataSum()
	if !ok {
		t.Fatal("DataSum is off")
	}
	scanned, err := s.ScanDataSum()
	if err != nil {
		t.Fatal(err)
	}
	if running != scanned {
		t.Fatalf("%s: running data sum %x, the data's %x", when, running, scanned)
	}
}

// TestDataSumFollowsWrites: the running sum equals a scan's after puts,
// overwrites, deletes and a reopen, and a write around Batch is seen.
func TestDataSumFollowsWrites(t *testing.T) {
	fs := vfs.NewMem()
	o := Options{DataSum: true}
	s, err := Open(fs, dir, testLog{t}, o)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 300 {
		commit(t, s, func(b *Batch) {
			key := []byte(fmt.Sprintf("k%d", i%37))
			old, found, err := b.Get(key)
			if err != nil {
				t.Fatal(err)
			}
			var was *kv.Item
			if found {
				was = &old
			}
			item := kv.Item{Value: []byte(fmt.Sprintf("v%d", i))}
			if i%4 == 1 {
				item.Deadline = int64(1000 + i) // a deadline is part of the record's share
			}
			if i%5 == 4 && found {
				err = b.Delete(key, old)
			} else {
				err = b.Put(key, item, was)
			}
			if err != nil {
				t.Fatal(err)
			}
		})
		checkSum(t, s, fmt.Sprintf("after write %d", i))
	}
	before, _ := s.DataSum()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if s, err = Open(fs, dir, testLog{t}, o); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = s.Close() }()
	if after, _ := s.DataSum(); after != before {
		t.Fatalf("reopened with data sum %x, closed with %x", after, before)
	}
	checkSum(t, s, "after reopening")
	// Planted: a write that does not go through Batch.
	if err := pebbleOf(s).Set(dataKey([]byte("k1")), encodeRecord(kv.Item{Value: []byte("around")}), pebble.Sync); err != nil {
		t.Fatal(err)
	}
	running, _ := s.DataSum()
	if scanned, _ := s.ScanDataSum(); scanned == running {
		t.Fatal("a write around Batch left the scanned sum equal to the running one")
	}
}
