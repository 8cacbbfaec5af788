// Package banned breaks every rule the tidy test enforces, to prove the
// test notices.
package banned

import (
	"os"
	"time"
)

func Bad(m map[string]int) {
	_ = time.Now()
	time.Sleep(time.Millisecond)
	go func() {}()
	for k := range m {
		_ = k
	}
	_ = os.Getpid()
}
