package resp

import (
	"fmt"
	"strings"
	"testing"

	"github.com/seshat-db/seshat/kv"
)

// recordSizes wraps a backend and remembers the largest encoded op.
type recordSizes struct {
	inner   Backend
	largest int
}

func (r *recordSizes) Submit(ops []kv.Op, done func([]kv.Result)) {
	for i := range ops {
		if n := len(ops[i].Encode(nil)); n > r.largest {
			r.largest = n
		}
	}
	r.inner.Submit(ops, done)
}

// r6 review (MEDIUM): the watched keys are counted against no limit, so
// EXEC after many WATCH commands proposes one raft entry of any size
// (against a live cluster: 60 WATCHes of 1,000 250-byte keys, then
// MULTI/SET/EXEC, committed a ~15 MB entry; TxnBytesMax and the 1 MiB
// group bound are both 1 MiB). The connection's watch list is unbounded
// too.
func TestR6WatchedKeysBoundTheExecEntry(t *testing.T) {
	rec := &recordSizes{inner: &memBackend{store: memStore{}}}
	e := NewExecutor(rec, Limits{}, nil)
	pad := strings.Repeat("p", 200)
	for j := range 10 {
		args := []string{"WATCH"}
		for i := range 1000 {
			args = append(args, fmt.Sprintf("k%d_%d%s", j, i, pad))
		}
		runAll(e, strings.Join(args, " "))
	}
	replies := runAll(e, "MULTI", "SET x 1", "EXEC")
	if rec.largest > TxnBytesMaxDefault+64<<10 {
		t.Fatalf("EXEC submitted a %d-byte op (TxnBytesMax is %d); replies %q", rec.largest, TxnBytesMaxDefault, (*replies)[2][:min(40, len((*replies)[2]))])
	}
}

// r6 review (LOW): a command that is not a data command runs when it is
// queued, not at EXEC: CLIENT SETNAME inside a DISCARDed MULTI still
// renamed the connection (redis-server 7.0.15: CLIENT GETNAME is nil).
func TestR6ClientSetnameInsideDiscardedMulti(t *testing.T) {
	e := NewExecutor(&memBackend{store: memStore{}}, Limits{}, nil)
	replies := runAll(e, "MULTI", "CLIENT SETNAME foo", "DISCARD", "CLIENT GETNAME")
	if got := (*replies)[3]; got != "$-1\r\n" {
		t.Fatalf("CLIENT GETNAME after a discarded MULTI answered %q, want $-1 (Redis 7)", got)
	}
}
