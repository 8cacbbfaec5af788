package realenv

import (
	"fmt"
	"sync/atomic"
	"time"

	"github.com/seshat-db/seshat/kv"
	"github.com/seshat-db/seshat/node"
)

// The node counts its deadlines in ticks, and ticks run on the host
// goroutine. When that goroutine is stuck (inside Pebble, in a write stall
// on a full disk), no tick runs and no deadline passes. What is here
// keeps time on the wall clock instead, off the host goroutine.

// Defaults for HostConfig's watchdog fields.
const (
	defaultStallAfter   = 5 * time.Second
	defaultCloseTimeout = 5 * time.Second
	deadlineGrace       = 2 * time.Second // past the node's own timeout, so the node normally answers first
)

// withDeadline returns done guarded to run once, and arms a wall-clock
// timer that answers the group itself (UNKNOWN for writes, NOQUORUM for
// reads) if the node has not by the deadline. Whichever comes second is
// dropped.
func (h *Host) withDeadline(ops []kv.Op, done func([]kv.Result)) func([]kv.Result) {
	if h.cfg.RequestTimeout <= 0 || len(ops) == 0 {
		return done
	}
	var answered atomic.Bool
	timer := time.AfterFunc(h.cfg.RequestTimeout+deadlineGrace, func() {
		if answered.CompareAndSwap(false, true) {
			h.expiredByWatchdog.Add(1)
			err := node.ErrOutcomeUnknown
			if ops[0].Kind.IsRead() {
				err = node.ErrReadTimeout
			}
			done(errResults(len(ops), err))
		}
	})
	return func(res []kv.Result) {
		if answered.CompareAndSwap(false, true) {
			timer.Stop()
			done(res)
		}
	}
}

// beat records that the host goroutine is making progress.
func (h *Host) beat() { h.lastBeat.Store(time.Now().UnixNano()) }

// Stalled returns how long the host goroutine has been stuck, if longer
// than HostConfig.StallAfter; 0 otherwise. Safe from any goroutine.
func (h *Host) Stalled() time.Duration {
	since := time.Since(time.Unix(0, h.lastBeat.Load()))
	if since < h.cfg.StallAfter {
		return 0
	}
	return since
}

// Health returns why the node cannot serve, or nil: it fail-stopped, or
// its host goroutine has been stuck (in storage) past StallAfter.
func (h *Host) Health() error {
	if err := h.Failed(); err != nil {
		return err
	}
	if d := h.Stalled(); d > 0 {
		return fmt.Errorf("the node has been blocked for %s, most likely in storage (a full or stalled disk)", d.Round(time.Second))
	}
	return nil
}

// ExpiredByWatchdog counts requests the wall-clock deadline answered
// because the node did not.
func (h *Host) ExpiredByWatchdog() uint64 { return h.expiredByWatchdog.Load() }
