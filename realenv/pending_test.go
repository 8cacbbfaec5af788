package realenv

import (
	"net"
	"testing"
)

type addrConn struct {
	net.Conn
	addr *net.TCPAddr
}

func (c addrConn) RemoteAddr() net.Addr { return c.addr }

func connFrom(ip string, port int) net.Conn {
	return addrConn{addr: &net.TCPAddr{IP: net.ParseIP(ip), Port: port}}
}

// TestPendingPoolDisplacesTheBusiestSource: a full pool displaces the
// oldest connection of the address holding the most, so an attacker on
// another address, however fast it redials, never displaces a peer's
// handshake; on the peer's own address it displaces the oldest first.
func TestPendingPoolDisplacesTheBusiestSource(t *testing.T) {
	p := newPendingPool(4)
	peer := connFrom("10.0.0.2", 1000)
	if p.add(peer) != nil {
		t.Fatal("displaced from a pool with room")
	}
	for i := range 1000 {
		attacker := connFrom("10.0.0.66", 2000+i)
		if gone := p.add(attacker); gone == peer {
			t.Fatalf("the attacker's connection %d displaced the peer's handshake", i)
		}
	}
	if !p.remove(peer) {
		t.Fatal("the peer's handshake is gone")
	}

	// Same address: the oldest goes first; the newest survives pool-size-1
	// newer arrivals.
	q := newPendingPool(4)
	var conns []net.Conn
	for i := range 4 {
		c := connFrom("127.0.0.1", 3000+i)
		conns = append(conns, c)
		q.add(c)
	}
	mine := connFrom("127.0.0.1", 4000)
	if gone := q.add(mine); gone != conns[0] {
		t.Fatalf("displaced %v, want the oldest %v", gone.RemoteAddr(), conns[0].RemoteAddr())
	}
	for i := range 3 {
		if gone := q.add(connFrom("127.0.0.1", 5000+i)); gone == mine {
			t.Fatalf("displaced after %d newer arrivals, want 4", i+1)
		}
	}
	if gone := q.add(connFrom("127.0.0.1", 6000)); gone != mine {
		t.Fatalf("the 4th newer arrival displaced %v, want the now oldest", gone.RemoteAddr())
	}
}

// TestPendingPoolKeepsConnectionsThatSpoke: a connection that sent its
// first bytes is never displaced, whatever arrives after it; with every
// slot held by ones that spoke the pool admits no one (the transport
// stops accepting), and admits again once one ends.
func TestPendingPoolKeepsConnectionsThatSpoke(t *testing.T) {
	p := newPendingPool(4)
	peer := connFrom("127.0.0.1", 1000)
	p.add(peer)
	p.spoke(peer)
	for i := range 1000 {
		if gone := p.add(connFrom("127.0.0.1", 2000+i)); gone == peer {
			t.Fatalf("newcomer %d displaced a connection that spoke", i)
		}
	}
	var spoken []net.Conn
	for c := range p.conns {
		p.spoke(c)
		spoken = append(spoken, c)
	}
	if p.admits() {
		t.Fatal("a pool full of connections that spoke admits a newcomer")
	}
	if gone := p.add(connFrom("127.0.0.1", 9000)); gone != nil {
		t.Fatalf("displaced %v, which spoke", gone.RemoteAddr())
	}
	for _, c := range spoken {
		p.remove(c)
	}
	if !p.admits() {
		t.Fatal("an emptied pool admits no one")
	}
}
