package node

import (
	"testing"

	pb "go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/proto"
	"pgregory.net/rapid"
)

// oldReceipts is receipts as it was before its arrays were reused (a
// head index): the reference the reuse must answer as.
type oldReceipts struct{ index, tick []uint64 }

func (r *oldReceipts) appended(entries []*pb.Entry, now uint64) {
	if len(entries) == 0 {
		return
	}
	first := entries[0].GetIndex()
	keep := len(r.index)
	for keep > 0 && r.index[keep-1] >= first {
		keep--
	}
	r.index, r.tick = r.index[:keep], r.tick[:keep]
	for _, e := range entries {
		r.index = append(r.index, e.GetIndex())
		r.tick = append(r.tick, now)
	}
}

func (r *oldReceipts) take(index, now uint64) uint64 {
	drop := 0
	for drop < len(r.index) && r.index[drop] < index {
		drop++
	}
	at := now
	if drop < len(r.index) && r.index[drop] == index {
		at = min(r.tick[drop], now)
		drop++
	}
	r.index, r.tick = r.index[drop:], r.tick[drop:]
	return at
}

// TestReceiptsMatchOld: appends that replace suffixes (a new leader's
// log), restart past a gap (a snapshot), and takes in and out of order
// (applied entries, indexes never received) answer as before the reuse.
func TestReceiptsMatchOld(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		var r receipts
		var ref oldReceipts
		now, next := uint64(0), uint64(1)
		for range rapid.IntRange(1, 60).Draw(t, "steps") {
			now += uint64(rapid.IntRange(0, 3).Draw(t, "tick"))
			if rapid.Bool().Draw(t, "append") {
				first := max(1, next+uint64(rapid.IntRange(0, 3).Draw(t, "gap")))
				first -= min(first-1, uint64(rapid.IntRange(0, 6).Draw(t, "back")))
				es := make([]*pb.Entry, rapid.IntRange(0, 5).Draw(t, "n"))
				for i := range es {
					es[i] = &pb.Entry{Index: proto.Uint64(first + uint64(i))}
				}
				r.appended(es, now)
				ref.appended(es, now)
				if len(es) > 0 {
					next = first + uint64(len(es))
				}
				continue
			}
			index := max(1, next-min(next, uint64(rapid.IntRange(0, 8).Draw(t, "ago"))))
			if got, want := r.take(index, now), ref.take(index, now); got != want {
				t.Fatalf("take(%d, %d) = %d, before the reuse %d", index, now, got, want)
			}
			if len(r.index)-r.head != len(ref.index) {
				t.Fatalf("%d receipts kept, before the reuse %d", len(r.index)-r.head, len(ref.index))
			}
		}
	})
}
