// A peer link whose bandwidth is the bottleneck (a busy or slow network, a
// follower catching up) must not be taken for silent while bytes flow
// (found in review: it was torn down, and a large frame never arrived).
package realenv

import (
	"io"
	"log/slog"
	"net"
	"sync/atomic"
	"testing"
	"time"
)

// throttle forwards connections from its listener to target at about
// rate bytes per second in each direction.
func throttle(t *testing.T, target string, rate int) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	pipe := func(dst, src net.Conn) {
		defer dst.Close()
		defer src.Close()
		buf := make([]byte, rate/100)
		for {
			n, err := src.Read(buf)
			if n > 0 {
				if _, werr := dst.Write(buf[:n]); werr != nil {
					return
				}
				time.Sleep(time.Duration(n) * time.Second / time.Duration(rate))
			}
			if err != nil {
				return
			}
		}
	}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			go pipe(s, c)
			go pipe(c, s)
		}
	}()
	return ln.Addr().String()
}

func slowPair(t *testing.T, rate int, deliver func([]byte)) (*Transport, *Transport) {
	t.Helper()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	b, err := NewTransport(TransportConfig{ID: 2, ClusterID: "c", Peers: map[uint64]string{1: "127.0.0.1:1"},
		Listen: "127.0.0.1:0", Log: quiet, Deliver: func(_ uint64, m []byte) { deliver(m) }})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	a, err := NewTransport(TransportConfig{ID: 1, ClusterID: "c", Peers: map[uint64]string{2: throttle(t, b.Addr().String(), rate)},
		Listen: "127.0.0.1:0", Log: quiet, Deliver: func(uint64, []byte) {}})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	for !a.Stats()[0].Connected {
		time.Sleep(5 * time.Millisecond)
	}
	return a, b
}

// A link kept busy (the send queue never empties, as when a leader streams
// appends to a follower faster than the network carries them) carries
// data throughout: it must be neither torn down at a burst's deadline nor
// taken for silent.
func TestBusyLinkIsNotSilent(t *testing.T) {
	var got atomic.Uint64
	a, _ := slowPair(t, 4<<20, func([]byte) { got.Add(1) })
	msg := make([]byte, 16<<10)
	end := time.Now().Add(8 * time.Second)
	for time.Now().Before(end) {
		for range 8 {
			a.Send(2, msg)
		}
		time.Sleep(time.Millisecond) // well over 4 MiB/s offered to a 4 MiB/s link
	}
	s := a.Stats()[0]
	t.Logf("delivered %d, stats %+v", got.Load(), s)
	if s.Silences != 0 || s.Reconnects != 0 {
		t.Fatalf("a busy link carrying data was torn down: %+v", s)
	}
}

// One large frame (a multi-MiB entry) on a link where it takes longer than
// SilenceTimeout but well within WriteTimeout must arrive: the acceptor's
// deadline is per read and it pongs while the body comes in.
func TestLargeFrameOnSlowLinkArrives(t *testing.T) {
	got := make(chan int, 10)
	a, _ := slowPair(t, 2<<20, func(m []byte) { got <- len(m) })
	a.Send(2, make([]byte, 4<<20)) // 2 s at 2 MiB/s
	select {
	case n := <-got:
		t.Logf("delivered %d bytes; stats %+v", n, a.Stats()[0])
	case <-time.After(4500 * time.Millisecond):
		t.Fatalf("a 4 MiB frame on a 2 MiB/s link never arrived; stats %+v", a.Stats()[0])
	}
}
