package kv

import (
	"bytes"
	"cmp"
	"errors"
	"hash/fnv"
	"math"
	"slices"

	"github.com/seshat-db/seshat/internal/mutant"
)

// The keyspace operations: those that walk the keys (KEYS, and SCAN and
// RANDOMKEY in hash order), FLUSHALL, and those that move a value between
// two keys (RENAME, COPY, MSETNX). They need the Store's Range, RangeHash
// and Clear.

// ErrNoSuchKey: RENAME of a key that does not exist.
var ErrNoSuchKey = errors.New("no such key")

// ErrSameObject: COPY of a key onto itself.
var ErrSameObject = errors.New("source and destination objects are the same")

// ScanHash is where a key stands in SCAN's order. SCAN walks keys in
// order of this hash, and its cursor is the hash to resume at: a number,
// as every client expects, that means the same on every replica and
// after any leader change, because it is a function of the keys alone.
// A key present for the whole scan has a fixed hash, so it is returned
// once the cursor passes it, whatever else was written meanwhile.
func ScanHash(key []byte) uint64 {
	h := fnv.New64a()
	_, _ = h.Write(key)
	return mix(h.Sum64())
}

// mix is MurmurHash3's finalizer: FNV's high bits change little between
// keys that differ in their last bytes.
func mix(h uint64) uint64 {
	h ^= h >> 33
	h *= 0xff51afd7ed558ccd
	h ^= h >> 33
	h *= 0xc4ceb9fe1a85ec53
	h ^= h >> 33
	return h
}

// scan answers SCAN: the keys in hash order from the cursor, until
// count live keys were seen (or ten times count keys, expired ones
// included, so that a call's work stays bounded), never splitting the
// keys of one hash between two calls; those that match the pattern; and
// the cursor to go on from (0 when the index holds nothing further).
// It reads the store's hash index (Store.RangeHash), so a full scan
// costs O(N), whatever COUNT.
func scan(s Store, op Op) (Result, error) {
	cursor := uint64(op.Delta)
	count := max(int(op.ValueBytesMax), 1)
	budget := 10 * count
	now := s.Now()
	res := Result{Values: [][]byte{}}
	var last, next uint64
	live, visited, stopped := 0, 0, false
	err := s.RangeHash(cursor, func(kh uint64, key []byte, item Item) bool {
		if visited > 0 && kh != last && (live >= count || visited >= budget) {
			stopped, next = true, kh
			return false
		}
		visited++
		last = kh
		if !liveAt(item.Deadline, now) {
			return true
		}
		live++
		if len(op.Values) == 0 || Match(op.Values[0], key, false) {
			res.Values = append(res.Values, bytes.Clone(key))
		}
		return true
	})
	if stopped {
		res.Int = int64(last + 1)
		if mutant.On(mutant.ScanCursorSkips) && next != math.MaxUint64 {
			res.Int = int64(next + 1)
		}
	}
	return res, err
}

// keys answers KEYS: every live key that matches the pattern, in key order.
func keys(s Store, pattern []byte) (Result, error) {
	now := s.Now()
	res := Result{Values: [][]byte{}}
	all := len(pattern) == 1 && pattern[0] == '*'
	err := s.Range(func(key []byte, item Item) bool {
		if liveAt(item.Deadline, now) && (all || Match(pattern, key, false)) {
			res.Values = append(res.Values, bytes.Clone(key))
		}
		return true
	})
	return res, err
}

// randomKey answers RANDOMKEY. A read must give the same answer on every
// replica at one index and may not draw random numbers, so the key is
// the live one whose hash follows a point that moves with the cluster
// time (the first, wrapping round, if none follows it).
func randomKey(s Store) (Result, error) {
	now := s.Now()
	var found []byte
	pick := func(_ uint64, key []byte, item Item) bool {
		if liveAt(item.Deadline, now) {
			found = bytes.Clone(key)
			return false
		}
		return true
	}
	err := s.RangeHash(mix(uint64(now)), pick)
	if err == nil && found == nil {
		err = s.RangeHash(0, pick)
	}
	if found == nil {
		return Result{Nil: true}, err
	}
	return Result{Value: found}, err
}

// rename moves Keys[0]'s value and deadline to Keys[1]; RenameNX only if
// Keys[1] does not exist.
func rename(s Store, op Op) (Result, error) {
	src, dst := op.Keys[0], op.Keys[1]
	from, err := lookup(s, src)
	if err != nil {
		return Result{}, err
	}
	if !from.live {
		return Result{Err: ErrNoSuchKey}, nil
	}
	if bytes.Equal(src, dst) {
		// Redis answers OK to RENAME and 0 to RENAMENX, and changes nothing.
		return Result{}, nil
	}
	to, err := lookup(s, dst)
	if err != nil {
		return Result{}, err
	}
	if op.Kind == RenameNX && to.live {
		return Result{}, nil
	}
	item := Item{Value: bytes.Clone(from.stored.Value), Deadline: from.stored.Deadline}
	if err := s.Delete(src, from.stored); err != nil {
		return Result{}, err
	}
	return Result{Int: 1}, put(s, dst, to, item.Value, item.Deadline)
}

// copyKey copies Keys[0]'s value and deadline to Keys[1]; over a live
// Keys[1] only with Delta 1 (REPLACE).
func copyKey(s Store, op Op) (Result, error) {
	src, dst := op.Keys[0], op.Keys[1]
	if bytes.Equal(src, dst) {
		return Result{Err: ErrSameObject}, nil
	}
	from, err := lookup(s, src)
	if err != nil || !from.live {
		return Result{}, err
	}
	to, err := lookup(s, dst)
	if err != nil {
		return Result{}, err
	}
	if to.live && op.Delta == 0 {
		return Result{}, nil
	}
	return Result{Int: 1}, put(s, dst, to, bytes.Clone(from.stored.Value), from.stored.Deadline)
}

// msetNX sets every key, or none if any of them exists.
func msetNX(s Store, op Op) (Result, error) {
	for _, k := range op.Keys {
		sl, err := lookup(s, k)
		if err != nil || sl.live {
			return Result{}, err
		}
	}
	for i, k := range op.Keys {
		// A key named twice was looked up before the first Put: look
		// again so that Put is told what is stored now.
		sl, err := lookup(s, k)
		if err == nil {
			err = put(s, k, sl, op.Values[i], 0)
		}
		if err != nil {
			return Result{}, err
		}
	}
	return Result{Int: 1}, nil
}

// setRange overwrites Values[0] into Keys[0]'s value at offset Delta,
// padding with zero bytes, keeping the deadline.
func setRange(s Store, op Op) (Result, error) {
	key, value, offset := op.Keys[0], op.Values[0], op.Delta
	sl, err := lookup(s, key)
	if err != nil {
		return Result{}, err
	}
	var old []byte
	var when int64
	if sl.live {
		old, when = sl.stored.Value, sl.stored.Deadline
	}
	if len(value) == 0 {
		return Result{Int: int64(len(old))}, nil
	}
	limit := int64(op.ValueBytesMax)
	if limit == 0 {
		limit = protoMaxBulkLen
	}
	if offset > limit-int64(len(value)) {
		return Result{Err: ErrValueTooLarge}, nil
	}
	size := max(int64(len(old)), offset+int64(len(value)))
	out := make([]byte, size)
	copy(out, old)
	copy(out[offset:], value)
	return Result{Int: size}, put(s, key, sl, out, when)
}

// protoMaxBulkLen is Redis's bound on a string (512 MiB): SETRANGE's
// bound when the op names none.
const protoMaxBulkLen = 512 << 20

// flushAll deletes every key, expired or not.
func flushAll(s Store) (Result, error) {
	return Result{}, s.Clear()
}

// RangeHashBySorting implements Store.RangeHash for a store without a
// hash index, by sorting every key it holds at each call: for the
// in-memory stores of tests, never for one that holds a real keyspace.
func RangeHashBySorting(s interface {
	Range(fn func(key []byte, item Item) bool) error
}, from uint64, fn func(hash uint64, key []byte, item Item) bool) error {
	type entry struct {
		hash uint64
		key  []byte
		item Item
	}
	var all []entry
	err := s.Range(func(key []byte, item Item) bool {
		if h := ScanHash(key); h >= from {
			all = append(all, entry{h, bytes.Clone(key), Item{Value: bytes.Clone(item.Value), Deadline: item.Deadline}})
		}
		return true
	})
	if err != nil {
		return err
	}
	slices.SortFunc(all, func(a, b entry) int {
		if c := cmp.Compare(a.hash, b.hash); c != 0 {
			return c
		}
		return bytes.Compare(a.key, b.key)
	})
	for _, e := range all {
		if !fn(e.hash, e.key, e.item) {
			break
		}
	}
	return nil
}
