package realenv

import (
	"io"
	"net"
	"sync"
	"testing"
	"time"
)

// TestRedialingAttackerDoesNotLockOutAPeer: an attacker without the
// secret, on the peer's own address (loopback), redials from 256 loops (four times the queue) as
// soon as a connection of its own is closed, and says nothing on any. When
// a full handshake queue refused newcomers, it held every slot and a real
// peer that had to (re)connect was refused for as long as the attack
// lasted (found by review16). A full queue now displaces its oldest
// (pending.go), and the real peer's handshake ends before PendingMax newer
// connections displace it.
func TestRedialingAttackerDoesNotLockOutAPeer(t *testing.T) {
	var log logBuf
	got := make(chan []byte, 1)
	b := secretTransport(t, 2, "0123456789abcdef", map[uint64]string{1: "127.0.0.1:1"}, got, &log)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	defer func() { close(stop); wg.Wait() }()
	for range 4 * 64 { // four times the default PendingMax
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				c, err := net.Dial("tcp", b.Addr().String())
				if err != nil {
					time.Sleep(time.Millisecond)
					continue
				}
				go func() { <-stop; c.Close() }()
				_, _ = io.Copy(io.Discard, c) // hold it until the node closes it
				c.Close()
			}
		}()
	}
	time.Sleep(200 * time.Millisecond)
	rate := float64(b.Refused()) / 0.2
	a := secretTransport(t, 1, "0123456789abcdef", map[uint64]string{2: b.Addr().String()}, make(chan []byte), &log)
	start := time.Now()
	deadline := start.Add(10 * time.Second)
	for {
		a.Send(2, []byte("real"))
		select {
		case <-got:
			took := time.Since(start)
			t.Logf("the real peer got through in %v; the attacker's connections were displaced at %.0f/s", took, rate)
			return
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("a real peer with the secret got nothing through in 10 s while an attacker without it redialled; refused %d", b.Refused())
		}
	}
}
