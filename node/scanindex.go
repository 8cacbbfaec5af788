package node

// CheckScanIndex checks that the store's SCAN index names exactly the
// keys it holds (storage.CheckScanIndex); it reads the whole store. For
// the simulator's checks over every replica.
func (n *Node) CheckScanIndex() error { return n.store.CheckScanIndex() }
