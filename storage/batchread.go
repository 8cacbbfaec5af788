package storage

import "github.com/seshat-db/seshat/kv"

// written tracks the user keys a Batch has written, by hash, so that a
// read of any other key goes straight to the store. Reading through the
// indexed batch instead costs two iterator allocations and a seek of the
// batch's own skiplist on every Get: most of the reads in apply are a
// SET's look at the old value of a key the batch never touched. A hash
// collision only sends a read the slow (and always right) way.
type written struct {
	few     [16]uint64 // the first hashes, kept inline: most batches write few keys
	nFew    int
	keys    map[uint64]struct{} // the rest
	cleared bool                // a range deletion of the data (FLUSHALL): every read goes through the batch
}

func (w *written) note(key []byte) {
	h := keyHash64(key)
	if w.nFew < len(w.few) {
		w.few[w.nFew] = h
		w.nFew++
		return
	}
	if w.keys == nil {
		w.keys = make(map[uint64]struct{})
	}
	w.keys[h] = struct{}{}
}

func (w *written) mayHold(key []byte) bool {
	if w.cleared {
		return true
	}
	h := keyHash64(key)
	for _, f := range w.few[:w.nFew] {
		if f == h {
			return true
		}
	}
	_, ok := w.keys[h]
	return ok
}

// keyHash64 is FNV-1a: deterministic, no allocation.
func keyHash64(key []byte) uint64 {
	h := uint64(14695981039346656037)
	for _, c := range key {
		h ^= uint64(c)
		h *= 1099511628211
	}
	return h
}

// Get implements kv.Store.Get: the batch's own write of key if it made
// one, else the store's (the host goroutine is the data's only writer,
// so the store holds what the batch started from).
func (b *Batch) Get(key []byte) (kv.Item, bool, error) {
	if b.written.mayHold(key) {
		return getItem(b.engine(), key)
	}
	return getItem(b.s.db, key)
}
