package realenv

import (
	"errors"
	"io"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/cockroachdb/pebble/v2/vfs/errorfs"

	"github.com/seshat-db/seshat/kv"
	"github.com/seshat-db/seshat/node"
)

type noTransport struct{}

func (noTransport) Send(uint64, []byte) {}

// TestStuckHostStillAnswersAndCloses: with the host goroutine blocked in
// a WAL sync that never returns (a write stall on a full disk), a request
// still gets its answer at the wall-clock deadline, Health says the node
// is stuck, and Close returns within its bound.
func TestStuckHostStillAnswersAndCloses(t *testing.T) {
	var block atomic.Bool
	release := make(chan struct{})
	fs := errorfs.Wrap(vfs.NewMem(), errorfs.InjectorFunc(func(op errorfs.Op) error {
		if block.Load() && (op.Kind == errorfs.OpFileSync || op.Kind == errorfs.OpFileSyncData) {
			<-release
		}
		return nil
	}))
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	e := New(noTransport{}, log, fs)
	n, err := node.Open(node.Config{ID: 1, Peers: []uint64{1}, Dir: "/data", RequestTimeoutTicks: 20}, e)
	if err != nil {
		t.Fatal(err)
	}
	h := NewHost(n, HostConfig{TickInterval: 10 * time.Millisecond, Log: log, RequestTimeout: 200 * time.Millisecond,
		StallAfter: 300 * time.Millisecond, CloseTimeout: 500 * time.Millisecond})
	defer close(release)
	for h.Status().Lead == 0 {
		time.Sleep(10 * time.Millisecond)
	}
	block.Store(true)
	answers := make(chan error, 2)
	h.Submit([]kv.Op{{Kind: kv.Set, Keys: [][]byte{[]byte("k")}, Values: [][]byte{[]byte("v")}}}, func(r []kv.Result) { answers <- r[0].Err })
	select {
	case err := <-answers:
		if !errors.Is(err, node.ErrOutcomeUnknown) {
			t.Fatalf("the stuck write answered %v, want UNKNOWN", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a write to a stuck node got no answer")
	}
	if err := h.Health(); err == nil {
		t.Fatal("Health is fine while the host is stuck")
	} else {
		t.Logf("health: %v", err)
	}
	start := time.Now()
	if err := h.Close(); err == nil {
		t.Fatal("Close of a stuck host reported success")
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Fatalf("Close took %s", took)
	}
	if len(answers) != 0 {
		t.Fatal("the request was answered twice")
	}
}
