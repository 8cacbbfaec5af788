package storage

import (
	"encoding/binary"
	"fmt"

	"github.com/cockroachdb/pebble/v2"

	"github.com/seshat-db/seshat/kv"
)

// SCAN's index: one empty entry per user key, ordered by the key's
// kv.ScanHash, so that a SCAN call seeks to its cursor and reads only
// the keys it returns. Batch's Put, Delete and Clear keep it in the same
// batch as the data. It is derived from d/ alone, so snapshots do not
// carry it (Stage refuses h/ keys: a peer cannot send an index that
// disagrees with the data); an install and the schema-3 migration build
// it from the data.
var (
	prefixHashes    = []byte("h/") // + 8-byte big-endian kv.ScanHash + user key: empty
	prefixHashesEnd = []byte("h0")
)

func hashKey(hash uint64, userKey []byte) []byte {
	k := make([]byte, 0, len(prefixHashes)+8+len(userKey))
	k = append(k, prefixHashes...)
	k = binary.BigEndian.AppendUint64(k, hash)
	return append(k, userKey...)
}

func indexKey(userKey []byte) []byte { return hashKey(kv.ScanHash(userKey), userKey) }

// indexReader is what RangeHash reads: the database, a batch or a
// snapshot.
type indexReader interface {
	iterable
	getter
}

// rangeHash implements kv.Store.RangeHash: it walks the index from the
// cursor's hash and reads each key's record.
func rangeHash(r indexReader, from uint64, fn func(hash uint64, key []byte, item kv.Item) bool) error {
	return recoverFatal(func() (err error) {
		it, err := r.NewIter(&pebble.IterOptions{LowerBound: hashKey(from, nil), UpperBound: prefixHashesEnd})
		if err != nil {
			return err
		}
		defer func() {
			if cerr := it.Close(); err == nil {
				err = cerr
			}
		}()
		for valid := it.First(); valid; valid = it.Next() {
			k := it.Key()
			hash := binary.BigEndian.Uint64(k[len(prefixHashes):])
			user := k[len(prefixHashes)+8:]
			item, found, err := getItem(r, user)
			if err != nil {
				return err
			}
			if !found {
				return fmt.Errorf("%w: SCAN's index names key %q, which the data does not hold", ErrDamaged, user)
			}
			if !fn(hash, user, item) {
				break
			}
		}
		return it.Error()
	})
}

// RangeHash implements kv.Store.RangeHash over the batch's view.
func (b *Batch) RangeHash(from uint64, fn func(hash uint64, key []byte, item kv.Item) bool) error {
	return rangeHash(b.engine(), from, fn)
}

// RangeHash implements kv.Store.RangeHash over the committed data.
func (r ReadView) RangeHash(from uint64, fn func(hash uint64, key []byte, item kv.Item) bool) error {
	return rangeHash(r.s.db, from, fn)
}

// RangeHash implements kv.Store.RangeHash over the snapshot.
func (r *ReadSnapshot) RangeHash(from uint64, fn func(hash uint64, key []byte, item kv.Item) bool) error {
	return rangeHash(r.snap, from, fn)
}

// buildScanIndex replaces SCAN's index with one built from the data, in
// bounded batches, and then records schema version 3. A crash part way
// leaves the schema version below 3, so the next open builds it again
// from scratch.
func (s *Store) buildScanIndex() error {
	b := s.db.NewBatch()
	_ = b.DeleteRange(prefixHashes, prefixHashesEnd, nil)
	from := prefixData
	for {
		var last []byte
		err := s.scan(&pebble.IterOptions{LowerBound: from, UpperBound: prefixDataEnd}, func(k, _ []byte) {
			if b.Len() >= stagingBatchBytes {
				return
			}
			_ = b.Set(indexKey(k[len(prefixData):]), nil, nil)
			last = append(last[:0], k...)
		})
		if err != nil {
			b.Close()
			return err
		}
		if last == nil {
			break
		}
		// Unsynced: the schema version, written last with a sync, says
		// whether the index is whole.
		if err := s.commit(b, pebble.NoSync); err != nil {
			b.Close()
			return err
		}
		b.Close()
		b = s.db.NewBatch()
		from = append(last, 0)
	}
	_ = b.Set(keySchema, uint64Value(SchemaVersion), nil)
	err := s.commitRaw(b)
	b.Close()
	return err
}

// CheckScanIndex checks that SCAN's index names every key the data holds,
// once, under its hash, and nothing else: the simulator runs it over every
// replica with its data digests. It reads both whole, in order, and
// compares an order-independent sum of the keys each names (no point
// reads, so it costs about what the data digest costs).
func (s *Store) CheckScanIndex() error {
	var indexed, stored, entries, keys uint64
	var bad error
	err := recoverFatal(func() error {
		err := s.scan(&pebble.IterOptions{LowerBound: prefixHashes, UpperBound: prefixHashesEnd}, func(k, _ []byte) {
			entries++
			if len(k) < len(prefixHashes)+8 {
				bad = cmpErr(bad, fmt.Errorf("SCAN's index holds a short key %q", k))
				return
			}
			user := k[len(prefixHashes)+8:]
			if binary.BigEndian.Uint64(k[len(prefixHashes):]) != kv.ScanHash(user) {
				bad = cmpErr(bad, fmt.Errorf("SCAN's index holds key %q under a hash not its own", user))
			}
			indexed += PairHash(user, nil)
		})
		if err != nil {
			return err
		}
		return s.scan(&pebble.IterOptions{LowerBound: prefixData, UpperBound: prefixDataEnd}, func(k, _ []byte) {
			keys++
			stored += PairHash(k[len(prefixData):], nil)
		})
	})
	switch {
	case err != nil || bad != nil:
		return cmpErr(err, bad)
	case entries != keys:
		return fmt.Errorf("SCAN's index holds %d entries for %d keys", entries, keys)
	case indexed != stored:
		return fmt.Errorf("SCAN's index names other keys than the data holds (%d of each)", keys)
	}
	return nil
}

func cmpErr(a, b error) error {
	if a != nil {
		return a
	}
	return b
}
