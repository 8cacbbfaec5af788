// Package ports picks free TCP ports on loopback for tests and harnesses
// that start server processes. A port from a listen on :0 lies in the
// kernel's ephemeral range, where another process's outbound connection
// can take it between the pick and the server's bind ("address already in
// use"); these are drawn below that range instead, and never handed out
// twice in one process.
package ports

import (
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
)

var (
	mu    sync.Mutex
	taken = map[int]bool{}
)

// Free returns n distinct ports that nothing listened on when picked.
func Free(n int) ([]int, error) {
	lo, hi := Range()
	mu.Lock()
	defer mu.Unlock()
	var out []int
	for tries := 0; len(out) < n; tries++ {
		if tries > 100*n+1000 {
			return nil, fmt.Errorf("ports: found only %d free ports of %d in [%d, %d)", len(out), n, lo, hi)
		}
		p := lo + rand.IntN(hi-lo)
		if taken[p] {
			continue
		}
		ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p))
		if err != nil {
			continue
		}
		_ = ln.Close()
		taken[p] = true
		out = append(out, p)
	}
	return out, nil
}

// Addr returns one free loopback address, host:port.
func Addr() (string, error) {
	p, err := Free(1)
	if err != nil {
		return "", err
	}
	return "127.0.0.1:" + strconv.Itoa(p[0]), nil
}

// Range is where ports are drawn from: [20000, the ephemeral range's
// start), or [20000, 32768) when that cannot be read.
func Range() (int, int) {
	lo, hi := 20000, 32768
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err == nil {
		if f := strings.Fields(string(b)); len(f) == 2 {
			if start, err := strconv.Atoi(f[0]); err == nil && start > lo+1000 {
				hi = start
			} else if err == nil {
				lo, hi = 1024, max(start, 2048) // an unusual range: stay below it
			}
		}
	}
	return lo, hi
}
