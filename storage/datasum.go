package storage

import "bytes"

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
// running sum must equal.
func (s *Store) ScanDataSum() (uint64, error) {
	var sum uint64
	err := s.ScanData(func(k, v []byte) { sum += PairHash(k, v) })
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

// sumChange is what putting value at key (nil, false: deleting it)
// changes in the batch's data sum, given what the key held before.
func (b *Batch) sumChange(key, value []byte, put bool) error {
	if !b.s.data.on {
		return nil
	}
	r := b.lastRead
	if !r.valid || !bytes.Equal(r.key, key) {
		var err error
		if r.value, r.found, err = b.Get(key); err != nil {
			return err
		}
	}
	b.lastRead.valid = false // the key is about to change
	old, found := r.value, r.found
	if found {
		b.sumDelta -= PairHash(key, old)
	}
	if put {
		b.sumDelta += PairHash(key, value)
	}
	return nil
}

// lastRead is the key and value of a batch's last Get.
type lastRead struct {
	key   []byte
	value []byte
	found bool
	valid bool
}
