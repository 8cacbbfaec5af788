// Tests the answers a write gets at the node's bounds: a write too large
// for one raft entry is refused before it is proposed, a write refused by
// raft's bound on uncommitted bytes says so, and a write in flight when
// the leader changes is answered by its outcome when it applies under the
// new leader, instead of UNKNOWN.
package node

import (
	"errors"
	"strings"
	"testing"

	"github.com/seshat-db/seshat/kv"
)

func mset(n, valueBytes int) kv.Op {
	op := kv.Op{Kind: kv.MSet}
	for i := range n {
		op.Keys = append(op.Keys, []byte{'k', byte(i), byte(i >> 8)})
		op.Values = append(op.Values, []byte(strings.Repeat("v", valueBytes)))
	}
	return op
}

func TestWriteTooLargeRefusedUpFront(t *testing.T) {
	cfg := testConfig()
	cfg.UncommittedBytesMax = 1 << 20
	c := newCluster(t, 11, cfg)
	lead := c.leader()
	res := c.do(lead, mset(20, 64<<10)) // 1.25 MiB: over the bound
	if !errors.Is(res.Err, ErrWriteTooLarge) {
		t.Fatalf("got %v, want ErrWriteTooLarge", res.Err)
	}
	var tooLarge *WriteTooLargeError
	if !errors.As(res.Err, &tooLarge) || tooLarge.Max != 1<<20 || tooLarge.Bytes <= tooLarge.Max {
		t.Errorf("the error does not name the sizes: %#v", res.Err)
	}
	if st := c.node(lead).Status(); st.Commit > 2 {
		t.Errorf("the refused write reached the log: commit %d", st.Commit)
	}
	if res := c.do(lead, mset(10, 64<<10)); res.Err != nil {
		t.Fatalf("a write under the bound: %v", res.Err)
	}
}

// TestUncommittedBoundSaysSo: with the followers cut off, the leader's
// uncommitted entries fill raft's bound, and the next write is refused
// with a TRYAGAIN that names that bound, not the count of requests.
func TestUncommittedBoundSaysSo(t *testing.T) {
	cfg := testConfig()
	cfg.UncommittedBytesMax = 1 << 20
	cfg.RequestTimeoutTicks = 100
	c := newCluster(t, 12, cfg)
	lead := c.leader()
	c.drop = func(message) bool { return true }
	first := c.submit(lead, mset(10, 64<<10))
	second := c.submit(lead, mset(10, 64<<10))
	c.settle()
	if first.n != 0 {
		t.Fatalf("the first write finished with the followers cut off: %v", first.res.Err)
	}
	if second.n != 1 || !errors.Is(second.res.Err, ErrUncommittedFull) {
		t.Fatalf("second write: called %d times, %v; want ErrUncommittedFull", second.n, second.res.Err)
	}
	c.drop = nil
	if res := c.wait(first); res.Err != nil {
		t.Fatalf("the first write after healing: %v", res.Err)
	}
}

// TestWriteAppliedAcrossLeaderChange reproduces an UNKNOWN for a write
// that was applied: the leader appends a write and its followers store
// it, but their acknowledgements are lost; the leader is cut off, steps
// down, and a follower wins the election and commits the write with its
// first entry. The old leader must answer the write by its outcome.
func TestWriteAppliedAcrossLeaderChange(t *testing.T) {
	cfg := testConfig()
	cfg.RequestTimeoutTicks = 1000
	c := newCluster(t, 13, cfg)
	old := c.leader()
	c.drop = func(m message) bool { return m.To == old } // acks lost
	w := c.submit(old, set("k", "v"))
	c.settle()
	c.drop = func(m message) bool { return m.To == old || m.From == old }
	var lead uint64
	for i := 0; lead == 0 || lead == old; i++ {
		if i > 200 {
			t.Fatal("no new leader")
		}
		c.tick()
		if st := c.node(c.follower(old)).Status(); st.Lead != 0 && c.node(st.Lead).Status().IsLeader {
			lead = st.Lead
		}
	}
	c.mustGet(lead, "k", "v") // applied under the new leader
	c.drop = nil
	res := c.wait(w)
	if res.Err != nil {
		t.Fatalf("the old leader answered %v for a write that was applied", res.Err)
	}
	c.mustGet(old, "k", "v")
}
