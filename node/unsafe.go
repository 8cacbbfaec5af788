package node

import (
	"math"

	"github.com/seshat-db/seshat/kv"
	"github.com/seshat-db/seshat/storage"
)

// readableIndex is the applied index that confirmed reads wait for.
func (n *Node) readableIndex() uint64 {
	if n.cfg.UnsafeEarlyReads {
		return math.MaxUint64 // TEST ONLY: serve at once
	}
	return n.store.Applied()
}

// divergeNext (TEST ONLY, UnsafeDivergeAt) changes the value of one key
// the batch wrote, on this node only, and reports whether it found one.
func (n *Node) divergeNext(batch *storage.Batch) bool {
	key := []byte("k1")
	v, found, err := batch.Get(key)
	if err != nil || !found {
		return false
	}
	return batch.Put(key, kv.Item{Value: append(append([]byte{}, v.Value...), '!'), Deadline: v.Deadline}, &v) == nil
}
