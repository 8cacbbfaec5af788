package faultproxy

import (
	"bufio"
	"net"
	"testing"
	"time"
)

// echoServer answers every line with itself.
func echoServer(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				r := bufio.NewReader(c)
				for {
					line, err := r.ReadString('\n')
					if err != nil {
						return
					}
					if _, err := c.Write([]byte(line)); err != nil {
						return
					}
				}
			}()
		}
	}()
	return ln.Addr().String()
}

// roundTrip sends a line through c and reports whether it came back
// within d.
func roundTrip(t *testing.T, c net.Conn, r *bufio.Reader, d time.Duration) bool {
	t.Helper()
	if _, err := c.Write([]byte("ping\n")); err != nil {
		return false
	}
	_ = c.SetReadDeadline(time.Now().Add(d))
	line, err := r.ReadString('\n')
	return err == nil && line == "ping\n"
}

func TestProxyCutsAndHealsOnlyNewConnections(t *testing.T) {
	p, err := New("127.0.0.1:0", echoServer(t))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	old, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer old.Close()
	oldR := bufio.NewReader(old)
	if !roundTrip(t, old, oldR, 2*time.Second) {
		t.Fatal("no echo through an open proxy")
	}
	p.Block(true, false)
	if roundTrip(t, old, oldR, 300*time.Millisecond) {
		t.Fatal("an echo crossed a cut link")
	}
	p.Heal()
	if roundTrip(t, old, oldR, 300*time.Millisecond) {
		t.Fatal("a connection that lived through the cut carried data after the heal")
	}
	fresh, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer fresh.Close()
	if !roundTrip(t, fresh, bufio.NewReader(fresh), 2*time.Second) {
		t.Fatal("a connection made after the heal carried nothing")
	}
}

func TestProxyOneWayCutStopsOnlyThatDirection(t *testing.T) {
	p, err := New("127.0.0.1:0", echoServer(t))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	p.Block(false, true)
	c, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if roundTrip(t, c, bufio.NewReader(c), 300*time.Millisecond) {
		t.Fatal("the echo came back across a cut backward direction")
	}
}

// TestProxyDelaysWithoutQueueing: each line comes back after the two
// one-way delays, however many were sent before it.
func TestProxyDelaysWithoutQueueing(t *testing.T) {
	p, err := New("127.0.0.1:0", echoServer(t))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	const fwd, back = 60 * time.Millisecond, 40 * time.Millisecond
	p.SetLatency(fwd, back)
	c, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	r := bufio.NewReader(c)
	start := time.Now()
	const lines = 10
	for range lines {
		if _, err := c.Write([]byte("ping\n")); err != nil {
			t.Fatal(err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	for i := range lines {
		line, err := r.ReadString('\n')
		if err != nil || line != "ping\n" {
			t.Fatalf("line %d: %q, %v", i, line, err)
		}
		if i == 0 && time.Since(start) < fwd+back {
			t.Fatalf("the first line came back after %s, under the %s of latency", time.Since(start), fwd+back)
		}
	}
	// Ten lines 10 ms apart with 100 ms round trips: about 200 ms, not
	// the 1 s a proxy that waits out each delay in turn would take.
	if took := time.Since(start); took > 600*time.Millisecond {
		t.Fatalf("ten lines took %s: the delays queued up", took)
	}
	p.SetLatency(0, 0)
	fastest := time.Hour
	for range 5 {
		at := time.Now()
		if !roundTrip(t, c, r, time.Second) {
			t.Fatal("no round trip after the latency was lifted")
		}
		fastest = min(fastest, time.Since(at))
	}
	if fastest >= fwd+back {
		t.Fatalf("round trips take %s after the latency was lifted", fastest)
	}
}

func TestLossDelaysByRetransmissionTimeouts(t *testing.T) {
	if d := lossDelay(0); d != 0 {
		t.Fatalf("no loss delayed a chunk by %s", d)
	}
	if d := lossDelay(100); d < 30*time.Second {
		t.Fatalf("a link that loses everything delivered after %s", d)
	}
	lost := 0
	for range 1000 {
		switch d := lossDelay(10); {
		case d == 0:
		case d%retransmitRTOMin != 0:
			t.Fatalf("a delay of %s is not a sum of doubling timeouts", d)
		default:
			lost++
		}
	}
	if lost < 50 || lost > 150 {
		t.Fatalf("10%% loss delayed %d of 1000 chunks", lost)
	}
}
