package resp

import (
	"strings"
	"testing"
)

// TestConnOrderAcrossSplitReads: a pipeline split mid-command across reads
// runs in order, and a reply that is ready waits behind one that is not.
func TestConnOrderAcrossSplitReads(t *testing.T) {
	b := &laterBackend{store: memStore{}}
	in := string(AppendCommand(nil, []byte("SET"), []byte("k"), []byte("v"))) +
		string(AppendCommand(nil, []byte("PING"))) +
		string(AppendCommand(nil, []byte("GET"), []byte("k")))
	for split := 1; split < len(in); split++ {
		b.store = memStore{}
		c := NewConn(NewExecutor(b, Limits{}, nil), ConnConfig{})
		c.Feed([]byte(in[:split]))
		c.Feed([]byte(in[split:]))
		if out, _ := c.Output(nil); len(out) != 0 {
			t.Fatalf("split %d: %q went out before the SET ahead of it was answered", split, out)
		}
		for len(b.pending) > 0 {
			pending := b.pending
			b.pending = nil
			for _, f := range pending {
				f()
			}
		}
		out, ended := c.Output(nil)
		if string(out) != "+OK\r\n+PONG\r\n$1\r\nv\r\n" || ended {
			t.Fatalf("split %d: got %q, ended %v", split, out, ended)
		}
	}
}

// TestConnQuitAndProtocolErrorEnd: nothing after a QUIT or a protocol
// error runs; the connection ends after its reply.
func TestConnQuitAndProtocolErrorEnd(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"PING\r\nQUIT\r\nPING\r\n", "+PONG\r\n+OK\r\n"},
		{"PING\r\n*1\r\n$x\r\nPING\r\n", "+PONG\r\n-ERR Protocol error: invalid bulk length\r\n"},
	} {
		c := NewConn(NewExecutor(&memBackend{store: memStore{}}, Limits{}, nil), ConnConfig{})
		c.Feed([]byte(tc.in))
		out, ended := c.Output(nil)
		if string(out) != tc.want || !ended {
			t.Errorf("%q: got %q, ended %v; want %q, ended", tc.in, out, ended, tc.want)
		}
	}
}

// TestConnPipelineMax: past PipelineMax unanswered commands the rest stay
// unparsed until replies are taken out.
func TestConnPipelineMax(t *testing.T) {
	c := NewConn(NewExecutor(&memBackend{store: memStore{}}, Limits{}, nil), ConnConfig{PipelineMax: 2})
	c.Feed([]byte(strings.Repeat("PING\r\n", 5)))
	if !c.Full() || c.Buffered() != 3*len("PING\r\n") {
		t.Fatalf("full %v, buffered %d", c.Full(), c.Buffered())
	}
	var out []byte
	for c.Buffered() > 0 || !c.Full() {
		out, _ = c.Output(out)
		c.Resume()
		if c.Buffered() == 0 {
			out, _ = c.Output(out)
			break
		}
	}
	if string(out) != strings.Repeat("+PONG\r\n", 5) {
		t.Fatalf("got %q", out)
	}
	if in, o := c.Bytes(); in != 0 || o != 0 {
		t.Fatalf("bytes held after all replies went out: in %d out %d", in, o)
	}
}

// TestReadRoom: the read buffer always has a read's room after the
// partial command, grows no further than the partial command's bound
// plus one read, and shrinks back once the partial command is small.
func TestReadRoom(t *testing.T) {
	const partialMax = 1 << 20
	buf := make([]byte, ReadBufBytes)
	held := 0
	for held < partialMax {
		held = min(len(buf), partialMax) // a read fills the buffer
		buf, held = readRoom(buf, buf[:held], partialMax)
		if len(buf)-held < ReadRoomBytesMin || len(buf) > partialMax+ReadRoomBytesMin {
			t.Fatalf("holding %d: buffer %d", held, len(buf))
		}
	}
	// A command ends mid-buffer: what follows it moves to the front.
	buf[held-3], buf[held-2], buf[held-1] = 'a', 'b', 'c'
	buf, held = readRoom(buf, buf[held-3:held], partialMax)
	if len(buf) != ReadBufBytes || string(buf[:held]) != "abc" {
		t.Fatalf("after a large command: buffer %d holding %q", len(buf), buf[:held])
	}
	// A partial command in the middle of a small buffer moves to its front.
	copy(buf[100:], "xyz")
	if buf2, held := readRoom(buf, buf[100:103], partialMax); &buf2[0] != &buf[0] || string(buf2[:held]) != "xyz" {
		t.Fatalf("not moved to the front: %q", buf2[:held])
	}
}
