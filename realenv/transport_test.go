// Tests the peer transport over real loopback TCP: frames arrive intact
// and in order, and a handshake from the wrong cluster or for the wrong
// node is refused with a reason.
package realenv

import (
	"bytes"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

type logBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuf) Write(p []byte) (int, error) { l.mu.Lock(); defer l.mu.Unlock(); return l.b.Write(p) }
func (l *logBuf) String() string              { l.mu.Lock(); defer l.mu.Unlock(); return l.b.String() }

func newTestTransport(t *testing.T, id uint64, cluster string, peers map[uint64]string, got chan []byte, log *logBuf) *Transport {
	t.Helper()
	tr, err := NewTransport(TransportConfig{
		ID: id, ClusterID: cluster, Peers: peers, Listen: "127.0.0.1:0",
		Log:     slog.New(slog.NewTextHandler(log, nil)),
		Deliver: func(_ uint64, m []byte) { got <- m },
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := tr.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tr.Close() })
	return tr
}

func TestTransportDeliversInOrder(t *testing.T) {
	var log logBuf
	got := make(chan []byte, 100)
	b := newTestTransport(t, 2, "c", map[uint64]string{1: "127.0.0.1:1"}, got, &log)
	a := newTestTransport(t, 1, "c", map[uint64]string{2: b.Addr().String()}, make(chan []byte), &log)
	for i := range 50 {
		a.Send(2, []byte(fmt.Sprintf("m%d", i)))
	}
	for i := range 50 {
		select {
		case m := <-got:
			if string(m) != fmt.Sprintf("m%d", i) {
				t.Fatalf("message %d = %q", i, m)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("message %d never arrived", i)
		}
	}
}

func TestTransportRefusesMismatches(t *testing.T) {
	for _, tc := range []struct {
		name, cluster string
		dialerID      uint64
		want          string
	}{
		{"other cluster", "other", 1, "cluster id mismatch"},
		{"unknown sender", "c", 7, "not a member"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var log logBuf
			got := make(chan []byte, 1)
			b := newTestTransport(t, 2, "c", map[uint64]string{1: "127.0.0.1:1"}, got, &log)
			a := newTestTransport(t, tc.dialerID, tc.cluster, map[uint64]string{2: b.Addr().String()}, make(chan []byte), &log)
			a.Send(2, []byte("hello"))
			deadline := time.Now().Add(5 * time.Second)
			for !strings.Contains(log.String(), "peer closed the connection during the handshake") && time.Now().Before(deadline) {
				time.Sleep(10 * time.Millisecond)
			}
			// The acceptor logs why; the dialer learns nothing but the close.
			if !strings.Contains(log.String(), "refused an inbound peer connection") || !strings.Contains(log.String(), tc.want) {
				t.Fatalf("no refusal with %q logged:\n%s", tc.want, log.String())
			}
			select {
			case m := <-got:
				t.Fatalf("message %q delivered through a refused connection", m)
			default:
			}
		})
	}
}

// TestTransportDropsTheBacklogOfAFailedLink: messages queued while a peer
// cannot be reached are dropped when the attempt fails, so the peer's
// first message once it is back is a current one, not a partition's
// backlog.
func TestTransportDropsTheBacklogOfAFailedLink(t *testing.T) {
	var log logBuf
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there for now: dials are refused
	a := newTestTransport(t, 1, "c", map[uint64]string{2: addr}, make(chan []byte), &log)
	for i := range 20 {
		a.Send(2, []byte(fmt.Sprintf("stale%d", i)))
	}
	deadline := time.Now().Add(5 * time.Second)
	for a.Stats()[0].Dropped < 20 {
		if time.Now().After(deadline) {
			t.Fatalf("the backlog of an unreachable peer was not dropped: %+v", a.Stats()[0])
		}
		time.Sleep(5 * time.Millisecond)
	}
	got := make(chan []byte, 100)
	b, err := NewTransport(TransportConfig{
		ID: 2, ClusterID: "c", Peers: map[uint64]string{1: "127.0.0.1:1"}, Listen: addr,
		Log:     slog.New(slog.NewTextHandler(&log, nil)),
		Deliver: func(_ uint64, m []byte) { got <- m },
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Start(); err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	for a.Stats()[0].Reconnects == 0 && !a.Stats()[0].Connected {
		if time.Now().After(deadline.Add(5 * time.Second)) {
			t.Fatal("never connected once the peer listened")
		}
		time.Sleep(5 * time.Millisecond)
	}
	a.Send(2, []byte("fresh"))
	select {
	case m := <-got:
		if string(m) != "fresh" {
			t.Fatalf("the first message after the peer came back is %q, from the backlog", m)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the fresh message never arrived")
	}
}
