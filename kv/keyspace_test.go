package kv

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

// scanAll runs SCAN to its end with count, calling between before each
// call, and returns every key returned.
func scanAll(t *testing.T, s *mapStore, count uint32, between func()) map[string]int {
	t.Helper()
	seen := map[string]int{}
	var cursor uint64
	for calls := 0; ; calls++ {
		if calls > 10_000 {
			t.Fatal("SCAN does not end")
		}
		between()
		res, err := Apply(s, Op{Kind: Scan, Delta: int64(cursor), ValueBytesMax: count})
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range res.Values {
			seen[string(k)]++
		}
		cursor = uint64(res.Int)
		if cursor == 0 {
			return seen
		}
	}
}

// SCAN's guarantee: a key present from the scan's start to its end is
// returned, whatever is written meanwhile; on a store nothing writes to,
// each key is returned exactly once.
func TestScanReturnsEveryKeyPresentThroughout(t *testing.T) {
	for seed := range uint64(50) {
		rng := rand.New(rand.NewPCG(seed, 1))
		s := newMapStore(t, nil)
		for i := range 200 {
			s.m[fmt.Sprintf("k%d", i)] = []byte("v")
		}
		count := uint32(1 + rng.IntN(30))
		static := scanAll(t, s, count, func() {})
		if len(static) != 200 {
			t.Fatalf("seed %d: a static scan returned %d keys, want 200", seed, len(static))
		}
		for k, n := range static {
			if n != 1 {
				t.Fatalf("seed %d: a static scan returned %q %d times", seed, k, n)
			}
		}
		// The keys 0..99 stay; 100..199 and new ones come and go.
		seen := scanAll(t, s, count, func() {
			for range 5 {
				k := fmt.Sprintf("k%d", 100+rng.IntN(200))
				if rng.IntN(2) == 0 {
					delete(s.m, k)
				} else {
					s.m[k] = []byte("w")
				}
			}
		})
		for i := range 100 {
			if seen[fmt.Sprintf("k%d", i)] == 0 {
				t.Fatalf("seed %d count %d: k%d was present throughout and never returned", seed, count, i)
			}
		}
	}
}

func TestScanSkipsExpiredAndFiltersByPattern(t *testing.T) {
	s := newMapStore(t, map[string]string{"a1": "x", "a2": "x", "b1": "x"})
	s.dl["a2"] = s.now // due now: gone
	res, _ := Apply(s, Op{Kind: Scan, ValueBytesMax: 100, Values: [][]byte{[]byte("a*")}})
	if res.Int != 0 || len(res.Values) != 1 || string(res.Values[0]) != "a1" {
		t.Fatalf("SCAN 0 MATCH a*: cursor %d keys %q", res.Int, res.Values)
	}
	res, _ = Apply(s, Op{Kind: Keys, Values: [][]byte{[]byte("*")}})
	if got := fmt.Sprintf("%q", res.Values); got != `["a1" "b1"]` {
		t.Fatalf("KEYS *: %s", got)
	}
}

func TestRenameCopyKeepTheDeadline(t *testing.T) {
	s := newMapStore(t, map[string]string{"a": "1", "b": "2"})
	s.dl["a"] = s.now + 5000
	s.dl["b"] = s.now + 9000
	if res, _ := Apply(s, Op{Kind: Copy, Keys: [][]byte{[]byte("a"), []byte("b")}}); res.Int != 0 {
		t.Fatal("COPY onto a live key without REPLACE copied")
	}
	if res, _ := Apply(s, Op{Kind: Copy, Delta: 1, Keys: [][]byte{[]byte("a"), []byte("b")}}); res.Int != 1 || s.dl["b"] != s.now+5000 || string(s.m["b"]) != "1" {
		t.Fatalf("COPY REPLACE: %d, b=%q deadline %d", res.Int, s.m["b"], s.dl["b"])
	}
	if res, _ := Apply(s, Op{Kind: Rename, Keys: [][]byte{[]byte("a"), []byte("c")}}); res.Err != nil || s.dl["c"] != s.now+5000 {
		t.Fatalf("RENAME: %v, c deadline %d", res.Err, s.dl["c"])
	}
	if _, ok := s.m["a"]; ok {
		t.Fatal("RENAME left the source")
	}
	if res, _ := Apply(s, Op{Kind: Rename, Keys: [][]byte{[]byte("a"), []byte("c")}}); res.Err != ErrNoSuchKey {
		t.Fatalf("RENAME of a missing key: %v", res.Err)
	}
	s.dl["c"] = s.now - ExpirySlackMillis // expired: absent to RENAME
	if res, _ := Apply(s, Op{Kind: Rename, Keys: [][]byte{[]byte("c"), []byte("d")}}); res.Err != ErrNoSuchKey {
		t.Fatalf("RENAME of an expired key: %v", res.Err)
	}
	if res, _ := Apply(s, Op{Kind: RenameNX, Keys: [][]byte{[]byte("b"), []byte("c")}}); res.Int != 1 || string(s.m["c"]) != "1" {
		t.Fatalf("RENAMENX over an expired key: %d", res.Int)
	}
}

func TestFlushAllAndMSetNX(t *testing.T) {
	s := newMapStore(t, map[string]string{"a": "1", "b": "2"})
	if res, _ := Apply(s, Op{Kind: MSetNX, Keys: [][]byte{[]byte("c"), []byte("a")}, Values: [][]byte{[]byte("3"), []byte("4")}}); res.Int != 0 || s.m["c"] != nil {
		t.Fatal("MSETNX set keys though one existed")
	}
	if res, _ := Apply(s, Op{Kind: MSetNX, Keys: [][]byte{[]byte("c"), []byte("c")}, Values: [][]byte{[]byte("3"), []byte("4")}}); res.Int != 1 || string(s.m["c"]) != "4" {
		t.Fatalf("MSETNX c 3 c 4: %d %q", res.Int, s.m["c"])
	}
	if _, err := Apply(s, Op{Kind: FlushAll}); err != nil || len(s.m) != 0 {
		t.Fatalf("FLUSHALL left %d keys (%v)", len(s.m), err)
	}
	res, _ := Apply(s, Op{Kind: RandomKey})
	if !res.Nil {
		t.Fatal("RANDOMKEY of an empty store")
	}
}

func TestRandomKeyIsLiveAndMoves(t *testing.T) {
	s := newMapStore(t, nil)
	for i := range 20 {
		s.m[fmt.Sprintf("k%d", i)] = []byte("v")
	}
	s.dl["k3"] = 1 // long expired
	var got []string
	for i := range 50 {
		s.now = 1_000_000 + int64(i)*1013
		res, _ := Apply(s, Op{Kind: RandomKey})
		if res.Nil || string(res.Value) == "k3" {
			t.Fatalf("RANDOMKEY: %q nil=%v", res.Value, res.Nil)
		}
		if !slices.Contains(got, string(res.Value)) {
			got = append(got, string(res.Value))
		}
	}
	if len(got) < 5 {
		t.Fatalf("RANDOMKEY chose only %q in 50 calls", got)
	}
}

func TestOpsRoundTripNewKinds(t *testing.T) {
	ops := []Op{
		{Kind: Scan, Delta: -1, ValueBytesMax: 10, Values: [][]byte{[]byte("a*")}},
		{Kind: Keys, Values: [][]byte{[]byte("*")}},
		{Kind: RandomKey}, {Kind: FlushAll},
		{Kind: Rename, Keys: [][]byte{[]byte("a"), []byte("b")}},
		{Kind: Copy, Delta: 1, Keys: [][]byte{[]byte("a"), []byte("b")}},
		{Kind: IncrByFloat, Keys: [][]byte{[]byte("a")}, Values: [][]byte{[]byte("1.5")}},
		{Kind: SetRange, Delta: 3, Keys: [][]byte{[]byte("a")}, Values: [][]byte{[]byte("x")}, ValueBytesMax: 100},
		{Kind: MSetNX, Keys: [][]byte{[]byte("a")}, Values: [][]byte{[]byte("x")}},
	}
	for _, op := range ops {
		if _, err := Decode(op.Encode(nil)); err != nil {
			t.Errorf("%s: %v", op.Kind, err)
		}
	}
	bad := []Op{
		{Kind: Copy, Delta: 2, Keys: [][]byte{[]byte("a"), []byte("b")}},
		{Kind: SetRange, Delta: -1, Keys: [][]byte{[]byte("a")}, Values: [][]byte{[]byte("x")}},
		{Kind: Rename, Keys: [][]byte{[]byte("a")}},
		{Kind: FlushAll, Keys: [][]byte{[]byte("a")}},
	}
	for _, op := range bad {
		if _, err := Decode(op.Encode(nil)); err == nil {
			t.Errorf("%s %+v decoded", op.Kind, op)
		}
	}
}
