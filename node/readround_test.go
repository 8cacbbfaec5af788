package node

import (
	"testing"

	"pgregory.net/rapid"

	"github.com/seshat-db/seshat/kv"
)

// The ReadIndex rounds stay consistent whatever reads join, move between
// rounds, finish or are confirmed: every read waiting for an answer is in
// exactly one round, at the place it records (dropRead's constant-time
// removal depends on it), and a confirmed round queues each of its
// unfinished reads once.
func TestReadRoundsProperty(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		r := newRequests()
		var reqs []*request
		var rounds uint64 = 1
		for range rapid.IntRange(1, 200).Draw(t, "steps") {
			switch rapid.IntRange(0, 3).Draw(t, "action") {
			case 0: // a new read joins the current round
				req := &request{ops: make([]kv.Op, 1), done: func([]kv.Result) {}}
				reqs = append(reqs, req)
				r.addRead(rounds, req)
			case 1: // a read moves to a new round (a retry)
				if len(reqs) > 0 {
					req := reqs[rapid.IntRange(0, len(reqs)-1).Draw(t, "moved")]
					if !req.finished && !req.confirmed {
						rounds++
						r.addRead(rounds, req)
					}
				}
			case 2: // a read ends (expiry, a refusal)
				if len(reqs) > 0 {
					r.finishErr(reqs[rapid.IntRange(0, len(reqs)-1).Draw(t, "ended")], ErrReadTimeout)
				}
			case 3: // a round is confirmed
				ctx := rapid.Uint64Range(1, rounds).Draw(t, "confirmed")
				before := len(r.readsReady)
				want := 0
				for _, req := range r.reads[ctx] {
					if !req.finished && !req.confirmed {
						want++
					}
				}
				r.readConfirmed(ctx, 7)
				if got := len(r.readsReady) - before; got != want {
					t.Fatalf("round %d confirmed %d reads, want %d", ctx, got, want)
				}
			}
			seen := map[*request]int{}
			for ctx, round := range r.reads {
				for i, req := range round {
					seen[req]++
					if req.key != ctx || req.roundPos != i {
						t.Fatalf("a read at place %d of round %d records place %d of round %d", i, ctx, req.roundPos, req.key)
					}
					if req.finished || req.confirmed {
						t.Fatalf("a finished or confirmed read still waits in round %d", ctx)
					}
				}
			}
			for _, req := range reqs {
				waiting := !req.finished && !req.confirmed
				if waiting && seen[req] != 1 || !waiting && seen[req] != 0 {
					t.Fatalf("a read (finished %v, confirmed %v) is in %d rounds", req.finished, req.confirmed, seen[req])
				}
			}
		}
	})
}
