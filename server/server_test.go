// Tests the socket server with a backend whose answers the test releases
// by hand: a reply that waits holds back the replies behind it on its
// connection but not on others, and the connection limit answers the
// excess client with Redis's error. Then the reading side: commands split
// across reads, pipelines larger than one read, the command limits, and
// the read buffer's bound.
package server

import (
	"bufio"
	"github.com/seshat-db/seshat/resp"
	"io"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/seshat-db/seshat/kv"
)

// heldBackend answers reads at once and holds writes until release.
type heldBackend struct {
	mu   sync.Mutex
	held []func()
}

func (b *heldBackend) Submit(ops []kv.Op, done func([]kv.Result)) {
	res := make([]kv.Result, len(ops))
	if ops[0].Kind.IsRead() {
		for i := range res {
			res[i].Nil = true
		}
		done(res)
		return
	}
	b.mu.Lock()
	b.held = append(b.held, func() { done(res) })
	b.mu.Unlock()
}

func (b *heldBackend) release() {
	b.mu.Lock()
	held := b.held
	b.held = nil
	b.mu.Unlock()
	for _, done := range held {
		done()
	}
}

func startServer(t *testing.T, cfg ServerConfig, b resp.Backend) string {
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

// TestCommandsAcrossReads: a command that arrives a byte at a time, and a
// pipeline far larger than one read, are answered in full and in order.
func TestCommandsAcrossReads(t *testing.T) {
	addr := startServer(t, ServerConfig{}, &heldBackend{})
	c, r := dial(t, addr)
	for _, b := range []byte("*2\r\n$4\r\nECHO\r\n$5\r\nhello\r\n") {
		c.Write([]byte{b})
		time.Sleep(time.Millisecond)
	}
	if got, _ := r.ReadString('\n'); got != "$5\r\n" {
		t.Fatalf("got %q", got)
	}
	if got, _ := r.ReadString('\n'); got != "hello\r\n" {
		t.Fatalf("got %q", got)
	}
	const n = 20000 // 280 KB of commands: several reads
	go c.Write([]byte(strings.Repeat("*1\r\n$4\r\nPING\r\n", n-1) + "ECHO last\r\n"))
	for i := range n - 1 {
		if got, err := r.ReadString('\n'); got != "+PONG\r\n" {
			t.Fatalf("reply %d: %q %v", i, got, err)
		}
	}
	if got, _ := r.ReadString('\n'); got != "$4\r\n" {
		t.Fatalf("last reply: %q", got)
	}
}

// TestCommandLimitsOnTheWire: a bulk string or a command over the
// server's limits is answered with the protocol error and the connection
// closes; one at the bulk limit is served.
func TestCommandLimitsOnTheWire(t *testing.T) {
	addr := startServer(t, ServerConfig{Command: resp.CommandLimits{CommandBytesMax: 3 << 20}}, &heldBackend{})
	big := strings.Repeat("x", 1<<20)
	for _, tc := range []struct{ send, want string }{
		{"*2\r\n$4\r\nECHO\r\n$1048576\r\n" + big + "\r\n", "$1048576\r\n" + big + "\r\n"},
		{"*2\r\n$4\r\nECHO\r\n$1048577\r\n", "-ERR Protocol error: invalid bulk length\r\n"},
		{"*4\r\n$4\r\nMGET\r\n$1048576\r\n" + big + "\r\n$1048576\r\n" + big + "\r\n$1048576\r\n", "-ERR Protocol error: command larger than the server's limit\r\n"},
	} {
		c, r := dial(t, addr)
		go c.Write([]byte(tc.send))
		got := make([]byte, len(tc.want))
		if _, err := io.ReadFull(r, got); err != nil || string(got) != tc.want {
			t.Fatalf("sent %.40q: got %.60q %v, want %.60q", tc.send, got, err, tc.want)
		}
		if strings.HasPrefix(tc.want, "-") {
			if _, err := r.ReadByte(); err == nil {
				t.Fatalf("sent %.40q: connection still open after the error", tc.send)
			}
		}
	}
}

// slowWriteBackend answers reads at once and writes later, from another
// goroutine, as a raft node does: a read sent after a write would overtake
// it if the server let it.
type slowWriteBackend struct {
	mu    sync.Mutex
	store memStore
}

func (b *slowWriteBackend) apply(ops []kv.Op, done func([]kv.Result)) {
	b.mu.Lock()
	res := make([]kv.Result, len(ops))
	for i, op := range ops {
		res[i], _ = kv.Apply(b.store, op)
	}
	b.mu.Unlock()
	done(res)
}

func (b *slowWriteBackend) Submit(ops []kv.Op, done func([]kv.Result)) {
	if ops[0].Kind.IsRead() {
		b.apply(ops, done)
		return
	}
	go func() {
		time.Sleep(time.Millisecond)
		b.apply(ops, done)
	}()
}

func TestPipelineRunsInConnectionOrder(t *testing.T) {
	addr := startServer(t, ServerConfig{}, &slowWriteBackend{store: memStore{}})
	c, r := dial(t, addr)
	cmds := []string{"SET k 1", "INCR k", "GET k", "DEL k", "GET k", "SET k 1", "GET k", "SET k 2"}
	want := "+OK\r\n:2\r\n$1\r\n2\r\n:1\r\n$-1\r\n+OK\r\n$1\r\n1\r\n+OK\r\n"
	var req []byte
	for _, cmd := range cmds {
		args := bytesArgs(cmd)
		req = resp.AppendArray(req, len(args))
		for _, a := range args {
			req = resp.AppendBulk(req, a)
		}
	}
	for round := range 50 {
		if _, err := c.Write(req); err != nil {
			t.Fatal(err)
		}
		got := make([]byte, len(want))
		if _, err := io.ReadFull(r, got); err != nil {
			t.Fatal(err)
		}
		if string(got) != want {
			t.Fatalf("round %d: replies %q, want %q", round, got, want)
		}
	}
}

// memStore is a kv.Store over a map. Its cluster time is the wall
// clock, as Redis's is, so that TTL replies match a real Redis's.
type memStore map[string]kv.Item

func (s memStore) Get(key []byte) (kv.Item, bool, error) {
	v, ok := s[string(key)]
	return v, ok, nil
}

func (s memStore) Put(key []byte, item kv.Item, _ *kv.Item) error {
	s[string(key)] = kv.Item{Value: append([]byte{}, item.Value...), Deadline: item.Deadline}
	return nil
}

func (s memStore) Delete(key []byte, _ kv.Item) error {
	delete(s, string(key))
	return nil
}

func (s memStore) Len() (int64, error) { return int64(len(s)), nil }

func (s memStore) Now() int64 { return time.Now().UnixMilli() }

func bytesArgs(s string) [][]byte {
	var out [][]byte
	for _, f := range strings.Fields(s) {
		out = append(out, []byte(f))
	}
	return out
}

func (s memStore) Range(fn func(key []byte, item kv.Item) bool) error {
	keys := make([]string, 0, len(s))
	for k := range s {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if !fn([]byte(k), s[k]) {
			break
		}
	}
	return nil
}

func (s memStore) Clear() error {
	clear(s)
	return nil
}

func (s memStore) RangeHash(from uint64, fn func(hash uint64, key []byte, item kv.Item) bool) error {
	return kv.RangeHashBySorting(s, from, fn)
}
