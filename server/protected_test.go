package server

import (
	"io"
	"log/slog"
	"net"
	"testing"

	"github.com/seshat-db/seshat/acl"
	"github.com/seshat-db/seshat/kv"
	"github.com/seshat-db/seshat/resp"
)

// remoteConn is one end of a pipe that says it comes from addr.
type remoteConn struct {
	net.Conn
	addr net.Addr
}

func (c remoteConn) RemoteAddr() net.Addr { return c.addr }

type usersBackend struct{ users *acl.Table }

func (b usersBackend) Submit(ops []kv.Op, done func([]kv.Result)) { done(make([]kv.Result, len(ops))) }
func (b usersBackend) Users() *acl.Table                          { return b.users }

// refused reports whether a client from addr is refused, and what it read.
func refused(t *testing.T, protected bool, users *acl.Table, addr string) (bool, string) {
	t.Helper()
	srv := NewServer(ServerConfig{Auth: AuthConfig{ProtectedMode: protected}, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}, usersBackend{users}, nil)
	server, client := net.Pipe()
	tcp, _ := net.ResolveTCPAddr("tcp", addr)
	got := make(chan string, 1)
	go func() { b, _ := io.ReadAll(client); got <- string(b) }()
	c := remoteConn{server, tcp}
	refusal := srv.unprotectedRefusal(c)
	if refusal != nil {
		srv.clients.Add(1)
		srv.refuse(c, refusal, true)
	} else {
		server.Close()
	}
	read := <-got
	srv.wg.Wait()
	if n := srv.clients.Load(); n != 0 {
		t.Errorf("%d clients counted after the refusal closed", n)
	}
	return refusal != nil, read
}

func TestProtectedModeRefusesOtherHosts(t *testing.T) {
	withPassword, _ := acl.NewDefault().SetRules([]string{">pw"})
	for _, c := range []struct {
		name      string
		protected bool
		users     *acl.Table
		addr      string
		want      bool
	}{
		{"another host, no password", true, acl.NewTable(), "10.1.2.3:5000", true},
		{"loopback, no password", true, acl.NewTable(), "127.0.0.1:5000", false},
		{"loopback v6, no password", true, acl.NewTable(), "[::1]:5000", false},
		{"another host, a password", true, acl.NewTable(withPassword), "10.1.2.3:5000", false},
		{"another host, protected mode off", false, acl.NewTable(), "10.1.2.3:5000", false},
	} {
		ok, read := refused(t, c.protected, c.users, c.addr)
		if ok != c.want {
			t.Errorf("%s: refused %v, want %v", c.name, ok, c.want)
		}
		if ok && read != resp.ErrDenied {
			t.Errorf("%s: read %q, want Redis's DENIED", c.name, read)
		}
	}
}
