// Tests the socket server with a backend whose answers the test releases
// by hand: a reply that waits holds back the replies behind it on its
// connection but not on others, and the connection limit answers the
// excess client with Redis's error.
package resp

import (
	"bufio"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/seshat-db/seshat/node/kv"
)

// heldBackend answers reads at once and holds writes until release.
type heldBackend struct {
	mu   sync.Mutex
	held []func(kv.Result)
}

func (b *heldBackend) Submit(op kv.Op, done func(kv.Result)) {
	if op.Kind.IsRead() {
		done(kv.Result{Nil: true})
		return
	}
	b.mu.Lock()
	b.held = append(b.held, done)
	b.mu.Unlock()
}

func (b *heldBackend) release() {
	b.mu.Lock()
	held := b.held
	b.held = nil
	b.mu.Unlock()
	for _, done := range held {
		done(kv.Result{})
	}
}

func startServer(t *testing.T, cfg ServerConfig, b Backend) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := NewServer(cfg, b, nil)
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

func dial(t *testing.T, addr string) (net.Conn, *bufio.Reader) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	return c, bufio.NewReader(c)
}

func TestPipelineOrderAndIsolation(t *testing.T) {
	b := &heldBackend{}
	addr := startServer(t, ServerConfig{}, b)
	c1, r1 := dial(t, addr)
	c1.Write([]byte("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n*2\r\n$3\r\nGET\r\n$1\r\nk\r\nPING\r\n"))
	// Another connection is not held back by c1's pending write.
	c2, r2 := dial(t, addr)
	c2.Write([]byte("PING\r\n"))
	if line, _ := r2.ReadString('\n'); line != "+PONG\r\n" {
		t.Fatalf("second connection got %q", line)
	}
	// c1's replies wait for the SET, then come in order.
	time.Sleep(50 * time.Millisecond)
	b.release()
	var got []string
	for range 3 {
		line, err := r1.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, line)
	}
	if want := "+OK\r\n $-1\r\n +PONG\r\n"; strings.Join(got, " ") != want {
		t.Fatalf("replies %q, want %q", strings.Join(got, " "), want)
	}
}

func TestConnectionLimit(t *testing.T) {
	addr := startServer(t, ServerConfig{ClientsMax: 1}, &heldBackend{})
	c1, r1 := dial(t, addr)
	c1.Write([]byte("PING\r\n"))
	if line, _ := r1.ReadString('\n'); line != "+PONG\r\n" {
		t.Fatalf("first client got %q", line)
	}
	_, r2 := dial(t, addr)
	if line, _ := r2.ReadString('\n'); line != "-ERR max number of clients reached\r\n" {
		t.Fatalf("second client got %q", line)
	}
}

func TestQuitClosesAfterReply(t *testing.T) {
	addr := startServer(t, ServerConfig{}, &heldBackend{})
	c, r := dial(t, addr)
	c.Write([]byte("QUIT\r\nPING\r\n"))
	if line, _ := r.ReadString('\n'); line != "+OK\r\n" {
		t.Fatalf("QUIT got %q", line)
	}
	if rest, err := r.ReadString('\n'); err == nil {
		t.Fatalf("connection still open after QUIT, read %q", rest)
	}
}
