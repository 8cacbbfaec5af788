package node

// SettleWAL makes Pebble's log writer hand everything this node committed
// to its WAL file before returning (see storage.Store.SettleWAL). For a
// simulator about to crash the machine: it makes what the crash can keep
// independent of goroutine timing.
func (n *Node) SettleWAL() error { return n.store.SettleWAL() }

// StoreDigest returns a hash of every key and value in the node's store,
// raft log and hard state included: a replay must recover the same.
func (n *Node) StoreDigest() (uint64, error) {
	d := newDigest()
	err := n.store.ScanAll(d.add)
	return d.sum(), err
}

// digest is FNV-1a over keys and values, each followed by its length so
// that moving a byte from a key to its value changes the sum.
type digest struct{ h uint64 }

func newDigest() *digest { return &digest{h: 14695981039346656037} }

func (d *digest) add(key, value []byte) {
	for _, b := range [][]byte{key, value} {
		for _, c := range b {
			d.h ^= uint64(c)
			d.h *= 1099511628211
		}
		d.h ^= uint64(len(b))
		d.h *= 1099511628211
	}
}

func (d *digest) sum() uint64 { return d.h }
