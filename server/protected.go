package server

import (
	"net"
	"time"

	"github.com/seshat-db/seshat/resp"
)

// AuthConfig is what a Server does about who connects.
type AuthConfig struct {
	// ProtectedMode refuses clients from other hosts, with Redis's
	// -DENIED reply, while the default user has no password.
	ProtectedMode bool
	// OnAuthFailed, if set, hears of each failed AUTH or HELLO AUTH: the
	// user named and the client's address, never the password.
	OnAuthFailed func(user, remote string)
	// OnDenied, if set, hears of each client protected mode refuses.
	OnDenied func()
}

// unprotectedRefusal returns the reply that refuses a client from
// another host while protected mode is on and the default user has no
// password, as Redis does at accept, or nil.
func (s *Server) unprotectedRefusal(c net.Conn) []byte {
	if !s.cfg.Auth.ProtectedMode {
		return nil
	}
	refusal := resp.ProtectedRefusal(s.backend, isLoopback(c.RemoteAddr()))
	if refusal != nil {
		if s.cfg.Auth.OnDenied != nil {
			s.cfg.Auth.OnDenied()
		}
		s.deniedLog.warn(s.cfg.Log, "resp: refused a client from another host: protected mode is on and the default user has no password", "remote", c.RemoteAddr().String())
	}
	return refusal
}

// refuseDeadline bounds how long a refused client can hold its
// goroutine: on a TLS port the write runs the handshake first, and a
// client that never says hello would otherwise wait forever.
const refuseDeadline = time.Second

// refuse writes the refusal and hangs up on a goroutine of its own, never
// in the accept loop: a silent client there (a TLS handshake waiting for
// its hello) would stall every accept behind it. counted says c holds a
// place among the clients until it is closed, so a flood of refused
// clients is bounded by clients_max like any other.
func (s *Server) refuse(c net.Conn, reply []byte, counted bool) {
	s.mu.Lock()
	closed := s.closed
	if !closed {
		s.wg.Add(1)
	}
	s.mu.Unlock()
	release := func() {
		if counted {
			s.clients.Add(-1)
		}
	}
	if closed {
		_ = c.Close()
		release()
		return
	}
	go func() {
		defer s.wg.Done()
		defer release()
		_ = c.SetDeadline(time.Now().Add(refuseDeadline))
		_, _ = c.Write(reply)
		_ = c.Close()
	}()
}

func isLoopback(a net.Addr) bool {
	switch a := a.(type) {
	case *net.TCPAddr:
		return a.IP.IsLoopback()
	case *net.UnixAddr:
		return true
	}
	host, _, err := net.SplitHostPort(a.String())
	ip := net.ParseIP(host)
	return err == nil && ip != nil && ip.IsLoopback()
}

func (s *Server) authFailed(c net.Conn) func(user string) {
	remote := c.RemoteAddr().String()
	return func(user string) {
		s.authLog.warn(s.cfg.Log, "resp: authentication failed", "user", user, "remote", remote)
		if s.cfg.Auth.OnAuthFailed != nil {
			s.cfg.Auth.OnAuthFailed(user, remote)
		}
	}
}
