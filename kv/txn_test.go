package kv

import (
	"reflect"
	"slices"
	"testing"
)

// vstore is a Store with versions, as storage keeps them, with one
// bucket per key.
type vstore struct {
	items    map[string]Item
	vanished map[string]uint64
	applied  uint64
	now      int64
	// allVanished is the last FLUSHALL's index: every bucket is raised to it.
	allVanished uint64
}

func newVStore() *vstore {
	return &vstore{items: map[string]Item{}, vanished: map[string]uint64{}, now: 1000}
}

func (s *vstore) Get(key []byte) (Item, bool, error) {
	it, ok := s.items[string(key)]
	return it, ok, nil
}

func (s *vstore) Put(key []byte, item Item, _ *Item) error {
	item.Value = append([]byte{}, item.Value...)
	item.Version = s.applied + 1
	s.items[string(key)] = item
	return nil
}

func (s *vstore) Delete(key []byte, old Item) error {
	at := TombstoneIndex(old, s.now, s.applied+1)
	if at > s.vanished[string(key)] {
		s.vanished[string(key)] = at
	}
	delete(s.items, string(key))
	return nil
}

func (s *vstore) Range(fn func(key []byte, item Item) bool) error {
	keys := make([]string, 0, len(s.items))
	for k := range s.items {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if !fn([]byte(k), s.items[k]) {
			break
		}
	}
	return nil
}

func (s *vstore) RangeHash(from uint64, fn func(hash uint64, key []byte, item Item) bool) error {
	return RangeHashBySorting(s, from, fn)
}

// Clear deletes every key and, as storage's does, raises every bucket.
func (s *vstore) Clear() error {
	clear(s.items)
	return s.VanishAll()
}

// VanishAll raises every bucket: with one bucket per key here, every key
// the test has seen.
func (s *vstore) VanishAll() error {
	s.allVanished = s.applied + 1
	return nil
}

func (s *vstore) Len() (int64, error) { return int64(len(s.items)), nil }
func (s *vstore) Now() int64          { return s.now }
func (s *vstore) Applied() uint64     { return s.applied }
func (s *vstore) Vanished(key []byte) (uint64, error) {
	return max(s.vanished[string(key)], s.allVanished), nil
}

// entry applies op as the next log entry.
func (s *vstore) entry(t *testing.T, op Op) Result {
	t.Helper()
	res, err := Apply(s, op)
	if err != nil {
		t.Fatal(err)
	}
	if !op.Kind.IsRead() {
		s.applied++
	}
	return res
}

func (s *vstore) watch(t *testing.T, keys ...string) Op {
	t.Helper()
	res := s.entry(t, Op{Kind: Watch, Keys: bs(keys...)})
	return Op{Kind: Exec, Keys: bs(keys...), Values: res.Values,
		Ops: []Op{{Kind: IncrBy, Keys: bs("n"), Delta: 1}}}
}

func TestExecRunsWhenNothingWatchedChanged(t *testing.T) {
	s := newVStore()
	s.entry(t, Op{Kind: Set, Keys: bs("a"), Values: bs("1")})
	exec := s.watch(t, "a", "missing")
	s.entry(t, Op{Kind: Set, Keys: bs("other"), Values: bs("x")})
	s.entry(t, Op{Kind: Del, Keys: bs("other")})
	res := s.entry(t, exec)
	if res.Nil || len(res.Results) != 1 || res.Results[0].Int != 1 {
		t.Fatalf("got %+v, want the INCR to run", res)
	}
}

func TestExecAbortsOnAnyChange(t *testing.T) {
	cases := map[string]func(s *vstore){
		"overwritten with the same value": func(s *vstore) {
			s.entry(t, Op{Kind: Set, Keys: bs("a"), Values: bs("1")})
		},
		"deleted": func(s *vstore) { s.entry(t, Op{Kind: Del, Keys: bs("a")}) },
		"expired": func(s *vstore) {
			s.now = 5000
		},
		"created then deleted": func(s *vstore) {
			s.entry(t, Op{Kind: Set, Keys: bs("b"), Values: bs("1")})
			s.entry(t, Op{Kind: Del, Keys: bs("b")})
		},
		"created with a deadline that passed, then swept": func(s *vstore) {
			s.entry(t, Op{Kind: Set, Keys: bs("b"), Values: bs("1"), Exp: ExpRelative, Expiry: 10})
			s.now += 20
			s.entry(t, Op{Kind: ExpireKeys, Keys: bs("b")})
		},
	}
	for name, change := range cases {
		t.Run(name, func(t *testing.T) {
			s := newVStore()
			s.entry(t, Op{Kind: Set, Keys: bs("a"), Values: bs("1"), Exp: ExpRelative, Expiry: 3000})
			exec := s.watch(t, "a", "b")
			change(s)
			if res := s.entry(t, exec); !res.Nil || res.Results != nil {
				t.Fatalf("got %+v, want an abort", res)
			}
			if _, ok := s.items["n"]; ok {
				t.Fatal("an aborted transaction wrote")
			}
		})
	}
}

// Redis 7: a key that had already expired when WATCH ran and is swept
// later did not change.
func TestExecRunsWhenAKeyExpiredBeforeWatchIsSwept(t *testing.T) {
	s := newVStore()
	s.entry(t, Op{Kind: Set, Keys: bs("a"), Values: bs("1"), Exp: ExpRelative, Expiry: 10})
	s.now += 20
	exec := s.watch(t, "a")
	s.entry(t, Op{Kind: ExpireKeys, Keys: bs("a")})
	if res := s.entry(t, exec); res.Nil {
		t.Fatal("aborted, want the INCR to run")
	}
}

func TestExecKeepsPerOpErrors(t *testing.T) {
	s := newVStore()
	s.entry(t, Op{Kind: Set, Keys: bs("s"), Values: bs("abc")})
	res := s.entry(t, Op{Kind: Exec, Ops: []Op{
		{Kind: IncrBy, Keys: bs("s"), Delta: 1},
		{Kind: Set, Keys: bs("t"), Values: bs("v")},
		{Kind: Get, Keys: bs("t")},
	}})
	if len(res.Results) != 3 || res.Results[0].Err != ErrNotInteger || string(res.Results[2].Value) != "v" {
		t.Fatalf("got %+v", res)
	}
}

func TestTxnEncodingRoundTrips(t *testing.T) {
	op := Op{Kind: Exec, Keys: bs("a"), Values: [][]byte{{1, 0, 0, 0, 0, 0, 0, 0, 7}}, Ops: []Op{
		{Kind: Set, Keys: bs("k"), Values: bs("v"), Exp: ExpRelative, Expiry: 5},
		{Kind: IncrBy, Keys: bs("n"), Delta: -3},
		{Kind: MGet, Keys: bs("x", "y")},
	}}
	enc := op.Encode(nil)
	got, err := Decode(enc)
	if err != nil || !reflect.DeepEqual(got.Encode(nil), enc) || len(got.Ops) != 3 || got.Ops[1].Delta != -3 {
		t.Fatalf("Decode = %+v, %v; want %+v", got, err, op)
	}
	empty := Op{Kind: ExecRead, Keys: bs("a"), Values: [][]byte{make([]byte, 9)}}
	if got, err := Decode(empty.Encode(nil)); err != nil || got.Kind != ExecRead || len(got.Ops) != 0 {
		t.Fatalf("Decode(empty) = %+v, %v", got, err)
	}
	bad := []Op{
		{Kind: ExecRead, Ops: []Op{{Kind: Set, Keys: bs("k"), Values: bs("v")}}},
		{Kind: Exec, Ops: []Op{{Kind: Exec}}},
		{Kind: Exec, Keys: bs("a")},
		{Kind: Exec, Ops: []Op{{Kind: Watch, Keys: bs("a")}}},
	}
	for _, b := range bad {
		if _, err := Decode(b.Encode(nil)); err == nil {
			t.Errorf("Decode(%+v) accepted a transaction EXEC never makes", b)
		}
	}
}

// FuzzDecodeTxn: any bytes decode to a well-formed op or an error, never
// a panic, and what decodes encodes back to the same bytes.
func FuzzDecodeTxn(f *testing.F) {
	op := Op{Kind: Exec, Keys: bs("a"), Values: [][]byte{{1, 0, 0, 0, 0, 0, 0, 0, 7}}, Ops: []Op{
		{Kind: Set, Keys: bs("k"), Values: bs("v")}, {Kind: IncrBy, Keys: bs("n"), Delta: 2}}}
	f.Add(op.Encode(nil))
	f.Add((&Op{Kind: ExecRead, Ops: []Op{{Kind: Get, Keys: bs("k")}}}).Encode(nil))
	f.Fuzz(func(t *testing.T, b []byte) {
		got, err := Decode(b)
		if err != nil {
			return
		}
		if !got.Kind.isTxn() && !got.wellFormed() || got.Kind.isTxn() && !got.txnWellFormed() {
			t.Fatalf("decoded a malformed op %+v", got)
		}
		if again := got.Encode(nil); string(again) != string(b) {
			t.Fatalf("%x decodes to an op that encodes as %x", b, again)
		}
	})
}
