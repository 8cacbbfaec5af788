package realenv

import (
	"net"
)

// pendingPool holds the inbound connections still in their handshake, up
// to a bound. A full pool makes room for a newcomer by closing a waiting
// connection, never by refusing the newcomer: refusing newcomers let an
// attacker without the secret that redials as fast as slots free hold
// every slot for as long as it liked, and lock the real peers out
// (TestRedialingAttackerDoesNotLockOutAPeer).
//
// The one closed is the oldest connection of the source address that
// holds the most. So an attacker on another address never evicts a peer's
// handshake while it holds more slots than that peer's address does (a
// peer dials one connection at a time). An attacker on the peer's own
// address (the same host, or loopback) evicts it only with max newer
// connections, which it must open while the peer's handshake is under
// way: an honest dialer speaks at once and finishes in one round trip (a
// TLS handshake in two), and with the default bound of 64 that window is
// 64 accepts long.
type pendingPool struct {
	max    int
	seq    uint64
	conns  map[net.Conn]pendingEntry
	byHost map[string]int
}

type pendingEntry struct {
	host string
	seq  uint64 // arrival order: lower is older
}

func newPendingPool(max int) *pendingPool {
	return &pendingPool{max: max, conns: map[net.Conn]pendingEntry{}, byHost: map[string]int{}}
}

// add admits c and returns the connection it displaced, if the pool was
// full (the caller closes it), or nil.
func (p *pendingPool) add(c net.Conn) net.Conn {
	var evicted net.Conn
	if len(p.conns) >= p.max {
		evicted = p.victim()
		p.remove(evicted)
	}
	p.seq++
	host := hostOf(c)
	p.conns[c] = pendingEntry{host: host, seq: p.seq}
	p.byHost[host]++
	return evicted
}

// victim is the oldest connection of the host holding the most.
func (p *pendingPool) victim() net.Conn {
	var worst string
	for h, n := range p.byHost {
		if n > p.byHost[worst] || (n == p.byHost[worst] && h < worst) {
			worst = h
		}
	}
	var oldest net.Conn
	var oldestSeq uint64
	for c, e := range p.conns {
		if e.host == worst && (oldest == nil || e.seq < oldestSeq) {
			oldest, oldestSeq = c, e.seq
		}
	}
	return oldest
}

// remove forgets c; it reports whether c was there (an evicted connection
// is gone already).
func (p *pendingPool) remove(c net.Conn) bool {
	e, ok := p.conns[c]
	if !ok {
		return false
	}
	delete(p.conns, c)
	if p.byHost[e.host]--; p.byHost[e.host] == 0 {
		delete(p.byHost, e.host)
	}
	return true
}

// hostOf is c's remote address without the port.
func hostOf(c net.Conn) string {
	remote := c.RemoteAddr().String()
	host, _, err := net.SplitHostPort(remote)
	if err != nil {
		return remote
	}
	return host
}
