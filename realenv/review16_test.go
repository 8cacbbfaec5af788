package realenv

import (
	"io"
	"net"
	"sync"
	"testing"
	"time"
)

// review16: TestConnectionFloodIsCapped opens its flood once. An attacker
// without the secret that redials as soon as a handshake slot frees (each
// of its connections says nothing, is closed after a silence timeout, and
// is replaced at once by one of its dial loops) keeps all PendingMax slots
// and a real peer that must (re)connect is refused for as long as the
// attack lasts: one unauthenticated process cuts a node off from its peers.
func TestReview16HandshakeSlotsHeldByRedialingAttacker(t *testing.T) {
	var log logBuf
	got := make(chan []byte, 1)
	b := secretTransport(t, 2, "0123456789abcdef", map[uint64]string{1: "127.0.0.1:1"}, got, &log)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	defer func() { close(stop); wg.Wait() }()
	for range 64 {
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
	a := secretTransport(t, 1, "0123456789abcdef", map[uint64]string{2: b.Addr().String()}, make(chan []byte), &log)
	deadline := time.Now().Add(10 * time.Second)
	for {
		a.Send(2, []byte("real"))
		select {
		case <-got:
			return
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("a real peer with the secret got nothing through in 10 s while an attacker without it redialled; refused %d", b.Refused())
		}
	}
}
