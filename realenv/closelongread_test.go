package realenv

import (
	"fmt"
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

// TestCloseBoundedWithLongReadStuck: CloseTimeout bounds only the wait
// for the host goroutine. A long read runs on a worker goroutine and
// holds its chunk's lock while it reads; node.Close waits for that lock
// (closeLongReads) and then closes Pebble, with no bound at all. With the
// disk stuck under a read (a hung NFS mount, a dying disk), the host
// goroutine is idle and healthy, so Close passes its bounded wait and
// then hangs in node.Close: SIGTERM never exits, the very hang issue 9
// set out to end.
func TestCloseBoundedWithLongReadStuck(t *testing.T) {
	var block atomic.Bool
	blocked := make(chan struct{}, 1)
	release := make(chan struct{})
	fs := errorfs.Wrap(vfs.NewMem(), errorfs.InjectorFunc(func(op errorfs.Op) error {
		if block.Load() && op.Kind == errorfs.OpFileReadAt {
			select {
			case blocked <- struct{}{}:
			default:
			}
			<-release
		}
		return nil
	}))
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	e := New(noTransport{}, log, fs)
	n, err := node.Open(node.Config{ID: 1, Peers: []uint64{1}, Dir: "/data", RequestTimeoutTicks: 1000,
		ReadChunkKeys: 2, MemTableBytes: 256 << 10}, e)
	if err != nil {
		t.Fatal(err)
	}
	h := NewHost(n, HostConfig{TickInterval: 10 * time.Millisecond, Log: log, RequestTimeout: 10 * time.Second,
		StallAfter: 5 * time.Second, CloseTimeout: 500 * time.Millisecond})
	defer close(release)
	for h.Status().Lead == 0 {
		time.Sleep(10 * time.Millisecond)
	}
	do := func(ops ...kv.Op) []kv.Result {
		ch := make(chan []kv.Result, 1)
		h.Submit(ops, func(r []kv.Result) { ch <- r })
		select {
		case r := <-ch:
			return r
		case <-time.After(10 * time.Second):
			t.Fatal("no answer")
			return nil
		}
	}
	// Enough data that the first keys are flushed to sstables, and a
	// read of them touches the disk.
	value := make([]byte, 1024)
	for batch := range 16 {
		op := kv.Op{Kind: kv.MSet}
		for i := range 256 {
			op.Keys = append(op.Keys, []byte(fmt.Sprintf("k%02d-%03d", batch, i)))
			op.Values = append(op.Values, value)
		}
		if r := do(op); r[0].Err != nil {
			t.Fatal(r[0].Err)
		}
	}
	time.Sleep(time.Second) // the flushes
	block.Store(true)
	mget := kv.Op{Kind: kv.MGet}
	for i := range 8 {
		mget.Keys = append(mget.Keys, []byte(fmt.Sprintf("k00-%03d", i)))
	}
	h.Submit([]kv.Op{mget}, func([]kv.Result) {})
	select {
	case <-blocked:
	case <-time.After(5 * time.Second):
		t.Skip("the long read did not reach the disk (served from memory); the test cannot stage the stuck read")
	}
	closed := make(chan error, 1)
	start := time.Now()
	go func() { closed <- h.Close() }()
	select {
	case <-closed:
		if took := time.Since(start); took > 2*time.Second {
			t.Fatalf("Close took %s", took)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not return within 5 s with a long read stuck in a disk read (CloseTimeout 500 ms)")
	}
}
