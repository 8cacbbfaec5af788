package storage

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/cockroachdb/pebble/v2"

	"github.com/seshat-db/seshat/env"
)

// ErrNoSpace marks a store that stopped because its disk is full. The
// node fail-stops on it like on any failed write, and says why.
var ErrNoSpace = errors.New("storage: no space left on device")

// isNoSpace reports whether err is the disk being full. NB: by its text,
// because Pebble hands some failures over as formatted strings (Fatalf)
// and simulated code may not import syscall; the text is ENOSPC's.
func isNoSpace(err error) bool {
	return err != nil && (errors.Is(err, ErrNoSpace) || strings.Contains(err.Error(), "no space left on device"))
}

// diskEvents collects what Pebble's background goroutines report: a full
// disk found by a flush or compaction must stop the store before its next
// commit blocks in a write stall that never ends.
type diskEvents struct {
	log      env.Logger
	upgraded atomic.Bool // Open ratcheted the format
	noSpace  atomic.Pointer[error]
	lines    lineLimiter
	stalls   atomic.Int64 // write stalls begun
	stalled  atomic.Bool  // a write stall is on
}

func newDiskEvents(log env.Logger) *diskEvents { return &diskEvents{log: log} }

func (d *diskEvents) listener() *pebble.EventListener {
	return &pebble.EventListener{
		BackgroundError: func(err error) {
			if isNoSpace(err) {
				first := fmt.Errorf("%w: %v", ErrNoSpace, err)
				d.noSpace.CompareAndSwap(nil, &first)
			}
			d.lines.log(d.log, "pebble background error", err)
		},
		WriteStallBegin: func(info pebble.WriteStallBeginInfo) {
			d.stalls.Add(1)
			d.stalled.Store(true)
			d.lines.warn(d.log, "pebble write stall", fmt.Errorf("%s", info.Reason))
		},
		WriteStallEnd: func() { d.stalled.Store(false) },
		DiskSlow: func(info pebble.DiskSlowInfo) {
			d.lines.warn(d.log, "disk slow", fmt.Errorf("%s", info.String()))
		},
		FormatUpgrade: func(pebble.FormatMajorVersion) { d.upgraded.Store(true) },
	}
}

// noSpaceErr returns the full-disk error a background job reported, if any.
func (d *diskEvents) noSpaceErr() error {
	if p := d.noSpace.Load(); p != nil {
		return *p
	}
	return nil
}

// lineLimiter logs the first line of each kind, then every
// lineEvery-th: a full disk makes Pebble retry its flush thousands of
// times a second, and each retry would be a line.
type lineLimiter struct {
	mu     sync.Mutex
	counts [16]struct {
		kind string
		n    uint64
	}
}

const lineEvery = 1000

func (l *lineLimiter) log(log env.Logger, kind string, err error) {
	l.logAt(log.Error, kind, err)
}

// warn is log for conditions Pebble recovers from by itself (a write
// stall waits for a flush; a slow disk is slow, not broken).
func (l *lineLimiter) warn(log env.Logger, kind string, err error) {
	l.logAt(log.Warn, kind, err)
}

func (l *lineLimiter) logAt(level func(string, ...any), kind string, err error) {
	l.mu.Lock()
	slot := &l.counts[0]
	for i := range l.counts {
		if l.counts[i].kind == kind || l.counts[i].kind == "" {
			slot = &l.counts[i]
			break
		}
	}
	slot.kind = kind
	slot.n++
	n := slot.n
	l.mu.Unlock()
	if n == 1 || n%lineEvery == 0 {
		level(kind, "err", err, "times", n, "note", fmt.Sprintf("logged once, then every %d-th time", lineEvery))
	}
}
