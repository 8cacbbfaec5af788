package kv

import (
	"bytes"
	"container/heap"
	"errors"
	"hash/fnv"
	"math"

	"github.com/seshat-db/seshat/internal/mutant"
)

// The keyspace operations: those that walk every key (KEYS, SCAN,
// RANDOMKEY, FLUSHALL) and those that move a value between two keys
// (RENAME, COPY, MSETNX). They need the Store's Range and Clear.

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

// hashHeap keeps the count smallest hashes seen (a max-heap).
type hashHeap []uint64

func (h hashHeap) Len() int           { return len(h) }
func (h hashHeap) Less(i, j int) bool { return h[i] > h[j] }
func (h hashHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *hashHeap) Push(x any)        { *h = append(*h, x.(uint64)) }
func (h *hashHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// scan answers SCAN: the live keys whose hash is at or past the cursor,
// up to the count-th smallest hash (and every key of that hash, so that
// keys sharing a hash are never split between two calls), those that
// match the pattern, and the cursor to go on from (0 when no key lies
// past the last one returned). It walks every key: SCAN costs O(N) per
// call, run off the event loop (node's long reads).
func scan(s Store, op Op) (Result, error) {
	cursor := uint64(op.Delta)
	count := max(int(op.ValueBytesMax), 1)
	now := s.Now()
	h := make(hashHeap, 0, min(count, 1024))
	beyond := false // a live key lies past the last hash kept
	err := s.Range(func(key []byte, item Item) bool {
		if !liveAt(item.Deadline, now) {
			return true
		}
		kh := ScanHash(key)
		if kh < cursor {
			return true
		}
		switch {
		case len(h) < count:
			heap.Push(&h, kh)
		case kh < h[0]:
			heap.Pop(&h)
			heap.Push(&h, kh)
			beyond = true
		case kh > h[0]:
			beyond = true
		}
		return true
	})
	if err != nil || len(h) == 0 {
		return Result{Values: [][]byte{}}, err
	}
	last := h[0]
	res := Result{Values: [][]byte{}}
	next := uint64(math.MaxUint64) // the first hash past last (for the mutant)
	err = s.Range(func(key []byte, item Item) bool {
		if !liveAt(item.Deadline, now) {
			return true
		}
		kh := ScanHash(key)
		if kh > last && kh < next {
			next = kh
		}
		if kh >= cursor && kh <= last && (len(op.Values) == 0 || Match(op.Values[0], key, false)) {
			res.Values = append(res.Values, bytes.Clone(key))
		}
		return true
	})
	if beyond && last != math.MaxUint64 {
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
	point := mix(uint64(now))
	var best, first []byte
	var bestHash, firstHash uint64
	err := s.Range(func(key []byte, item Item) bool {
		if !liveAt(item.Deadline, now) {
			return true
		}
		kh := ScanHash(key)
		if first == nil || kh < firstHash {
			first, firstHash = bytes.Clone(key), kh
		}
		if kh >= point && (best == nil || kh < bestHash) {
			best, bestHash = bytes.Clone(key), kh
		}
		return true
	})
	if best == nil {
		best = first
	}
	if best == nil {
		return Result{Nil: true}, err
	}
	return Result{Value: best}, err
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
