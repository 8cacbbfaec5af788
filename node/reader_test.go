package node

import (
	"fmt"
	"testing"

	"github.com/seshat-db/seshat/kv"
)

func keysOp(kind kv.Kind, n int) kv.Op {
	op := kv.Op{Kind: kind}
	for i := range n {
		op.Keys = append(op.Keys, []byte(fmt.Sprintf("k%d", i)))
	}
	return op
}

func msetAll(n int, v string) kv.Op {
	op := keysOp(kv.MSet, n)
	for range n {
		op.Values = append(op.Values, []byte(v))
	}
	return op
}

// confirmed submits op at node id and settles until the node has handed it
// to the worker (or answered it inline).
func (c *cluster) confirmed(id uint64, op kv.Op) *call {
	cl := c.submit(id, op)
	for range 20 {
		c.settle()
		if c.work.Pending() > 0 || cl.n > 0 {
			break
		}
		c.tick()
	}
	return cl
}

// TestLongReadIsOneSnapshot: writes that apply between a long read's chunks
// are invisible to it; it answers the data as of its confirmation.
func TestLongReadIsOneSnapshot(t *testing.T) {
	cfg := testConfig()
	cfg.ReadChunkKeys = 2
	c := newCluster(t, 1, cfg)
	lead := c.leader()
	const keys = 7
	c.do(lead, msetAll(keys, "a"))
	for _, id := range []uint64{lead, c.follower(lead)} {
		mget := c.confirmed(id, keysOp(kv.MGet, keys))
		exists := c.confirmed(id, keysOp(kv.Exists, keys))
		if mget.n != 0 || exists.n != 0 || c.work.Pending() != 2 {
			t.Fatalf("node %d: long reads answered inline (%d, %d) or not handed over (%d jobs)", id, mget.n, exists.n, c.work.Pending())
		}
		c.work.RunOne() // the MGET's first chunk, before the writes
		if res := c.do(lead, msetAll(keys, "b")); res.Err != nil {
			t.Fatal(res.Err)
		}
		if res := c.do(lead, keysOp(kv.Del, 3)); res.Int != 3 {
			t.Fatalf("del: %+v", res)
		}
		if ran := c.runWork(); ran != 3+4 {
			t.Fatalf("%d chunk jobs ran, want 7 (chunks of 2 of 7 keys, for two reads, one already run)", ran)
		}
		if mget.n != 1 || exists.n != 1 {
			t.Fatalf("answered %d and %d times, want once each", mget.n, exists.n)
		}
		for i, v := range mget.res.Values {
			if string(v) != "a" {
				t.Fatalf("node %d: MGET saw %q at key %d: a write applied after its read index", id, v, i)
			}
		}
		if exists.res.Int != keys {
			t.Fatalf("node %d: EXISTS counted %d, want %d", id, exists.res.Int, keys)
		}
		c.do(lead, msetAll(keys, "a"))
	}
}

// TestShortReadStaysInline: a read of one chunk or less is answered on the
// event goroutine, with no job and no snapshot.
func TestShortReadStaysInline(t *testing.T) {
	cfg := testConfig()
	cfg.ReadChunkKeys = 2
	c := newCluster(t, 1, cfg)
	lead := c.leader()
	c.do(lead, msetAll(2, "x"))
	res := c.do(lead, keysOp(kv.MGet, 2))
	if c.work.Pending() != 0 || len(res.Values) != 2 || string(res.Values[1]) != "x" {
		t.Fatalf("short MGET: %+v, %d jobs queued", res, c.work.Pending())
	}
}

// TestCloseWithLongReadsOutstanding: Close releases the snapshots of reads
// still in the worker's queue (Pebble refuses to close otherwise), and
// their jobs then end without touching the closed store or answering.
func TestCloseWithLongReadsOutstanding(t *testing.T) {
	cfg := testConfig()
	cfg.ReadChunkKeys = 2
	c := newCluster(t, 1, cfg)
	lead := c.leader()
	c.do(lead, msetAll(5, "a"))
	cl := c.confirmed(lead, keysOp(kv.MGet, 5))
	c.work.RunOne() // one chunk read, the next queued
	c.stop(lead)
	if ran := c.runWork(); ran != 1 {
		t.Fatalf("%d jobs ran after close, want the one queued", ran)
	}
	if cl.n != 0 {
		t.Fatalf("a read of a closed node was answered: %+v", cl.res)
	}
}

// TestLongReadsCountTowardInflight: a long read handed to the worker still
// holds memory (its pinned snapshot and the results so far) until it
// answers, so it must count toward RequestsInflightMax; otherwise every
// connection may have one running and nothing bounds them (the worker's
// queue is unbounded on the promise that this bound holds).
func TestLongReadsCountTowardInflight(t *testing.T) {
	cfg := testConfig()
	cfg.ReadChunkKeys = 2
	cfg.RequestsInflightMax = 3
	c := newCluster(t, 1, cfg)
	lead := c.leader()
	c.do(lead, msetAll(7, "a"))
	var calls []*call
	for range cfg.RequestsInflightMax {
		calls = append(calls, c.confirmed(lead, keysOp(kv.MGet, 7)))
	}
	if c.work.Pending() != cfg.RequestsInflightMax {
		t.Fatalf("%d long reads handed to the worker, want %d", c.work.Pending(), cfg.RequestsInflightMax)
	}
	over := c.submit(lead, keysOp(kv.MGet, 7))
	if over.n != 1 || over.res.Err != ErrBusy {
		t.Fatalf("long read %d of a bound of %d: answered %d times with %v, want ErrBusy at once (%d long reads running)",
			cfg.RequestsInflightMax+1, cfg.RequestsInflightMax, over.n, over.res.Err, c.work.Pending())
	}
	c.runWork()
	for i, cl := range calls {
		if cl.n != 1 || cl.res.Err != nil {
			t.Fatalf("long read %d: answered %d times, err %v", i, cl.n, cl.res.Err)
		}
	}
	again := c.confirmed(lead, keysOp(kv.MGet, 7))
	c.runWork()
	if again.n != 1 || again.res.Err != nil {
		t.Fatalf("after the long reads answered, a new one: answered %d times, err %v", again.n, again.res.Err)
	}
}

// TestLongReadReplyBounded: MGET of one key named many times costs a few
// bytes a name in the command and the whole value a name in the reply: a
// 7 MB command of 1,000,000 names (KeysPerReadMax) of a 64 KiB value asks
// for 64 GiB. The resp server's output limits look at a reply only once
// it is built, so the node must refuse to build one past its bound rather
// than take the host's memory.
func TestLongReadReplyBounded(t *testing.T) {
	cfg := testConfig()
	cfg.ReadChunkKeys = 100
	c := newCluster(t, 1, cfg)
	lead := c.leader()
	value := string(make([]byte, 16<<10))
	c.do(lead, set("big", value))
	const names = 4400 // 68.75 MiB of reply, past the default bound
	op := kv.Op{Kind: kv.MGet}
	for range names {
		op.Keys = append(op.Keys, []byte("big"))
	}
	cl := c.confirmed(lead, op)
	c.runWork()
	if cl.n != 1 {
		t.Fatalf("answered %d times", cl.n)
	}
	if cl.res.Err == nil {
		held := 0
		for _, v := range cl.res.Values {
			held += len(v)
		}
		t.Fatalf("MGET of %d names of a 16 KiB value built a reply of %d MiB; want a refusal past ReadReplyBytesMax", names, held>>20)
	}
}

// TestLongReadRefusalSparesTheGroup: a read group is the run of reads a
// client pipelined together; one MGET past ReadReplyBytesMax is refused,
// and the short reads after it in the group are still answered.
func TestLongReadRefusalSparesTheGroup(t *testing.T) {
	cfg := testConfig()
	cfg.ReadChunkKeys = 100
	cfg.ReadReplyBytesMax = 1 << 20
	c := newCluster(t, 1, cfg)
	lead := c.leader()
	c.do(lead, set("big", string(make([]byte, 16<<10))))
	c.do(lead, set("k", "v"))
	big := kv.Op{Kind: kv.MGet}
	for range 100 { // 1.6 MiB
		big.Keys = append(big.Keys, []byte("big"))
	}
	var got []kv.Result
	n := 0
	c.node(lead).Submit([]kv.Op{get("k"), big, get("k"), keysOp(kv.MGet, 3)}, func(r []kv.Result) { n++; got = r })
	for range 20 {
		c.settle()
		if c.work.Pending() > 0 || n > 0 {
			break
		}
		c.tick()
	}
	c.runWork()
	if n != 1 {
		t.Fatalf("answered %d times", n)
	}
	if got[1].Err != ErrReplyTooLarge {
		t.Fatalf("the MGET of 1.6 MiB answered %v, want ErrReplyTooLarge", got[1].Err)
	}
	for _, i := range []int{0, 2, 3} {
		if got[i].Err != nil {
			t.Fatalf("op %d of the group, a short read, answered %v", i, got[i].Err)
		}
	}
	if string(got[2].Value) != "v" {
		t.Fatalf("GET k after the refused MGET: %q", got[2].Value)
	}
}

// TestLongReadsShareOneMemoryBound: each long read is bounded by
// ReadReplyBytesMax, but nothing bounded them together: 60 clients each
// with an MGET of 1,050 names of a 60 KB value took a node from 75 MB to
// 4.7 GB resident while the server's client memory said 4.5 MB (its
// bound, 256 MiB, sees a reply only once built). The node's long reads
// must share one bound, LongReadsBytesMax.
func TestLongReadsShareOneMemoryBound(t *testing.T) {
	cfg := testConfig()
	cfg.ReadChunkKeys = 10
	cfg.LongReadsBytesMax = 1 << 20
	c := newCluster(t, 1, cfg)
	lead := c.leader()
	c.do(lead, set("big", string(make([]byte, 16<<10))))
	op := kv.Op{Kind: kv.MGet}
	for range 40 { // 640 KiB each
		op.Keys = append(op.Keys, []byte("big"))
	}
	var calls []*call
	for range 4 { // 2.5 MiB together
		calls = append(calls, c.confirmed(lead, op))
	}
	c.runWork() // round-robin: each read's chunks interleave with the others'
	ok, busy := 0, 0
	for i, cl := range calls {
		switch {
		case cl.n != 1:
			t.Fatalf("read %d answered %d times", i, cl.n)
		case cl.res.Err == nil:
			ok++
		case cl.res.Err == ErrLongReadsBusy:
			busy++
		default:
			t.Fatalf("read %d: %v", i, cl.res.Err)
		}
	}
	if ok == 0 || busy == 0 || ok*640 > 1024 {
		t.Fatalf("%d long reads of 640 KiB answered and %d refused under a bound of 1 MiB for all", ok, busy)
	}
	// The bound is let go as reads answer: a new one fits.
	again := c.confirmed(lead, op)
	c.runWork()
	if again.res.Err != nil {
		t.Fatalf("after the others answered: %v", again.res.Err)
	}
	if held := c.node(lead).longReadBytes.Load(); held != 0 {
		t.Fatalf("every long read answered, and the node still counts %d bytes held", held)
	}
}

// Reads that arrive together share one ReadIndex round: ten reads in one
// batch cost the network what one read costs, on the leader and on a
// follower (which forwards one MsgReadIndex, not ten).
func TestReadsThatArriveTogetherShareOneRound(t *testing.T) {
	c := newCluster(t, 1, testConfig())
	lead := c.leader()
	c.do(lead, set("k", "v"))
	for _, id := range []uint64{lead, c.follower(lead)} {
		messagesFor := func(reads int) int {
			sent := 0
			c.drop = func(message) bool { sent++; return false }
			defer func() { c.drop = nil }()
			var calls []*call
			for range reads {
				calls = append(calls, c.submit(id, get("k")))
			}
			for _, cl := range calls {
				if res := c.wait(cl); string(res.Value) != "v" {
					t.Fatalf("node %d read %q, want v", id, res.Value)
				}
			}
			return sent
		}
		one, ten := messagesFor(1), messagesFor(10)
		if one == 0 || ten != one {
			t.Errorf("node %d: one read cost %d messages, ten reads %d: want the same, one round", id, one, ten)
		}
	}
}
