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

// TestStopReasonIsPublishedWithTheFailure: a reader that sees the host
// fail-stopped (Failed, which /health reads first) and then asks why
// (Status().StopReason) must find the reason. The host once published
// the failure before the status of the batch that failed, and a /health
// in between answered "node stopped ()" with the disk full (CI, e2e
// TestFullDiskStopsTheNode). Readers spin on other goroutines while the
// disk fills; one read in the gap fails the test.
func TestStopReasonIsPublishedWithTheFailure(t *testing.T) {
	for round := range 20 {
		var full atomic.Bool
		fs := errorfs.Wrap(vfs.NewMem(), errorfs.InjectorFunc(func(op errorfs.Op) error {
			if full.Load() && op.Kind.ReadOrWrite() == errorfs.OpIsWrite {
				return errors.New("write " + op.Path + ": no space left on device")
			}
			return nil
		}))
		log := slog.New(slog.NewTextHandler(io.Discard, nil))
		n, err := node.Open(node.Config{ID: 1, Peers: []uint64{1}, Dir: "/data", RequestTimeoutTicks: 40}, New(noTransport{}, log, fs))
		if err != nil {
			t.Fatal(err)
		}
		h := NewHost(n, HostConfig{TickInterval: 5 * time.Millisecond, Log: log, RequestTimeout: 200 * time.Millisecond,
			StallAfter: 5 * time.Second, CloseTimeout: time.Second})
		for h.Status().Lead == 0 {
			time.Sleep(5 * time.Millisecond)
		}
		seen := make(chan string, 1)
		var stop atomic.Bool // the watchers end with the round, failed or not
		defer stop.Store(true)
		for range 2 {
			go func() {
				for h.Failed() == nil && !stop.Load() {
				}
				select {
				case seen <- h.Status().StopReason:
				default:
				}
			}()
		}
		full.Store(true)
		done := make(chan struct{})
		h.Submit([]kv.Op{{Kind: kv.Set, Keys: [][]byte{[]byte("k")}, Values: [][]byte{[]byte("v")}}}, func([]kv.Result) { close(done) })
		select {
		case reason := <-seen:
			if reason != "nospace" {
				t.Fatalf("round %d: a reader saw the node fail-stopped with StopReason %q, want nospace", round, reason)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("the node never fail-stopped on a full disk")
		}
		<-done
		_ = h.Close()
	}
}
