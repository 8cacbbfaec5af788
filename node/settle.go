package node

// SettleWAL makes Pebble's log writer hand everything this node committed
// to its WAL file before returning (see storage.Store.SettleWAL). For a
// simulator about to crash the machine: it makes what the crash can keep
// independent of goroutine timing.
func (n *Node) SettleWAL() error { return n.store.SettleWAL() }

// StoreDigest returns a hash of every key and value in the node's store,
// raft log and hard state included: a replay must recover the same.
func (n *Node) StoreDigest() (uint64, error) {
	h := uint64(14695981039346656037)
	mix := func(b []byte) {
		for _, c := range b {
			h ^= uint64(c)
			h *= 1099511628211
		}
		h ^= uint64(len(b))
		h *= 1099511628211
	}
	err := n.store.ScanAll(func(k, v []byte) { mix(k); mix(v) })
	return h, err
}
