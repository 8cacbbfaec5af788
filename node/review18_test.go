package node

import (
	"github.com/seshat-db/seshat/kv"
	"testing"
	"time"
)

// review18: a ReadIndex round is a slice, and taking a read out of it
// (dropRead: a retry moving it to the next round, an expiry, failAll) is
// a search and a shift of the whole slice. A round of RequestsInflightMax
// (10,000) reads that gets no answer (a follower cut off from its leader,
// which still names it) costs 10,000 x 10,000 at each retry and again at
// expiry, on the host goroutine. Here: the cost of moving 10,000 reads to
// a new round against 1,000, which a map or an index per request keeps
// linear (about 10x); quadratic is 100x.
func TestReview18RoundMovesAreLinear(t *testing.T) {
	move := func(n int) time.Duration {
		r := newRequests()
		reqs := make([]*request, n)
		for i := range reqs {
			reqs[i] = &request{ops: make([]kv.Op, 1), done: func([]kv.Result) {}}
			r.addRead(1, reqs[i])
		}
		start := time.Now()
		for _, req := range reqs {
			r.addRead(2, req) // what askReadIndex does for each retried read
		}
		for _, req := range reqs {
			r.finishErr(req, ErrReadTimeout) // what expire does at the deadline
		}
		return time.Since(start)
	}
	move(1000)
	small, big := move(2000), move(20000)
	if ratio := float64(big) / float64(small); ratio > 30 {
		t.Errorf("moving and expiring 20,000 reads took %v, 2,000 took %v: %.0fx for 10x the reads", big, small, ratio)
	}
}
