package storage

import (
	"bytes"
	"encoding/binary"
	"fmt"

	"github.com/cockroachdb/pebble/v2"
)

// The expiry keys. The cluster time and the deadline index are
// state-machine state: snapshots carry them (snapshotSpans).
var (
	keyClock           = []byte("e/time") // int64: cluster time (ms since the Unix epoch) as of the applied index
	prefixClock        = []byte("e/")
	prefixClockEnd     = []byte("e0")
	prefixDeadlines    = []byte("x/") // + 8-byte big-endian deadline + user key: empty
	prefixDeadlinesEnd = []byte("x0")
)

func deadlineKey(deadline int64, userKey []byte) []byte {
	k := make([]byte, 0, len(prefixDeadlines)+8+len(userKey))
	k = append(k, prefixDeadlines...)
	k = binary.BigEndian.AppendUint64(k, uint64(deadline))
	return append(k, userKey...)
}

// Clock returns the cluster time as of the applied index.
func (s *Store) Clock() int64 { return s.clock }

func (s *Store) loadClock() error {
	v, found, err := get(s.db, keyClock)
	if err != nil || !found {
		s.clock = 0
		return err
	}
	if len(v) != 8 {
		return fmt.Errorf("storage: %q holds %d bytes, want 8", keyClock, len(v))
	}
	s.clock = int64(binary.BigEndian.Uint64(v))
	return nil
}

// AdvanceClock raises the batch's cluster time to t; a t at or below it
// changes nothing, so the cluster time never goes back, whatever order
// leaders' stamps commit in.
func (b *Batch) AdvanceClock(t int64) {
	if t > b.clock {
		b.clock = t
	}
}

// Clock returns the batch's cluster time.
func (b *Batch) Clock() int64 { return b.clock }

// Now implements kv.Store.Now.
func (b *Batch) Now() int64 { return b.clock }

// Now implements kv.Store.Now: the cluster time as of the applied index.
func (r ReadView) Now() int64 { return r.s.clock }

// Now implements kv.Store.Now: the cluster time as of the snapshot.
func (r *ReadSnapshot) Now() int64 { return r.clock }

// DueKeys returns up to limit keys whose deadline is at or before now, by
// deadline, from the committed deadline index: the leader's active expiry
// reads it instead of scanning the data.
func (s *Store) DueKeys(now int64, limit int) ([][]byte, error) {
	var keys [][]byte
	if now < s.deadlineFloor {
		return nil, nil
	}
	err := s.scanDeadlines(deadlineKey(now+1, nil), func(it iterator) bool {
		keys = append(keys, bytes.Clone(it.Key()[len(prefixDeadlines)+8:]))
		return len(keys) < limit
	})
	return keys, err
}

// NextDeadline returns the earliest deadline in the committed index, or 0.
func (s *Store) NextDeadline() (int64, error) {
	var next int64
	err := s.scanDeadlines(prefixDeadlinesEnd, func(it iterator) bool {
		next = int64(binary.BigEndian.Uint64(it.Key()[len(prefixDeadlines):]))
		return false
	})
	return next, err
}

// scanDeadlines walks the index from the floor up to upper while fn says
// go on. The floor is at or below every deadline in the index: deleted
// entries stay as tombstones until Pebble compacts them, and a seek from
// the start of the index would step over all of them each time (a
// million expired keys would make each look cost a million steps).
func (s *Store) scanDeadlines(upper []byte, fn func(iterator) bool) error {
	return recoverFatal(func() error {
		it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: deadlineKey(s.deadlineFloor, nil), UpperBound: upper})
		if err != nil {
			return err
		}
		first := true
		for valid := it.First(); valid; valid = it.Next() {
			if first {
				s.deadlineFloor = int64(binary.BigEndian.Uint64(it.Key()[len(prefixDeadlines):]))
				first = false
			}
			if !fn(it) {
				break
			}
		}
		return it.Close()
	})
}

// lowerDeadlineFloor makes room below the floor for a deadline written.
func (s *Store) lowerDeadlineFloor(d int64) {
	if d != 0 && d < s.deadlineFloor {
		s.deadlineFloor = d
	}
}
