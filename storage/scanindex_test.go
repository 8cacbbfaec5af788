package storage

import (
	"fmt"
	"slices"
	"testing"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/seshat-db/seshat/kv"
)

func apply(t *testing.T, b *Batch, op kv.Op) kv.Result {
	t.Helper()
	res, err := kv.Apply(b, op)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func keyOp(kind kv.Kind, keys ...string) kv.Op {
	op := kv.Op{Kind: kind}
	for _, k := range keys {
		op.Keys = append(op.Keys, []byte(k))
	}
	return op
}

// scanAll runs a full SCAN with COUNT count against the committed data.
func scanAll(t *testing.T, s *Store, count int) []string {
	t.Helper()
	var got []string
	var cursor uint64
	for {
		res, err := kv.Apply(s.DataView(), kv.Op{Kind: kv.Scan, Delta: int64(cursor), ValueBytesMax: uint32(count)})
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range res.Values {
			got = append(got, string(k))
		}
		if cursor = uint64(res.Int); cursor == 0 {
			break
		}
	}
	slices.Sort(got)
	return got
}

// TestScanIndexFollowsEveryWrite: SET, DEL, RENAME, COPY, MSETNX,
// GETDEL, FLUSHALL and a snapshot install keep SCAN's index naming
// exactly the stored keys, and a full SCAN returns each key once.
func TestScanIndexFollowsEveryWrite(t *testing.T) {
	s := bootstrapped(t, vfs.NewMem())
	check := func(want ...string) {
		t.Helper()
		if err := s.CheckScanIndex(); err != nil {
			t.Fatal(err)
		}
		slices.Sort(want)
		if got := scanAll(t, s, 3); !slices.Equal(got, want) {
			t.Fatalf("SCAN returned %q, want %q", got, want)
		}
	}
	commit(t, s, func(b *Batch) {
		for i := range 20 {
			apply(t, b, kv.Op{Kind: kv.Set, Keys: [][]byte{fmt.Appendf(nil, "k%d", i)}, Values: [][]byte{[]byte("v")}})
		}
		apply(t, b, keyOp(kv.Del, "k0", "k1"))
		apply(t, b, keyOp(kv.Rename, "k2", "r2"))
		apply(t, b, keyOp(kv.Copy, "k3", "c3"))
		apply(t, b, keyOp(kv.GetDel, "k4"))
		apply(t, b, kv.Op{Kind: kv.MSetNX, Keys: [][]byte{[]byte("m1"), []byte("m2")}, Values: [][]byte{[]byte("1"), []byte("2")}})
	})
	want := []string{"r2", "k3", "c3", "m1", "m2"}
	for i := 5; i < 20; i++ {
		want = append(want, fmt.Sprintf("k%d", i))
	}
	check(want...)
	commit(t, s, func(b *Batch) {
		apply(t, b, kv.Op{Kind: kv.FlushAll})
		apply(t, b, kv.Op{Kind: kv.Set, Keys: [][]byte{[]byte("after")}, Values: [][]byte{[]byte("v")}})
	})
	check("after")
	commit(t, s, func(b *Batch) { b.SetApplied(1) })
	dst := bootstrapped(t, vfs.NewMem())
	commit(t, dst, func(b *Batch) {
		apply(t, b, kv.Op{Kind: kv.Set, Keys: [][]byte{[]byte("gone")}, Values: [][]byte{[]byte("v")}})
	})
	if err := dst.InstallSnapshot(transfer(t, s, dst, 64), nil); err != nil {
		t.Fatal(err)
	}
	s = dst
	check("after")
}

// TestScanIndexBuiltForSchema2: a store written before the index opens
// with one built from its data.
func TestScanIndexBuiltForSchema2(t *testing.T) {
	fs := vfs.NewMem()
	s := bootstrapped(t, fs)
	commit(t, s, func(b *Batch) {
		for i := range 10 {
			apply(t, b, kv.Op{Kind: kv.Set, Keys: [][]byte{fmt.Appendf(nil, "k%d", i)}, Values: [][]byte{[]byte("v")}})
		}
	})
	_ = s.Close()
	db, err := pebble.Open(dir, &pebble.Options{FS: fs, Logger: pebbleLogger{log: testLog{t}}})
	if err != nil {
		t.Fatal(err)
	}
	_ = db.DeleteRange(prefixHashes, prefixHashesEnd, nil)
	_ = db.Set(keySchema, uint64Value(2), nil)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	s = open(t, fs)
	defer s.Close()
	if err := s.CheckScanIndex(); err != nil {
		t.Fatal(err)
	}
	if got := scanAll(t, s, 4); len(got) != 10 {
		t.Fatalf("SCAN after migration: %q", got)
	}
	if v, _, _ := s.getUint64(keySchema); v != SchemaVersion {
		t.Fatalf("schema %d after migration", v)
	}
}

// TestCheckScanIndexCatches: an index entry without its key, and a key
// without its entry, each fail the check.
func TestCheckScanIndexCatches(t *testing.T) {
	s := bootstrapped(t, vfs.NewMem())
	commit(t, s, func(b *Batch) {
		apply(t, b, kv.Op{Kind: kv.Set, Keys: [][]byte{[]byte("a")}, Values: [][]byte{[]byte("v")}})
	})
	if err := s.CheckScanIndex(); err != nil {
		t.Fatal(err)
	}
	_ = pebbleOf(s).Set(indexKey([]byte("ghost")), nil, nil)
	if err := s.CheckScanIndex(); err == nil {
		t.Fatal("an entry for a key the data lacks passed")
	}
	_ = pebbleOf(s).Delete(indexKey([]byte("ghost")), nil)
	_ = pebbleOf(s).Delete(indexKey([]byte("a")), nil)
	if err := s.CheckScanIndex(); err == nil {
		t.Fatal("a key without its entry passed")
	}
}

// BenchmarkFullScan: a full SCAN of 50,000 keys with COUNT 10, what
// redis-cli --scan sends.
func BenchmarkFullScan(b *testing.B) {
	s, err := Open(vfs.NewMem(), dir, testLog{b}, Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	batch := s.NewBatch()
	for i := range 50_000 {
		if _, err := kv.Apply(batch, kv.Op{Kind: kv.Set, Keys: [][]byte{fmt.Appendf(nil, "key:%d", i)}, Values: [][]byte{[]byte("v")}}); err != nil {
			b.Fatal(err)
		}
	}
	if err := batch.Commit(); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for range b.N {
		var cursor uint64
		n := 0
		for {
			res, err := kv.Apply(s.DataView(), kv.Op{Kind: kv.Scan, Delta: int64(cursor), ValueBytesMax: 10})
			if err != nil {
				b.Fatal(err)
			}
			n += len(res.Values)
			if cursor = uint64(res.Int); cursor == 0 {
				break
			}
		}
		if n != 50_000 {
			b.Fatalf("scanned %d keys", n)
		}
	}
}

// TestCheckScanIndexCatchesASwap: an entry moved to another key, the
// count unchanged, fails the check.
func TestCheckScanIndexCatchesASwap(t *testing.T) {
	s := bootstrapped(t, vfs.NewMem())
	commit(t, s, func(b *Batch) {
		apply(t, b, kv.Op{Kind: kv.Set, Keys: [][]byte{[]byte("a")}, Values: [][]byte{[]byte("v")}})
	})
	_ = pebbleOf(s).Delete(indexKey([]byte("a")), nil)
	_ = pebbleOf(s).Set(indexKey([]byte("b")), nil, nil)
	if err := s.CheckScanIndex(); err == nil {
		t.Fatal("an entry for another key than the data's passed")
	}
	_ = pebbleOf(s).Delete(indexKey([]byte("b")), nil)
	_ = pebbleOf(s).Set(hashKey(1, []byte("a")), nil, nil)
	if err := s.CheckScanIndex(); err == nil {
		t.Fatal("an entry under the wrong hash passed")
	}
}
