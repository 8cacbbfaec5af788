package realenv

import (
	"bufio"
	"encoding/binary"
	"io"
	"log/slog"
	"net"
	"runtime"
	"strings"
	"testing"
	"time"
)

// The attacks of issue 16 on the peer port, over real loopback sockets:
// each one is refused, and the port stays usable by the real peers.

func secretTransport(t *testing.T, id uint64, secret string, peers map[uint64]string, got chan []byte, log *logBuf) *Transport {
	t.Helper()
	tr, err := NewTransport(TransportConfig{
		ID: id, ClusterID: "c", Secret: []byte(secret), Peers: peers, Listen: "127.0.0.1:0",
		Log: slog.New(slog.NewTextHandler(log, nil)),
		Deliver: func(_ uint64, m []byte) {
			select {
			case got <- m:
			default: // a test that stopped reading
			}
		},
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

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not in 5 s", what)
		}
	}
}

// TestPeerWithoutTheSecretIsRefused: a process that knows the cluster id
// and the node ids but not the secret (the forger) never gets a
// message through, and what it is told is a close.
func TestPeerWithoutTheSecretIsRefused(t *testing.T) {
	var log logBuf
	got := make(chan []byte, 1)
	b := secretTransport(t, 2, "right", map[uint64]string{1: "127.0.0.1:1"}, got, &log)
	a := secretTransport(t, 1, "wrong", map[uint64]string{2: b.Addr().String()}, make(chan []byte), &log)
	a.Send(2, []byte("forged heartbeat"))
	eventually(t, "refusal", func() bool { return strings.Contains(log.String(), "wrong proof of the cluster secret") })
	if !strings.Contains(log.String(), "peer closed the connection during the handshake") {
		t.Fatalf("the dialer was not refused:\n%s", log.String())
	}
	select {
	case m := <-got:
		t.Fatalf("%q delivered from a peer without the secret", m)
	case <-time.After(200 * time.Millisecond):
	}
	// The right secret gets through.
	c := secretTransport(t, 1, "right", map[uint64]string{2: b.Addr().String()}, make(chan []byte), &log)
	c.Send(2, []byte("real"))
	select {
	case m := <-got:
		if string(m) != "real" {
			t.Fatalf("got %q", m)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a peer with the secret got nothing through")
	}
}

// TestRefusedHandshakeTellsNothing: a hello for another cluster, a hello
// with a wrong node id and plain garbage each get a close with no byte
// (before, the answer named the node's cluster id and its node id).
func TestRefusedHandshakeTellsNothing(t *testing.T) {
	var log logBuf
	b := secretTransport(t, 2, "s", map[uint64]string{1: "127.0.0.1:1"}, make(chan []byte, 1), &log)
	other := &Transport{clusterHash: ClusterHash("other"), cfg: TransportConfig{ID: 1}}
	wrongTo := &Transport{clusterHash: ClusterHash("c"), cfg: TransportConfig{ID: 1}}
	for name, hello := range map[string][]byte{
		"other cluster": other.hello(2),
		"wrong node":    wrongTo.hello(9),
		"garbage":       []byte(strings.Repeat("GET / HTTP/1.1\r\n", 4)[:helloBytes]),
	} {
		c, err := net.Dial("tcp", b.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		_, _ = c.Write(hello)
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		answer, err := io.ReadAll(c)
		c.Close()
		if len(answer) != 0 {
			t.Errorf("%s: the refusal said %q", name, answer)
		}
		if ne, ok := err.(net.Error); ok && ne.Timeout() {
			t.Errorf("%s: the connection was left open", name)
		}
	}
	if n := strings.Count(log.String(), "refused an inbound peer connection"); n != 1 {
		t.Errorf("refusals logged %d times, want once for the one source:\n%s", n, log.String())
	}
	if got := b.Refused(); got != 3 {
		t.Errorf("Refused() = %d, want 3", got)
	}
}

// rawPeer is a peer that holds the secret but writes what it likes.
func rawPeer(t *testing.T, addr string, from, to uint64, secret string) (net.Conn, *frameMAC) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	me := &Transport{clusterHash: ClusterHash("c"), key: peerKey([]byte(secret), "c"), cfg: TransportConfig{ID: from}}
	tags, err := me.dialHandshake(c, to)
	if err != nil {
		t.Fatal(err)
	}
	return c, tags
}

// TestForgedFrameClosesTheConnection: a frame whose tag is wrong (bytes
// injected into the stream, or replayed) closes the connection and is
// not delivered.
func TestForgedFrameClosesTheConnection(t *testing.T) {
	var log logBuf
	got := make(chan []byte, 4)
	b := secretTransport(t, 2, "s", map[uint64]string{1: "127.0.0.1:1"}, got, &log)
	c, tags := rawPeer(t, b.Addr().String(), 1, 2, "s")
	w := bufio.NewWriter(c)
	if err := writeFrame(w, tags, []byte("good")); err != nil {
		t.Fatal(err)
	}
	tags.seq-- // the next frame replays the first one's sequence number
	if err := writeFrame(w, tags, []byte("replayed")); err != nil {
		t.Fatal(err)
	}
	_ = w.Flush()
	if m := <-got; string(m) != "good" {
		t.Fatalf("got %q", m)
	}
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.ReadAll(c); err != nil {
		t.Fatalf("the connection stayed open after a bad tag: %v", err)
	}
	select {
	case m := <-got:
		t.Fatalf("a frame with a bad tag was delivered: %q", m)
	default:
	}
}

// TestHalfSentHugeFramesStayBounded: the 8 half-sent frames, each
// declaring 64 MiB (before: 21 MB to 547 MB). The receiver holds about
// what arrived, not what was declared.
func TestHalfSentHugeFramesStayBounded(t *testing.T) {
	var log logBuf
	peers := map[uint64]string{}
	for id := uint64(1); id <= 8; id++ {
		peers[id] = "127.0.0.1:1"
	}
	b := secretTransport(t, 9, "s", peers, make(chan []byte, 1), &log)
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	for id := uint64(1); id <= 8; id++ {
		c, _ := rawPeer(t, b.Addr().String(), id, 9, "s")
		var hdr [4]byte
		binary.BigEndian.PutUint32(hdr[:], 64<<20)
		_, _ = c.Write(hdr[:])
		_, _ = c.Write(make([]byte, 1000))
	}
	time.Sleep(300 * time.Millisecond)
	runtime.GC()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	grew := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	t.Logf("heap grew by %d bytes for 8 half-sent 64 MiB frames", grew)
	if grew > 8<<20 {
		t.Fatalf("heap grew by %d bytes: a frame's declared size was allocated before its bytes came", grew)
	}
}

// TestConnectionFloodIsCapped: the flood of idle connections
// (19,950 took every descriptor). The port holds at most PendingMax of
// them, each for at most a silence timeout, and a real peer still
// connects and delivers while the flood goes on.
func TestConnectionFloodIsCapped(t *testing.T) {
	var log logBuf
	got := make(chan []byte, 1)
	b := secretTransport(t, 2, "s", map[uint64]string{1: "127.0.0.1:1"}, got, &log)
	var flood []net.Conn
	defer func() {
		for _, c := range flood {
			c.Close()
		}
	}()
	for range 500 {
		c, err := net.Dial("tcp", b.Addr().String())
		if err != nil {
			t.Fatalf("after %d connections: %v", len(flood), err)
		}
		flood = append(flood, c)
	}
	eventually(t, "refusals", func() bool { return b.Refused() >= 500-uint64(b.cfg.PendingMax) })
	b.mu.Lock()
	held := len(b.inbound)
	b.mu.Unlock()
	if held > b.cfg.PendingMax {
		t.Fatalf("the port holds %d connections, cap %d", held, b.cfg.PendingMax)
	}
	// The idle ones that were let in are closed after their handshake's
	// deadline (a silence timeout), which makes room for the real peer.
	a := secretTransport(t, 1, "s", map[uint64]string{2: b.Addr().String()}, make(chan []byte), &log)
	deadline := time.Now().Add(10 * time.Second)
	for {
		a.Send(2, []byte("real"))
		select {
		case m := <-got:
			t.Logf("delivered %q with %d flood connections open; %d refused", m, len(flood), b.Refused())
			return
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("a real peer got nothing through the flood; refused %d", b.Refused())
		}
	}
}
