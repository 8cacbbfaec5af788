package realenv

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/seshat-db/seshat/node"
)

// TestStatusListsSharedAcrossGoroutines: Status shares its id lists
// between the values it returns, and the host publishes each value to
// other goroutines. While membership changes move the lists (learners
// added, then removed), readers on other goroutines walk the lists of
// every Status they were handed, old ones too: under -race, a list
// written in place after it was shared shows as a race, and a reader
// that sees an old list change shows as a changed sum.
func TestStatusListsSharedAcrossGoroutines(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	e := New(noTransport{}, log, vfs.NewMem())
	n, err := node.Open(node.Config{ID: 1, Peers: []uint64{1}, Dir: "/data", RequestTimeoutTicks: 1000, MemTableBytes: 256 << 10}, e)
	if err != nil {
		t.Fatal(err)
	}
	h := NewHost(n, HostConfig{TickInterval: 5 * time.Millisecond, Log: log, RequestTimeout: 10 * time.Second,
		StallAfter: 5 * time.Second, CloseTimeout: time.Second})
	defer h.Close()
	for h.Status().Lead == 0 {
		time.Sleep(5 * time.Millisecond)
	}
	var stop atomic.Bool
	var wg sync.WaitGroup
	sum := func(ids ...[]uint64) (s uint64) {
		for _, l := range ids {
			for _, id := range l {
				s = s*31 + id
			}
		}
		return s
	}
	var bad atomic.Value
	for range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			type held struct {
				st  node.Status
				sum uint64
			}
			var kept []held
			for !stop.Load() {
				st := h.Status()
				kept = append(kept, held{st, sum(st.Voters, st.Learners, st.VotersOutgoing, st.Removed)})
				for _, k := range kept[max(0, len(kept)-50):] {
					if sum(k.st.Voters, k.st.Learners, k.st.VotersOutgoing, k.st.Removed) != k.sum {
						bad.Store("a Status's id list changed after it was handed out")
					}
				}
				time.Sleep(100 * time.Microsecond)
			}
		}()
	}
	change := func(ch node.MemberChange) {
		done := make(chan error, 1)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := h.Call(ctx, func(n *node.Node) { n.ChangeMembership(ch, func(err error) { done <- err }) }); err != nil {
			t.Fatal(err)
		}
		select {
		case err := <-done:
			if err != nil {
				t.Logf("%v %d: %v", ch.Kind, ch.ID, err)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("%v %d: no answer", ch.Kind, ch.ID)
		}
	}
	for id := uint64(2); id <= 5; id++ {
		change(node.MemberChange{Kind: node.AddLearner, ID: id, PeerAddr: fmt.Sprintf("127.0.0.1:%d", 100+id), ClientAddr: fmt.Sprintf("127.0.0.1:%d", 200+id)})
	}
	for id := uint64(2); id <= 5; id++ {
		change(node.MemberChange{Kind: node.Remove, ID: id, Force: true})
	}
	stop.Store(true)
	wg.Wait()
	if v := bad.Load(); v != nil {
		t.Fatal(v)
	}
	st := h.Status()
	t.Logf("voters %v learners %v removed %v", st.Voters, st.Learners, st.Removed)
	if len(st.Removed) != 4 {
		t.Fatalf("removed %v, want 2..5: the lists did not move as planned", st.Removed)
	}
}
