package server

import (
	"log/slog"
	"sync"
	"time"
)

// logEvery is how often a rate-limited warning may be written.
const logEvery = 10 * time.Second

// rateLog writes at most one line per logEvery for one kind of event and
// says how many it left out since the last. Clients need no login to
// fail one (AUTH, a refused connection), so a line each would let anyone
// fill the node's disk; the metrics count every one.
type rateLog struct {
	mu      sync.Mutex
	last    time.Time
	skipped int
}

func (r *rateLog) warn(log *slog.Logger, msg string, args ...any) {
	r.mu.Lock()
	now := time.Now()
	if !r.last.IsZero() && now.Sub(r.last) < logEvery {
		r.skipped++
		r.mu.Unlock()
		return
	}
	skipped := r.skipped
	r.last, r.skipped = now, 0
	r.mu.Unlock()
	if skipped > 0 {
		args = append(args, "more_since_last_line", skipped)
	}
	log.Warn(msg, args...)
}
