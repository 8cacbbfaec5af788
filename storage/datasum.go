package storage

import (
	"github.com/cockroachdb/pebble/v2"

	"github.com/seshat-db/seshat/kv"
)

// The data sum: an order-independent hash of every user key and value,
// kept up to date at each write when Options.DataSum is set, so that the
// simulator can compare replicas at every applied index for the cost of
// the writes, not of a scan of the whole store.

// dataSum is the running sum and whether the store keeps one.
type dataSum struct {
	on  bool
	sum uint64
}

// PairHash is one key and value's share of a data sum: FNV-1a over the
// key and the value, each followed by its length (so that moving a byte
// from one to the other changes it), then mixed so that sums of shares
// do not cancel in simple ways.
func PairHash(key, value []byte) uint64 {
	h := uint64(14695981039346656037)
	for _, b := range [][]byte{key, value} {
		for _, c := range b {
			h ^= uint64(c)
			h *= 1099511628211
		}
		h ^= uint64(len(b))
		h *= 1099511628211
	}
	// MurmurHash3's finalizer.
	h ^= h >> 33
	h *= 0xff51afd7ed558ccd
	h ^= h >> 33
	h *= 0xc4ceb9fe1a85ec53
	h ^= h >> 33
	return h
}

// DataSum returns the running data sum, and false if the store keeps
// none (Options.DataSum unset).
func (s *Store) DataSum() (uint64, bool) { return s.data.sum, s.data.on }

// ScanDataSum computes the data sum from what the store holds: what the
// running sum must equal. A key's share covers its whole record, so a
// deadline counts as much as the value.
func (s *Store) ScanDataSum() (uint64, error) {
	var sum uint64
	err := s.scan(&pebble.IterOptions{LowerBound: prefixData, UpperBound: prefixDataEnd}, func(k, record []byte) {
		sum += PairHash(k[len(prefixData):], record)
	})
	return sum, err
}

// resetDataSum recomputes the running sum from the data, after a write
// that went around Batch (opening, installing a snapshot).
func (s *Store) resetDataSum() error {
	if !s.data.on {
		return nil
	}
	sum, err := s.ScanDataSum()
	s.data.sum = sum
	return err
}

// sumChange adds to the batch's data sum what replacing the record old
// (nil: none) with the encoded record (nil: deleting the key) changes.
// The callers hold the old record already (kv.Apply read it), so this
// costs no read.
func (b *Batch) sumChange(key []byte, old *kv.Item, record []byte) {
	if !b.s.data.on {
		return
	}
	if old != nil {
		b.sumDelta -= PairHash(key, encodeRecord(*old))
	}
	if record != nil {
		b.sumDelta += PairHash(key, record)
	}
}
