package storage

import (
	"github.com/seshat-db/seshat/kv"
)

// ReadSnapshot is the user data as of the applied index when it was taken,
// pinned so that a long read sees one consistent state however many writes
// apply meanwhile. Unlike the Store, it may be read from a goroutine other
// than the store's (Pebble snapshots are safe for that); it must be closed
// before the Store is.
type ReadSnapshot struct {
	snap    engineSnapshot
	applied uint64
	keys    int64
	clock   int64
}

// NewReadSnapshot pins the committed data as of now.
func (s *Store) NewReadSnapshot() *ReadSnapshot {
	return &ReadSnapshot{snap: s.db.NewSnapshot(), applied: s.applied, keys: s.keyCount, clock: s.clock}
}

// Applied is the applied index the snapshot holds the data of.
func (r *ReadSnapshot) Applied() uint64 { return r.applied }

// Get implements kv.Store.Get. The value is a copy.
func (r *ReadSnapshot) Get(key []byte) (kv.Item, bool, error) { return getItem(r.snap, key) }

// Put implements kv.Store.Put; a read never writes.
func (r *ReadSnapshot) Put([]byte, kv.Item, *kv.Item) error {
	panic("storage: write through a read snapshot")
}

// Delete implements kv.Store.Delete; a read never writes.
func (r *ReadSnapshot) Delete([]byte, kv.Item) error { panic("storage: write through a read snapshot") }

// Len implements kv.Store.Len: the key count as of the snapshot.
func (r *ReadSnapshot) Len() (int64, error) { return r.keys, nil }

// Close releases the pinned data.
func (r *ReadSnapshot) Close() error { return r.snap.Close() }
