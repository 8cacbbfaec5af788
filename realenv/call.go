package realenv

import (
	"context"
	"errors"

	"github.com/seshat-db/seshat/node"
)

// ErrHostBusy answers a Call whose function the host goroutine did not
// take in time (a long batch, or blocked in storage).
var ErrHostBusy = errors.New("realenv: the node's goroutine did not take the request in time")

// Call runs fn with the node on the host goroutine, between two batches,
// and waits for it: the way for an admin request (storage figures, a
// backup's checkpoint) to touch the node, which only that goroutine may.
// It gives up with ctx's error, or ErrShuttingDown once the host stops;
// fn then never runs.
func (h *Host) Call(ctx context.Context, fn func(n *node.Node)) error {
	ran := make(chan struct{})
	call := func(n *node.Node) {
		fn(n)
		close(ran)
	}
	select {
	case h.calls <- call:
	case <-h.quit:
		return ErrShuttingDown
	case <-ctx.Done():
		return ErrHostBusy
	}
	select {
	case <-ran:
		return nil
	case <-h.done:
		// Run stopped: fn either ran before it did or never will.
		select {
		case <-ran:
			return nil
		default:
			return ErrShuttingDown
		}
	}
}
