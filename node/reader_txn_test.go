package node

import (
	"testing"

	"github.com/seshat-db/seshat/kv"
)

// TestLongReadTxnBounded: a read-only transaction is a long read as its
// queued keys say, and its values (nested in EXEC's result) count against
// ReadReplyBytesMax: MGET inside MULTI is refused as a bare MGET is, and a
// transaction that fits is answered in full, from one snapshot.
func TestLongReadTxnBounded(t *testing.T) {
	cfg := testConfig()
	cfg.ReadChunkKeys = 100
	cfg.ReadReplyBytesMax = 1 << 20
	c := newCluster(t, 1, cfg)
	lead := c.leader()
	c.do(lead, set("big", string(make([]byte, 16<<10))))
	c.do(lead, set("k", "v"))
	mget := func(n int) kv.Op {
		op := kv.Op{Kind: kv.MGet}
		for range n {
			op.Keys = append(op.Keys, []byte("big"))
		}
		return op
	}
	txn := func(ops ...kv.Op) kv.Op { return kv.Op{Kind: kv.ExecRead, Ops: ops} }

	cl := c.confirmed(lead, txn(get("k"), mget(100))) // 1.6 MiB
	c.runWork()
	if cl.n != 1 || cl.res.Err != ErrReplyTooLarge {
		t.Fatalf("EXEC of MGET of 1.6 MiB: answered %d times, %+v; want ErrReplyTooLarge", cl.n, cl.res.Err)
	}
	if held := c.node(lead).longReadBytes.Load(); held != 0 {
		t.Fatalf("the refused transaction left %d bytes counted against the node's long reads", held)
	}

	cl = c.confirmed(lead, txn(get("k"), mget(50), get("k"))) // 800 KiB, 3 chunks
	c.runWork()
	if cl.n != 1 || cl.res.Err != nil || len(cl.res.Results) != 3 {
		t.Fatalf("EXEC of MGET of 800 KiB: answered %d times, %+v", cl.n, cl.res)
	}
	if got := cl.res.Results; string(got[0].Value) != "v" || len(got[1].Values) != 50 || string(got[2].Value) != "v" {
		t.Fatalf("EXEC's results: GET %q, MGET of %d values, GET %q", got[0].Value, len(got[1].Values), got[2].Value)
	}
}
