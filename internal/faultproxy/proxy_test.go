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
