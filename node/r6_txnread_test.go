package node

import (
	"testing"

	"github.com/seshat-db/seshat/kv"
)

// r6 review (HIGH): a read-only transaction (kv.ExecRead) is counted as
// one key by groupKeys, whatever its queued ops read, so MULTI + MGET of
// one 64 KB key 2,000 times + EXEC is served inline on the node's loop,
// past ReadReplyBytesMax (64 MiB) and LongReadsBytesMax: the exact
// "MGET naming one large key a million times asks for 64 GiB" attack
// config.go guards against, re-opened by wrapping it in MULTI. On a live
// 3-node cluster the plain MGET is refused ("reply too large"); inside
// MULTI the node built a 130 MB reply on its loop (the client was then
// cut by the output limit) and its raft peer connections dropped
// meanwhile. With 1,000,000 repetitions (TxnBytesMax counts 1 byte per
// "k") the node would build 64 GB.
func TestR6ExecReadCountsItsQueuedKeys(t *testing.T) {
	keys := make([][]byte, 5000)
	for i := range keys {
		keys[i] = []byte("k")
	}
	txn := []kv.Op{{Kind: kv.ExecRead, Ops: []kv.Op{{Kind: kv.MGet, Keys: keys}}}}
	if n := groupKeys(txn); n <= 1000 {
		t.Fatalf("groupKeys of an EXEC reading %d keys = %d: served inline, unbounded", len(keys), n)
	}
}
