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
//
// That window is too short against a flood that speaks: ClientHellos from
// the peer's own address cost the acceptor a signature each, and on a
// loaded host the peer's handshake lost the race to 64 newer ones
// (TestReviewTLSHelloFloodFromLoopbackDoesNotLockOutAPeer). So only a
// connection that has sent nothing yet is displaced: one that spoke
// keeps its place until its handshake ends (it finishes or fails within
// the handshake deadline). While every slot holds one that spoke, the
// transport stops accepting (admits), and newcomers wait their turn in
// the kernel's accept queue, first come, first served: a peer waits
// behind the flood's connections of the moment, never behind all the
// ones it can make.
type pendingPool struct {
	max    int
	seq    uint64
	conns  map[net.Conn]pendingEntry
	byHost map[string]int
}

type pendingEntry struct {
	host  string
	seq   uint64 // arrival order: lower is older
	spoke bool   // it sent its first bytes: no longer displaced
}

func newPendingPool(max int) *pendingPool {
	return &pendingPool{max: max, conns: map[net.Conn]pendingEntry{}, byHost: map[string]int{}}
}

// add admits c and returns the connection it displaced, if the pool was
// full (the caller closes it), or nil.
func (p *pendingPool) add(c net.Conn) net.Conn {
	var evicted net.Conn
	if len(p.conns) >= p.max {
		if evicted = p.victim(); evicted != nil {
			p.remove(evicted)
		}
	}
	p.seq++
	host := hostOf(c)
	p.conns[c] = pendingEntry{host: host, seq: p.seq}
	p.byHost[host]++
	return evicted
}

// admits reports whether add would find room: a free slot, or a
// connection that has not spoken to displace.
func (p *pendingPool) admits() bool {
	if len(p.conns) < p.max {
		return true
	}
	for _, e := range p.conns {
		if !e.spoke {
			return true
		}
	}
	return false
}

// spoke records that c sent its first bytes.
func (p *pendingPool) spoke(c net.Conn) {
	if e, ok := p.conns[c]; ok {
		e.spoke = true
		p.conns[c] = e
	}
}

// victim is the oldest silent connection of the host holding the most
// silent ones, or nil if every one has spoken.
func (p *pendingPool) victim() net.Conn {
	silent := map[string]int{}
	for _, e := range p.conns {
		if !e.spoke {
			silent[e.host]++
		}
	}
	var worst string
	for h, n := range silent {
		if n > silent[worst] || (n == silent[worst] && h < worst) {
			worst = h
		}
	}
	var oldest net.Conn
	var oldestSeq uint64
	for c, e := range p.conns {
		if !e.spoke && e.host == worst && (oldest == nil || e.seq < oldestSeq) {
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

// firstReadConn calls onFirst when the first bytes arrive.
type firstReadConn struct {
	net.Conn
	onFirst func()
	done    bool // only the connection's one reader touches it
}

func (c *firstReadConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	if n > 0 && !c.done {
		c.done = true
		c.onFirst()
	}
	return n, err
}
