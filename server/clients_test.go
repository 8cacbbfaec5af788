package server

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"regexp"
	"strings"
	"testing"

	"github.com/seshat-db/seshat/resp"
)

// readBulk reads one bulk string reply.
func readBulk(t *testing.T, r *bufio.Reader) string {
	t.Helper()
	head, err := r.ReadString('\n')
	if err != nil || !strings.HasPrefix(head, "$") {
		t.Fatalf("bulk header %q, %v", head, err)
	}
	var n int
	fmt.Sscanf(head, "$%d", &n)
	buf := make([]byte, n+2)
	if _, err := io.ReadFull(r, buf); err != nil {
		t.Fatal(err)
	}
	return string(buf[:n])
}

func send(c net.Conn, args ...string) {
	_, _ = c.Write(resp.AppendCommand(nil, func() [][]byte {
		out := make([][]byte, len(args))
		for i, a := range args {
			out[i] = []byte(a)
		}
		return out
	}()...))
}

// clientLine is Redis 7.0's CLIENT LIST line, field by field.
var clientLine = regexp.MustCompile(`^id=(\d+) addr=(\S+) laddr=(\S+) fd=-1 name=(\S*) age=\d+ idle=\d+ flags=N db=0 sub=0 psub=0 ssub=0 multi=-1 qbuf=0 qbuf-free=0 argv-mem=0 multi-mem=0 rbs=0 rbp=0 obl=0 oll=0 omem=0 tot-mem=0 events=r cmd=(\S+) user=default redir=-1 resp=2$`)

// TestClientListAndKill: CLIENT LIST names every connection with its
// addresses, name and last command; CLIENT INFO the caller's; CLIENT KILL
// by ID, ADDR, LADDR closes the others (SKIPME yes spares the caller).
func TestClientListAndKill(t *testing.T) {
	addr := startServer(t, ServerConfig{}, &heldBackend{})
	c1, r1 := dial(t, addr)
	c2, r2 := dial(t, addr)
	send(c2, "CLIENT", "SETNAME", "second")
	if line, _ := r2.ReadString('\n'); line != "+OK\r\n" {
		t.Fatalf("SETNAME: %q", line)
	}
	send(c1, "CLIENT", "LIST")
	list := strings.Split(strings.TrimSuffix(readBulk(t, r1), "\n"), "\n")
	if len(list) != 2 {
		t.Fatalf("CLIENT LIST: %q", list)
	}
	first, second := clientLine.FindStringSubmatch(list[0]), clientLine.FindStringSubmatch(list[1])
	if first == nil || second == nil {
		t.Fatalf("CLIENT LIST lines not Redis's: %q", list)
	}
	if first[2] != c1.LocalAddr().String() || first[3] != addr || first[5] != "client|list" {
		t.Fatalf("first line %q (c1 %s)", list[0], c1.LocalAddr())
	}
	if second[2] != c2.LocalAddr().String() || second[4] != "second" || second[5] != "client|setname" {
		t.Fatalf("second line %q", list[1])
	}
	send(c1, "CLIENT", "INFO")
	if info := readBulk(t, r1); !strings.HasPrefix(info, "id="+first[1]+" addr="+c1.LocalAddr().String()+" ") || !strings.Contains(info, " cmd=client|info ") {
		t.Fatalf("CLIENT INFO %q", info)
	}
	send(c1, "CLIENT", "KILL", "LADDR", addr)
	if line, _ := r1.ReadString('\n'); line != ":1\r\n" {
		t.Fatalf("KILL LADDR (SKIPME yes) killed %q, want the other connection only", line)
	}
	if _, err := r2.ReadString('\n'); err == nil {
		t.Fatal("the killed connection is still open")
	}
	c3, r3 := dial(t, addr)
	// A round trip first: the server may not have registered a connection
	// it has not yet read from (a loaded machine failed KILL addr here).
	send(c3, "PING")
	if line, _ := r3.ReadString('\n'); line != "+PONG\r\n" {
		t.Fatalf("third client's PING: %q", line)
	}
	send(c1, "CLIENT", "KILL", "ADDR", c3.LocalAddr().String(), "ID", "999999")
	if line, _ := r1.ReadString('\n'); line != ":0\r\n" {
		t.Fatalf("KILL with filters no connection meets all of: %q", line)
	}
	send(c1, "CLIENT", "KILL", c3.LocalAddr().String())
	if line, _ := r1.ReadString('\n'); line != "+OK\r\n" {
		t.Fatalf("KILL addr: %q", line)
	}
	if _, err := r3.ReadString('\n'); err == nil {
		t.Fatal("the connection killed by address is still open")
	}
	send(c1, "CLIENT", "LIST", "ID", first[1])
	if got := readBulk(t, r1); !strings.HasPrefix(got, "id="+first[1]+" ") || strings.Count(got, "\n") != 1 {
		t.Fatalf("CLIENT LIST ID: %q", got)
	}
}

// TestSetClientsMaxIsLive: a lowered maxclients refuses the next
// connection; the open ones stay.
func TestSetClientsMaxIsLive(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := NewServer(ServerConfig{}, &heldBackend{}, nil)
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	c1, r1 := dial(t, ln.Addr().String())
	send(c1, "PING")
	if line, _ := r1.ReadString('\n'); line != "+PONG\r\n" {
		t.Fatalf("first client got %q", line)
	}
	srv.SetClientsMax(1)
	_, r2 := dial(t, ln.Addr().String())
	if line, _ := r2.ReadString('\n'); line != "-ERR max number of clients reached\r\n" {
		t.Fatalf("second client got %q", line)
	}
	send(c1, "PING")
	if line, _ := r1.ReadString('\n'); line != "+PONG\r\n" {
		t.Fatalf("first client after the change got %q", line)
	}
}
