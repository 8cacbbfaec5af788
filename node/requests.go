package node

import (
	"github.com/seshat-db/seshat/internal/mutant"
	"github.com/seshat-db/seshat/kv"
)

// requests holds the client request groups a node has in flight, from
// Submit to their answer: by key for raft's answers, and in arrival order
// for their deadlines. It knows nothing of raft; the node tells it what
// happened (an entry applied, a read confirmed, the leader lost, a tick).
type requests struct {
	writes     map[uint64]*request   // by seq, until applied or expired
	reads      map[uint64][]*request // a ReadIndex round's reads, by its context, until it is answered
	inflight   []*request            // every live request, oldest first: expiry order
	readsReady []readyRead           // confirmed reads waiting for apply to catch up
	replies    []reply               // answers to give once the current batch is durable
}

// request is one group of client operations: all reads, served at one
// ReadIndex, or all writes, proposed as one entry. Its ops share its fate:
// a group that fails gives every op the same error.
type request struct {
	ops      []kv.Op
	done     func([]kv.Result)
	deadline uint64 // tick
	retryAt  uint64 // tick: when to ask again (a read) or propose again (a write)
	entry    []byte // a write's encoded entry, proposed again as is
	key      uint64 // its key in writes or reads
	roundPos int    // a read's place in its round, r.reads[key]
	isWrite  bool
	finished bool
	// readIndex is the index a confirmed read may be served at, once
	// applied; 0 for a read that was never confirmed (UnsafeLocalReads).
	readIndex uint64
	confirmed bool // a ReadIndex answer came: the read waits only for apply
}

type readyRead struct {
	index uint64
	req   *request
}

type reply struct {
	req *request
	res []kv.Result
}

func newRequests() requests {
	return requests{writes: map[uint64]*request{}, reads: map[uint64][]*request{}}
}

// fail answers every op of a request that never entered the maps.
func (req *request) fail(err error) {
	req.finished = true
	req.done(errResults(len(req.ops), err))
}

func errResults(n int, err error) []kv.Result {
	res := make([]kv.Result, n)
	for i := range res {
		res[i].Err = err
	}
	return res
}

// track starts req's deadline: it ends at the latest at tick deadline.
func (r *requests) track(req *request, deadline uint64) {
	req.deadline = deadline
	r.inflight = append(r.inflight, req)
}

// addWrite files req as the proposal with sequence number seq.
func (r *requests) addWrite(seq uint64, req *request) {
	req.isWrite = true
	req.key = seq
	r.writes[seq] = req
}

// addRead files req in the ReadIndex round with context ctx, taking it
// out of the round it waited in before, if any.
func (r *requests) addRead(ctx uint64, req *request) {
	r.dropRead(req)
	req.key = ctx
	req.roundPos = len(r.reads[ctx])
	r.reads[ctx] = append(r.reads[ctx], req)
}

// dropRead takes req out of the round it waits in, if any, in constant
// time: the round's last read takes its place. A round of thousands of
// reads that got no answer is moved or expired read by read.
func (r *requests) dropRead(req *request) {
	round := r.reads[req.key]
	i := req.roundPos
	if i >= len(round) || round[i] != req {
		return // in no round: its round was answered or failed as a whole
	}
	last := len(round) - 1
	round[i] = round[last]
	round[i].roundPos = i
	round[last] = nil
	if last == 0 {
		delete(r.reads, req.key)
	} else {
		r.reads[req.key] = round[:last]
	}
}

// hasRound reports whether any read waits in the round with context ctx.
func (r *requests) hasRound(ctx uint64) bool { return len(r.reads[ctx]) > 0 }

// failRound answers every read of the round with context ctx with err.
func (r *requests) failRound(ctx uint64, err error) {
	round := r.reads[ctx]
	delete(r.reads, ctx)
	for _, req := range round {
		r.finishErr(req, err)
	}
}

// applied queues the answer of the write with sequence number seq, if
// it is still waiting: it is given once the batch that applied it is
// durable (answerDurable).
func (r *requests) applied(seq uint64, res []kv.Result) {
	if req, ok := r.writes[seq]; ok {
		delete(r.writes, seq)
		r.replies = append(r.replies, reply{req: req, res: res})
	}
}

// answerDurable gives the answers queued by applied.
func (r *requests) answerDurable() {
	for _, rp := range r.replies {
		r.finish(rp.req, rp.res)
	}
	clear(r.replies)
	r.replies = r.replies[:0]
}

// readConfirmed records that the reads of the round with context ctx may
// be served once the node has applied index.
func (r *requests) readConfirmed(ctx, index uint64) {
	round, ok := r.reads[ctx]
	if !ok {
		return
	}
	delete(r.reads, ctx)
	for _, req := range round {
		if req.finished || req.confirmed {
			continue // the first confirmation stands: it is the one queued
		}
		req.confirmed = true
		req.readIndex = index
		r.readsReady = append(r.readsReady, readyRead{index: index, req: req})
	}
}

// serveReady serves, with serve, the confirmed reads whose index is
// applied, and keeps the others waiting.
func (r *requests) serveReady(applied uint64, serve func(*request)) {
	waiting := r.readsReady[:0]
	for _, rr := range r.readsReady {
		if rr.req.finished {
			continue
		}
		if rr.index <= applied || mutant.On(mutant.ReadBeforeApplied) {
			serve(rr.req)
			continue
		}
		waiting = append(waiting, rr)
	}
	clear(r.readsReady[len(waiting):])
	r.readsReady = waiting
}

// expire fails requests past their deadline at tick now, and hands retry
// the reads that got no ReadIndex answer and the writes not yet applied by
// their retryAt.
func (r *requests) expire(now uint64, retry func(*request)) {
	live := r.inflight[:0]
	for _, req := range r.inflight {
		switch {
		case req.finished:
			continue
		case now >= req.deadline && req.isWrite:
			r.finishErr(req, ErrOutcomeUnknown)
			continue
		case now >= req.deadline:
			r.finishErr(req, ErrReadTimeout)
			continue
		case !req.confirmed && now >= req.retryAt:
			// A confirmed read waits only for apply: asking again would
			// queue it a second time, at another index.
			retry(req)
		}
		live = append(live, req)
	}
	clear(r.inflight[len(live):])
	r.inflight = live
}

// finish answers a request once. Map entries that still point at it are
// dropped lazily: a finished request ignores later answers.
func (r *requests) finish(req *request, res []kv.Result) {
	if req.finished {
		return
	}
	req.finished = true
	if req.isWrite {
		delete(r.writes, req.key)
	} else {
		r.dropRead(req)
	}
	req.done(res)
}

// handOff takes req out of the node's hands: something else (a worker)
// answers it, never expiry or failAll.
func (r *requests) handOff(req *request) {
	req.finished = true
	if !req.isWrite {
		r.dropRead(req)
	}
}

// finishErr answers every op of a request with err.
func (r *requests) finishErr(req *request, err error) {
	if !req.finished {
		r.finish(req, errResults(len(req.ops), err))
	}
}

// failAll answers every live request: reads did not happen; writes may
// have. Called when the node stops.
func (r *requests) failAll(readErr, writeErr error) {
	for _, req := range r.inflight {
		if req.isWrite {
			r.finishErr(req, writeErr)
		} else {
			r.finishErr(req, readErr)
		}
	}
	clear(r.inflight)
	r.inflight = r.inflight[:0]
	clear(r.writes)
	clear(r.reads)
	r.readsReady = nil
}

// leaderLost answers what was in flight through the old leader. A read
// did nothing: it is taken out and returned, for the node to run again
// under the next leader (parked.go) as a new request with the same ops
// and answer. A write may be lost or may still commit: a new leader
// commits the entries of earlier terms that it holds with its first
// entry, so a write that reached it applies about an election later. A
// write keeps its place (and the answer of its apply, when it comes)
// until graceEnd (see WriteGraceElections), then ends UNKNOWN. Failing
// writes at once answered UNKNOWN for writes that were applied a moment
// later.
func (r *requests) leaderLost(graceEnd uint64) (reads []*request) {
	clear(r.reads) // every read leaves below: spare each a search of its round
	for _, req := range r.inflight {
		switch {
		case req.finished:
		case req.isWrite:
			req.deadline = min(req.deadline, graceEnd)
		default:
			req.finished = true // this copy is done; a later answer to it is ignored
			reads = append(reads, &request{ops: req.ops, done: req.done})
		}
	}
	r.readsReady = nil
	return reads
}

// WriteGraceElections: see requests.leaderLost. Two election timeouts
// elect a new leader (raft draws the timeout from [1, 2) of
// ElectionTicks); one more lets it commit its first entry and the
// proposer apply it.
const WriteGraceElections = 3

// compact drops finished requests and returns how many are left. expire
// does the same each tick; this runs only when the list looks full, so
// Process stays free of a scan per Ready.
func (r *requests) compact() int {
	live := r.inflight[:0]
	for _, req := range r.inflight {
		if !req.finished {
			live = append(live, req)
		}
	}
	clear(r.inflight[len(live):])
	r.inflight = live
	return len(r.inflight)
}
