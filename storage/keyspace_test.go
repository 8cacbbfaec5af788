package storage

import (
	"fmt"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/seshat-db/seshat/kv"
)

// TestClearEmptiesDataIndexAndSum: FLUSHALL's Clear leaves no key, no
// deadline index entry, a key count of 0 and a data sum of 0, within its
// batch (a later op of the same batch sees the store empty) and after.
func TestClearEmptiesDataIndexAndSum(t *testing.T) {
	s, err := Open(vfs.NewMem(), dir, testLog{t}, Options{DataSum: true})
	if err != nil {
		t.Fatal(err)
	}
	commit(t, s, func(b *Batch) {
		b.AdvanceClock(1000)
		for i := range 50 {
			item := kv.Item{Value: []byte("v")}
			if i%2 == 0 {
				item.Deadline = int64(2000 + i)
			}
			_ = b.Put([]byte(fmt.Sprintf("k%d", i)), item, nil)
		}
	})
	commit(t, s, func(b *Batch) {
		_ = b.Put([]byte("new"), kv.Item{Value: []byte("x"), Deadline: 5000}, nil)
		if _, err := kv.Apply(b, kv.Op{Kind: kv.FlushAll}); err != nil {
			t.Fatal(err)
		}
		if _, found, _ := b.Get([]byte("k1")); found {
			t.Fatal("the batch still reads k1 after Clear")
		}
		n := 0
		_ = b.Range(func([]byte, kv.Item) bool { n++; return true })
		if n != 0 {
			t.Fatalf("the batch ranges over %d keys after Clear", n)
		}
		res, _ := kv.Apply(b, kv.Op{Kind: kv.Set, Keys: [][]byte{[]byte("after")}, Values: [][]byte{[]byte("1")}, Exp: kv.ExpAbsolute, Expiry: 3000})
		if res.Err != nil {
			t.Fatal(res.Err)
		}
	})
	if s.Len() != 1 {
		t.Fatalf("%d keys after FLUSHALL and one SET", s.Len())
	}
	if got := dueKeys(t, s, 10_000); len(got) != 1 || got[0] != "after" {
		t.Fatalf("deadline index after FLUSHALL: %q", got)
	}
	sum, _ := s.DataSum()
	scanned, err := s.ScanDataSum()
	if err != nil || sum != scanned {
		t.Fatalf("running sum %d, scanned %d (%v)", sum, scanned, err)
	}
	var keys []string
	_ = s.DataView().Range(func(k []byte, _ kv.Item) bool { keys = append(keys, string(k)); return true })
	if len(keys) != 1 || keys[0] != "after" {
		t.Fatalf("keys after FLUSHALL: %q", keys)
	}
}

// TestExpiringCountFollowsWrites: the count of keys with a deadline
// follows puts, deletes and Clear, and is the same after a reopen.
func TestExpiringCountFollowsWrites(t *testing.T) {
	fs := vfs.NewMem()
	s := bootstrapped(t, fs)
	commit(t, s, func(b *Batch) {
		_ = b.Put([]byte("a"), kv.Item{Value: []byte("1"), Deadline: 2000}, nil)
		_ = b.Put([]byte("b"), kv.Item{Value: []byte("2"), Deadline: 3000}, nil)
		_ = b.Put([]byte("c"), kv.Item{Value: []byte("3")}, nil)
	})
	commit(t, s, func(b *Batch) {
		_ = b.Put([]byte("a"), kv.Item{Value: []byte("1")}, &kv.Item{Value: []byte("1"), Deadline: 2000})
		_ = b.Put([]byte("c"), kv.Item{Value: []byte("3"), Deadline: 4000}, &kv.Item{Value: []byte("3")})
		_ = b.Put([]byte("b"), kv.Item{Value: []byte("2"), Deadline: 5000}, &kv.Item{Value: []byte("2"), Deadline: 3000})
	})
	if s.Expiring() != 2 {
		t.Fatalf("%d expiring, want 2 (b, c)", s.Expiring())
	}
	commit(t, s, func(b *Batch) { _ = b.Delete([]byte("b"), kv.Item{Value: []byte("2"), Deadline: 5000}) })
	if s.Expiring() != 1 {
		t.Fatalf("%d expiring after a delete, want 1", s.Expiring())
	}
	s = reopen(t, s, fs)
	if s.Expiring() != 1 || s.Stats().Expiring != 1 {
		t.Fatalf("%d expiring after reopen, want 1", s.Expiring())
	}
	commit(t, s, func(b *Batch) { _ = b.Clear() })
	if s.Expiring() != 0 {
		t.Fatalf("%d expiring after Clear", s.Expiring())
	}
}
