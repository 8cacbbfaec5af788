package server

import (
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/seshat-db/seshat/resp"
)

// The server's side of CLIENT LIST and CLIENT KILL: every executor gets
// the server as its resp.ClientDirectory.

// connTimes is what CLIENT LIST's age and idle are measured from.
type connTimes struct {
	created  time.Time
	lastRead atomic.Int64 // unix nanoseconds of the last command read
}

func (t *connTimes) touch() { t.lastRead.Store(time.Now().UnixNano()) }

func (t *connTimes) ageIdle() (age, idle int64) {
	now := time.Now()
	return int64(now.Sub(t.created) / time.Second), int64(now.Sub(time.Unix(0, t.lastRead.Load())) / time.Second)
}

// setUpClient gives a new connection's executor its addresses and the
// directory.
func (s *Server) setUpClient(sc *serverConn) {
	sc.times.created = time.Now()
	sc.times.touch()
	sc.exec.SetClientAddrs(sc.nc.RemoteAddr().String(), sc.nc.LocalAddr().String())
	sc.exec.SetClientDirectory(s, &sync.Mutex{})
}

func (s *Server) openConns() []*serverConn {
	s.mu.Lock()
	conns := make([]*serverConn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	slices.SortFunc(conns, func(a, b *serverConn) int { return int(a.exec.ClientID - b.exec.ClientID) })
	return conns
}

// ClientLines implements resp.ClientDirectory.
func (s *Server) ClientLines() []string {
	conns := s.openConns()
	lines := make([]string, len(conns))
	for i, c := range conns {
		lines[i] = c.exec.ClientLine(c.times.ageIdle())
	}
	return lines
}

// Kill implements resp.ClientDirectory: it closes the matched
// connections as a broken socket would, dropping what they had not yet
// been answered.
func (s *Server) Kill(f resp.ClientFilter) int {
	n := 0
	for _, c := range s.openConns() {
		if f.Matches(c.exec.ClientID, c.nc.RemoteAddr().String(), c.nc.LocalAddr().String()) {
			c.close()
			n++
		}
	}
	return n
}
