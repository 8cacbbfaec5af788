package e2e

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// ackedWriters keeps writing fresh keys (each its own value) through
// nodes, one goroutine each, every 5 ms, while a test changes the
// cluster; finish stops them and returns the keys acknowledged, every
// one of which must survive.
type ackedWriters struct {
	stop  atomic.Bool
	wg    sync.WaitGroup
	mu    sync.Mutex
	acked []string
}

func (w *ackedWriters) start(ctx context.Context, through *proc, name string) {
	w.wg.Add(1)
	go func() {
		defer w.wg.Done()
		r := redis.NewClient(&redis.Options{Addr: through.client})
		defer r.Close()
		for i := 0; !w.stop.Load(); i++ {
			key := fmt.Sprintf("%s:%d", name, i)
			if r.Set(ctx, key, key, 0).Err() == nil {
				w.mu.Lock()
				w.acked = append(w.acked, key)
				w.mu.Unlock()
			}
			time.Sleep(5 * time.Millisecond)
		}
	}()
}

func (w *ackedWriters) finish() []string {
	w.stop.Store(true)
	w.wg.Wait()
	return w.acked
}
