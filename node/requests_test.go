package node

import (
	"errors"
	"testing"

	"github.com/seshat-db/seshat/kv"
)

// answered records the answers a request gets.
type answered struct{ calls [][]kv.Result }

func (a *answered) req(ops ...kv.Op) *request {
	return &request{ops: ops, done: func(res []kv.Result) { a.calls = append(a.calls, res) }}
}

func (a *answered) onlyErr(t *testing.T, want error) {
	t.Helper()
	if len(a.calls) != 1 {
		t.Fatalf("answered %d times, want once", len(a.calls))
	}
	for _, r := range a.calls[0] {
		if !errors.Is(r.Err, want) {
			t.Fatalf("answer %v, want %v", r.Err, want)
		}
	}
}

func TestRequestsWriteAnsweredOnlyOnceDurable(t *testing.T) {
	r := newRequests()
	var a answered
	req := a.req(kv.Op{Kind: kv.Set, Keys: [][]byte{[]byte("k")}})
	r.addWrite(7, req)
	r.track(req, 10)
	r.applied(7, []kv.Result{{}})
	if len(a.calls) != 0 {
		t.Fatal("a write was answered before its batch was durable")
	}
	r.answerDurable()
	r.answerDurable()
	r.applied(7, []kv.Result{{}}) // a duplicate apply finds nobody waiting
	r.answerDurable()
	if len(a.calls) != 1 || a.calls[0][0].Err != nil {
		t.Fatalf("answers %v, want one success", a.calls)
	}
	if len(r.writes) != 0 {
		t.Fatal("an answered write stayed in the map")
	}
}

func TestRequestsExpireWritesUnknownReadsTimeout(t *testing.T) {
	r := newRequests()
	var w, rd answered
	write := w.req(kv.Op{Kind: kv.Set, Keys: [][]byte{[]byte("k")}})
	read := rd.req(kv.Op{Kind: kv.Get, Keys: [][]byte{[]byte("k")}})
	r.addWrite(1, write)
	write.retryAt = 4
	r.track(write, 5)
	r.addRead(2, read)
	read.retryAt = 3
	r.track(read, 6)
	var retried []*request
	retry := func(req *request) { retried = append(retried, req) }
	r.expire(3, retry)
	if len(retried) != 1 || retried[0] != read || len(w.calls)+len(rd.calls) != 0 {
		t.Fatalf("at tick 3: retried %d, answered %d+%d", len(retried), len(w.calls), len(rd.calls))
	}
	read.retryAt = 10
	r.expire(4, retry) // the write, not yet applied, is proposed again
	if len(retried) != 2 || retried[1] != write || len(w.calls) != 0 {
		t.Fatalf("at tick 4: retried %d, write answered %d times", len(retried), len(w.calls))
	}
	r.expire(5, retry)
	w.onlyErr(t, ErrOutcomeUnknown)
	r.expire(6, retry)
	rd.onlyErr(t, ErrReadTimeout)
	if len(r.inflight) != 0 || len(r.writes)+len(r.reads) != 0 {
		t.Fatalf("expired requests left behind: %d inflight, %d writes, %d reads", len(r.inflight), len(r.writes), len(r.reads))
	}
}

func TestRequestsLeaderLostReturnsReadsAndGivesWritesGrace(t *testing.T) {
	r := newRequests()
	var w, rd answered
	write := w.req(kv.Op{Kind: kv.Set, Keys: [][]byte{[]byte("k")}})
	read := rd.req(kv.Op{Kind: kv.Get, Keys: [][]byte{[]byte("k")}})
	r.addWrite(1, write)
	r.track(write, 100)
	r.addRead(2, read)
	r.track(read, 100)
	r.readConfirmed(2, 9)
	again := r.leaderLost(40)
	if len(again) != 1 || len(rd.calls) != 0 || !read.finished || again[0].finished || len(again[0].ops) != 1 {
		t.Fatalf("leaderLost returned %d reads (the read answered %d times): want the read back, unanswered, as a new request", len(again), len(rd.calls))
	}
	again[0].fail(ErrNoQuorum)
	rd.onlyErr(t, ErrNoQuorum)
	if len(w.calls) != 0 || write.deadline != 40 || len(r.readsReady) != 0 {
		t.Fatalf("write answered %d times, deadline %d; %d reads ready", len(w.calls), write.deadline, len(r.readsReady))
	}
	// Its apply, inside the grace, still answers it.
	r.applied(1, []kv.Result{{}})
	r.answerDurable()
	if len(w.calls) != 1 || w.calls[0][0].Err != nil {
		t.Fatalf("write answers %v, want its apply's", w.calls)
	}
}

func TestRequestsServeReadyWaitsForApply(t *testing.T) {
	r := newRequests()
	var a answered
	read := a.req(kv.Op{Kind: kv.Get, Keys: [][]byte{[]byte("k")}})
	r.addRead(3, read)
	r.track(read, 100)
	r.readConfirmed(3, 10)
	r.readConfirmed(3, 10) // a second confirmation finds nothing
	var served []*request
	serve := func(req *request) { served = append(served, req); r.finish(req, []kv.Result{{}}) }
	r.serveReady(9, serve)
	if len(served) != 0 {
		t.Fatal("a read was served before its index was applied")
	}
	r.serveReady(10, serve)
	if len(served) != 1 || len(r.readsReady) != 0 || len(a.calls) != 1 {
		t.Fatalf("served %d, %d still ready, answered %d", len(served), len(r.readsReady), len(a.calls))
	}
}

func TestRequestsFailAllAnswersEveryoneOnce(t *testing.T) {
	r := newRequests()
	var w, rd answered
	write := w.req(kv.Op{Kind: kv.Set, Keys: [][]byte{[]byte("k")}})
	read := rd.req(kv.Op{Kind: kv.Get, Keys: [][]byte{[]byte("k")}})
	r.addWrite(1, write)
	r.track(write, 100)
	r.addRead(2, read)
	r.track(read, 100)
	r.failAll(ErrStopped, ErrOutcomeUnknown)
	r.failAll(ErrStopped, ErrOutcomeUnknown)
	w.onlyErr(t, ErrOutcomeUnknown)
	rd.onlyErr(t, ErrStopped)
	if r.compact() != 0 {
		t.Fatal("requests left after failAll")
	}
}

func TestSnapTransfersReceiveFollowsOneTransfer(t *testing.T) {
	var tr snapTransfers
	if in, _ := tr.receive(snapChunk{from: 2, id: 5, seq: 1}); in != nil {
		t.Fatal("a later chunk started a transfer")
	}
	in, fresh := tr.receive(snapChunk{from: 2, id: 5, seq: 0})
	if in == nil || !fresh {
		t.Fatal("a first chunk did not start a transfer")
	}
	in.next = 1
	if again, fresh := tr.receive(snapChunk{from: 2, id: 5, seq: 1}); again != in || fresh {
		t.Fatal("the next chunk did not continue the transfer")
	}
	if other, fresh := tr.receive(snapChunk{from: 3, id: 6, seq: 0}); other == in || !fresh {
		t.Fatal("another sender's first chunk did not replace the transfer")
	}
}

func TestSnapTransfersAckedMatchesChunkInFlight(t *testing.T) {
	tr := snapTransfers{sending: []*outgoingSnap{{to: 2, id: 9, seq: 3}, {to: 3, id: 9, seq: 0}}}
	if tr.acked(snapAck{from: 2, id: 9, seq: 2}) != nil {
		t.Fatal("an old ack matched")
	}
	if got := tr.acked(snapAck{from: 2, id: 9, seq: 3}); got != tr.sending[0] {
		t.Fatal("the ack of the chunk in flight did not match")
	}
	if tr.to(3) != tr.sending[1] || tr.to(4) != nil {
		t.Fatal("to found the wrong transfer")
	}
}
