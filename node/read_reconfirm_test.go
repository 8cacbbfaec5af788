package node

import (
	pb "go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/proto"

	"testing"

	"github.com/seshat-db/seshat/kv"
)

// A confirmed read still waiting for apply was asked again once its
// retryAt passed; the second confirmation overwrote its read index while
// the first stayed queued, so it was served below its read index and
// serveRead's assertion panicked the node (found in review). A follower
// that applies slowly for longer than ReadRetryTicks after a confirmation
// (catching up after a partition, installing a snapshot) met it.
func TestConfirmedReadIsNotAskedAgain(t *testing.T) {
	r := newRequests()
	req := &request{ops: []kv.Op{{Kind: kv.Get}}, done: func([]kv.Result) {}}
	r.track(req, 1000)
	// askReadIndex at tick 0, retryAt 20
	req.retryAt = 20
	r.addRead(1, req)
	r.readConfirmed(1, 10) // confirmed at 10; applied is 5: it waits
	r.serveReady(5, func(*request) { t.Fatal("served before applied") })
	// 20 ticks on, still not applied: expire asks again with a new context
	retried := false
	r.expire(20, func(q *request) {
		retried = true
		q.retryAt = 40
		r.addRead(2, q)
	})
	if retried {
		t.Fatal("a confirmed read waiting for apply was asked again")
	}
	r.readConfirmed(2, 15) // a stray second confirmation changes nothing
	r.serveReady(10, func(q *request) {
		if q.readIndex > 10 {
			t.Fatalf("served at applied 10 with readIndex %d: node.serveRead's assertion panics the node", q.readIndex)
		}
	})
}

// The same in a cluster: a follower that cannot apply past its first read
// confirmation for longer than ReadRetryTicks re-asks, gets a second,
// higher confirmation, and panics once it applies up to the first.
func TestSlowFollowerServesReconfirmedReadsSafely(t *testing.T) {
	cfg := testConfig()
	cfg.RequestTimeoutTicks, cfg.ReadRetryTicks = 200, 5
	cfg.MessageBytesMax = 1 // one entry per MsgApp
	c := newCluster(t, 3, cfg)
	lead := c.leader()
	f := c.follower(lead)
	if res := c.do(lead, set("k", "0")); res.Err != nil {
		t.Fatal(res.Err)
	}
	c.converged()
	entriesBeyond := func(m message, limit uint64) bool {
		hdr, body, err := decodeEnvelope(m.Data)
		var pm pb.Message
		if err != nil || hdr.kind != peerRaft || proto.Unmarshal(body, &pm) != nil || pm.GetType() != pb.MessageType_MsgApp {
			return false
		}
		for _, e := range pm.GetEntries() {
			if e.GetIndex() > limit {
				return true
			}
		}
		return false
	}
	limit := c.node(lead).Status().Commit
	c.drop = func(m message) bool { return m.To == f && entriesBeyond(m, limit) }
	if res := c.do(lead, set("k", "1")); res.Err != nil {
		t.Fatal(res.Err)
	}
	c1 := c.node(lead).Status().Commit
	read := c.submit(f, get("k"))
	c.settle()
	if res := c.do(lead, set("k", "2")); res.Err != nil {
		t.Fatal(res.Err)
	}
	c.ticks(8) // past ReadRetryTicks: the follower asks again, at a higher commit
	if read.n != 0 {
		t.Fatalf("read answered early: %+v", read.res)
	}
	defer func() {
		if r := recover(); r != nil {
			t.Fatalf("the follower panicked once it applied its first read index %d: %v", c1, r)
		}
	}()
	limit = c1 // let it apply up to the first confirmation only
	c.ticks(5)
	c.drop = nil
	if res := c.wait(read); res.Err != nil {
		t.Fatalf("read: %+v", res)
	}
}
