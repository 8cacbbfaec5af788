package realenv

import (
	"sync"
	"time"
)

// Clock is a node process's wall clock, which a test may set ahead or
// behind and make run fast or slow (app's test-only settings
// test.clock_offset_ms, test.clock_drift_ppm and the /test/clock admin
// endpoint that test.clock_control turns on). The chaos runner of real
// processes uses it for the clock-skew scenario.
//
// What reads it: the host's tick rate (a clock that runs fast ticks
// faster, so the node's elections and timeouts, which count ticks, run
// fast too) and the time stamps of the log. Nothing else in a node reads
// a wall clock at all: the node counts ticks, and the host's wall-clock
// watchdogs and the sockets' deadlines measure durations on the monotonic
// clock, which no offset moves. So an offset shows in the logs only, and
// a drift as the tick rate; both are harmless to safety, which is what
// the scenario checks.
//
// A nil *Clock is the real clock.
type Clock struct {
	mu     sync.Mutex
	since  time.Time     // the real time of the last Set
	offset time.Duration // the offset at since
	ppm    int           // how fast it runs from since: parts per million
}

// NewClock returns a clock offset by offset from the real one, running
// ppm parts per million fast (or slow, ppm < 0).
func NewClock(offset time.Duration, ppm int) *Clock {
	c := &Clock{}
	c.Set(offset, ppm)
	return c
}

// Set moves the clock to offset from the real one, at once, and has it
// run ppm fast from now on.
func (c *Clock) Set(offset time.Duration, ppm int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.since, c.offset, c.ppm = time.Now(), offset, ppm
}

// Offset is how far the clock is from the real one now.
func (c *Clock) Offset() time.Duration {
	if c == nil {
		return 0
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.offsetAt(time.Now())
}

func (c *Clock) offsetAt(real time.Time) time.Duration {
	return c.offset + time.Duration(float64(real.Sub(c.since))*float64(c.ppm)/1e6)
}

// Drift is how fast the clock runs, in parts per million.
func (c *Clock) Drift() int {
	if c == nil {
		return 0
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ppm
}

// Now is the clock's reading.
func (c *Clock) Now() time.Time {
	now := time.Now()
	if c == nil {
		return now
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return now.Add(c.offsetAt(now))
}

// Period is how long, in real time, the clock takes to count d.
func (c *Clock) Period(d time.Duration) time.Duration {
	ppm := c.Drift()
	if ppm == 0 {
		return d
	}
	return time.Duration(float64(d) * 1e6 / float64(1e6+ppm))
}
