// Tests the server's memory bounds (server_limits.go) with clients that
// never read their replies, one and many, and with commands that wait on
// the backend. Each measures the bytes the server itself holds for its
// clients (LimitStats), not wall time.
package server

import (
	"bytes"
	"fmt"
	"github.com/seshat-db/seshat/resp"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a log sink the server's goroutines may share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func startLimitServer(t *testing.T, lim ClientLimits, b resp.Backend) (*Server, string, *syncBuffer) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	srv := NewServer(ServerConfig{Clients: lim, Log: slog.New(slog.NewTextHandler(logs, nil))}, b, nil)
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return srv, ln.Addr().String(), logs
}

// echoBytes is the size of each ECHO's argument: its reply is as large.
const echoBytes = 32 << 10

var echoCmd = echoOf(echoBytes)

func echoOf(n int) []byte {
	return []byte(fmt.Sprintf("*2\r\n$4\r\nECHO\r\n$%d\r\n%s\r\n", n, strings.Repeat("e", n)))
}

// neverReader pipelines ECHOs and reads nothing, with a small receive
// window, until the server hangs up or sendMax bytes are sent. It reports
// whether the server hung up.
func neverReader(t *testing.T, addr string, sendMax int) bool {
	return neverReaderOf(t, addr, sendMax, echoCmd)
}

func neverReaderOf(t *testing.T, addr string, sendMax int, cmd []byte) bool {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Error(err)
		return false
	}
	defer c.Close()
	_ = c.(*net.TCPConn).SetReadBuffer(4 << 10)
	_ = c.SetWriteDeadline(time.Now().Add(20 * time.Second))
	for sent := 0; sent < sendMax; sent += len(cmd) {
		if _, err := c.Write(cmd); err != nil {
			return true
		}
	}
	return false
}

// waitUntil polls cond for up to 10 s.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// slack is what one connection may add past a bound before it is
// checked: one reply, one command and its read buffer.
var slack = 2*int64(len(echoCmd)) + resp.ReadBufBytes + resp.ReadRoomBytesMin

func TestNeverReadingClientClosedAtHardLimit(t *testing.T) {
	const hard = 1 << 20
	srv, addr, logs := startLimitServer(t, ClientLimits{OutputBytesHard: hard, OutputBytesSoft: hard}, &heldBackend{})
	if !neverReader(t, addr, 256<<20) {
		t.Fatal("the server never closed a client that reads nothing (256 MB sent)")
	}
	st := srv.LimitStats()
	if st.OutputLimitClosed != 1 {
		t.Errorf("output-limit closes: %d, want 1", st.OutputLimitClosed)
	}
	if st.BufferBytesHighest > hard+slack {
		t.Errorf("the server held %d bytes for the client; the bound is %d (+%d)", st.BufferBytesHighest, hard, slack)
	}
	if !strings.Contains(logs.String(), "scheduled to be closed ASAP for overcoming of output buffer limits.") {
		t.Errorf("no Redis-style log line:\n%s", logs)
	}
	waitUntil(t, "the closed client's memory to be released", func() bool { return srv.LimitStats().BufferBytes == 0 })
	t.Logf("highest buffered: %d bytes (hard limit %d)", st.BufferBytesHighest, hard)
}

func TestClientOverSoftLimitClosedAfterItsTime(t *testing.T) {
	const soft = 256 << 10
	srv, addr, logs := startLimitServer(t, ClientLimits{OutputBytesHard: 64 << 20, OutputBytesSoft: soft, OutputSoftDuration: time.Second}, &heldBackend{})
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.(*net.TCPConn).SetReadBuffer(4 << 10)
	// Enough to fill the socket buffers on both sides and pass the soft
	// limit, then nothing more: only the periodic check can notice.
	for range (24 << 20) / len(echoCmd) {
		if _, err := c.Write(echoCmd); err != nil {
			t.Fatalf("closed while still under the hard limit: %v", err)
		}
	}
	waitUntil(t, "the output to pass the soft limit", func() bool { return srv.LimitStats().BufferBytes > soft })
	over := time.Now()
	waitUntil(t, "the soft-limit close", func() bool { return srv.LimitStats().OutputLimitClosed == 1 })
	if took := time.Since(over); took < 900*time.Millisecond {
		t.Errorf("closed %s after passing the soft limit, before its second", took)
	}
	// The close is counted before it is logged: wait for the line.
	waitUntil(t, "the log to say the soft limit", func() bool { return strings.Contains(logs.String(), "limit=soft") })
}

// TestManyNeverReadingClientsTotalBound: with a per-connection limit too
// high to matter, twenty clients that never read are held within the
// total bound by evicting the biggest, and each eviction is logged.
func TestManyNeverReadingClientsTotalBound(t *testing.T) {
	const total = 4 << 20
	const clients = 20
	srv, addr, logs := startLimitServer(t, ClientLimits{OutputBytesHard: 64 << 20, OutputBytesSoft: 64 << 20, TotalBytesMax: total}, &heldBackend{})
	var wg sync.WaitGroup
	hungUp := make(chan bool, clients)
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			hungUp <- neverReader(t, addr, 64<<20)
		}()
	}
	wg.Wait()
	close(hungUp)
	n := 0
	for h := range hungUp {
		if h {
			n++
		}
	}
	st := srv.LimitStats()
	if st.Evicted == 0 || n == 0 {
		t.Fatalf("nobody evicted (stats %+v, %d hung up)", st, n)
	}
	if bound := total + clients*slack; st.BufferBytesHighest > bound {
		t.Errorf("the server held %d bytes for %d clients; the bound is %d", st.BufferBytesHighest, clients, bound)
	}
	if !strings.Contains(logs.String(), "Evicting client: id=") {
		t.Errorf("no eviction in the log:\n%.2000s", logs)
	}
	t.Logf("%d clients: highest %d bytes (total bound %d), %d evicted", clients, st.BufferBytesHighest, total, st.Evicted)
}

// TestInputBackpressure: commands that wait on the backend are read only
// up to the input bound; once answered, the rest are read and answered.
func TestInputBackpressure(t *testing.T) {
	const inMax = 1 << 20
	b := &heldBackend{}
	srv, addr, _ := startLimitServer(t, ClientLimits{InputBytesMax: inMax}, b)
	c, r := dial(t, addr)
	val := strings.Repeat("v", 60<<10)
	cmd := fmt.Sprintf("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$%d\r\n%s\r\n", len(val), val)
	const n = 100 // 6 MB of SETs
	go c.Write([]byte(strings.Repeat(cmd, n)))
	waitUntil(t, "reading to pause", func() bool { return srv.LimitStats().InputPauses > 0 })
	if st := srv.LimitStats(); st.BufferBytesHighest > inMax+slack+int64(len(cmd)) {
		t.Errorf("held %d bytes of waiting commands; the bound is %d", st.BufferBytesHighest, inMax)
	}
	done := make(chan struct{})
	defer close(done)
	go func() { // the backend answers from now on
		for {
			select {
			case <-done:
				return
			case <-time.After(5 * time.Millisecond):
				b.release()
			}
		}
	}()
	for i := range n {
		if line, err := r.ReadString('\n'); err != nil || line != "+OK\r\n" {
			t.Fatalf("reply %d: %q %v", i, line, err)
		}
	}
}
