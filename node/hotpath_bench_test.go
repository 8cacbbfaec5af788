package node

import (
	"fmt"
	"testing"

	"github.com/seshat-db/seshat/kv"
)

// The hot paths of one request through three in-memory nodes (MemFS, the
// harness's FIFO network): a write's propose, append, replicate, commit
// and apply; a read's ReadIndex round and serving. Per-op time includes
// the simulated network's delivery; allocations are the figure to watch
// (make bench-go).

func benchLeader(b *testing.B) (*cluster, uint64) {
	cfg := testConfig()
	cfg.MemTableBytes = 0 // the default: the tests' tiny memtable would make this a flush benchmark
	c := openCluster(b, cfg)
	return c, c.leader()
}

func benchRequest(b *testing.B, c *cluster, id uint64, ops []kv.Op) {
	done := false
	c.node(id).Submit(ops, func(r []kv.Result) {
		done = true
		for i := range r {
			if r[i].Err != nil {
				b.Fatalf("request failed: %v", r[i].Err)
			}
		}
	})
	c.settle()
	for tries := 0; !done; tries++ {
		if tries > 100 {
			b.Fatal("request not answered after 100 ticks")
		}
		c.tick()
	}
}

func BenchmarkHotPathWrite(b *testing.B) {
	for _, group := range []int{1, 16} {
		b.Run(fmt.Sprintf("group=%d", group), func(b *testing.B) {
			c, lead := benchLeader(b)
			value := make([]byte, 64)
			ops := make([]kv.Op, group)
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				for j := range ops {
					ops[j] = kv.Op{Kind: kv.Set, Keys: [][]byte{fmt.Appendf(nil, "key:%06d", (i*group+j)%100000)}, Values: [][]byte{value}}
				}
				benchRequest(b, c, lead, ops)
			}
		})
	}
}

func BenchmarkHotPathRead(b *testing.B) {
	for _, at := range []string{"leader", "follower"} {
		b.Run(at, func(b *testing.B) {
			c, lead := benchLeader(b)
			id := lead
			if at == "follower" {
				id = c.follower(lead)
			}
			benchRequest(b, c, lead, []kv.Op{set("key", "value")})
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				benchRequest(b, c, id, []kv.Op{get("key")})
			}
		})
	}
}
