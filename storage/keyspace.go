package storage

import (
	"github.com/cockroachdb/pebble/v2"

	"github.com/seshat-db/seshat/kv"
)

// iterable is what Range reads user keys from: the database, a batch or
// a snapshot.
type iterable interface {
	NewIter(*pebble.IterOptions) (iterator, error)
}

// rangeItems calls fn for every user key and its decoded record, in key
// order, until fn returns false.
func rangeItems(r iterable, fn func(key []byte, item kv.Item) bool) error {
	return recoverFatal(func() (err error) {
		it, err := r.NewIter(&pebble.IterOptions{LowerBound: prefixData, UpperBound: prefixDataEnd})
		if err != nil {
			return err
		}
		defer func() {
			if cerr := it.Close(); err == nil {
				err = cerr
			}
		}()
		for valid := it.First(); valid; valid = it.Next() {
			item, err := decodeRecord(it.Value())
			if err != nil {
				return err
			}
			if !fn(it.Key()[len(prefixData):], item) {
				break
			}
		}
		return it.Error()
	})
}

// Range implements kv.Store.Range over the batch's view (its own writes
// included).
func (b *Batch) Range(fn func(key []byte, item kv.Item) bool) error {
	return rangeItems(b.engine(), fn)
}

// Clear implements kv.Store.Clear: FLUSHALL, as three range deletions
// (the data, the deadline index and SCAN's index), so that it costs the same whatever the
// store holds. The data sum of an empty store is 0.
func (b *Batch) Clear() error {
	b.written.cleared = true
	if err := b.engine().DeleteRange(prefixData, prefixDataEnd, nil); err != nil {
		return err
	}
	if err := b.engine().DeleteRange(prefixDeadlines, prefixDeadlinesEnd, nil); err != nil {
		return err
	}
	if err := b.engine().DeleteRange(prefixHashes, prefixHashesEnd, nil); err != nil {
		return err
	}
	b.keyCount = 0
	b.expiring = 0
	b.sumDelta = -b.s.data.sum
	// The range deletion notes no key's WATCH bucket: without this, a key
	// written after a WATCH that saw it absent, then flushed, would look
	// unchanged to EXEC.
	return b.VanishAll()
}

// Range implements kv.Store.Range over the committed data.
func (r ReadView) Range(fn func(key []byte, item kv.Item) bool) error {
	return rangeItems(r.s.db, fn)
}

// Clear implements kv.Store.Clear; a read never writes.
func (r ReadView) Clear() error { panic("storage: write through a read view") }

// Range implements kv.Store.Range over the snapshot.
func (r *ReadSnapshot) Range(fn func(key []byte, item kv.Item) bool) error {
	return rangeItems(r.snap, fn)
}

// Clear implements kv.Store.Clear; a read never writes.
func (r *ReadSnapshot) Clear() error { panic("storage: write through a read snapshot") }

// expiringChange is what replacing old (nil: none) by a record with
// deadline changes the count of keys with a deadline by (deleting: 0).
func expiringChange(old *kv.Item, deadline int64) int64 {
	var n int64
	if old != nil && old.Deadline != 0 {
		n--
	}
	if deadline != 0 {
		n++
	}
	return n
}

// countExpiring counts the deadline index's entries, after a write that
// went around Batch (opening, installing a snapshot): INFO keyspace's
// expires. It reads one empty-valued entry per key with a deadline.
func (s *Store) countExpiring() error {
	var n int64
	err := recoverFatal(func() error {
		return s.scan(&pebble.IterOptions{LowerBound: prefixDeadlines, UpperBound: prefixDeadlinesEnd}, func(_, _ []byte) { n++ })
	})
	s.expiring = n
	return err
}

// Expiring returns how many keys have a deadline, expired or not yet
// deleted included.
func (s *Store) Expiring() int64 { return s.expiring }
