package sim

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// TestEventQueueOrder pushes and pops at random and checks that events come
// out in (at, seq) order, ties in the order they were scheduled.
func TestEventQueueOrder(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var q eventQueue
	var want []event
	seq := uint64(0)
	var now time.Duration
	for range 20000 {
		if q.Len() == 0 || rng.IntN(3) > 0 {
			seq++
			ev := event{at: now + time.Duration(rng.IntN(50)), seq: seq}
			q.push(ev)
			want = append(want, ev)
			continue
		}
		got := q.pop()
		i := slices.IndexFunc(want, func(e event) bool { return e.seq == got.seq })
		for _, e := range want {
			if e.before(&got) {
				t.Fatalf("popped at=%d seq=%d while at=%d seq=%d waits", got.at, got.seq, e.at, e.seq)
			}
		}
		want = slices.Delete(want, i, i+1)
		now = got.at
	}
}
