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
