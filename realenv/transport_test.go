// Tests the peer transport over real loopback TCP: frames arrive intact
// and in order, and a handshake from the wrong cluster or for the wrong
// node is refused with a reason.
package realenv

import (
	"bytes"
	"fmt"
	"log/slog"
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
		Deliver: func(m []byte) { got <- m },
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
			for !strings.Contains(log.String(), "peer refused the connection") && time.Now().Before(deadline) {
				time.Sleep(10 * time.Millisecond)
			}
			if !strings.Contains(log.String(), "refused inbound peer connection") || !strings.Contains(log.String(), tc.want) {
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
