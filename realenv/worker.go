package realenv

import (
	"sync"

	"github.com/seshat-db/seshat/env"
)

// Workers is the production env.Worker: at most Max goroutines run the
// queued jobs in the order they were queued. A goroutine is started only
// when there is work and ends when the queue is empty, so an idle node
// holds none and nothing needs closing.
type Workers struct {
	mu      sync.Mutex
	queue   []func()
	running int
	max     int
}

var _ env.Worker = (*Workers)(nil)

// NewWorkers returns a pool of at most n goroutines (at least 1).
func NewWorkers(n int) *Workers { return &Workers{max: max(n, 1)} }

// Run implements env.Worker.Run. The queue is unbounded on purpose: a job
// that requeues itself from a worker goroutine must never wait for room,
// or a full pool would deadlock on itself. What bounds it is the node's
// bound on requests in flight.
func (w *Workers) Run(job func()) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.queue = append(w.queue, job)
	if w.running < w.max {
		w.running++
		go w.loop()
	}
}

func (w *Workers) loop() {
	for {
		w.mu.Lock()
		if len(w.queue) == 0 {
			w.running--
			w.mu.Unlock()
			return
		}
		job := w.queue[0]
		w.queue[0] = nil
		w.queue = w.queue[1:]
		w.mu.Unlock()
		job()
	}
}
