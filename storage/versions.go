package storage

import (
	"encoding/binary"
	"fmt"
	"hash/fnv"

	"github.com/seshat-db/seshat/kv"
)

// WATCH's state (kv/txn.go): every data record carries the index of the
// write that stored it (recordVersion), and each of vanishedBuckets
// buckets of keys holds the highest index at which one of its keys
// stopped being live by a deletion. Both are state-machine state, written
// in the batch that applies the write: snapshots and backups carry them
// (snapshotSpans, Backup). A fixed number of buckets keeps the state
// bounded: a per-key tombstone would stay forever, since no replica can
// know that no client still watches the key.
var (
	prefixVanished    = []byte("w/") // + 2-byte big-endian bucket: uint64 index
	prefixVanishedEnd = []byte("w0")
)

const vanishedBuckets = 4096

func vanishedKey(userKey []byte) []byte {
	h := fnv.New32a()
	_, _ = h.Write(userKey)
	return bucketKey(uint16(h.Sum32() % vanishedBuckets))
}

func bucketKey(bucket uint16) []byte {
	return binary.BigEndian.AppendUint16(append([]byte{}, prefixVanished...), bucket)
}

func getVanished(g getter, userKey []byte) (uint64, error) {
	key := vanishedKey(userKey)
	v, found, err := get(g, key)
	if err != nil || !found {
		return 0, err
	}
	if len(v) != 8 {
		return 0, fmt.Errorf("storage: %q holds %d bytes, want 8", key, len(v))
	}
	return binary.BigEndian.Uint64(v), nil
}

// noteVanished records that key, holding old, is deleted by the entry
// being applied.
func (b *Batch) noteVanished(key []byte, old kv.Item) error {
	at := kv.TombstoneIndex(old, b.clock, b.applied+1)
	cur, err := getVanished(b.engine(), key)
	if err != nil || at <= cur {
		return err
	}
	return b.engine().Set(vanishedKey(key), uint64Value(at), nil)
}

// VanishAll marks every bucket at the entry being applied (kv.BumpAllWatch):
// what a FLUSHALL or FLUSHDB must do, because its range deletion of the
// data notes no key's bucket, and a key written after a WATCH that saw it
// absent, then flushed, would look unchanged. 4,096 small writes, once per
// flush; it aborts every transaction watching an absent key across the
// flush, more than Redis does (it flags only the watched keys the flush
// found), never fewer.
func (b *Batch) VanishAll() error {
	at := uint64Value(b.applied + 1)
	for i := range vanishedBuckets {
		if err := b.engine().Set(bucketKey(uint16(i)), at, nil); err != nil {
			return err
		}
	}
	return nil
}

// Vanished implements kv.Versions.
func (b *Batch) Vanished(key []byte) (uint64, error) { return getVanished(b.engine(), key) }

// Applied implements kv.Versions: the state as of the last committed entry.
func (r ReadView) Applied() uint64 { return r.s.applied }

// Vanished implements kv.Versions.
func (r ReadView) Vanished(key []byte) (uint64, error) { return getVanished(r.s.db, key) }

// Vanished implements kv.Versions.
func (r *ReadSnapshot) Vanished(key []byte) (uint64, error) { return getVanished(r.snap, key) }
