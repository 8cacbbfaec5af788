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
}

// refuseUnprotected answers and closes a client from another host while
// protected mode is on and the default user has no password, as Redis
// does at accept.
func (s *Server) refuseUnprotected(c net.Conn) bool {
	if !s.cfg.Auth.ProtectedMode {
		return false
	}
	refusal := resp.ProtectedRefusal(s.backend, isLoopback(c.RemoteAddr()))
	if refusal == nil {
		return false
	}
	s.cfg.Log.Warn("resp: refused a client from another host: protected mode is on and the default user has no password", "remote", c.RemoteAddr().String())
	_ = c.SetWriteDeadline(time.Now().Add(time.Second))
	_, _ = c.Write(refusal)
	_ = c.Close()
	return true
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
		s.cfg.Log.Warn("resp: authentication failed", "user", user, "remote", remote)
		if s.cfg.Auth.OnAuthFailed != nil {
			s.cfg.Auth.OnAuthFailed(user, remote)
		}
	}
}
