// This file tests Apply against Redis's string semantics, one operation
// kind at a time, over a map-backed Store that also checks the Store
// contract (Put is told the truth about existence; Delete only sees keys
// that exist). The cases mirror what redis-server 7 replies.
package kv

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strconv"
	"testing"
)

// mapStore is a kv.Store over a Go map. It fails the test when Apply
// breaks the Store contract.
type mapStore struct {
	t    fataler
	m    map[string][]byte
	dl   map[string]int64 // deadlines
	now  int64
	puts int
	dels int
	// failGet, when set, is returned by every Get.
	failGet error
}

// fataler is what mapStore needs of a *testing.T or a *rapid.T.
type fataler interface {
	Fatalf(format string, args ...any)
}

func newMapStore(t fataler, init map[string]string) *mapStore {
	s := &mapStore{t: t, m: map[string][]byte{}, dl: map[string]int64{}, now: 1_000_000}
	for k, v := range init {
		s.m[k] = []byte(v)
	}
	return s
}

func (s *mapStore) Get(key []byte) (Item, bool, error) {
	if s.failGet != nil {
		return Item{}, false, s.failGet
	}
	v, ok := s.m[string(key)]
	return Item{Value: v, Deadline: s.dl[string(key)]}, ok, nil
}

// checkOld fails the test unless old is what the store holds for key.
func (s *mapStore) checkOld(op string, key []byte, old *Item) {
	v, ok := s.m[string(key)]
	if ok != (old != nil) {
		s.t.Fatalf("%s(%q) told existed=%v, but the key exists=%v", op, key, old != nil, ok)
	}
	if ok && (!bytes.Equal(old.Value, v) || old.Deadline != s.dl[string(key)]) {
		s.t.Fatalf("%s(%q) told old %q/%d, but the store holds %q/%d", op, key, old.Value, old.Deadline, v, s.dl[string(key)])
	}
}

func (s *mapStore) Put(key []byte, item Item, old *Item) error {
	s.checkOld("Put", key, old)
	s.puts++
	// Keep a copy: Apply may reuse or alias its op's bytes.
	s.m[string(key)] = append([]byte{}, item.Value...)
	s.dl[string(key)] = item.Deadline
	return nil
}

func (s *mapStore) Delete(key []byte, old Item) error {
	if _, ok := s.m[string(key)]; !ok {
		s.t.Fatalf("Delete(%q) of a key that does not exist", key)
	}
	s.checkOld("Delete", key, &old)
	s.dels++
	delete(s.m, string(key))
	delete(s.dl, string(key))
	return nil
}

func (s *mapStore) Len() (int64, error) { return int64(len(s.m)), nil }

func (s *mapStore) Now() int64 { return s.now }

func (s *mapStore) strings() map[string]string {
	out := map[string]string{}
	for k, v := range s.m {
		out[k] = string(v)
	}
	return out
}

func bs(ss ...string) [][]byte {
	out := make([][]byte, len(ss))
	for i, s := range ss {
		out[i] = []byte(s)
	}
	return out
}

func TestApply(t *testing.T) {
	maxS, minS := strconv.FormatInt(math.MaxInt64, 10), strconv.FormatInt(math.MinInt64, 10)
	type tc struct {
		name  string
		init  map[string]string
		op    Op
		want  Result
		after map[string]string // nil: the same as init
	}
	cases := []tc{
		// GET
		{name: "get/missing", op: Op{Kind: Get, Keys: bs("a")}, want: Result{Nil: true}},
		{name: "get/present", init: map[string]string{"a": "1"}, op: Op{Kind: Get, Keys: bs("a")}, want: Result{Value: []byte("1")}},
		{name: "get/empty value is not nil", init: map[string]string{"a": ""}, op: Op{Kind: Get, Keys: bs("a")}, want: Result{Value: []byte{}}},

		// SET and its flags
		{name: "set/new", op: Op{Kind: Set, Keys: bs("a"), Values: bs("v")}, want: Result{}, after: map[string]string{"a": "v"}},
		{name: "set/overwrite", init: map[string]string{"a": "old"}, op: Op{Kind: Set, Keys: bs("a"), Values: bs("v")}, want: Result{}, after: map[string]string{"a": "v"}},
		{name: "set nx/missing sets", op: Op{Kind: Set, Flags: SetNX, Keys: bs("a"), Values: bs("v")}, want: Result{}, after: map[string]string{"a": "v"}},
		{name: "set nx/present refused", init: map[string]string{"a": "old"}, op: Op{Kind: Set, Flags: SetNX, Keys: bs("a"), Values: bs("v")}, want: Result{Nil: true}},
		{name: "set xx/missing refused", op: Op{Kind: Set, Flags: SetXX, Keys: bs("a"), Values: bs("v")}, want: Result{Nil: true}, after: map[string]string{}},
		{name: "set xx/present sets", init: map[string]string{"a": "old"}, op: Op{Kind: Set, Flags: SetXX, Keys: bs("a"), Values: bs("v")}, want: Result{}, after: map[string]string{"a": "v"}},
		{name: "set get/missing", op: Op{Kind: Set, Flags: SetGet, Keys: bs("a"), Values: bs("v")}, want: Result{Nil: true}, after: map[string]string{"a": "v"}},
		{name: "set get/present", init: map[string]string{"a": "old"}, op: Op{Kind: Set, Flags: SetGet, Keys: bs("a"), Values: bs("v")}, want: Result{Value: []byte("old")}, after: map[string]string{"a": "v"}},
		{name: "set nx get/missing sets, replies nil", op: Op{Kind: Set, Flags: SetNX | SetGet, Keys: bs("a"), Values: bs("v")}, want: Result{Nil: true}, after: map[string]string{"a": "v"}},
		{name: "set nx get/present keeps, replies old", init: map[string]string{"a": "old"}, op: Op{Kind: Set, Flags: SetNX | SetGet, Keys: bs("a"), Values: bs("v")}, want: Result{Value: []byte("old")}},
		{name: "set xx get/missing refused, replies nil", op: Op{Kind: Set, Flags: SetXX | SetGet, Keys: bs("a"), Values: bs("v")}, want: Result{Nil: true}},
		{name: "set xx get/present sets, replies old", init: map[string]string{"a": "old"}, op: Op{Kind: Set, Flags: SetXX | SetGet, Keys: bs("a"), Values: bs("v")}, want: Result{Value: []byte("old")}, after: map[string]string{"a": "v"}},

		// DEL and EXISTS with repeated keys
		{name: "exists/none", op: Op{Kind: Exists, Keys: bs("a", "b")}, want: Result{Int: 0}},
		{name: "exists/repeats count each time", init: map[string]string{"a": "1"}, op: Op{Kind: Exists, Keys: bs("a", "a", "b", "a")}, want: Result{Int: 3}},
		{name: "del/missing", op: Op{Kind: Del, Keys: bs("a")}, want: Result{Int: 0}},
		{name: "del/repeats count once", init: map[string]string{"a": "1", "b": "2", "c": "3"}, op: Op{Kind: Del, Keys: bs("a", "a", "b", "x", "b")}, want: Result{Int: 2}, after: map[string]string{"c": "3"}},

		// INCRBY
		{name: "incrby/missing starts at 0", op: Op{Kind: IncrBy, Keys: bs("n"), Delta: 5}, want: Result{Int: 5}, after: map[string]string{"n": "5"}},
		{name: "incrby/negative", init: map[string]string{"n": "10"}, op: Op{Kind: IncrBy, Keys: bs("n"), Delta: -15}, want: Result{Int: -5}, after: map[string]string{"n": "-5"}},
		{name: "incrby/zero delta rewrites", init: map[string]string{"n": "7"}, op: Op{Kind: IncrBy, Keys: bs("n"), Delta: 0}, want: Result{Int: 7}},
		{name: "incrby/to max", init: map[string]string{"n": "-1"}, op: Op{Kind: IncrBy, Keys: bs("n"), Delta: math.MaxInt64}, want: Result{Int: math.MaxInt64 - 1}, after: map[string]string{"n": strconv.FormatInt(math.MaxInt64-1, 10)}},
		{name: "incrby/max exactly", init: map[string]string{"n": "0"}, op: Op{Kind: IncrBy, Keys: bs("n"), Delta: math.MaxInt64}, want: Result{Int: math.MaxInt64}, after: map[string]string{"n": maxS}},
		{name: "incrby/overflow up", init: map[string]string{"n": maxS}, op: Op{Kind: IncrBy, Keys: bs("n"), Delta: 1}, want: Result{Err: ErrOverflow}},
		{name: "incrby/overflow up large", init: map[string]string{"n": "1"}, op: Op{Kind: IncrBy, Keys: bs("n"), Delta: math.MaxInt64}, want: Result{Err: ErrOverflow}},
		{name: "incrby/min exactly", init: map[string]string{"n": "-1"}, op: Op{Kind: IncrBy, Keys: bs("n"), Delta: math.MinInt64 + 1}, want: Result{Int: math.MinInt64}, after: map[string]string{"n": minS}},
		{name: "incrby/min from missing", op: Op{Kind: IncrBy, Keys: bs("n"), Delta: math.MinInt64}, want: Result{Int: math.MinInt64}, after: map[string]string{"n": minS}},
		{name: "incrby/overflow down", init: map[string]string{"n": minS}, op: Op{Kind: IncrBy, Keys: bs("n"), Delta: -1}, want: Result{Err: ErrOverflow}},
		{name: "incrby/overflow down large", init: map[string]string{"n": "-2"}, op: Op{Kind: IncrBy, Keys: bs("n"), Delta: math.MinInt64}, want: Result{Err: ErrOverflow}},
		{name: "incrby/max plus min", init: map[string]string{"n": maxS}, op: Op{Kind: IncrBy, Keys: bs("n"), Delta: math.MinInt64}, want: Result{Int: -1}, after: map[string]string{"n": "-1"}},
		{name: "incrby/not an integer", init: map[string]string{"n": "abc"}, op: Op{Kind: IncrBy, Keys: bs("n"), Delta: 1}, want: Result{Err: ErrNotInteger}},
		{name: "incrby/empty value", init: map[string]string{"n": ""}, op: Op{Kind: IncrBy, Keys: bs("n"), Delta: 1}, want: Result{Err: ErrNotInteger}},
		{name: "incrby/space", init: map[string]string{"n": " 1"}, op: Op{Kind: IncrBy, Keys: bs("n"), Delta: 1}, want: Result{Err: ErrNotInteger}},
		{name: "incrby/leading zero", init: map[string]string{"n": "01"}, op: Op{Kind: IncrBy, Keys: bs("n"), Delta: 1}, want: Result{Err: ErrNotInteger}},
		{name: "incrby/float", init: map[string]string{"n": "1.5"}, op: Op{Kind: IncrBy, Keys: bs("n"), Delta: 1}, want: Result{Err: ErrNotInteger}},
		{name: "incrby/beyond int64", init: map[string]string{"n": "9223372036854775808"}, op: Op{Kind: IncrBy, Keys: bs("n"), Delta: 1}, want: Result{Err: ErrNotInteger}},

		// APPEND
		{name: "append/missing creates", op: Op{Kind: Append, Keys: bs("a"), Values: bs("xy")}, want: Result{Int: 2}, after: map[string]string{"a": "xy"}},
		{name: "append/present", init: map[string]string{"a": "ab"}, op: Op{Kind: Append, Keys: bs("a"), Values: bs("cd")}, want: Result{Int: 4}, after: map[string]string{"a": "abcd"}},
		{name: "append/empty to missing creates empty", op: Op{Kind: Append, Keys: bs("a"), Values: bs("")}, want: Result{Int: 0}, after: map[string]string{"a": ""}},
		{name: "append/at limit", init: map[string]string{"a": "ab"}, op: Op{Kind: Append, Keys: bs("a"), Values: bs("cd"), ValueBytesMax: 4}, want: Result{Int: 4}, after: map[string]string{"a": "abcd"}},
		{name: "append/one past limit", init: map[string]string{"a": "ab"}, op: Op{Kind: Append, Keys: bs("a"), Values: bs("cde"), ValueBytesMax: 4}, want: Result{Err: ErrValueTooLarge}},
		{name: "append/past limit on missing", op: Op{Kind: Append, Keys: bs("a"), Values: bs("abcde"), ValueBytesMax: 4}, want: Result{Err: ErrValueTooLarge}, after: map[string]string{}},
		{name: "append/0 is no limit", init: map[string]string{"a": "ab"}, op: Op{Kind: Append, Keys: bs("a"), Values: bs("cdefgh"), ValueBytesMax: 0}, want: Result{Int: 8}, after: map[string]string{"a": "abcdefgh"}},

		// GETDEL
		{name: "getdel/missing", op: Op{Kind: GetDel, Keys: bs("a")}, want: Result{Nil: true}},
		{name: "getdel/present", init: map[string]string{"a": "1", "b": "2"}, op: Op{Kind: GetDel, Keys: bs("a")}, want: Result{Value: []byte("1")}, after: map[string]string{"b": "2"}},

		// STRLEN
		{name: "strlen/missing is 0", op: Op{Kind: StrLen, Keys: bs("a")}, want: Result{Int: 0}},
		{name: "strlen/present", init: map[string]string{"a": "hello"}, op: Op{Kind: StrLen, Keys: bs("a")}, want: Result{Int: 5}},

		// MGET and MSET
		{name: "mget/mixed", init: map[string]string{"a": "1", "c": ""}, op: Op{Kind: MGet, Keys: bs("a", "b", "c", "a")}, want: Result{Values: [][]byte{[]byte("1"), nil, {}, []byte("1")}}},
		{name: "mset/new and old", init: map[string]string{"a": "old"}, op: Op{Kind: MSet, Keys: bs("a", "b"), Values: bs("1", "2")}, want: Result{}, after: map[string]string{"a": "1", "b": "2"}},
		{name: "mset/repeated key last wins", op: Op{Kind: MSet, Keys: bs("a", "a"), Values: bs("1", "2")}, want: Result{}, after: map[string]string{"a": "2"}},

		// DBSIZE
		{name: "dbsize/empty", op: Op{Kind: DBSize}, want: Result{Int: 0}},
		{name: "dbsize/three", init: map[string]string{"a": "", "b": "", "c": ""}, op: Op{Kind: DBSize}, want: Result{Int: 3}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := newMapStore(t, c.init)
			before := s.strings()
			got, err := Apply(s, c.op)
			if err != nil {
				t.Fatalf("Apply: %v", err)
			}
			if !resultEqual(got, c.want) {
				t.Errorf("result = %s, want %s", fmtResult(got), fmtResult(c.want))
			}
			after := c.after
			if after == nil {
				after = before
			}
			if gotAfter := s.strings(); !reflect.DeepEqual(gotAfter, after) {
				t.Errorf("store after = %v, want %v", gotAfter, after)
			}
			if c.op.Kind.IsRead() && (s.puts != 0 || s.dels != 0) {
				t.Errorf("read %s wrote to the store (%d puts, %d deletes)", c.op.Kind, s.puts, s.dels)
			}
			if got.Err != nil && (s.puts != 0 || s.dels != 0) {
				t.Errorf("refused op wrote to the store (%d puts, %d deletes)", s.puts, s.dels)
			}
		})
	}
}

// resultEqual compares results, telling a nil value from an empty one.
func resultEqual(a, b Result) bool {
	if a.Nil != b.Nil || a.Int != b.Int || !errors.Is(a.Err, b.Err) || !errors.Is(b.Err, a.Err) {
		return false
	}
	if (a.Value == nil) != (b.Value == nil) || !bytes.Equal(a.Value, b.Value) {
		return false
	}
	if len(a.Values) != len(b.Values) || (a.Values == nil) != (b.Values == nil) {
		return false
	}
	for i := range a.Values {
		if (a.Values[i] == nil) != (b.Values[i] == nil) || !bytes.Equal(a.Values[i], b.Values[i]) {
			return false
		}
	}
	return true
}

func fmtResult(r Result) string {
	vals := make([]string, len(r.Values))
	for i, v := range r.Values {
		if v == nil {
			vals[i] = "(nil)"
		} else {
			vals[i] = strconv.Quote(string(v))
		}
	}
	value := "(nil)"
	if r.Value != nil {
		value = strconv.Quote(string(r.Value))
	}
	return fmt.Sprintf("{Value:%s Nil:%v Int:%d Values:%v Err:%v}", value, r.Nil, r.Int, vals, r.Err)
}

// TestApplyResultDoesNotAlias checks that a returned value is a copy: a
// Store's Get is only valid until its next call.
func TestApplyResultDoesNotAlias(t *testing.T) {
	for _, kind := range []Kind{Get, GetDel, MGet, Set} {
		s := newMapStore(t, map[string]string{"a": "value"})
		op := Op{Kind: kind, Keys: bs("a"), Values: bs("new"), Flags: SetGet}
		res, err := Apply(s, op)
		if err != nil {
			t.Fatal(err)
		}
		got := res.Value
		if kind == MGet {
			got = res.Values[0]
		}
		if kind != GetDel {
			copy(s.m["a"], "XXXXX")
		}
		if string(got) != "value" {
			t.Errorf("%s: result %q changed with the store's bytes", kind, got)
		}
	}
}

// TestApplyStoreError checks that a Store failure comes back as Apply's
// error, not as a client-visible Result.Err.
func TestApplyStoreError(t *testing.T) {
	boom := errors.New("disk on fire")
	ops := []Op{
		{Kind: Get, Keys: bs("a")}, {Kind: GetDel, Keys: bs("a")}, {Kind: StrLen, Keys: bs("a")},
		{Kind: Exists, Keys: bs("a")}, {Kind: Del, Keys: bs("a")}, {Kind: MGet, Keys: bs("a")},
		{Kind: Set, Keys: bs("a"), Values: bs("v")}, {Kind: MSet, Keys: bs("a"), Values: bs("v")},
		{Kind: IncrBy, Keys: bs("a"), Delta: 1}, {Kind: Append, Keys: bs("a"), Values: bs("v")},
	}
	for _, op := range ops {
		s := newMapStore(t, map[string]string{"a": "1"})
		s.failGet = boom
		if _, err := Apply(s, op); !errors.Is(err, boom) {
			t.Errorf("%s: err = %v, want the store's error", op.Kind, err)
		}
	}
	if _, err := Apply(newMapStore(t, nil), Op{Kind: Kind(99)}); err == nil {
		t.Error("unknown kind applied without an error")
	}
}

func TestDBSizeTracksPutAndDelete(t *testing.T) {
	s := newMapStore(t, nil)
	steps := []struct {
		op   Op
		size int64
	}{
		{Op{Kind: Set, Keys: bs("a"), Values: bs("1")}, 1},
		{Op{Kind: Set, Keys: bs("a"), Values: bs("2")}, 1},
		{Op{Kind: MSet, Keys: bs("b", "c", "b"), Values: bs("1", "2", "3")}, 3},
		{Op{Kind: IncrBy, Keys: bs("n"), Delta: 1}, 4},
		{Op{Kind: Append, Keys: bs("s"), Values: bs("x")}, 5},
		{Op{Kind: Del, Keys: bs("a", "a", "zz")}, 4},
		{Op{Kind: GetDel, Keys: bs("b")}, 3},
		{Op{Kind: GetDel, Keys: bs("b")}, 3},
		{Op{Kind: Set, Flags: SetXX, Keys: bs("a"), Values: bs("1")}, 3},
		{Op{Kind: Set, Flags: SetNX, Keys: bs("a"), Values: bs("1")}, 4},
		{Op{Kind: Del, Keys: bs("a", "c", "n", "s")}, 0},
	}
	for i, st := range steps {
		if _, err := Apply(s, st.op); err != nil {
			t.Fatal(err)
		}
		res, err := Apply(s, Op{Kind: DBSize})
		if err != nil {
			t.Fatal(err)
		}
		if res.Int != st.size {
			t.Fatalf("step %d (%s): dbsize %d, want %d", i, st.op.Kind, res.Int, st.size)
		}
	}
}

func TestKindIsRead(t *testing.T) {
	reads := []Kind{Get, Exists, MGet, StrLen, DBSize, TTL, ExpireTime, Scan, Keys, RandomKey, Watch, ExecRead}
	for k := range Kind(255) {
		if _, known := kindNames[k]; !known {
			continue
		}
		if got, want := k.IsRead(), slices.Contains(reads, k); got != want {
			t.Errorf("%s.IsRead() = %v, want %v", k, got, want)
		}
	}
}

func TestParseInt(t *testing.T) {
	cases := []struct {
		in   string
		want int64
		ok   bool
	}{
		{"0", 0, true},
		{"1", 1, true},
		{"-1", -1, true},
		{"10", 10, true},
		{"1234567890", 1234567890, true},
		{"9223372036854775807", math.MaxInt64, true},
		{"-9223372036854775808", math.MinInt64, true},
		{"9223372036854775808", 0, false},   // one past max
		{"-9223372036854775809", 0, false},  // one past min
		{"18446744073709551615", 0, false},  // max uint64
		{"18446744073709551616", 0, false},  // past uint64
		{"99999999999999999999", 0, false},  // 20 digits
		{"-99999999999999999999", 0, false}, // 21 chars
		{"-09223372036854775808", 0, false}, // 21 chars, leading zero
		{"100000000000000000000", 0, false}, // 21 digits
		{"", 0, false},
		{"-", 0, false},
		{"-0", 0, false},
		{"+1", 0, false},
		{"+0", 0, false},
		{"00", 0, false},
		{"01", 0, false},
		{"-01", 0, false},
		{" 1", 0, false},
		{"1 ", 0, false},
		{"1\n", 0, false},
		{"1a", 0, false},
		{"a1", 0, false},
		{"1.0", 0, false},
		{"1e3", 0, false},
		{"--1", 0, false},
		{"0x10", 0, false},
		{"\x001", 0, false},
		{"١", 0, false}, // an Arabic-Indic digit
	}
	for _, c := range cases {
		got, ok := ParseInt([]byte(c.in))
		if ok != c.ok || got != c.want {
			t.Errorf("ParseInt(%q) = %d, %v; want %d, %v", c.in, got, ok, c.want, c.ok)
		}
	}
}

// TestParseIntAgreesWithFormat checks ParseInt against strconv on the
// canonical form of many integers: every canonical form parses back.
func TestParseIntAgreesWithFormat(t *testing.T) {
	vals := []int64{0, 1, -1, 9, -9, 10, -10, 99, 100, math.MaxInt32, math.MinInt32, math.MaxInt64, math.MinInt64, math.MaxInt64 - 1, math.MinInt64 + 1}
	for p := int64(1); p > 0 && p <= math.MaxInt64/10; p *= 10 {
		vals = append(vals, p, -p, p-1, -(p - 1), p+1, -(p + 1))
	}
	for _, v := range vals {
		s := strconv.FormatInt(v, 10)
		got, ok := ParseInt([]byte(s))
		if !ok || got != v {
			t.Errorf("ParseInt(%q) = %d, %v", s, got, ok)
		}
	}
}

func (s *mapStore) Range(fn func(key []byte, item Item) bool) error {
	keys := make([]string, 0, len(s.m))
	for k := range s.m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if !fn([]byte(k), Item{Value: s.m[k], Deadline: s.dl[k]}) {
			break
		}
	}
	return nil
}

func (s *mapStore) Clear() error {
	clear(s.m)
	clear(s.dl)
	return nil
}

func (s *mapStore) RangeHash(from uint64, fn func(hash uint64, key []byte, item Item) bool) error {
	return RangeHashBySorting(s, from, fn)
}
