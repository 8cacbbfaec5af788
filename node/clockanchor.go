package node

import pb "go.etcd.io/raft/v3/raftpb"

// receipts remembers the tick at which each entry still to be applied
// reached this node's log, so the applied clock is anchored where the
// stamps it holds are known to have been given: no later than the entry's
// receipt. Anchoring at the apply instead would lose, at every hand-over,
// the time the new leader's first entry took to commit (the whole
// election, when the old leader's last entries commit only with it).
type receipts struct {
	// index[head:] and tick[head:] are the entries not yet taken. Those
	// before head are dropped when the next entries are appended, so the
	// arrays are reused, not reallocated, batch after batch; arrays grown
	// past receiptsKeptMax (a long catch-up) are let go once emptied.
	index []uint64
	tick  []uint64
	head  int
}

// appended notes entries appended to the log at tick now: they replace
// any entry from their first index on.
func (r *receipts) appended(entries []*pb.Entry, now uint64) {
	if len(entries) == 0 {
		return
	}
	first := entries[0].GetIndex()
	keep := len(r.index)
	for keep > r.head && r.index[keep-1] >= first {
		keep--
	}
	n := copy(r.index, r.index[r.head:keep])
	copy(r.tick, r.tick[r.head:keep])
	r.index, r.tick, r.head = r.index[:n], r.tick[:n], 0
	for _, e := range entries {
		r.index = append(r.index, e.GetIndex())
		r.tick = append(r.tick, now)
	}
}

// take returns the tick at which entry index reached the log, and forgets
// it and every entry before it; now if it is not known (it was in the log
// before a restart, or came in a snapshot).
func (r *receipts) take(index, now uint64) uint64 {
	drop := r.head
	for drop < len(r.index) && r.index[drop] < index {
		drop++
	}
	at := now
	if drop < len(r.index) && r.index[drop] == index {
		at = min(r.tick[drop], now)
		drop++
	}
	r.head = drop
	if r.head == len(r.index) && cap(r.index) > receiptsKeptMax {
		r.index, r.tick, r.head = nil, nil, 0
	}
	return at
}

// receiptsKeptMax bounds the receipts' arrays kept once empty.
const receiptsKeptMax = 4096

// isStamped reports whether an entry carries a cluster-time stamp.
func isStamped(e *pb.Entry) bool {
	d := e.GetData()
	return e.GetType() == pb.EntryType_EntryNormal && len(d) > 0 && (d[0] == entryStamped || d[0] == entryClock)
}
